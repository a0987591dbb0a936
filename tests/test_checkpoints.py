"""`NASTuner(keep_checkpoints=k)`: disk bounded to the best trials plus parents that may have children."""

import numpy as np
import pytest

from kerasnas.oracles import RandomSearch, RegularizedEvolution
from kerasnas.spaces import DenseSpace
from kerasnas.tuner.loop import NASTuner


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype("float32")
    return x, np.argmax(x[:, :2], axis=1)


def _checkpointed(tuner):
    import os

    return {t for t in tuner.oracle.trials
            if os.path.exists(tuner.checkpoint_path(t))}


def _search(tmp_path, oracle, **kwargs):
    x, y = _data()
    tuner = NASTuner(oracle, DenseSpace((4,), 2), epochs=1, early_stopping=None, verbose=0,
                     directory=str(tmp_path), project_name="ckpt", **kwargs)
    tuner.search(x[:40], y[:40], validation_data=(x[40:], y[40:]))
    return tuner


def test_only_the_best_trials_keep_their_checkpoints(tmp_path):
    tuner = _search(tmp_path, RandomSearch(objective="val_accuracy", max_trials=4, seed=2),
                    keep_checkpoints=2)
    best = {t.trial_id for t in tuner.oracle.get_best_trials(2)}
    assert len(tuner.oracle.trials) == 4
    assert _checkpointed(tuner) == best
    # The pruned trials keep their records; the best still loads.
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    assert tuner.load_model(tuner.oracle.get_best_trials(1)[0]) is not None


@pytest.mark.slow
def test_parents_that_may_still_have_children_are_kept(tmp_path):
    oracle = RegularizedEvolution(objective="val_accuracy", max_trials=6, seed=1,
                                  population_size=3, sample_size=2)
    tuner = _search(tmp_path, oracle, keep_checkpoints=1, inherit_weights=True)
    population = {oracle._trial_of[k] for k, _ in oracle.population if k in oracle._trial_of}
    assert population, "the test needs a living population"
    best = {tuner.oracle.get_best_trials(1)[0].trial_id}
    assert _checkpointed(tuner) == population | best
    assert len(_checkpointed(tuner)) < 6


def test_keep_checkpoints_is_checked():
    with pytest.raises(ValueError, match="keep_checkpoints must be an int >= 1"):
        NASTuner(RandomSearch(max_trials=1), DenseSpace((4,), 2), keep_checkpoints=0,
                 directory="/tmp", project_name="never")


def test_search_keeps_only_the_asked_checkpoints(tmp_path):
    import kerasnas

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="keep_checkpoints"):
        kerasnas.search(x, y, keep_checkpoints=0, directory=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    run = tmp_path / "run"
    result = kerasnas.search(x, y, max_trials=4, epochs=1, min_steps=0, cv_folds=None,
                             space="dense", units=(8,), max_layers=1, keep_checkpoints=1,
                             directory=run, verbose=0, seed=0)
    assert len(result.history) == 4
    assert len(list(run.rglob("checkpoint.weights.h5"))) == 1
