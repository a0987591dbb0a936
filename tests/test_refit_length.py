"""The refit of small data trains the recipe's `min_steps`, and the search keeps time for it (#7)."""

import math

import numpy as np
import pytest

from kerasnas.tuner.recipe import TrainingRecipe


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A finished 3-epoch trial on 200 rows (160 train + 40 validation), no recipe."""
    from kerasnas.data import prepare_data
    from kerasnas.oracles import RandomSearch
    from kerasnas.spaces import DenseSpace
    from kerasnas.tuner.loop import NASTuner

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    data = prepare_data(x, (x[:, 0] > 0).astype(int), seed=0)
    tuner = NASTuner(RandomSearch(objective="val_accuracy", max_trials=1, seed=0),
                     DenseSpace((4,), 2, max_layers=1, units=(8,)), epochs=3, verbose=0,
                     directory=str(tmp_path_factory.mktemp("refit")), project_name="p")
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val))
    return tuner, tuner.oracle.get_best_trials(1)[0], data


def test_a_short_trial_refits_for_the_recipes_min_steps(searched):
    from kerasnas.automl.refit import refit_epochs_of, refit_trial

    tuner, trial, data = searched
    assert trial.metrics.get_last_value("epochs") == 3
    recipe = TrainingRecipe(min_steps=60)
    # 200 rows: batch 32 (the power of two nearest 200 / 8), 7 steps an epoch, 9 epochs >= 60 steps.
    steps_per_epoch = math.ceil(200 / recipe.batch_size_for(200))
    expected = math.ceil(60 / steps_per_epoch)
    assert expected == 9
    assert refit_epochs_of(trial, "auto", recipe, 200) == expected
    assert refit_epochs_of(trial) == 3  # without a recipe: the trial's own length
    assert refit_epochs_of(trial, 5, recipe, 200) == 5  # an explicit refit_epochs wins
    _, history, cut = refit_trial(tuner, trial, data, recipe)
    assert not cut and len(history["loss"]) == expected


def test_the_search_reserves_the_longer_refit(searched):
    from kerasnas.automl.refit import RefitReserve, expected_refit_time

    tuner, trial, data = searched
    fit_time = trial.metrics.get_last_value("fit_time")
    recipe = TrainingRecipe(min_steps=60)
    # The trial: 3 epochs of 5 steps (160 rows, batch 32). A refit without a recipe: 3 epochs of
    # 7 steps (200 rows); with the recipe: 9 epochs of 7 steps (>= 60 steps).
    assert expected_refit_time(tuner, trial, data) == pytest.approx(fit_time * 21 / 15)
    assert expected_refit_time(tuner, trial, data, recipe) == pytest.approx(fit_time * 63 / 15)
    assert tuner.reserved_time() == 0.0  # no feature reserves any
    reserve = RefitReserve(data, recipe, ensemble=2)
    assert reserve.reserved_time(tuner) == pytest.approx(1.25 * 2 * fit_time * 63 / 15)
    # A tuner given the feature keeps that time free (the same project, resumed).
    from kerasnas.oracles import RandomSearch
    from kerasnas.tuner.loop import NASTuner

    resumed = NASTuner(RandomSearch(objective="val_accuracy", max_trials=1, seed=0),
                       tuner.hypermodel, epochs=3, verbose=0, directory=str(tuner.directory),
                       project_name=tuner.project_name, features=[reserve])
    assert resumed.resumed_trials == 1
    assert resumed.reserved_time() == pytest.approx(1.25 * 2 * fit_time * 63 / 15)


def test_a_fold_that_cannot_finish_is_not_started(tmp_path):
    """Out of time after the first fold: the trial is scored on that fold alone, not on a
    mean dragged down by folds cut before they trained."""
    from kerasnas.data import prepare_data
    from kerasnas.oracles import RandomSearch
    from kerasnas.spaces import DenseSpace
    from kerasnas.tuner.crossval import another_fold_fits
    from kerasnas.tuner.loop import NASTuner

    assert another_fold_fits(None, [100.0]) and another_fold_fits(0.0, [])
    assert another_fold_fits(12.5, [10.0, 8.0]) and not another_fold_fits(12.4, [10.0, 8.0])

    class OutOfTimeAfterOneFold(NASTuner):
        """No budget until the first fold has trained; then no time left."""

        folds_run = 0

        def fit_trial(self, *args, **kwargs):
            self.folds_run += 1
            return super().fit_trial(*args, **kwargs)

        def time_left(self):
            return None if not self.folds_run else 0.0

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    data = prepare_data(x, (x[:, 0] > 0).astype(int), seed=0)
    tuner = OutOfTimeAfterOneFold(RandomSearch(objective="val_accuracy", max_trials=1, seed=0),
                                  DenseSpace((3,), 2, max_layers=1, units=(4,)), epochs=2,
                                  verbose=0, cv_folds=3, directory=str(tmp_path),
                                  project_name="p")
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val))
    assert tuner.folds_run == 1
    trial = tuner.oracle.get_best_trials(1)[0]
    assert trial.metrics.get_last_value("cv_folds") == 1
