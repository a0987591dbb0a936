"""The tuner's extension protocol: a `TunerFeature` given at construction is called at its points,
its metrics are recorded, `StopSearch` ends the search; the one-liner takes `tuner_features`."""

import importlib

import numpy as np
import pytest

from kerasnas.oracles import RandomSearch
from kerasnas.spaces import DenseSpace
from kerasnas.tuner import NASTuner, StopSearch, TunerFeature


class Recorder(TunerFeature):
    """Logs each hook call, adds a metric per fit, stops after `stop_after` trials."""

    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def on_search_begin(self, tuner):
        self.calls.append("search_begin")

    def before_trial(self, tuner):
        self.calls.append("before_trial")
        if self.stop_after is not None and len(tuner.oracle.trials) >= self.stop_after:
            raise StopSearch("recorder says enough")

    def on_model_built(self, tuner, trial, model, x):
        self.calls.append("model_built")
        return {"layers_seen": float(len(model.layers))}

    def fit_callbacks(self, tuner, trial, user_callbacks):
        self.calls.append("fit_callbacks")
        return []

    def on_fit_end(self, tuner, trial, model, x, validation_data):
        self.calls.append("fit_end")
        return {"fit_end_seen": 1.0}

    def on_trial_end(self, tuner, trial):
        self.calls.append(f"trial_end:{tuner.oracle.get_trial(trial.trial_id).status}")

    def on_search_end(self, tuner):
        self.calls.append(f"search_end:{tuner.stopped_by}")


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype("float32")
    y = (x[:, 0] > 0).astype(int)
    return x[:60], y[:60], (x[60:], y[60:])


def _tuner(tmp_path, features, max_trials=3, **kwargs):
    oracle = RandomSearch(objective="val_accuracy", max_trials=max_trials, seed=1)
    return NASTuner(oracle, DenseSpace((4,), 2, max_layers=1, units=(4,)), epochs=1, verbose=0,
                    directory=str(tmp_path), project_name="p", features=features, **kwargs)


def test_a_feature_is_called_in_order_and_its_metrics_are_recorded(tmp_path):
    x, y, val = _data()
    recorder = Recorder()
    tuner = _tuner(tmp_path, [recorder], max_trials=2)
    assert tuner.features[-1] is recorder  # after the built-in ones
    tuner.search(x, y, validation_data=val)
    per_trial = ["before_trial", "model_built", "fit_callbacks", "fit_end", "trial_end:COMPLETED"]
    # Keras Tuner asks once more before it finds the oracle has nothing left.
    assert recorder.calls == ["search_begin", *per_trial, *per_trial, "before_trial",
                              "search_end:max_trials"]
    for trial in tuner.oracle.trials.values():
        assert trial.metrics.get_last_value("layers_seen") >= 2
        assert trial.metrics.get_last_value("fit_end_seen") == 1.0


def test_stop_search_ends_the_search_with_its_reason(tmp_path):
    x, y, val = _data()
    recorder = Recorder(stop_after=1)
    tuner = _tuner(tmp_path, [recorder], max_trials=5)
    tuner.search(x, y, validation_data=val)
    assert len(tuner.oracle.trials) == 1
    assert tuner.stopped_by == "recorder says enough"
    assert recorder.calls[-1] == "search_end:recorder says enough"


def test_a_feature_runs_once_per_fold_under_cross_validation(tmp_path):
    x, y, val = _data()
    recorder = Recorder()
    tuner = _tuner(tmp_path, [recorder], max_trials=1, cv_folds=3)
    tuner.search(x, y, validation_data=val)
    assert recorder.calls.count("model_built") == 3 and recorder.calls.count("fit_end") == 3
    assert recorder.calls.count("trial_end:COMPLETED") == 1


def test_features_must_be_tuner_features(tmp_path):
    with pytest.raises(TypeError, match="TunerFeature"):
        _tuner(tmp_path, [object()])


def test_the_one_liner_takes_tuner_features(tmp_path):
    import kerasnas

    x, y, val = _data()
    recorder = Recorder(stop_after=2)
    result = kerasnas.search(x, y, validation_data=val, max_trials=4, epochs=1, verbose=0,
                             directory=tmp_path / "run", tuner_features=[recorder], seed=0,
                             cv_folds=None, min_steps=10)
    assert len(result.history) == 2 and result.stopped_by == "recorder says enough"
    assert all(r.metrics["fit_end_seen"] == 1.0 for r in result.history)
    with pytest.raises(TypeError, match="tuner_features must be"):
        kerasnas.search(x, y, tuner_features=["not a feature"])


def test_the_module_paths_of_before_the_stage_folders_still_import():
    from kerasnas.infra.moved import MOVED

    for old, new in MOVED.items():
        assert importlib.import_module(old) is importlib.import_module(new), old
    from kerasnas.export import export_model  # as tutorials/05_darts.py imports it
    from kerasnas.recipe import TrainingRecipe
    from kerasnas.result import SearchResult

    assert export_model.__module__ == "kerasnas.deploy.export"
    assert TrainingRecipe.__module__ == "kerasnas.tuner.recipe"
    assert SearchResult.__module__ == "kerasnas.deploy.result"
