"""The one home of Keras Tuner internals (`keras_tuner.src...`), which move between releases.

Everything else in kerasnas imports these names from here, so a Keras Tuner
upgrade that moves them is fixed in this file alone. Checked against
keras-tuner 1.4.7 and 1.4.8.
"""

from keras_tuner.src.engine import tuner_utils
from keras_tuner.src.engine.objective import MultiObjective, create_objective
from keras_tuner.src.engine.tuner_utils import convert_hyperparams_to_hparams

__all__ = ["MultiObjective", "atomic_keras_tuner", "checkpoint_path", "configure_tensorboard_dir",
           "convert_hyperparams_to_hparams", "count_run", "create_objective", "deepcopy_callbacks",
           "record_end", "retry_queue", "try_build", "tuner_utils"]


def checkpoint_path(tuner, trial_id) -> str:
    """Where a Keras Tuner `Tuner` saves trial `trial_id`'s best-epoch weights."""
    return tuner._get_checkpoint_fname(str(trial_id))


def retry_queue(oracle) -> list:
    """The oracle's queue of trial ids to run again (Keras Tuner's own list, changed in place)."""
    return oracle._retry_queue


def count_run(oracle, trial_id) -> None:
    """Counts one more run of `trial_id` in the oracle's retry bookkeeping."""
    oracle._run_times[trial_id] += 1


def record_end(oracle, trial) -> None:
    """Keras Tuner's bookkeeping of a trial's end (best trials, consecutive failures)."""
    oracle._record_end(trial)


def try_build(tuner, hp):
    """Builds the hypermodel for `hp` the way Keras Tuner does (its size check included)."""
    return tuner._try_build(hp)


def deepcopy_callbacks(tuner, callbacks) -> list:
    """Keras Tuner's per-trial copies of the user's callbacks."""
    return tuner._deepcopy_callbacks(callbacks)


def configure_tensorboard_dir(tuner, callbacks, trial, execution=0) -> None:
    """Points the `TensorBoard` callbacks among `callbacks` at per-trial folders, in place
    (Keras Tuner's own code, which also appends an HParams callback for each)."""
    tuner._configure_tensorboard_dir(callbacks, trial, execution)


def atomic_keras_tuner():
    """Routes Keras Tuner's JSON state writes (`oracle.json`, `trial.json`, `tuner0.json`)
    through `kerasnas.infra.atomic.write_text`, so a process killed mid-write never leaves one
    half-written. Idempotent; remote paths (`gs://...`) keep Keras Tuner's own writer."""
    from keras_tuner.src import utils as kt_utils

    if getattr(kt_utils.save_json, "kerasnas_atomic", False):
        return
    original = kt_utils.save_json

    def save_json(path, obj):
        if "://" in str(path):
            return original(path, obj)
        from kerasnas.infra.atomic import write_json

        return write_json(path, obj)

    save_json.kerasnas_atomic = True
    kt_utils.save_json = save_json


atomic_keras_tuner()
