"""kerasnas.search: task inference per input kind, bad inputs, resume, the SearchResult."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

import kerasnas
from kerasnas.automl.assemble import auto_space
from kerasnas.deploy.result import SearchResult

# Tiny spaces keep every search below a few seconds of training.
# Exactly the given epochs on one validation split: the recipe and k-fold are tested in
# test_one_liner.py.
QUICK = {"min_steps": 0, "cv_folds": None}
TINY_CELL = {"space": "cell", "num_cells": 2, "num_blocks": 1, "channels": 4, **QUICK}
TINY_DENSE = {"space": "dense", "max_layers": 1, "units": (8,), **QUICK}


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.images.astype("float32"), data.target


@pytest.fixture(scope="module")
def image_result(digits, tmp_path_factory):
    """One real search on digits images with string labels, shared by several tests."""
    x, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    directory = tmp_path_factory.mktemp("image") / "run"
    # A linear model beats 300 steps of a tiny CNN on digits: keep the searched model, the subject
    # here (the fallback to a baseline is tests/test_baseline.py's).
    result = kerasnas.search(x[:300], names[y[:300]], max_trials=2, epochs=1, seed=0,
                             directory=directory, verbose=0, strategy="random",
                             baseline_fallback=False, **TINY_CELL)
    return result, names


def test_image_search_infers_the_task_and_returns_a_usable_result(image_result, digits):
    result, names = image_result
    x, y = digits
    assert result.task.kind == "image" and result.task.problem == "classification"
    assert result.task.input_shape == (8, 8, 1) and result.task.num_classes == 10
    assert result.model.input_shape == (None, 8, 8, 1)
    assert len(result.history) == 2 and len(result.leaderboard) == 2
    scores = [r.score for r in result.leaderboard]
    assert scores == sorted(scores, reverse=True)
    best = result.best_trials(1)[0]
    # 300 examples: the simplest trial within one standard error of the best is returned.
    returned = best if result.selection is None else \
        next(r for r in result.history if r.trial_id == result.selection["trial"])
    assert str(result.architecture) == returned.architecture
    assert {"params", "flops", "fit_time", "val_accuracy"} <= set(best.metrics)
    assert result.refit_history["loss"]  # refit on train + validation ran
    labels = result.predict(x[300:320])
    assert set(labels) <= set(names)  # the user's own label values come back
    assert result.predict_proba(x[300:320]).shape == (20, 10)
    assert 0 <= result.evaluate(x[300:320], names[y[300:320]])["accuracy"] <= 1


def test_result_saves_loads_exports_and_reports(image_result, digits, tmp_path):
    result, _ = image_result
    x, _ = digits
    saved = SearchResult.load(result.directory + "/result")
    np.testing.assert_allclose(saved.predict_proba(x[:5]), result.predict_proba(x[:5]), atol=1e-6)
    assert saved.architecture == result.architecture
    assert [r.to_dict() for r in saved.history] == [r.to_dict() for r in result.history]

    paths = result.export(tmp_path / "exports", formats=("keras", "savedmodel"), name="digits")
    assert paths["savedmodel"].endswith("digits/1")

    html = (tmp_path / "report.html")
    result.report(html)
    page = html.read_text()
    # the best architecture drawn, trajectory, score vs params and vs FLOPs, learning curves
    assert "Leaderboard" in page and page.count("<svg") == 5
    assert result.best_trials(1)[0].architecture.split(" | ")[0] in page
    with pytest.raises(ValueError, match="ending in .html"):
        result.report(tmp_path / "report.txt")


def test_resume_continues_the_same_search(digits, tmp_path):
    x, y = digits
    flat = x[:200].reshape(200, -1)
    first = kerasnas.search(flat, y[:200], max_trials=2, epochs=1, seed=1, directory=tmp_path,
                            verbose=0, **TINY_DENSE)
    second = kerasnas.search(flat, y[:200], max_trials=3, epochs=1, seed=1, directory=tmp_path,
                             verbose=0, **TINY_DENSE)
    assert len(second.history) == 3
    assert [r.to_dict() for r in second.history[:2]] == [r.to_dict() for r in first.history]
    with pytest.raises(ValueError, match="holds a different search.*overwrite=True"):
        kerasnas.search(flat, y[:200], max_trials=3, epochs=1, seed=1, directory=tmp_path,
                        verbose=0, space="dense", max_layers=2, units=(8,), **QUICK)


def test_tabular_dataframe_regression(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    target = (2 * frame["a"] - frame["b"]).to_numpy()
    result = kerasnas.search(frame, target, max_trials=1, epochs=2, seed=0,
                             directory=tmp_path / "r", verbose=0, **TINY_DENSE)
    assert result.task.kind == "tabular" and result.task.problem == "regression"
    assert result.task.feature_names == ("a", "b")
    assert result.objective == {"name": "val_loss", "direction": "min"}
    prediction = result.predict(frame[["b", "a"]].head(7))  # columns are matched by name
    assert prediction.shape == (7,)
    assert set(result.evaluate(frame.head(7), target[:7])) == {"mse", "mae"}


@pytest.mark.slow
def test_sequence_classification(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    x = rng.normal(size=(80, 16, 1)).astype("float32") + y[:, None, None]
    result = kerasnas.search(x, y, kind="sequence", max_trials=1, epochs=1, seed=0,
                             directory=tmp_path / "s", verbose=0, **TINY_CELL)
    assert result.task.kind == "sequence" and result.task.input_shape == (16, 1)
    assert result.model.input_shape == (None, 16, 1)
    assert result.predict(x[:4]).shape == (4,)


def test_auto_space_follows_the_input_kind(digits):
    from kerasnas.data import prepare_data

    x, y = digits
    assert auto_space(prepare_data(x, y, seed=0).task)[0] == "ResidualSpace"
    assert auto_space(prepare_data(x.reshape(len(x), -1), y, seed=0).task)[0] == "TableSpace"
    seq = prepare_data(x.reshape(len(x), 8, 8), y, kind="sequence", seed=0).task
    assert auto_space(seq)[0] == "SeriesSpace"


@pytest.mark.parametrize("kwargs, error, message", [
    ({"strategy": "genetic"}, ValueError, "Unknown strategy 'genetic'"),
    ({"strategy": 3}, TypeError, "strategy must be a name"),
    ({"space": "resnet"}, ValueError, "Unknown space 'resnet'"),
    ({"space": 3}, TypeError, "space must be a name"),
    ({"max_trials": 0}, ValueError, "max_trials must be > 0"),
    ({"max_trials": -2}, ValueError, "max_trials must be > 0"),
    ({"time_budget": 0}, ValueError, "time_budget must be a finite number of seconds > 0"),
    ({"time_budget": -5.0}, ValueError, "time_budget must be a finite number of seconds > 0"),
    ({"max_trials": None, "time_budget": None}, ValueError, "needs a budget"),
    ({"epochs": 0}, ValueError, "epochs must be > 0"),
    ({"epochs": None}, ValueError, "epochs must be an int >= 1"),
    ({"verbose": 3}, ValueError, "verbose must be 0, 1 or 2"),
    ({"train_fraction": 0}, ValueError, "train_fraction must be in"),
    ({"objective": "val_auc"}, ValueError, "Unknown objective 'val_auc'"),
    ({"max_trial": 5}, TypeError, r"Unknown search\(\) argument\(s\) \['max_trial'\]"),
    ({"space": "cell", "widths": (8,)}, TypeError, r"Unknown search\(\) argument"),
    ({"space": "cell", "num_classes": 3}, TypeError, "sets .*num_classes.* itself"),
    ({"validation_split": 1.5}, ValueError, "validation_split must be"),
    ({"strategy_args": [1]}, TypeError, "strategy_args must be a dict"),
    ({"strategy": "random", "strategy_args": {"bogus": 1}}, TypeError, "Bad strategy_args"),
])
def test_bad_arguments_fail_before_any_training(digits, tmp_path, kwargs, error, message):
    x, y = digits
    with pytest.raises(error, match=message):
        kerasnas.search(x[:100], y[:100], directory=tmp_path / "run", **{"verbose": 0, **kwargs})
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("x, y, message", [
    (np.full((20, 4), np.nan), np.arange(20) % 2, "NaN"),
    (np.zeros((20, 4)), np.arange(19) % 2, "19"),
    (np.zeros((20, 4)), np.zeros(20, dtype=int), "class"),
    ("nosuchdata", None, "Unknown data set"),
])
def test_bad_data_fails_before_any_training(tmp_path, x, y, message):
    with pytest.raises((ValueError, TypeError), match=message):
        kerasnas.search(x, y, directory=tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()
