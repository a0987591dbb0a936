"""Cheaper performance estimation: zero-cost proxies, learning-curve stopping, successive halving.

* `proxies`: score an untrained Keras model from one minibatch (`naswot`,
  `synflow`, `grad_norm`, `snip`, `jacob_cov`, `params`, `flops`), each
  `f(model, x, y=None) -> float`, higher meaning "predicted better" except for
  the two cost counts.
* `curves`: extrapolate a validation curve with a weighted ensemble of
  parametric curves, and `LearningCurveStopping`, the Keras callback that
  stops a trial whose predicted final value is confidently worse than the best.
* `halving`: `SuccessiveHalving`, multi-fidelity promotion around any
  `ArchitectureOracle`.
* `predictors`: performance predictors over the `Architecture` encoding
  (`GPPredictor`, `MLPEnsemble` as in BANANAS, `PairwiseRanker` as in ReNAS);
  `zc_features`: `zero_cost_features`, cheap inputs (parameter and FLOP counts,
  proxy scores) the MLP predictors take beside the encoding.
* `screening`: `search_without_training`, NASWOT's "score N random
  architectures, train only the best", in one call.
* `prescreen`: `Prescreen`, which lets any oracle discard proposals whose
  zero-cost score is in the bottom fraction, before training them.
* `guided`: `PredictorGuided`, the strategy that trains only what a predictor
  ranks best among many candidates.
* `fidelity`: down-scaled proxies (`set_downscale`: fewer channels / cells,
  lower resolution during the search, full size at the refit).
* `search_options`: the `kerasnas.search` / CLI arguments of all the above.
* `ranking`: Kendall tau and Spearman rho, to measure how well an estimate
  preserves the ranking of architectures.
* `ghn`: `GraphHyperNetwork` (GHN-2), a graph hypernetwork that predicts every
  parameter of an unseen architecture in one pass; `ghn_scorer` (for `Prescreen`)
  and `GHNScores` (the tuner feature: each trial's `ghn_accuracy`, optionally
  starting the trial from the predicted parameters).

Names load lazily, so `import kerasnas.estimation` loads no TensorFlow.

Example:

>>> import kerasnas.estimation as est
>>> est.naswot(model, x_batch)          # doctest: +SKIP
812.4
"""

from kerasnas.infra.lazy import lazy_attributes

_LAZY = {
    "PROXIES": "kerasnas.estimation.proxies",
    "naswot": "kerasnas.estimation.proxies",
    "synflow": "kerasnas.estimation.proxies",
    "grad_norm": "kerasnas.estimation.proxies",
    "snip": "kerasnas.estimation.proxies",
    "jacob_cov": "kerasnas.estimation.proxies",
    "params": "kerasnas.estimation.proxies",
    "flops": "kerasnas.estimation.proxies",
    "score_model": "kerasnas.estimation.proxies",
    "score_architecture": "kerasnas.estimation.proxies",
    "relu_codes": "kerasnas.estimation.proxies",
    "extrapolate": "kerasnas.estimation.curves",
    "CurveForecast": "kerasnas.estimation.curves",
    "LearningCurveStopping": "kerasnas.estimation.stopping",
    "SuccessiveHalving": "kerasnas.estimation.halving",
    "make_predictor": "kerasnas.estimation.predictors",
    "GPPredictor": "kerasnas.estimation.predictors",
    "MLPEnsemble": "kerasnas.estimation.predictors",
    "PairwiseRanker": "kerasnas.estimation.predictors",
    "zero_cost_features": "kerasnas.estimation.zc_features",
    "search_without_training": "kerasnas.estimation.screening",
    "Prescreen": "kerasnas.estimation.prescreen",
    "proxy_scorer": "kerasnas.estimation.prescreen",
    "PredictorGuided": "kerasnas.estimation.guided",
    "set_downscale": "kerasnas.estimation.fidelity",
    "kendall_tau": "kerasnas.estimation.ranking",
    "spearman_rho": "kerasnas.estimation.ranking",
    "GraphHyperNetwork": "kerasnas.estimation.ghn",
    "ghn_scorer": "kerasnas.estimation.ghn",
    "GHNScores": "kerasnas.estimation.ghn",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
