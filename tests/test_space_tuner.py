"""A kerasnas space is a plain `keras_tuner.HyperModel`: Keras Tuner's own tuners drive it."""

import math

import keras_tuner
import pytest

from kerasnas.spaces import CellSpace
from kerasnas.spaces.architecture import SPACE_HP_NAME


# get_best_models restores weights into a fresh model whose optimizer is not built yet.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_keras_tuner_random_search_drives_cell_space(digits, tmp_path):
    space = CellSpace((8, 8, 1), num_classes=10, channels=4, num_blocks=1, num_cells=2,
                      stem_multiplier=1)
    tuner = keras_tuner.RandomSearch(space, objective="val_accuracy", max_trials=2, seed=7,
                                     directory=tmp_path, project_name="cells")
    tuner.search(digits.x_train, digits.y_train, epochs=1, batch_size=64,
                 validation_data=(digits.x_val, digits.y_val), verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert [t.status for t in trials] == ["COMPLETED", "COMPLETED"]
    archs = set()
    for trial in trials:
        accuracy = trial.metrics.get_best_value("val_accuracy")
        assert math.isfinite(accuracy) and 0.0 <= accuracy <= 1.0
        assert trial.hyperparameters.values[SPACE_HP_NAME] == space.encoding.key
        archs.add(space.encoding.from_hp_values(trial.hyperparameters.values))
    assert len(archs) == 2
    best = tuner.get_best_models(1)[0]
    assert best.output_shape == (None, 10)
    assert best.evaluate(digits.x_val, digits.y_val, verbose=0)[1] == pytest.approx(
        tuner.oracle.get_best_trials(1)[0].score, abs=1e-6)
