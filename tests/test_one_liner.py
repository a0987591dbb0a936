"""The one-liner's search quality mechanics: small data, budget, warm start, k-fold, baselines."""

import time

import numpy as np
import pytest

import kerasnas
from kerasnas.automl.checks import resolve_max_trials
from kerasnas.bench.signals import make_signals
from kerasnas.spaces import ResidualSpace
from kerasnas.tuner.recipe import TrainingRecipe

FAST = {"min_steps": 0, "cv_folds": None, "verbose": 0}
TINY_RESIDUAL = {"space": "residual", "blocks": (1,), "widths": (8,), "kernels": (3,)}


@pytest.mark.slow  # 2 trials x 5 folds x ~75 epochs: several minutes on a loaded 2-core machine
def test_forty_examples_of_an_easy_sequence_task_end_well_above_chance(tmp_path):
    """Default recipe (steps, not epochs) and k-fold selection on 40 training series."""
    x, y = make_signals(40, length=40, num_classes=2, noise=0.3, seed=0)
    # The residual TCNs: what this guards is the recipe of networks trained by steps (the
    # one-liner's SeriesSpace would solve MiniRocket first, see tests/test_series_space.py).
    result = kerasnas.search(x, y, max_trials=2, seed=1, verbose=0, directory=tmp_path / "run",
                             space="residual", blocks=(2,), widths=(16,), kernels=(3, 5),
                             baseline_fallback=False)
    x_test, y_test = make_signals(400, length=40, num_classes=2, noise=0.3, seed=5)
    accuracy = result.evaluate(x_test, y_test)["accuracy"]
    assert accuracy >= 0.8, accuracy  # chance is 0.5; 10 epochs of batch 32 stayed near it
    finished = result.best_trials(1)[0]
    assert finished.metrics["cv_folds"] == 5  # 40 examples: selected by 5-fold CV
    assert finished.metrics["epochs"] > 10  # trained in steps: past the 10 epochs asked for
    assert result.task.kind == "sequence" and result.task.input_shape == (40, 1)


def test_recipe_plans_steps_not_epochs():
    recipe = TrainingRecipe()
    small, large = recipe.plan(10, 40, 3), recipe.plan(10, 5000, 3)
    assert small.epochs * -(-40 // small.batch_size) >= 300 and small.patience > 3
    assert (large.epochs, large.batch_size, large.patience) == (10, 32, 3)
    assert TrainingRecipe(min_steps=0).plan(10, 40, 3).epochs == 10
    with pytest.raises(ValueError, match="Unknown lr_schedule 'linear'"):
        TrainingRecipe(lr_schedule="linear")


def test_time_budget_without_max_trials_uses_the_budget(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    budget = 25.0
    started = time.monotonic()
    result = kerasnas.search(x, y, time_budget=budget, epochs=1, seed=0, space="dense",
                             max_layers=1, units=(4, 8, 16, 32), directory=tmp_path / "run",
                             **FAST)
    elapsed = time.monotonic() - started
    assert result.stopped_by == "time_budget"  # not 20 trials: the time ended it
    assert budget / 2 <= elapsed <= budget + 15, elapsed  # the budget used, the refit inside it
    assert resolve_max_trials("auto", budget) is None  # no trial cap with a budget alone
    assert resolve_max_trials("auto", None) == 20 and resolve_max_trials(7, budget) == 7


@pytest.mark.slow  # builds the 8x64 TCN: ~3 min at load 15
def test_hand_designs_are_the_first_trials(tmp_path):
    x, y = make_signals(120, length=40, num_classes=3, noise=0.3, seed=0)
    space = ResidualSpace((40, 1), 3)
    result = kerasnas.search(x, y, max_trials=3, epochs=1, seed=0, space="residual",
                             directory=tmp_path / "run", **FAST)
    first = [r.architecture for r in result.history[:2]]
    assert first == [str(a) for a in space.hand_designs()]
    assert result.history[2].architecture not in first


def test_kfold_only_below_the_threshold(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(320, 5))
    y = (x[:, 0] > 0).astype(int)
    common = dict(max_trials=1, epochs=1, seed=0, space="dense", max_layers=1, units=(8,),
                  min_steps=0, verbose=0)
    big = kerasnas.search(x, y, directory=tmp_path / "big", **common)
    small = kerasnas.search(x[:100], y[:100], directory=tmp_path / "small", **common)
    assert "cv_folds" not in big.history[0].metrics
    assert small.history[0].metrics["cv_folds"] == 5


def test_a_result_no_better_than_the_baselines_says_so(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    # Labels independent of x, 90% one class: nothing to learn, and no luck beats the majority
    # (balanced noise labels let a 1-epoch net or a baseline win the 40 validation rows by chance).
    y = (rng.random(200) < 0.1).astype(int)
    noise = kerasnas.search(x, y, max_trials=1, epochs=1, seed=0, space="dense", max_layers=1,
                            units=(4,), directory=tmp_path / "noise", **FAST)
    assert set(noise.baselines) == {"trivial", "linear"}
    assert noise.warnings and "no better than" in noise.warnings[0]
    assert noise.returned.startswith("baseline:")  # see tests/test_baseline.py
    assert "WARNING" in noise.summary()
    assert "no better than" in open(noise.report(tmp_path / "r.html")).read()

    y_easy = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0)
    easy = kerasnas.search(x, y_easy, max_trials=2, epochs=30, seed=0, space="dense",
                           max_layers=1, units=(64,), directory=tmp_path / "easy",
                           cv_folds=None, verbose=0)
    assert easy.best_trials(1)[0].score > easy.baselines["trivial"]
    assert not any("trivial" in w for w in easy.warnings)


@pytest.mark.slow  # ~40 s; test_ensemble.py covers export and serving of ensembles in the fast suite
def test_an_ensemble_exports_and_serves_like_one_model(tmp_path):
    import tensorflow as tf

    from kerasnas.deploy.ensemble import ensemble_members

    x, y = make_signals(150, length=24, num_classes=3, noise=0.3, seed=2)
    result = kerasnas.search(x, y, max_trials=3, epochs=2, seed=0, ensemble=2,
                             directory=tmp_path / "run", baseline_fallback=False,
                             **TINY_RESIDUAL, **FAST)
    members = ensemble_members(result.model)
    assert len(members) == 2
    x_new = x[:5]
    proba = result.predict_proba(x_new)
    average = np.mean([m.predict(x_new[..., None], verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(proba, average, atol=1e-5)
    paths = result.export(tmp_path / "exp", formats=("savedmodel",))
    serve = tf.saved_model.load(paths["savedmodel"]).signatures["serving_default"]
    out = serve(inputs=tf.constant(x_new))
    np.testing.assert_allclose(out["probabilities"].numpy(), proba, atol=1e-5)
    np.testing.assert_array_equal(out["label"].numpy(), result.predict(x_new))


def test_a_refit_cut_by_the_deadline_falls_back_to_the_trained_trial(tmp_path):
    from kerasnas.automl.refit import refit_trial
    from kerasnas.data import prepare_data
    from kerasnas.oracles import RandomSearch
    from kerasnas.spaces import DenseSpace
    from kerasnas.tuner.loop import NASTuner

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    data = prepare_data(x, (x[:, 0] > 0).astype(int), seed=0)
    tuner = NASTuner(RandomSearch(objective="val_accuracy", max_trials=1, seed=0),
                     DenseSpace((4,), 2, max_layers=1, units=(8,)), epochs=3, verbose=0,
                     directory=str(tmp_path), project_name="p")
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val))
    trial = tuner.oracle.get_best_trials(1)[0]
    model, history, cut = refit_trial(tuner, trial, data, deadline=time.monotonic())
    assert cut and history == {}
    expected = tuner.load_model(trial).predict(data.x_val, verbose=0)
    np.testing.assert_allclose(model.predict(data.x_val, verbose=0), expected, atol=1e-6)
    full, full_history, full_cut = refit_trial(tuner, trial, data)
    assert not full_cut and len(full_history["loss"]) == 3
    # A refit expected to outlast the time left is not started (it would only be cut): here the
    # trial claims 1,000 s of training and 600 s are left, so the trained copy comes back at once.
    trial.metrics.update("fit_time", 1000.0)
    started = time.monotonic()
    _, skipped_history, skipped = refit_trial(tuner, trial, data, deadline=started + 600)
    assert skipped and skipped_history == {} and time.monotonic() - started < 60


def test_under_a_time_budget_the_hand_designs_run_cheapest_first():
    from kerasnas.automl.assemble import warm_start
    from kerasnas.spaces import DenseSpace

    space = DenseSpace((6,), 2, min_layers=0)
    in_order = [str(a) for a in space.hand_designs()]
    assert [str(a) for a in warm_start(space, "auto", None)] == in_order
    cheap_first = [str(a) for a in warm_start(space, "auto", 60.0)]
    assert cheap_first == ["linear", "128-64 relu dropout=0.1", "256-256 relu dropout=0.25 skip"]
    assert cheap_first != in_order
    assert warm_start(space, "net2net", 60.0) == []
