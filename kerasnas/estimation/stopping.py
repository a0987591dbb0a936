"""Learning-curve early stopping: stop a trial whose forecast is confidently worse than the best.

After `min_epochs` epochs, and after each later one, the monitored validation
curve is extrapolated to the trial's last epoch (`curves.extrapolate`). If
even an optimistic forecast (`mean + z · std` for a maximised metric) is worse
than the best value any finished trial reached, training stops: the trial keeps
its metrics so far and records that it was stopped, when and why.

Use it as a plain Keras callback, or give `NASTuner(curve_stopping=...)` a
`LearningCurveStopping` (the tuner supplies the best-so-far of its finished
trials and records `curve_stopped`, `curve_stopped_epoch`, `curve_forecast`
with each trial, plus `<trial dir>/curve_stopping.json` with the reason).

Example:

>>> stop = LearningCurveStopping(best=0.95, min_epochs=3)          # doctest: +SKIP
>>> model.fit(x, y, validation_data=(xv, yv), epochs=20, callbacks=[stop])  # doctest: +SKIP
>>> stop.record["reason"]                                          # doctest: +SKIP
'forecast 0.81 ± 0.03 at epoch 20 (optimistic 0.86) < best 0.95'
"""

from __future__ import annotations

import os

import keras
import numpy as np

from kerasnas.estimation.curves import MIN_POINTS, extrapolate
from kerasnas.tuner.features import TunerFeature

#: File, in a trial's directory, that records the decision of the rule.
RECORD_FILE = "curve_stopping.json"


class LearningCurveStopping(keras.callbacks.Callback):
    """Stops training when the extrapolated final value is confidently worse than `best`.

    Args:
        monitor: The metric to watch (default `"val_accuracy"`).
        mode: `"max"` or `"min"` (default `"max"`).
        best: The value to beat: a float, a callable returning one (or None),
            or None to never stop (default None; `NASTuner` supplies it).
        min_epochs: Epochs observed before the first forecast (default 3, the
            fewest the three-parameter curves can fit).
        z: How confident "confidently worse" is: the forecast plus `z`
            standard deviations must still be worse than `best` (default
            1.645, a one-sided 95% bound).
        horizon: The epoch to forecast (default None: the `epochs` of `fit`).
        bounds: Clip of each curve's prediction (default `(0, 1)` for
            accuracies; use None for unbounded metrics such as a loss).
    """

    def __init__(self, monitor="val_accuracy", mode="max", best=None, min_epochs=MIN_POINTS,
                 z=1.645, horizon=None, bounds=(0.0, 1.0)):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min'; got {mode!r}.")
        if int(min_epochs) < MIN_POINTS:
            raise ValueError(f"min_epochs must be >= {MIN_POINTS} (the curves have three "
                             f"parameters); got {min_epochs!r}.")
        if not z >= 0:
            raise ValueError(f"z must be >= 0 standard deviations; got {z!r}.")
        self.monitor, self.mode, self.best = monitor, mode, best
        self.min_epochs, self.z, self.horizon, self.bounds = int(min_epochs), float(z), horizon, bounds
        self.record = {"stopped": False}
        self._values = []

    def settings(self) -> dict:
        """The constructor arguments but `best` (to make a fresh copy per trial)."""
        return {"monitor": self.monitor, "mode": self.mode, "min_epochs": self.min_epochs,
                "z": self.z, "horizon": self.horizon, "bounds": self.bounds}

    def on_train_begin(self, logs=None):
        self._values = []
        self.record = {"stopped": False}

    def on_epoch_end(self, epoch, logs=None):
        if not logs or self.monitor not in logs:
            return
        self._values.append(float(logs[self.monitor]))
        decision = self.decide(self._values, epoch + 1)
        if decision is not None:
            self.record = decision
            self.model.stop_training = True

    def decide(self, values, epoch):
        """The stop record if the rule stops after `epoch` epochs with these `values`, else None."""
        best = self.best() if callable(self.best) else self.best
        horizon = int(self.horizon or (self.params or {}).get("epochs") or 0)
        if best is None or len(values) < self.min_epochs or epoch >= horizon:
            return None
        if not np.all(np.isfinite(values)):
            return None
        sign = 1.0 if self.mode == "max" else -1.0
        bounds = self.bounds if self.mode == "max" else None
        forecast = extrapolate([sign * v for v in values], horizon, bounds=bounds)
        optimistic = forecast.upper(self.z)
        if optimistic >= sign * float(best):
            return None
        mean, opt = sign * forecast.mean, sign * optimistic
        return {"stopped": True, "epoch": int(epoch), "horizon": horizon,
                "forecast": float(mean), "forecast_std": float(forecast.std),
                "best": float(best), "monitor": self.monitor,
                "reason": (f"forecast {mean:.4g} ± {forecast.std:.2g} at epoch {horizon} "
                           f"(optimistic {opt:.4g}) {'<' if sign > 0 else '>'} best {best:.4g}")}


# ------------------------------------------------------ the NASTuner hook
def check_option(value):
    """Validates `NASTuner(curve_stopping=...)`: None, True (defaults) or a `LearningCurveStopping`."""
    if value is None or value is False:
        return None
    if value is True:
        return LearningCurveStopping()
    if isinstance(value, LearningCurveStopping):
        return value
    raise TypeError("curve_stopping must be None, True or a "
                    f"kerasnas.estimation.LearningCurveStopping; got {value!r}.")


class CurveStopping(TunerFeature):
    """The `NASTuner` feature of `curve_stopping=`: a fresh rule per fit, its record per trial.

    Args:
        rule: The `LearningCurveStopping` whose settings every trial's rule
            takes, or None (the feature then does nothing).
    """

    def __init__(self, rule=None):
        self.rule = rule
        self._running = {}  # trial id -> the rule watching its fit

    def fit_callbacks(self, tuner, trial, user_callbacks):
        callback = start_trial(tuner, trial, self.rule)
        self._running[trial.trial_id] = callback
        return [] if callback is None else [callback]

    def on_fit_end(self, tuner, trial, model, x, validation_data):
        return finish_trial(tuner, trial, self._running.pop(trial.trial_id, None))


def start_trial(tuner, trial, rule):
    """A fresh callback for this trial with `rule`'s settings, watching the tuner's
    objective (None without a rule)."""
    if rule is None:
        return None
    settings = rule.settings()
    objective = tuner.oracle.objective
    name = getattr(objective, "name", None)
    if name and getattr(objective, "direction", None) in ("max", "min"):
        settings.update(monitor=name, mode=objective.direction)
    if settings["mode"] == "min":
        settings["bounds"] = None
    return LearningCurveStopping(best=lambda: _best_so_far(tuner, trial), **settings)


def _best_so_far(tuner, current):
    objective = tuner.oracle.objective
    scores = [t.score for t in tuner.oracle.trials.values()
              if t.trial_id != current.trial_id and t.status == "COMPLETED"
              and t.score is not None and np.isfinite(t.score)]
    if not scores:
        return None
    return max(scores) if getattr(objective, "direction", "max") == "max" else min(scores)


def finish_trial(tuner, trial, callback) -> dict:
    """The trial's metrics about the rule; writes `RECORD_FILE` when it stopped the trial."""
    if callback is None:
        return {}
    record = callback.record
    if record.get("stopped"):
        path = os.path.join(tuner.get_trial_dir(trial.trial_id), RECORD_FILE)
        from kerasnas.infra.atomic import write_json

        write_json(path, record, indent=1)
    return {"curve_stopped": float(record.get("stopped", False)),
            "curve_stopped_epoch": float(record.get("epoch", 0)),
            "curve_forecast": float(record.get("forecast", float("nan")))}
