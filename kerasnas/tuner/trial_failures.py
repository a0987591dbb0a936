"""Candidates that fail: recorded as FAILED trials with a one-line reason, and the search goes on.

A NAS search proposes architectures nobody has tried; some cannot work, and
none of them should end a long run. `NASTuner` fails a trial (Keras Tuner's
`FailedTrialError`: status FAILED, no retry, the oracle learns of it, the next
trial starts) when the candidate

* cannot be built for this input (Keras raises a `ValueError` while building,
  e.g. more downsampling than the input has pixels): `build_failure`;
* is over a size limit, before any training: `NASTuner(max_params=...,
  max_flops=...)`, checked by `check_limits`;
* diverges: its training loss becomes NaN or infinite (`NonFiniteLoss`, which
  stops training at that batch);
* runs out of memory (`tuner._is_out_of_memory`).

Anything else raised while building or training is a bug and still stops the
search (`TrialCrashedError`). `reason(trial.message)` turns Keras Tuner's stored
traceback back into the one line users see in the progress line, the
leaderboard (`TrialRecord.reason`), `SearchResult.summary()` and the report.

Example:

>>> tuner = NASTuner(oracle, space, max_params=200_000)        # doctest: +SKIP
>>> [r.reason for r in result.history if r.status == "FAILED"]  # doctest: +SKIP
['78,410,000 params is over the limit of 200,000 (max_params)']
"""

from __future__ import annotations

import math

import keras
import keras_tuner


class TrialFailed(keras_tuner.errors.FailedTrialError):
    """A candidate that cannot work: its trial is FAILED with this message as the reason."""


def check_limits(cost: dict, max_params=None, max_flops=None) -> None:
    """Raises `TrialFailed` if the model's `cost` (`params`, `flops`) is over a limit."""
    for name, limit in (("params", max_params), ("flops", max_flops)):
        value = cost.get(name)
        if limit is not None and value is not None and math.isfinite(value) and value > limit:
            raise TrialFailed(f"{value:,.0f} {name} is over the limit of {limit:,.0f} "
                              f"(max_{name}); not trained")


def check_limit_option(name, value):
    """`value` as a positive number or None; a clear error otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number or None, got {value!r}.")
    return value


def build_failure(err: Exception) -> TrialFailed | None:
    """The `TrialFailed` for an error raised while building a candidate, or None for a bug.

    Keras reports a candidate that does not fit the input (negative or zero
    sizes, incompatible shapes) with a `ValueError`; other exceptions are bugs.
    """
    if isinstance(err, ValueError):
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return TrialFailed(f"could not be built for this input: {first[:300]}")
    return None


class NonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first batch or epoch whose loss is NaN or infinite.

    After `fit`, `reason` says where it happened (None if it never did);
    `NASTuner` then fails the trial with it instead of scoring a diverged model.
    """

    def __init__(self):
        super().__init__()
        self.reason = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _check(self, logs, where):
        for name in ("loss", "val_loss"):
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                self.reason = (f"diverged: {name} became {float(value)} {where} "
                               f"(epoch {self._epoch + 1})")
                self.model.stop_training = True
                return

    def on_train_batch_end(self, batch, logs=None):
        if self.reason is None:
            self._check(logs, f"at batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        if self.reason is None:
            self._check(logs, "at the end of an epoch")


def reason(message) -> str:
    """The one-line reason in a failed trial's `message` (Keras Tuner stores the traceback)."""
    if not message:
        return ""
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    head, sep, rest = last.partition(": ")
    if sep and (head.endswith("Error") or head.endswith("Failed") or "." in head):
        last = rest
    return last


__all__ = ["NonFiniteLoss", "TrialFailed", "build_failure", "check_limit_option",
           "check_limits", "reason"]
