"""Tutorial 2: kerasnas for Keras Tuner users.

kerasnas spaces are `keras_tuner.HyperModel`s and kerasnas strategies are
`keras_tuner.Oracle`s, so an existing Keras Tuner workflow changes in two
arguments: `hypermodel=` a kerasnas space, `oracle=` a kerasnas oracle. This
tutorial, on scikit-learn's digits:

1. runs `keras_tuner.Tuner` over `DenseSpace` with three interchangeable
   oracles: regularized evolution, Bayesian optimisation and the
   reinforcement-learning controller;
2. plugs a kerasnas space and oracle (the PPO controller) into a tuner of
   your own, with your own training loop;
3. resumes a search with `overwrite=False`: the oracle's state (here the
   controller's weights and optimizer) comes back from disk.

Run: `python tutorials/02_keras_tuner_users.py` (a few minutes on 2 CPU cores;
`KERASNAS_FAST=1` shrinks every budget to seconds).
"""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from kerasnas.oracles import (  # noqa: E402
    BayesianOptimization,
    RegularizedEvolution,
    ReinforceController,
)
from kerasnas.spaces import CellSpace, DenseSpace  # noqa: E402

FAST = os.environ.get("KERASNAS_FAST") == "1"
TRIALS = 2 if FAST else 12
EPOCHS = 1 if FAST else 5
workdir = tempfile.mkdtemp(prefix="kerasnas-tutorial-02-")

# ---------------------------------------------------------------- the data
digits = load_digits()
n = 400 if FAST else len(digits.target)
features = (digits.data[:n] / 16.0).astype("float32")  # (n, 64): tabular view
images = features.reshape(-1, 8, 8, 1)  # the same digits as 8x8 images
labels = digits.target[:n]
split = int(0.8 * n)

# ---------------------------------------- 1. one space, three oracles
# DenseSpace declares one hyperparameter per architectural decision; each
# oracle reads the space from them (no `space=` argument needed).
space = DenseSpace((64,), num_classes=10, max_layers=3, units=(32, 64, 128))
oracles = {
    "RegularizedEvolution": RegularizedEvolution(
        objective="val_accuracy", max_trials=TRIALS, population_size=4, sample_size=2, seed=1),
    "BayesianOptimization": BayesianOptimization(
        objective="val_accuracy", max_trials=TRIALS, num_initial_points=2, seed=1),
    "ReinforceController": ReinforceController(
        objective="val_accuracy", max_trials=TRIALS, seed=1),
}
for name, oracle in oracles.items():
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory=workdir,
                              project_name=name)
    tuner.search(features[:split], labels[:split], epochs=EPOCHS,
                 validation_data=(features[split:], labels[split:]), verbose=0)
    best = tuner.oracle.get_best_trials(1)[0]
    # A trial's hyperparameter values turn back into the shared Architecture type.
    arch = space.encoding.from_hp_values(best.hyperparameters.values)
    print(f"{name:>21}: best val_accuracy {best.score:.3f}  {arch}")

model = tuner.get_best_models(1)[0]  # an ordinary compiled Keras model
print("best model's predictions:", model.predict(features[split:split + 5], verbose=0)
      .argmax(axis=1), "true:", labels[split:split + 5])


# ------------------------------------------------ 2. your own tuner
class EarlyStoppingTuner(keras_tuner.Tuner):
    """A user's tuner: builds the trial's model, trains it with early stopping."""

    def run_trial(self, trial, x, y, validation_data, **search_kwargs):
        # `search_kwargs` holds what else was given to `search()`, e.g. `verbose`.
        model = self.hypermodel.build(trial.hyperparameters)
        stop = keras.callbacks.EarlyStopping("val_accuracy", patience=1, mode="max")
        history = model.fit(x, y, validation_data=validation_data, epochs=EPOCHS,
                            batch_size=64, callbacks=[stop], verbose=0)
        return {"val_accuracy": max(history.history["val_accuracy"])}


cells = CellSpace((8, 8, 1), num_classes=10, num_blocks=2, num_cells=2, channels=8)
controller = ReinforceController(objective="val_accuracy", max_trials=TRIALS, ppo=True,
                                 batch_size=4, seed=2)
tuner = EarlyStoppingTuner(oracle=controller, hypermodel=cells, directory=workdir,
                           project_name="cells")
tuner.search(images[:split], labels[:split], validation_data=(images[split:], labels[split:]),
             verbose=0)
for trial in tuner.oracle.get_best_trials(3):
    print(f"CellSpace + PPO controller: {trial.score:.3f}  "
          f"{cells.encoding.from_hp_values(trial.hyperparameters.values)}")


# ------------------------------------------------------- 3. resume
def controller_search(max_trials, overwrite):
    oracle = ReinforceController(objective="val_accuracy", max_trials=max_trials, seed=3)
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory=workdir,
                              project_name="resume", overwrite=overwrite)
    tuner.search(features[:split], labels[:split], epochs=1,
                 validation_data=(features[split:], labels[split:]), verbose=0)
    return tuner.oracle


first = controller_search(TRIALS, overwrite=True)
resumed = controller_search(TRIALS + 2, overwrite=False)  # runs only the 2 new trials
print(f"resumed: {len(resumed.trials)} trials in total, controller updated "
      f"{resumed.updates} times (was {first.updates} before the restart)")
assert len(resumed.trials) == TRIALS + 2
assert np.isfinite(resumed.get_best_trials(1)[0].score)


# ------------------------------------ 4. your own hypermodel, kerasnas strategies
# Use kerasnas strategies with your own Keras Tuner hypermodel: any build(hp) works,
# no kerasnas space and no `space=` argument. The oracle derives an HPEncoding from your
# hyperparameters (Int with step, log-sampled Float, Choice, Boolean, conditional scopes)
# and follows the space as Keras Tuner discovers it (here units1/units2 appear only once a
# trial asks for 2 or 3 layers).
def build(hp):
    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Choice(f"units{i}", [16, 32, 64]),
                                     activation=hp.Choice("act", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        with hp.conditional_scope("dropout", [True]):
            model.add(keras.layers.Dropout(hp.Float("rate", 0.1, 0.5, step=0.1)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


evolution = RegularizedEvolution(objective="val_accuracy", max_trials=TRIALS + 1,
                                 population_size=2 if FAST else 6, sample_size=2, seed=4)
tuner = keras_tuner.Tuner(oracle=evolution, hypermodel=build, directory=workdir,
                          project_name="own_hypermodel")
tuner.search(features[:split], labels[:split], epochs=EPOCHS,
             validation_data=(features[split:], labels[split:]), verbose=0)
best = tuner.oracle.get_best_trials(1)[0]
print(f"your build(hp) + aging evolution: {best.score:.3f}  {best.hyperparameters.values}")
print("decisions the oracle searched:", [d.name for d in tuner.oracle.encoding.decisions])
