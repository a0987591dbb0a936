"""The tuner's extension protocol: `TunerFeature`, an object `NASTuner` is given and calls.

Every feature of the trial loop that is not training itself (the time budget,
weight inheritance, hardware metrics, successive-halving continuation,
cross-validation, checkpoint pruning, TensorBoard logs, learning-curve
stopping, the progress display, the refit's reserved time, process recycling)
is one `TunerFeature`. `NASTuner` builds its own from its arguments and takes
more with `features=[...]`; it calls each at fixed points, in the order of
`tuner.features`, in the spirit of Keras callbacks:

```
on_search_begin(tuner)
for each trial:
    before_trial(tuner)                     raise StopSearch(reason) to end the search
    run_trial(tuner, trial, x, y, validation_data, fit_kwargs)
                                            the first feature that returns metrics
                                            scores the trial (cross-validation); else
                                            one fit, as below (once per fold under k-fold)
        on_model_built(tuner, trial, model, x)       -> metrics (before training)
        fit_callbacks(tuner, trial, user_callbacks)  -> Keras callbacks for this fit
        on_fit_end(tuner, trial, model, x, validation_data) -> metrics
    on_trial_end(tuner, trial)              after the oracle recorded the trial
on_search_end(tuner)
reserved_time(tuner)                        seconds kept free before the deadline (any time)
```

Every hook is optional: the base class does nothing, so a feature overrides
only what it needs. Metrics a hook returns are recorded with the trial (a
feature's name prefix keeps them apart). A feature keeps its own state; it
never sets attributes on the tuner, and reads only its public ones
(`oracle`, `hypermodel`, `time_left()`, `reserved_time()`, `checkpoint_path()`,
`get_trial_dir()`, ...). `on_model_built` may reject a candidate by raising
`keras_tuner.errors.FailedTrialError`.

Example: the smallest built-in feature, successive halving's continuation
(`kerasnas.estimation.halving.ContinueTraining`), is one hook (simplified here):

>>> class ContinueTraining(TunerFeature):
...     def on_model_built(self, tuner, trial, model, x):
...         previous = trial.hyperparameters.values.get("tuner/trial_id")
...         if previous is None:
...             return {}
...         model.load_weights(tuner.checkpoint_path(previous))
...         return {"continued": 1.0}
>>> tuner = NASTuner(oracle, space, features=[ContinueTraining()])  # doctest: +SKIP
"""

from __future__ import annotations


class StopSearch(Exception):
    """Raised by `TunerFeature.before_trial` to end the search; `reason` becomes `tuner.stopped_by`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TunerFeature:
    """One feature of `NASTuner`'s trial loop; every hook is a no-op unless overridden.

    See the module docstring for when each hook is called.
    """

    def on_search_begin(self, tuner) -> None:
        """`tuner.search` started (the deadline is set)."""

    def before_trial(self, tuner) -> None:
        """Before a trial is created; raise `StopSearch(reason)` to end the search."""

    def reserved_time(self, tuner) -> float:
        """Seconds to keep free before the search's deadline (trials stop earlier by as much)."""
        return 0.0

    def run_trial(self, tuner, trial, x, y, validation_data, fit_kwargs) -> dict | None:
        """Scores `trial` in its own way (e.g. by k-fold, through `tuner.fit_trial`), or None."""
        return None

    def on_model_built(self, tuner, trial, model, x) -> dict:
        """The candidate is built and within limits, not yet trained; returns trial metrics."""
        return {}

    def fit_callbacks(self, tuner, trial, user_callbacks) -> list:
        """Keras callbacks for this fit (`user_callbacks`: the user's own copies, in order)."""
        return []

    def on_fit_end(self, tuner, trial, model, x, validation_data) -> dict:
        """The fit ended (the model holds its last epoch's weights); returns trial metrics."""
        return {}

    def on_trial_end(self, tuner, trial) -> None:
        """The oracle recorded `trial` (its status and score are final)."""

    def on_search_end(self, tuner) -> None:
        """`tuner.search` is about to return (`tuner.stopped_by` says why)."""


__all__ = ["StopSearch", "TunerFeature"]
