"""Weight sharing: supernets whose sub-networks are a space's architectures (issue #25).

* `sampling`: `PathSampler`, the paths a supernet trains (uniform per decision,
  or the sandwich rule); pure Python.
* `supernet`: `Supernet`, the shared machinery: training one path per step,
  BatchNorm recalibration, the one-shot score, weights into a stand-alone model.
* `residual`: `ResidualSupernet`, the supernet of `ResidualSpace`.
* `fewshot`: `FewShotSupernet`, K sub-supernets split on one decision (Zhao et
  al., ICML 2021), each fine-tuned on its own sub-space.
* `ranking`: `rank_candidates` (score many architectures with inherited weights)
  and `OneShotScores`, the tuner feature that records a trial's one-shot score and
  can start it from the supernet's weights.
* `one_liner`: `search(..., weight_sharing=...)`.

Names load lazily, so `import kerasnas.oneshot` loads no TensorFlow.

Example:

>>> from kerasnas.oneshot import supernet_for
>>> net = supernet_for(space, seed=0)                 # doctest: +SKIP
>>> net.train(x, y, seconds=30)                       # doctest: +SKIP
"""

from kerasnas.infra.lazy import lazy_attributes

_LAZY = {
    "PathSampler": "kerasnas.oneshot.sampling",
    "Supernet": "kerasnas.oneshot.supernet",
    "ResidualSupernet": "kerasnas.oneshot.residual",
    "FewShotSupernet": "kerasnas.oneshot.fewshot",
    "supernet_for": "kerasnas.oneshot.ranking",
    "has_supernet": "kerasnas.oneshot.ranking",
    "rank_candidates": "kerasnas.oneshot.ranking",
    "oneshot_scorer": "kerasnas.oneshot.ranking",
    "OneShotScores": "kerasnas.oneshot.ranking",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
