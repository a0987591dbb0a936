"""The cheaper-estimation arguments of `kerasnas.search` (and `kerasnas search`): checks and wiring.

`kerasnas.search(x, y, ...)` takes six of them, all off by default:

* `curve_stopping=False`: learning-curve early stopping (`LearningCurveStopping`):
  True for the defaults, or a configured `LearningCurveStopping`.
* `halving=None`: successive halving around the strategy (`SuccessiveHalving`):
  True for `{"min_epochs": 1, "eta": 3}` (the top rung trains `epochs`), or a
  dict with `min_epochs`, `max_epochs`, `eta`, `bracket_size`. Rungs train
  exactly their epochs (the recipe's `min_steps` and k-fold scoring are off).
* `prescreen=None`: a zero-cost proxy name (`"naswot"`, `"synflow"`, ...):
  proposals in the bottom `prescreen_fraction` (default 0.5) of its scores are
  discarded before training (`Prescreen`), and recorded.
* `predictor=None`: `"gp"`, `"mlp_ensemble"` or `"ranker"`: the strategy becomes
  `PredictorGuided` (leave `strategy="auto"`).
* `downscale=None`: search down-scaled proxies (`fidelity`): True (half the
  channels), a width multiplier, or a dict of `width` / `cells` / `resolution`;
  the refit trains the winner at full size (so `refit=True` is required).

Why each default is off: see the "Cheaper performance estimation" section of
benchmarks/README.md, which measures what each preserves of the ranking.

Every check runs in `check_estimation`, called by `kerasnas.automl.checks.check_search_args`
before any data is touched; `apply_estimation` (strategy side), `tuner_arguments`
(tuner side) and `finish_estimation` (restore full size, build the record kept in
`SearchResult.estimation`) are the three functions `kerasnas.search` calls.

With a plain Keras Tuner tuner, the same pieces are used directly:

>>> import keras_tuner
>>> from kerasnas.estimation import LearningCurveStopping, SuccessiveHalving
>>> from kerasnas.estimation.guided import PredictorGuided
>>> from kerasnas.estimation.prescreen import Prescreen, proxy_scorer
>>> from kerasnas.oracles import RegularizedEvolution
>>> from kerasnas.spaces import MacroSpace
>>> space = MacroSpace((8, 8, 1), num_classes=10, widths=(8, 16))
>>> inner = PredictorGuided(objective="val_accuracy", predictor="ranker", max_trials=30, seed=1)
>>> oracle = SuccessiveHalving(inner, min_epochs=1, max_epochs=9, eta=3)
>>> oracle.prescreen = Prescreen(proxy_scorer(space, x[:64]), fraction=0.5)   # doctest: +SKIP
>>> set_downscale(space, {"width": 0.5})                                      # doctest: +SKIP
>>> tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory="runs")  # doctest: +SKIP
>>> tuner.search(x, y, validation_split=0.2,
...              callbacks=[LearningCurveStopping(best=0.9)])                 # doctest: +SKIP
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

from kerasnas.estimation.fidelity import check_downscale
from kerasnas.estimation.prescreen import DEFAULT_PROXY, check_fraction, check_proxy

#: What `halving=True` means: one epoch at rung 0, promotion of the best third (Hyperband's
#: eta = 3); the top rung trains the search's `epochs`.
DEFAULT_HALVING = {"min_epochs": 1, "eta": 3}
#: Training examples the pre-screen's proxy sees (default 64, the minibatch of
#: `benchmarks/estimation.py`).
PRESCREEN_BATCH = 64


class EstimationOptions(NamedTuple):
    """The checked cheaper-estimation arguments (None / False: off)."""

    curve_stopping: Any = None
    halving: dict | None = None
    prescreen: str | None = None
    prescreen_fraction: float = 0.5
    predictor: str | None = None
    downscale: dict | None = None

    def describe(self) -> dict:
        """JSON-friendly settings (part of the search's fingerprint and metadata)."""
        stop = self.curve_stopping
        return {"curve_stopping": None if stop is None else stop.settings(),
                "halving": self.halving, "prescreen": self.prescreen,
                "prescreen_fraction": self.prescreen_fraction if self.prescreen else None,
                "predictor": self.predictor, "downscale": self.downscale}


def _check_halving(halving, epochs):
    if halving is None or halving is False:
        return None
    spec = dict(DEFAULT_HALVING) if halving is True else halving
    if not isinstance(spec, dict):
        raise TypeError(f"halving must be None, True or a dict of min_epochs / max_epochs / eta "
                        f"/ bracket_size; got {halving!r}.")
    unknown = sorted(set(spec) - {"min_epochs", "max_epochs", "eta", "bracket_size"})
    if unknown:
        raise ValueError(f"Unknown halving key(s) {unknown}; use min_epochs, max_epochs, eta, "
                         "bracket_size.")
    out = {"min_epochs": spec.get("min_epochs", DEFAULT_HALVING["min_epochs"]),
           "max_epochs": spec.get("max_epochs", epochs),
           "eta": spec.get("eta", DEFAULT_HALVING["eta"])}
    if spec.get("bracket_size") is not None:
        out["bracket_size"] = spec["bracket_size"]
    for key, value in out.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"halving {key} must be an int >= 1; got {value!r}.")
    if out["eta"] < 2:
        raise ValueError(f"halving eta must be an int >= 2 (the best 1/eta of a rung is "
                         f"promoted to eta times the epochs); got {out['eta']!r}. Use e.g. 3.")
    if out["min_epochs"] > out["max_epochs"]:
        raise ValueError(f"halving min_epochs ({out['min_epochs']}) must be <= max_epochs "
                         f"({out['max_epochs']}, default: epochs).")
    return {k: int(v) for k, v in out.items()}


def _check_curve_stopping(value):
    if value is None or value is False:
        return None
    from kerasnas.estimation.stopping import check_option

    return check_option(value)


def check_estimation(*, curve_stopping=False, halving=None, prescreen=None,
                     prescreen_fraction=0.5, predictor=None, downscale=None, refit=True,
                     strategy="auto", epochs=10, cv_folds="auto") -> EstimationOptions:
    """Checks the cheaper-estimation arguments of `kerasnas.search`; raises on the first bad one."""
    import keras_tuner

    from kerasnas.oracles.base import ArchitectureOracle

    halving = _check_halving(halving, epochs)
    if prescreen is not None:
        if prescreen is True:
            prescreen = DEFAULT_PROXY
        check_proxy(prescreen)
    fraction = check_fraction(prescreen_fraction)
    if predictor is not None:
        from kerasnas.estimation.guided import check_predictor

        check_predictor(predictor)
        if strategy != "auto":
            raise ValueError(f"predictor={predictor!r} makes the strategy a predictor-guided "
                             f"search; it cannot be combined with strategy={strategy!r}. Leave "
                             "strategy='auto', or drop predictor.")
    downscale = check_downscale(downscale)
    if downscale is not None and not refit:
        raise ValueError("downscale searches small proxies of each architecture; their trained "
                         "copies are not the full-size model, so refit=False cannot return "
                         "one. Keep refit=True (the default), or drop downscale.")
    wants_oracle = halving is not None or prescreen is not None
    if wants_oracle and isinstance(strategy, str) and strategy.startswith("darts"):
        raise ValueError(f"halving and prescreen act on a strategy's proposals; DARTS "
                         f"(strategy={strategy!r}) makes one supernet search, not proposals.")
    if wants_oracle and isinstance(strategy, keras_tuner.Oracle) \
            and not isinstance(strategy, ArchitectureOracle):
        raise TypeError(f"halving and prescreen need a kerasnas strategy (an ArchitectureOracle); "
                        f"got a {type(strategy).__name__}. Pass a strategy name instead.")
    if halving is not None and cv_folds not in ("auto", None):
        raise ValueError(f"halving continues each promoted trial from its checkpoint, which "
                         f"k-fold scoring has not got; pass cv_folds=None (got {cv_folds!r}).")
    return EstimationOptions(_check_curve_stopping(curve_stopping), halving, prescreen, fraction,
                             predictor, downscale)


def apply_estimation(options, oracle, strategy_name, hypermodel, data, seed=None):
    """The strategy side: predictor-guided strategy, successive halving, pre-screen, downscale.

    Returns `(oracle, strategy_name)`.
    """
    if options is None:
        return oracle, strategy_name
    if options.downscale is not None:
        from kerasnas.estimation.fidelity import set_downscale

        set_downscale(hypermodel, options.downscale)
    if options.predictor is not None:
        from kerasnas.estimation.guided import PredictorGuided

        oracle = PredictorGuided(objective=oracle.objective, max_trials=oracle.max_trials,
                                 predictor=options.predictor, seed=seed,
                                 warm_start=getattr(oracle, "warm_start", ()))
        strategy_name = f"predictor-{options.predictor}"
    if options.halving is not None:
        from kerasnas.estimation.halving import SuccessiveHalving

        oracle = SuccessiveHalving(oracle, warm_start=getattr(oracle, "warm_start", ()),
                                   **options.halving)
        strategy_name = f"{strategy_name}-halving"
    if options.prescreen is not None:
        import numpy as np

        from kerasnas.estimation.prescreen import Prescreen, proxy_scorer

        rng = np.random.default_rng(0 if seed is None else seed)
        n = len(data.x_train)
        take = np.sort(rng.choice(n, min(n, PRESCREEN_BATCH), replace=False))
        score = proxy_scorer(hypermodel, data.x_train[take], data.y_train[take],
                             proxy=options.prescreen, seed=0 if seed is None else int(seed))
        oracle.prescreen = Prescreen(score, options.prescreen_fraction, name=options.prescreen)
    return oracle, strategy_name


def tuner_arguments(options, recipe, cv_folds) -> dict:
    """The tuner side, as `NASTuner` arguments: the learning-curve rule; under successive
    halving, rungs that train exactly their epochs and no k-fold (a promoted trial continues
    one model's checkpoint).

    Returns:
        `{"curve_stopping": ..., "recipe": ..., "cv_folds": ...}` for `NASTuner(**...)`.
    """
    arguments = {"curve_stopping": None, "recipe": recipe, "cv_folds": cv_folds}
    if options is None:
        return arguments
    if options.curve_stopping is not None:
        arguments["curve_stopping"] = options.curve_stopping
    if options.halving is not None:
        import dataclasses

        if recipe is not None:  # rung budgets are epochs: no min_steps stretching
            arguments["recipe"] = dataclasses.replace(recipe, min_steps=0)
        arguments["cv_folds"] = None
    return arguments


def finish_estimation(options, tuner, hypermodel) -> dict:
    """Restores full size for the refit; returns what the estimation did (`SearchResult.estimation`)."""
    if options is None:
        return {}
    record = {"settings": options.describe()}
    oracle = tuner.oracle
    if options.downscale is not None:
        from kerasnas.estimation.fidelity import restore

        restore(hypermodel)
        best = oracle.get_best_trials(1)
        if best:
            from kerasnas.tuner.loop import trial_architecture

            arch = trial_architecture(hypermodel, best[0])
            record["downscale"] = {
                "knobs": dict(options.downscale),
                "params_at_search": float(best[0].metrics.get_last_value("params")),
                "params_at_refit": float(hypermodel.cost(arch)["params"])}
    if getattr(oracle, "prescreen", None) is not None:
        record["prescreen"] = oracle.prescreen.record()
    if options.halving is not None and hasattr(oracle, "rung_of"):
        record["halving"] = {"budgets": list(oracle.budgets), "rung_sizes": list(oracle.rung_sizes),
                             "rung_of_trial": {t: oracle.rung_of(t) for t in oracle.trials}}
    if options.curve_stopping is not None:
        record["curve_stopped"] = sorted(
            t.trial_id for t in oracle.trials.values()
            if t.metrics.exists("curve_stopped") and t.metrics.get_last_value("curve_stopped"))
    return record


def add_cli_flags(parser) -> None:
    """The `kerasnas search` flags of the options above."""
    group = parser.add_argument_group("cheaper performance estimation (all off by default)")
    group.add_argument("--curve-stopping", action="store_true",
                       help="stop trials whose extrapolated learning curve cannot beat the best")
    group.add_argument("--halving", action="store_true",
                       help="successive halving: rungs of min-epochs ... epochs")
    group.add_argument("--halving-eta", type=int, default=DEFAULT_HALVING["eta"],
                       help="promotion ratio of --halving (default 3)")
    group.add_argument("--halving-min-epochs", type=int, default=DEFAULT_HALVING["min_epochs"],
                       help="epochs of the lowest rung of --halving (default 1)")
    group.add_argument("--prescreen", default=None, metavar="PROXY",
                       help="discard proposals this zero-cost proxy ranks in the bottom fraction "
                            "(naswot, synflow, grad_norm, snip, jacob_cov, params, flops)")
    group.add_argument("--prescreen-fraction", type=float, default=0.5,
                       help="share of proposals --prescreen discards (default 0.5)")
    group.add_argument("--predictor", default=None, choices=("gp", "mlp_ensemble", "ranker"),
                       help="predictor-guided search with this performance predictor")
    group.add_argument("--downscale-width", type=float, default=None, metavar="W",
                       help="search with W times the channels, refit at full size")
    group.add_argument("--downscale-cells", type=int, default=None, metavar="N",
                       help="search CellSpace networks of N cells, refit at full size")
    group.add_argument("--downscale-resolution", type=float, default=None, metavar="R",
                       help="search on images resized by R, refit at full size")


def cli_kwargs(args) -> dict:
    """`kerasnas.search` keyword arguments from the flags of `add_cli_flags`."""
    downscale = {k: v for k, v in (("width", args.downscale_width),
                                   ("cells", args.downscale_cells),
                                   ("resolution", args.downscale_resolution)) if v is not None}
    halving = None
    if args.halving:
        halving = {"eta": args.halving_eta, "min_epochs": args.halving_min_epochs}
    return {"curve_stopping": bool(args.curve_stopping), "halving": halving,
            "prescreen": args.prescreen, "prescreen_fraction": args.prescreen_fraction,
            "predictor": args.predictor, "downscale": downscale or None}
