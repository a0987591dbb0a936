"""NASTuner: cost metrics, time budget, resume, progress lines, crashing trials."""

import keras
import keras_tuner
import pytest
from sklearn.datasets import load_digits

from kerasnas.oracles import RandomSearch
from kerasnas.spaces import DenseSpace
from kerasnas.tuner.loop import NASTuner, TrialCrashedError


@pytest.fixture(scope="module")
def tabular():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return (x[:300], y[:300]), (x[300:400], y[300:400])


def _space():
    return DenseSpace((64,), 10, max_layers=2, units=(8, 16))


def _tuner(tmp_path, max_trials, **kwargs):
    oracle = RandomSearch(objective="val_accuracy", max_trials=max_trials, seed=3)
    return NASTuner(oracle, _space(), directory=str(tmp_path), project_name="p", **kwargs)


def test_trials_record_score_cost_and_progress(tabular, tmp_path, capsys):
    (x, y), val = tabular
    tuner = _tuner(tmp_path, 2, epochs=2)
    tuner.search(x, y, validation_data=val)
    trials = [tuner.oracle.trials[t] for t in tuner.oracle.end_order]
    assert [t.status for t in trials] == ["COMPLETED", "COMPLETED"]
    for trial in trials:
        m = trial.metrics
        model = tuner.hypermodel.build(trial.hyperparameters)
        assert m.get_last_value("params") == model.count_params()
        assert m.get_last_value("flops") > 0
        assert m.get_last_value("fit_time") > 0
        assert m.get_last_value("epochs") == 2
        assert m.get_last_value("budget_cut") == 0
        assert 0 <= trial.score <= 1
    assert tuner.stopped_by == "max_trials"
    lines = capsys.readouterr().out.strip().splitlines()
    trial_lines = [line for line in lines if "trial " in line and "/2" in line]
    assert len(trial_lines) == 2 and trial_lines[-1].startswith("[" + "#" * 20 + "]")
    assert "Search: Running Trial" not in "\n".join(lines)  # Keras Tuner's display is silenced
    assert lines[-1].startswith("Search finished: 2 trial(s)")


def test_resume_runs_only_the_missing_trials(tabular, tmp_path, capsys):
    (x, y), val = tabular
    first = _tuner(tmp_path, 2, epochs=1, verbose=0)
    first.search(x, y, validation_data=val)
    done = {tid: dict(t.hyperparameters.values) for tid, t in first.oracle.trials.items()}
    assert capsys.readouterr().out == ""  # verbose=0 is silent

    resumed = _tuner(tmp_path, 3, epochs=1)
    assert resumed.resumed_trials == 2
    resumed.search(x, y, validation_data=val)
    assert "Resuming the search" in capsys.readouterr().out
    trials = resumed.oracle.trials
    assert len(trials) == 3
    for tid, values in done.items():
        assert trials[tid].hyperparameters.values == values
    assert all(t.status == "COMPLETED" for t in trials.values())


def test_time_budget_stops_the_search_and_keeps_finished_trials(tabular, tmp_path):
    (x, y), val = tabular
    tuner = _tuner(tmp_path, 50, epochs=1000, time_budget=2.0, early_stopping=None, verbose=0)
    tuner.search(x, y, validation_data=val)
    assert tuner.stopped_by == "time_budget"
    ended = [tuner.oracle.trials[t] for t in tuner.oracle.end_order]
    assert 1 <= len(ended) < 50
    # The trial running at the deadline stopped early but kept its score.
    last = ended[-1]
    assert last.status == "COMPLETED" and last.score is not None
    assert last.metrics.get_last_value("budget_cut") == 1
    assert last.metrics.get_last_value("epochs") < 1000


def test_time_budget_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="time_budget must be > 0"):
        _tuner(tmp_path, 2, time_budget=0)
    with pytest.raises(ValueError, match="train_fraction must be in"):
        _tuner(tmp_path, 2, train_fraction=1.5)


class _CountBatches(keras.callbacks.Callback):
    # A class attribute: the tuner deep-copies callbacks, which would copy an instance list.
    batches = []

    def on_train_batch_end(self, batch, logs=None):
        _CountBatches.batches.append(batch)


def test_train_fraction_trains_on_a_subset(tabular, tmp_path):
    (x, y), val = tabular
    tuner = _tuner(tmp_path, 1, epochs=1, train_fraction=0.25, batch_size=15, verbose=0)
    _CountBatches.batches.clear()
    tuner.search(x, y, validation_data=val, callbacks=[_CountBatches()])
    assert len(_CountBatches.batches) == 75 // 15  # 25% of 300 examples, one epoch


def test_a_crashing_trial_stops_the_search_with_a_clear_error(tabular, tmp_path):
    (x, y), val = tabular

    class BuildsOnceThenBreaks(keras_tuner.HyperModel):
        """A real hypermodel with a bug that shows only when a trial builds it."""

        calls = 0

        def build(self, hp):
            hp.Int("units", 4, 8)
            BuildsOnceThenBreaks.calls += 1
            if BuildsOnceThenBreaks.calls > 1:  # the first build only declares the space
                raise AttributeError("'NoneType' object has no attribute 'shape'")
            inputs = keras.Input((64,))
            model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))
            model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=3)
    tuner = NASTuner(oracle, BuildsOnceThenBreaks(), directory=str(tmp_path), project_name="c",
                     verbose=0)
    with pytest.raises(TrialCrashedError, match="AttributeError: 'NoneType' object has no "
                                                "attribute 'shape'.*not a bad architecture"):
        tuner.search(x, y, validation_data=val)
    assert issubclass(TrialCrashedError, keras_tuner.errors.FatalError)
