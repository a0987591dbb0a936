"""The time budget of `NASTuner.search`: no trial starts too late, a running one stops in time.

`TimeBudget` is the `TunerFeature` that keeps `NASTuner(time_budget=...)`:

* no trial starts after the deadline, nor when the time left (less what the
  other features reserve, e.g. the refit's time) is under half the shortest
  finished trial's fit time: such a trial could not finish its first epochs;
* a trial still training when the reserved time begins stops at the end of its
  current batch (`DeadlineStop`); its metrics so far are kept and it records
  `budget_cut = 1`.

Example:

>>> budget = TimeBudget(60.0)
>>> budget.time_left() is None        # no search running
True
"""

from __future__ import annotations

import time

import keras

from kerasnas.tuner.features import StopSearch, TunerFeature


class DeadlineStop(keras.callbacks.Callback):
    """Stops training at the end of the batch during which `deadline` (`time.monotonic()`) passes.

    Example:

    >>> stop = DeadlineStop(time.monotonic() + 30)
    >>> model.fit(x, y, callbacks=[stop])              # doctest: +SKIP
    >>> stop.cut                                       # doctest: +SKIP
    False
    """

    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline
        self.cut = False

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline:
            self.cut = True
            self.model.stop_training = True


class TimeBudget(TunerFeature):
    """Wall-clock seconds for one `search()` call, counted from its start (None: no limit)."""

    def __init__(self, seconds=None):
        if seconds is not None and not seconds > 0:
            raise ValueError(f"time_budget must be > 0 seconds or None, got {seconds!r}.")
        self.seconds = None if seconds is None else float(seconds)
        self.deadline = None
        self._stops = {}  # trial id -> the DeadlineStop of its running fit

    def time_left(self):
        """Seconds until the deadline of the running search, or None without a budget."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def on_search_begin(self, tuner):
        self.deadline = None if self.seconds is None else time.monotonic() + self.seconds

    def on_search_end(self, tuner):
        self.deadline = None

    def before_trial(self, tuner):
        left = self.time_left()
        if left is None:
            return
        fit_times = [t.metrics.get_last_value("fit_time") for t in tuner.oracle.trials.values()
                     if t.status == "COMPLETED" and t.metrics.exists("fit_time")]
        left -= tuner.reserved_time()
        if left <= 0 or (fit_times and left < 0.5 * min(fit_times)):
            raise StopSearch("time_budget")

    def fit_callbacks(self, tuner, trial, user_callbacks):
        if self.deadline is None:
            self._stops.pop(trial.trial_id, None)
            return []
        # Trials stop where the reserved time (the refit's) begins.
        stop = DeadlineStop(self.deadline - tuner.reserved_time())
        self._stops[trial.trial_id] = stop
        return [stop]

    def on_fit_end(self, tuner, trial, model, x, validation_data):
        stop = self._stops.pop(trial.trial_id, None)
        return {"budget_cut": float(stop is not None and stop.cut)}


__all__ = ["DeadlineStop", "TimeBudget"]
