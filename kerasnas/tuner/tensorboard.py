"""TensorBoard logs of a search: per-trial training curves and the HParams dashboard.

`NASTuner(..., tensorboard=DIR)` (and `kerasnas.search(..., tensorboard=DIR)`,
`kerasnas search --tensorboard DIR`) writes:

* `DIR/trial_XX/train` and `DIR/trial_XX/validation`: each trial's per-epoch
  logs from `keras.callbacks.TensorBoard` (with k-fold selection,
  `DIR/trial_XX/fold_K/...`, one folder per fold);
* `DIR/trial_XX` (the HParams session of the trial): the trial's decisions
  (its hyperparameter values) and, when it ends, its metrics as Keras Tuner
  scored it (the objective at the best epoch, `params`, `flops`, `fit_time`,
  `epochs`, ...);
* `DIR` itself: the experiment's configuration (every decision with its
  choices, and the metrics), written once, so the HParams dashboard lists
  each decision even before every choice has been tried.

Then `tensorboard --logdir DIR` shows the curves under Scalars and the trials
under HParams (table, parallel coordinates, scatter plots).

A `keras.callbacks.TensorBoard` passed to `NASTuner.search(callbacks=[...])` is
handled as Keras Tuner handles it: its `log_dir` gets one sub-folder per trial
(`LOG_DIR/<trial id>/execution<K>`) and an HParams session per fit.

Example:

>>> result = kerasnas.search(x, y, tensorboard="logs")       # doctest: +SKIP
>>> # then, in a shell:  tensorboard --logdir logs
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from kerasnas.tuner.features import TunerFeature

#: Trial metrics the experiment configuration lists besides the objective(s): the costs
#: every NASTuner trial records (see `kerasnas.tuner.loop`).
COST_METRICS = ("params", "flops", "fit_time", "epochs", "best_epoch")


def check_log_dir(tensorboard):
    """`tensorboard` as a `Path`, or None; a clear error for anything else.

    Raises:
        TypeError: if it is not a str or path.
        ValueError: if it names an existing file.
    """
    if tensorboard is None:
        return None
    if isinstance(tensorboard, bool) or not isinstance(tensorboard, (str, os.PathLike)):
        raise TypeError(f"tensorboard must be a folder path (str or Path) or None, got "
                        f"{type(tensorboard).__name__}; e.g. tensorboard='logs'.")
    path = Path(tensorboard)
    if not str(tensorboard).strip():
        raise ValueError("tensorboard is an empty path; pass a folder such as 'logs' or None.")
    if path.exists() and not path.is_dir():
        raise ValueError(f"tensorboard={str(path)!r} is a file; pass a folder for the logs.")
    return path


class TrialLogs(TunerFeature):
    """Writes a search's TensorBoard logs under one folder (see the module docstring).

    The `NASTuner` feature of `tensorboard=`: `fit_callbacks` gives each fit its
    `TensorBoard` callback, `on_trial_end` writes the trial's HParams session.

    Args:
        log_dir: The folder (created if missing); `tensorboard --logdir` it.

    Example:

    >>> logs = TrialLogs("logs")                                 # doctest: +SKIP
    >>> tuner = NASTuner(oracle, space, tensorboard="logs")      # doctest: +SKIP
    >>> callbacks = logs.fit_callbacks(tuner, trial, [])         # doctest: +SKIP
    >>> logs.on_trial_end(tuner, trial)                          # doctest: +SKIP
    """

    def __init__(self, log_dir):
        self.log_dir = check_log_dir(log_dir)
        self._fits = {}  # trial id -> fits started (folds of a k-fold trial)

    def trial_dir(self, trial_id) -> Path:
        """The trial's folder, the HParams session of the trial."""
        return self.log_dir / f"trial_{trial_id}"

    def fit_callbacks(self, tuner, trial, user_callbacks=()):
        """Callbacks for one fit of `trial`: a `keras.callbacks.TensorBoard` writing to the
        trial's folder (a `fold_K` sub-folder under k-fold selection).

        `TensorBoard` callbacks among `user_callbacks` (the fit's own copies) are
        pointed at per-trial folders by Keras Tuner's own code: changed in
        place, with an HParams callback appended to the list for each.
        """
        if any(type(c).__name__ == "TensorBoard" for c in user_callbacks):
            from kerasnas.infra.kt_internals import configure_tensorboard_dir

            configure_tensorboard_dir(tuner, user_callbacks, trial, self._count(trial, "user"))
        if self.log_dir is None:
            return []
        import keras

        self._write_config(tuner)
        fit = self._count(trial, "own")
        folder = self.trial_dir(trial.trial_id)
        if getattr(tuner, "cv_folds", None):
            folder = folder / f"fold_{fit}"
        return [keras.callbacks.TensorBoard(log_dir=str(folder))]

    def on_trial_end(self, tuner, trial):
        """Writes `trial`'s HParams session: its decisions and final metrics."""
        if self.log_dir is None:
            return
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hp

        self._write_config(tuner)
        trial = tuner.oracle.get_trial(trial.trial_id)
        self._fits.pop(trial.trial_id, None)
        hparams = _trial_hparams(trial.hyperparameters, hp)
        writer = tf.summary.create_file_writer(str(self.trial_dir(trial.trial_id)))
        with writer.as_default():
            hp.hparams(hparams, trial_id=trial.trial_id)
            for name, value in _final_metrics(trial).items():
                tf.summary.scalar(name, value, step=0)
        writer.close()

    def _count(self, trial, kind):
        counts = self._fits.setdefault(trial.trial_id, {})
        counts[kind] = counts.get(kind, -1) + 1
        return counts[kind]

    def _write_config(self, tuner):
        """The experiment's configuration, once per folder (a resumed search keeps the first)."""
        if glob.glob(str(self.log_dir / "events.out.tfevents.*")):
            return
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hp

        hparams = list(_trial_hparams(tuner.oracle.get_space(), hp, domains=True))
        names = [o.name for o in _objectives(tuner.oracle.objective)]
        names += [m for m in ("val_loss", "loss", *COST_METRICS) if m not in names]
        metrics = [hp.Metric(name, display_name=name) for name in names]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        writer = tf.summary.create_file_writer(str(self.log_dir))
        with writer.as_default():
            hp.hparams_config(hparams=hparams, metrics=metrics)
        writer.close()


def _trial_hparams(hyperparameters, hp, domains=False):
    """`{HParam: value}` of the active hyperparameters (Keras Tuner's own conversion).

    Keras Tuner's tuner_utils converts HyperParameters to HParams with their
    domains (choices, ranges); this is the one place kerasnas uses it. With
    `domains=False` the keys are plain names, so each trial's session holds
    its values only (the domains live in the experiment configuration).
    """
    from kerasnas.infra.kt_internals import convert_hyperparams_to_hparams

    converted = convert_hyperparams_to_hparams(hyperparameters, hp)
    if domains:
        return converted
    return {key.name: value for key, value in converted.items()
            if isinstance(value, (bool, int, float, str))}


def _objectives(objective):
    return list(getattr(objective, "objectives", None) or [objective])


def _final_metrics(trial) -> dict:
    """The trial's recorded metrics (Keras Tuner's best-epoch values), finite scalars only."""
    import math

    values = {}
    for name in trial.metrics.metrics:
        value = trial.metrics.get_last_value(name)
        if isinstance(value, (int, float)) and math.isfinite(float(value)):
            values[name] = float(value)
    return values


__all__ = ["TrialLogs", "check_log_dir", "COST_METRICS"]
