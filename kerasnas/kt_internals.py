"""The one home of Keras Tuner internals (`keras_tuner.src...`), which move between releases.

Everything else in kerasnas imports these names from here, so a Keras Tuner
upgrade that moves them is fixed in this file alone. Checked against
keras-tuner 1.4.7 and 1.4.8.
"""

from keras_tuner.src.engine import tuner_utils
from keras_tuner.src.engine.objective import MultiObjective, create_objective
from keras_tuner.src.engine.tuner_utils import convert_hyperparams_to_hparams

__all__ = ["MultiObjective", "convert_hyperparams_to_hparams", "create_objective", "tuner_utils"]
