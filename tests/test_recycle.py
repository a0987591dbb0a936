"""`kerasnas.search(..., trials_per_process=K)`: trials in recycled child processes."""

import subprocess

import numpy as np
import pytest

import kerasnas
from kerasnas.automl import recycle


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 8)).astype("float32")
    y = np.argmax(x[:, :3] + 0.3 * rng.normal(size=(120, 3)), axis=1)
    return x, y


def _search(directory, **kwargs):
    x, y = _data()
    return kerasnas.search(x, y, max_trials=5, strategy="evolution", space="dense", seed=3,
                           epochs=1, min_steps=0, cv_folds=None, early_stopping=None,
                           directory=directory, verbose=0, refit=False,
                           strategy_args={"population_size": 3, "sample_size": 2}, **kwargs)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "10"])
def test_bad_trials_per_process_is_refused(bad, tmp_path):
    x, y = _data()
    with pytest.raises(ValueError, match="trials_per_process must be an int >= 1"):
        kerasnas.search(x, y, trials_per_process=bad, directory=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_arguments_a_child_cannot_load_are_refused_before_any_child_starts(tmp_path):
    x, y = _data()
    local = type("MySpace", (), {"__module__": "__main__"})()  # as if defined in the script
    with pytest.raises(ValueError, match="defined in the script being run"):
        kerasnas.search(x, y, space=local, trials_per_process=2, directory=tmp_path / "a")
    with pytest.raises(ValueError, match="cannot be sent to a child process"):
        kerasnas.search(x, y, strategy_args={"f": lambda: 0}, trials_per_process=2,
                        directory=tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.slow
def test_recycled_search_runs_in_children_and_matches_the_one_process_search(
        tmp_path, monkeypatch):
    straight = _search(tmp_path / "straight")
    calls = []
    call = subprocess.call

    def counting_call(args, *rest, **kwargs):
        calls.append(args)
        return call(args, *rest, **kwargs)

    monkeypatch.setattr(recycle.subprocess, "call", counting_call)
    recycled = _search(tmp_path / "recycled", trials_per_process=2)
    # 5 trials, 2 per child: three children (2 + 2 + 1), then the result here.
    assert len(calls) == 3 and all(c[1:3] == ["-m", "kerasnas.automl.child"] for c in calls)

    def board(result):
        return [(r.trial_id, r.architecture, r.status, r.score) for r in result.history]

    assert board(recycled) == board(straight) and len(board(straight)) == 5


@pytest.mark.slow
def test_a_bad_input_found_in_the_child_is_raised_here(tmp_path):
    x, y = _data()
    with pytest.raises(ValueError, match="validation_split"):
        kerasnas.search(x, y, validation_split=1.5, trials_per_process=2,
                        directory=tmp_path / "run", verbose=0)
