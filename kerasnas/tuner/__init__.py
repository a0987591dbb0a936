"""The trial loop: `NASTuner` trains and scores one architecture per trial, within a budget.

In the order a trial meets them: `loop` (`NASTuner`, the Keras Tuner `Tuner`)
calls its `features` (the protocol in `features`: `TunerFeature`), among them
`budget` (the time budget), `crossval` (k-fold scoring for small data),
`checkpoints` (pruning), `tensorboard` (logs) and `progress` (the display);
`recipe` says how a trial trains (batch size, length, schedule) and
`trial_failures` which candidates fail their trial without ending the search.

Example:

>>> from kerasnas.tuner import NASTuner
>>> tuner = NASTuner(oracle, space, epochs=5, time_budget=60, directory="runs")  # doctest: +SKIP
"""

from kerasnas.infra.lazy import lazy_attributes

_LAZY = {
    "NASTuner": "kerasnas.tuner.loop",
    "TrialCrashedError": "kerasnas.tuner.loop",
    "trial_architecture": "kerasnas.tuner.loop",
    "trial_curves": "kerasnas.tuner.loop",
    "trial_seed": "kerasnas.tuner.loop",
    "TunerFeature": "kerasnas.tuner.features",
    "StopSearch": "kerasnas.tuner.features",
    "TrainingRecipe": "kerasnas.tuner.recipe",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
