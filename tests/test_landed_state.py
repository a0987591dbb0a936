"""A search and a result saved by the code of before the stage folders (kerasnas at 36a24c8) still
load, export and resume after the move (tests/data/landed_iris_search, written by that commit:
iris, `space="dense"`, `strategy="random"`, 2 trials of 2 epochs, seed 0)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

SAVED = Path(__file__).parent / "data" / "landed_iris_search"
#: The arguments the landed code ran with (see the module docstring).
ARGS = dict(epochs=2, seed=0, verbose=0, space="dense", strategy="random", min_steps=20,
            cv_folds=None, max_layers=1, units=(4,))


def _iris():
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    return x.astype("float32"), y


def test_a_landed_result_loads_predicts_and_exports(tmp_path):
    from kerasnas import SearchResult

    result = SearchResult.load(SAVED / "result")
    x, y = _iris()
    assert [r.trial_id for r in result.leaderboard] == ["1", "0"]
    probabilities = result.model.predict(x[:5], verbose=0)
    assert probabilities.shape == (5, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert set(result.predict(x[:5])) <= set(y)
    paths = result.export(tmp_path / "export", formats=("keras", "savedmodel"))
    assert Path(paths["keras"]).is_file()
    assert (Path(paths["savedmodel"]) / "saved_model.pb").is_file()


def test_a_landed_search_resumes_without_rerunning_its_trials(tmp_path):
    import kerasnas

    run = tmp_path / "iris"
    shutil.copytree(SAVED, run)
    before = json.loads((run / "oracle.json").read_text())
    assert len(before["end_order"]) == 2
    x, y = _iris()
    result = kerasnas.search(x, y, max_trials=3, directory=run, **ARGS)
    ids = sorted(r.trial_id for r in result.history)
    assert ids == ["0", "1", "2"]  # the two saved trials kept, one new one run
    saved_score = json.loads((SAVED / "trial_1" / "trial.json").read_text())["score"]
    assert next(r for r in result.history if r.trial_id == "1").score == pytest.approx(saved_score)
