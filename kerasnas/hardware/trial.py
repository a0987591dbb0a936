"""Hardware metrics inside the trial loop: what `NASTuner` calls before and after training.

`HardwareObjective` holds the settings (quantization mode, how latency is
obtained, hard limits, MnasNet target). `NASTuner(..., hardware=HardwareObjective(...))`
gives it to its `HardwareMetrics` feature, which calls `start_trial` once the
candidate is built and `finish_trial` once it is trained; with `hardware=None`
it does nothing.

Metrics recorded with every trial (and so in `SearchResult` records, the
leaderboard and the report):

* `latency_ms`: median latency of one call of the converted model (batch
  `batch_size`, `threads` threads), measured with LiteRT, or predicted (see
  `latency`). `latency_measured` is 1.0 when it was measured, 0.0 when predicted.
* `latency_pred_ms`: the predictor's estimate, when a predictor is given.
* `model_bytes`: size of the converted `.tflite` flatbuffer.
* `quantized_accuracy` (classification) or `quantized_mae` (regression): the
  converted model's score on the validation data, with the trial's best-epoch
  weights. `quantized_accuracy` is the int8 accuracy with the default `quantize="int8"`.
* `mnas_reward`: `val_accuracy * (latency_ms / target_ms) ** w`, every epoch,
  when `target_ms` is set; use it as the oracle's objective for MnasNet's soft
  constraint (`keras_tuner.Objective("mnas_reward", "max")`).

Latency does not depend on the weights, so it is measured on the untrained
model *before* training: a candidate over a hard limit is rejected at once (a
FAILED trial whose message gives the reason, never the best) and costs no
training.

Example:

>>> from kerasnas.hardware import HardwareObjective
>>> hw = HardwareObjective(quantize="int8", latency_budget_ms=0.5)
>>> tuner = NASTuner(oracle, space, hardware=hw, epochs=3)        # doctest: +SKIP
"""

from __future__ import annotations

import copy
import math
from typing import Mapping

import keras
import keras_tuner
import numpy as np

from kerasnas.hardware.conversion import CALIBRATION_EXAMPLES, check_mode, convert
from kerasnas.hardware.objectives import MNAS_W, HardLimits, soft_reward
from kerasnas.hardware.runtime import REPEATS, WARMUP, measure_latency, tflite_predict
from kerasnas.tuner.features import TunerFeature

#: How latency is obtained: convert and time every candidate; use the predictor only;
#: or screen with the predictor and measure the candidates it does not reject.
LATENCY_MODES = ("measured", "predicted", "verified")

#: Metric names this module adds to a trial.
METRICS = ("latency_ms", "latency_measured", "latency_pred_ms", "model_bytes",
           "quantized_accuracy", "quantized_mae", "mnas_reward")


class LimitExceeded(keras_tuner.errors.FailedTrialError):
    """A candidate broke a hard latency or size limit: its trial is FAILED with the reason.

    Args:
        message: The reason, with the measured and the allowed values.
        metrics: The hardware metrics measured before the rejection.
    """

    def __init__(self, message, metrics=None):
        super().__init__(message)
        self.metrics = dict(metrics or {})


class HardwareObjective:
    """Settings of the hardware path of a search.

    Args:
        quantize: TFLite conversion mode of every candidate, one of
            `kerasnas.hardware.MODES` (default `"int8"`: full-integer, the
            form microcontrollers and NPUs run).
        latency: `"measured"` (default: convert and time every candidate),
            `"predicted"` (use `predictor` only, no conversion before
            training) or `"verified"` (predict first; reject a candidate whose
            prediction is over the latency limit by more than `verify_margin`,
            measure the others).
        latency_budget_ms: Hard latency limit in ms (default None: none).
        size_budget_bytes: Hard `.tflite` size limit in bytes (default None).
        target_ms: MnasNet's target latency T for the `mnas_reward` metric
            (default None: no reward metric).
        w: MnasNet's exponent (default -0.07, the paper's).
        predictor: A fitted `LatencyTable` or `LatencyRegressor` (anything with
            `predict_model(model) -> ms`); required for "predicted"/"verified".
        accuracy: Score the converted model on the validation data after
            training (default True).
        threads: Interpreter threads for timing (default 1).
        batch_size: Examples per timed call (default 1: one request).
        warmup: Untimed calls before timing (default `WARMUP`).
        repeats: Timed calls (default `REPEATS`).
        calibration_examples: int8 calibration examples drawn from the trial's
            training data (default `CALIBRATION_EXAMPLES`).
        verify_margin: Relative slack of "verified" screening (default 0.25: a
            predictor with about 20% error must not reject candidates that are
            in fact inside the budget).
        codesign: Search the hardware settings with the network
            (`kerasnas.hardware.codesign`): False (default), True (the
            quantization mode among `CODESIGN_MODES`, the input downscale among
            `CODESIGN_DOWNSCALES` and the threads among `CODESIGN_THREADS`
            become decisions of every architecture), or a dict of some of
            `modes`, `downscales`, `threads` to search instead. Each trial is
            then converted and timed with its own settings (`for_values`).
        delegates: Time with LiteRT's default XNNPACK delegate (default True);
            False times the built-in kernels (see `measure_latency`).
    """

    def __init__(self, quantize="int8", *, latency="measured", latency_budget_ms=None,
                 size_budget_bytes=None, target_ms=None, w=MNAS_W, predictor=None, accuracy=True,
                 threads=1, batch_size=1, warmup=WARMUP, repeats=REPEATS,
                 calibration_examples=CALIBRATION_EXAMPLES, verify_margin=0.25, delegates=True,
                 codesign=False):
        self.quantize = check_mode(quantize)
        self.codesign = _check_codesign(codesign)
        if latency not in LATENCY_MODES:
            raise ValueError(f"latency must be one of {LATENCY_MODES}, got {latency!r}.")
        if latency != "measured" and predictor is None:
            raise ValueError(f"latency={latency!r} needs a fitted predictor: pass "
                             "predictor=LatencyTable(...).fit(...) or LatencyRegressor().fit(...), "
                             "or use latency='measured'.")
        self.latency = latency
        self.limits = HardLimits(latency_ms=latency_budget_ms, model_bytes=size_budget_bytes)
        if target_ms is not None and not (isinstance(target_ms, (int, float)) and target_ms > 0):
            raise ValueError(f"target_ms must be a positive number of milliseconds, got "
                             f"{target_ms!r}.")
        self.target_ms = None if target_ms is None else float(target_ms)
        self.w = float(w)
        self.predictor = predictor
        self.accuracy = bool(accuracy)
        self.threads, self.batch_size = int(threads), int(batch_size)
        self.warmup, self.repeats = int(warmup), int(repeats)
        self.calibration_examples = int(calibration_examples)
        self.verify_margin = float(verify_margin)
        self.delegates = bool(delegates)

    def for_values(self, values) -> "HardwareObjective":
        """These settings for one trial: its `hw_quantize` / `hw_threads` decisions (codesign)
        in place of `quantize` / `threads`; `self` when its values hold none."""
        if not any(name in values for name in ("hw_quantize", "hw_threads")):
            return self
        trial = copy.copy(self)
        trial.quantize = check_mode(values.get("hw_quantize", self.quantize))
        trial.threads = int(values.get("hw_threads", self.threads))
        return trial

    def space_for(self, space):
        """`space` wrapped in a `CodesignSpace` when codesign is on, else `space` itself."""
        if not self.codesign:
            return space
        from kerasnas.hardware.codesign_space import CodesignSpace

        return CodesignSpace(space, **self.codesign)

    def settings(self) -> dict:
        """The settings a search result records (JSON-serialisable): the quantization mode,
        the limits, the interpreter threads and batch size, MnasNet's target.

        Example:

        >>> HardwareObjective("int8", latency_budget_ms=2.0).settings()["latency_budget_ms"]
        2.0
        """
        return {"quantize": self.quantize, "latency": self.latency,
                "latency_budget_ms": self.limits.latency_ms,
                "size_budget_bytes": self.limits.model_bytes, "target_ms": self.target_ms,
                "threads": self.threads, "batch_size": self.batch_size,
                "codesign": self.codesign or None}

    def __repr__(self):
        codesign = f", codesign={self.codesign}" if self.codesign else ""
        return (f"HardwareObjective(quantize={self.quantize!r}, latency={self.latency!r}, "
                f"limits={self.limits}, target_ms={self.target_ms}{codesign})")

    # ------------------------------------------------------------ pieces
    def convert(self, model, x):
        data = None
        if self.quantize == "int8":
            if not isinstance(x, np.ndarray):
                raise ValueError("int8 conversion draws calibration data from the training inputs, "
                                 "which must be a numpy array here; pass numpy x to search().")
            data = x
        return convert(model, self.quantize, representative_data=data,
                       num_examples=self.calibration_examples)

    def measure(self, flatbuffer) -> float:
        return measure_latency(flatbuffer, threads=self.threads, batch_size=self.batch_size,
                               warmup=self.warmup, repeats=self.repeats,
                               delegates=self.delegates).median_ms

    def pre_fit_metrics(self, model, x) -> dict:
        """Latency and size of the (untrained) `model`; raises `LimitExceeded` over a limit."""
        metrics = {}
        if self.predictor is not None:
            metrics["latency_pred_ms"] = float(self.predictor.predict_model(model))
        limit = self.limits.latency_ms
        if (self.latency == "verified" and limit is not None
                and metrics["latency_pred_ms"] > limit * (1 + self.verify_margin)):
            metrics.update(latency_ms=metrics["latency_pred_ms"], latency_measured=0.0)
            raise LimitExceeded(
                f"Rejected before training: predicted latency {metrics['latency_pred_ms']:.3f} ms "
                f"is over the limit of {limit:.3f} ms by more than {self.verify_margin:.0%}.",
                metrics)
        if self.latency == "predicted":
            metrics.update(latency_ms=metrics["latency_pred_ms"], latency_measured=0.0)
            if self.limits.model_bytes is not None:
                metrics["model_bytes"] = float(self.convert(model, x).model_bytes)
        else:
            conversion = self.convert(model, x)
            metrics.update(latency_ms=self.measure(conversion.flatbuffer), latency_measured=1.0,
                           model_bytes=float(conversion.model_bytes))
        reasons = self.limits.violations(metrics)
        if reasons:
            raise LimitExceeded("Rejected before training: " + "; ".join(reasons) + ".", metrics)
        return metrics

    def post_fit_metrics(self, model, x, validation_data) -> dict:
        """`model_bytes` and the converted model's validation score after training."""
        if not self.accuracy or validation_data is None or not isinstance(validation_data, tuple):
            return {}
        x_val, y_val = validation_data[0], validation_data[1]
        if not isinstance(x_val, np.ndarray):
            return {}
        conversion = self.convert(model, x)
        outputs = tflite_predict(conversion.flatbuffer, x_val)
        metrics = {"model_bytes": float(conversion.model_bytes)}
        y_val = np.asarray(y_val)
        if _is_classifier(model):
            metrics["quantized_accuracy"] = float(
                np.mean(np.argmax(outputs, axis=-1) == y_val.reshape(-1)))
        else:
            metrics["quantized_mae"] = float(np.mean(np.abs(outputs.reshape(y_val.shape[0], -1)
                                                            - y_val.reshape(y_val.shape[0], -1))))
        return metrics


def _check_codesign(codesign) -> dict:
    """`codesign` as the choices `CodesignSpace` takes (`{}` when off)."""
    from kerasnas.hardware.codesign import (
        CODESIGN_DOWNSCALES,
        CODESIGN_MODES,
        CODESIGN_THREADS,
        CodesignEncoding,
    )

    if codesign is False or codesign is None:
        return {}
    defaults = {"modes": CODESIGN_MODES, "downscales": CODESIGN_DOWNSCALES,
                "threads": CODESIGN_THREADS}
    if codesign is True:
        return dict(defaults)
    if not isinstance(codesign, Mapping) or set(codesign) - set(defaults):
        raise ValueError(f"codesign must be True, False or a dict of some of {sorted(defaults)}; "
                         f"got {codesign!r}.")
    choices = {k: tuple(codesign.get(k, v)) for k, v in defaults.items()}
    from kerasnas.spaces.encodings import NB201Encoding

    CodesignEncoding(NB201Encoding(), **choices)  # checks the values, names the bad one
    return choices


def _is_classifier(model):
    activation = getattr(model.layers[-1], "activation", None)
    return getattr(activation, "__name__", "") == "softmax"


class _HardwareLogger(keras.callbacks.Callback):
    """Adds the pre-fit hardware metrics and `mnas_reward` to every epoch's logs."""

    def __init__(self, metrics, target_ms, w):
        super().__init__()
        self.metrics, self.target_ms, self.w = dict(metrics), target_ms, w

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs.update(self.metrics)
        latency = self.metrics.get("latency_ms")
        accuracy = logs.get("val_accuracy")
        if self.target_ms is not None and latency and accuracy is not None \
                and math.isfinite(float(accuracy)):
            logs["mnas_reward"] = soft_reward(float(accuracy), latency, self.target_ms, self.w)


class HardwareTrial:
    """One trial's hardware state: its pre-fit metrics and the callbacks that log them."""

    def __init__(self, objective, metrics):
        self.objective = objective
        self.metrics = metrics
        self.callbacks = ([] if objective is None else
                          [_HardwareLogger(metrics, objective.target_ms, objective.w)])


class HardwareMetrics(TunerFeature):
    """The `NASTuner` feature of `hardware=`: every candidate converted, timed and scored.

    Args:
        objective: A `HardwareObjective`, or None (the feature then does nothing).
    """

    def __init__(self, objective=None):
        self.objective = objective
        self._running = {}  # trial id -> its HardwareTrial

    def on_model_built(self, tuner, trial, model, x):
        state = start_trial(tuner, trial, model, x, self.objective)
        self._running[trial.trial_id] = state
        return state.metrics

    def fit_callbacks(self, tuner, trial, user_callbacks):
        state = self._running.get(trial.trial_id)
        return [] if state is None else list(state.callbacks)

    def on_fit_end(self, tuner, trial, model, x, validation_data):
        state = self._running.pop(trial.trial_id, None)
        if state is None:
            return {}
        return finish_trial(tuner, trial, state, model, x, validation_data)


def start_trial(tuner, trial, model, x, objective) -> HardwareTrial:
    """Before training: latency and size of the candidate; a `LimitExceeded` rejects it.

    The rejected trial keeps its measured metrics (visible in the leaderboard)
    and the reason in its message.
    """
    if objective is None:
        return HardwareTrial(None, {})
    objective = objective.for_values(trial.hyperparameters.values)
    try:
        metrics = objective.pre_fit_metrics(model, x)
    except LimitExceeded as err:
        for name, value in err.metrics.items():
            trial.metrics.update(name, float(value))
        # Keras Tuner ends a search after `max_consecutive_failed_trials` FAILED trials in a
        # row (default 3); a rejection is an answer, not a failure, so it extends the allowance.
        oracle = tuner.oracle
        if getattr(oracle, "max_consecutive_failed_trials", None) is not None:
            oracle.max_consecutive_failed_trials += 1
        raise
    return HardwareTrial(objective, metrics)


def finish_trial(tuner, trial, hardware_trial, model, x, validation_data) -> dict:
    """After training: the converted model's validation score, with the best epoch's weights."""
    objective = hardware_trial.objective
    if objective is None:
        return {}
    checkpoint = tuner.checkpoint_path(trial.trial_id)
    try:
        model.load_weights(checkpoint)
    except (OSError, ValueError):
        pass  # no checkpoint written (e.g. cut at the deadline before the first epoch ended)
    return objective.post_fit_metrics(model, x, validation_data)


def hardware_from_args(hardware=None, quantize=None, latency_budget_ms=None,
                       size_budget_bytes=None):
    """The `HardwareObjective` of `kerasnas.search`'s hardware arguments (None if none is set).

    `hardware` (a `HardwareObjective`) is used as given; otherwise any of
    `quantize`, `latency_budget_ms`, `size_budget_bytes` builds one (with
    `quantize="int8"` when only a budget is given). Checked before any training.
    """
    if hardware is not None:
        if not isinstance(hardware, HardwareObjective):
            raise TypeError(f"hardware must be a kerasnas.hardware.HardwareObjective, got "
                            f"{hardware!r}.")
        if quantize is not None or latency_budget_ms is not None or size_budget_bytes is not None:
            raise ValueError("Pass either hardware=HardwareObjective(...) or quantize / "
                             "latency_budget_ms / size_budget_bytes, not both.")
        return hardware
    if quantize is None and latency_budget_ms is None and size_budget_bytes is None:
        return None
    return HardwareObjective(quantize or "int8", latency_budget_ms=latency_budget_ms,
                             size_budget_bytes=size_budget_bytes)
