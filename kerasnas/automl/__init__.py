"""The one-liner's pipeline: `kerasnas.search(x, y)` from checked arguments to a saved result.

In data-flow order: `checks` (every argument, before any data is touched) ->
`assemble` (space, strategy, run folder) -> the tuner's trial loop
(`kerasnas.tuner`) -> `selection` (which trial) -> `refit` (+ `linear_solve`)
-> `baseline` (what the result must beat) -> `finish` (the saved
`SearchResult`). `pipeline.search` runs them in order; `recycle` runs the trial
loop in child processes (`trials_per_process`). `names` holds the accepted
strategy and space names (no TensorFlow).

Example:

>>> from kerasnas.automl import search             # the same function as kerasnas.search
>>> result = search(x, y, time_budget=60)          # doctest: +SKIP
"""

from kerasnas.infra.lazy import lazy_attributes

_LAZY = {"search": "kerasnas.automl.pipeline"}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
