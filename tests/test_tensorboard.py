"""TensorBoard: per-trial training logs and the HParams dashboard's view of the trials."""

import glob
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_digits
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata

from kerasnas.cli import main
from kerasnas.oracles import RandomSearch
from kerasnas.spaces import DenseSpace
from kerasnas.tuner.loop import NASTuner


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return (x[:200], y[:200]), (x[200:300], y[200:300])


def _tuner(tmp_path, max_trials, **kwargs):
    oracle = RandomSearch(objective="val_accuracy", max_trials=max_trials, seed=3)
    space = DenseSpace((64,), 10, max_layers=2, units=(8, 16))
    return NASTuner(oracle, space, epochs=2, verbose=0, directory=str(tmp_path),
                    project_name="p", **kwargs)


def _events(folder):
    """`(hparams plugin data by tag, {scalar tag: [values]})` of one run folder."""
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    plugin, scalars = {}, {}
    for tag in events.Tags()["tensors"]:
        if tag.startswith("_hparams_/"):
            data = events.SummaryMetadata(tag).plugin_data
            assert data.plugin_name == metadata.PLUGIN_NAME
            plugin[tag] = data.content
        else:  # scalars; the train folder also holds the model's config as a string tensor
            values = [tf.make_ndarray(e.tensor_proto) for e in events.Tensors(tag)]
            if all(v.dtype.kind == "f" for v in values):
                scalars[tag] = [float(v) for v in values]
    return plugin, scalars


def _value(proto):
    kind = proto.WhichOneof("kind")
    return getattr(proto, kind)


def test_search_writes_trial_curves_and_the_hparams_dashboard(digits, tmp_path):
    (x, y), val = digits
    logs = tmp_path / "logs"
    tuner = _tuner(tmp_path, 2, tensorboard=logs)
    tuner.search(x, y, validation_data=val)

    # The experiment: every decision of the space with its choices, the objective and costs.
    plugin, _ = _events(logs)
    experiment = metadata.parse_experiment_plugin_data(plugin[metadata.EXPERIMENT_TAG])
    declared = {h.name: [_value(v) for v in h.domain_discrete.values]
                for h in experiment.hparam_infos}
    for decision in tuner.hypermodel.encoding.decisions:
        assert sorted(declared[decision.name]) == sorted(decision.choices), decision.name
    metric_tags = [m.name.tag for m in experiment.metric_infos]
    assert metric_tags[0] == "val_accuracy" and {"params", "fit_time"} <= set(metric_tags)

    for trial_id in tuner.oracle.end_order:
        trial = tuner.oracle.trials[trial_id]
        folder = logs / f"trial_{trial_id}"
        plugin, scalars = _events(folder)
        session = metadata.parse_session_start_info_plugin_data(
            plugin[metadata.SESSION_START_INFO_TAG])
        assert session.group_name == trial_id
        values = {k: _value(v) for k, v in session.hparams.items()}
        for name, value in trial.hyperparameters.values.items():
            assert values[name] == pytest.approx(value), name
        assert scalars["val_accuracy"] == [pytest.approx(trial.score)]
        assert scalars["params"] == [trial.metrics.get_last_value("params")]
        # The per-epoch curves of keras.callbacks.TensorBoard, one value per epoch trained.
        epochs = int(trial.metrics.get_last_value("epochs"))
        for split in ("train", "validation"):
            _, curves = _events(folder / split)
            assert len(curves["epoch_loss"]) == epochs, (split, curves)

    # A resumed search adds its trials' sessions but keeps the one experiment configuration.
    resumed = _tuner(tmp_path, 3, tensorboard=logs)
    resumed.search(x, y, validation_data=val)
    assert len(resumed.oracle.end_order) == 3
    assert (logs / f"trial_{resumed.oracle.end_order[-1]}").is_dir()
    assert len(glob.glob(str(logs / "events.out.tfevents.*"))) == 1


def test_folds_get_their_own_folders_and_user_tensorboard_callbacks_go_per_trial(digits,
                                                                                 tmp_path):
    """k-fold trials log each fold; a user's own TensorBoard callback is split by trial as
    Keras Tuner does it (`LOG_DIR/<trial id>/execution<K>` with an HParams session)."""
    (x, y), val = digits
    logs, own = tmp_path / "logs", tmp_path / "own"
    tuner = _tuner(tmp_path, 1, tensorboard=logs, cv_folds=2)
    tuner.search(x, y, validation_data=val, callbacks=[keras.callbacks.TensorBoard(str(own))])
    trial_id = tuner.oracle.end_order[0]
    for fold in (0, 1):
        _, curves = _events(logs / f"trial_{trial_id}" / f"fold_{fold}" / "validation")
        assert curves["epoch_loss"], fold
        plugin, _ = _events(own / trial_id / f"execution{fold}")
        session = metadata.parse_session_start_info_plugin_data(
            plugin[metadata.SESSION_START_INFO_TAG])
        assert session.group_name == trial_id
    assert not glob.glob(str(own / "train" / "events.*"))  # nothing logged outside the trials


@pytest.mark.parametrize("bad, error, message", [
    (5, TypeError, "tensorboard must be a folder path"),
    ("", ValueError, "empty path"),
    ("FILE", ValueError, "is a file"),
])
def test_bad_tensorboard_folder_is_rejected_before_any_trial(tmp_path, bad, error, message):
    if bad == "FILE":
        bad = tmp_path / "logs.txt"
        bad.write_text("not a folder")
    with pytest.raises(error, match=message):
        _tuner(tmp_path, 1, tensorboard=bad)
    assert not (tmp_path / "p").exists()


def test_cli_tensorboard_option_writes_the_logs(tmp_path, capsys):
    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "d.npz", x=x[:320], y=y[:320])
    logs = tmp_path / "logs"
    code = main(["search", "--data", str(tmp_path / "d.npz"), "--max-trials", "1", "--epochs",
                 "1", "--quiet", "--test-split", "0", "--directory", str(tmp_path / "run"),
                 "--formats", "keras", "--tensorboard", str(logs), "--space", "dense",
                 "--space-arg", "max_layers=1", "--space-arg", "units=(8,)",
                 "--min-steps", "0", "--cv-folds", "none"])
    assert code == 0, capsys.readouterr().err
    sessions = [Path(p).parent for p in glob.glob(str(logs / "trial_*" / "events.*"))]
    assert len(sessions) == 1
    plugin, scalars = _events(sessions[0])
    assert metadata.SESSION_START_INFO_TAG in plugin and "val_accuracy" in scalars
