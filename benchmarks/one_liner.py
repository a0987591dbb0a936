"""One-liner comparison: kerasnas.search vs Keras Tuner vs AutoKeras vs non-NAS baselines.

Several ways to get a model from `(x, y)` with the same data and the same
wall-clock budget, on two groups of data sets, at several budgets and seeds.

Arms (`--arms`; without it each data set gets its group's arms: the original
sets kerasnas, kerastuner, autokeras and baseline; the series sets kerasnas,
kerastuner, autokeras, minirocket, rocket and inceptiontime):

- **kerasnas**: `kerasnas.search(x, y, time_budget=B, seed=s)`, every other
  argument at its default (no `max_trials`: the budget decides).
- **kerastuner**: `keras_tuner.RandomSearch` over a hand-written hypermodel for
  the data kind (`cnn_hypermodel` for images, `conv1d_hypermodel` for
  sequences, `mlp_hypermodel` for tables), early stopping per trial, then the
  best configuration retrained on training + validation data for its best
  epoch count.
- **autokeras**: AutoKeras 3 with its defaults (`ImageClassifier` for images,
  `StructuredDataClassifier` / `Regressor` for tables, and for sequences, which
  AutoKeras 3 has no task for, an `AutoModel` of `Input` -> `ConvBlock` ->
  `ClassificationHead` / `RegressionHead`), its own
  validation split and final refit. It runs in its own virtual environment
  (`--autokeras-python`, default `.venv-autokeras/bin/python`) so it never
  changes the project's packages.
- **baseline** (original sets only): what a practitioner would pick instead of
  NAS. Images: a plain hand-written CNN (`plain_cnn`) trained on all training
  data for the budget. Sequences: aeon's `MiniRocketClassifier` (in
  `--aeon-python`, default `.venv-aeon/bin/python`). Tables: scikit-learn's
  `HistGradientBoostingClassifier` / `Regressor` with its defaults.
- **minirocket** / **rocket** (sequence sets): aeon's `MiniRocketClassifier` /
  `RocketClassifier` (`MiniRocketRegressor` / `RocketRegressor` for
  regression) with their defaults (10,000 kernels, a ridge model on top),
  `random_state` = the run's seed, `n_jobs=1`, in `--aeon-python`. aeon wants
  `(N, C, L)`: the arm transposes the `(N, L, C)` it is given.
- **inceptiontime** (sequence sets): an InceptionTime-style hand design
  (`inception_time`, after Ismail Fawaz et al. 2020) in Keras: 6 inception
  modules (a 1x1 bottleneck conv to 32 channels, skipped on a one-channel
  input as in the reference code; parallel convs of kernel 10, 20 and 40 with
  32 filters each; a max-pool-3 + 1x1 conv branch of 32; concatenated, batch
  norm, ReLU), a residual shortcut (1x1 conv + batch norm) every 3 modules,
  global average pooling and a softmax / linear head; inputs standardised per
  channel by a `Normalization` layer, a regression target standardised. Adam
  1e-3 (halved on a 50-epoch plateau of the training loss, down to 1e-4, as the
  reference does), batch 64, trained on all training data until the budget's
  deadline, like the plain CNN baseline.

Data (`--datasets`, names or the groups `original`, `series`, `all`; default
`original`):

- Original sets, each with a fixed test split (`--test-size`, default 0.25,
  stratified for classification, `--split-seed`): `digits` (scikit-learn,
  1,797 8x8 images, passed as `(N, 8, 8)`); `signals`
  (`kerasnas.bench.signals.make_signals`, `--signals` series of length 40, 10
  classes, data seed 0, passed as `(N, 40)` or, with `--signal-rank 3`,
  `(N, 40, 1)`); `breast_cancer` (569 x 30, classification); `diabetes`
  (442 x 10, regression).
- Series sets, small real time series with their own chronological or
  archive train/test split, passed as `(N, L, C)` float64 arrays:
  `gunpoint` (UCR GunPoint: 50 / 150, length 150, 1 channel, 2 classes),
  `italypower` (UCR ItalyPowerDemand: 67 / 1,029, length 24, 1 channel, 2
  classes), `basicmotions` (UEA BasicMotions: 40 / 40, length 100, 6
  channels, 4 classes), `arrowhead` (UCR ArrowHead: 36 / 175, length 251, 1
  channel, 3 classes): the archive's own train/test split as aeon ships it
  (`aeon.datasets.load_classification(NAME, split="train"/"test")`, offline
  from aeon's package data), aeon's `(N, C, L)` transposed to `(N, L, C)`,
  labels encoded as integers 0..K-1 (the index of the label in the sorted
  training labels). `sunspots` (regression): statsmodels'
  `sunspots` data set (yearly mean sunspot numbers 1700-2008, 309 values);
  every window of 40 consecutive years is an input `(40, 1)` and the value 3
  years after the window's last year its target (years t..t+39 -> year t+42):
  267 windows in time order, the first 70 % (186, targets 1742-1927) for
  training and the other 81 (targets 1928-2008) for testing, no shuffling.
  The series sets need aeon and statsmodels, which live in `--aeon-python`:
  the script exports them once (a subprocess in that environment) to
  `--data-cache` (default `benchmarks/.data/<name>.npz`, git-ignored) and reads
  them from there.

Every arm gets the same training part in the same form a user would pass;
kerastuner splits 20 % of it off for validation (stratified, the run's seed).

Score: test accuracy (classification) or test R^2 (regression; the test MSE
is recorded too). Higher is better for both.

Budget: each run's search stops starting trials after the budget (seconds)
and stops a trial still training at it. kerasnas enforces this itself
(`time_budget`, which covers its refit). Keras Tuner and AutoKeras have no
wall-clock budget, so this script adds the same rule to them: their oracle's
`populate_space` answers STOPPED after the deadline and a callback stops the
running trial's training at it; their final refit comes on top. The plain CNN
baseline and inceptiontime train until the deadline; MiniRocket, Rocket and
gradient boosting take the seconds they need (numba's first compilation
included). "wall s" covers search + final training + test prediction;
"trials" is the number of models the arm trained and scored (kerasnas: its
result's history; one for the fixed designs).

Each (data set, budget, arm, seed) runs in a fresh Python process. Runs are
ordered budget by budget, then seed, data set and arm, so a cut-short run still
covers every arm at the smaller budgets. `--jobs 2` runs two processes at once
(they share the machine's cores: faster overall, noisier per run).

Environments (git-ignored, `python3.11 -m venv`):

    .venv-autokeras/bin/pip install autokeras==3.0.0 "keras==3.12.*" tensorflow==2.21.0 \
        tensorboard scikit-learn
    .venv-aeon/bin/pip install aeon==1.6.0 scikit-learn statsmodels

Usage:

    .venv/bin/python benchmarks/one_liner.py --budgets 60 180 --seeds 1 2 3
    .venv/bin/python benchmarks/one_liner.py --budgets 60 120 --seeds 1 2 3 --datasets series
    .venv/bin/python benchmarks/one_liner.py --datasets gunpoint --arms kerasnas rocket
    .venv/bin/python benchmarks/one_liner.py --export-only --datasets series  # cache only
    .venv/bin/python benchmarks/one_liner.py --quick          # smoke run, ~2 min
    .venv/bin/python benchmarks/one_liner.py --replot RESULTS.json --plot PLOT.svg

Prints a Markdown table (mean ± std and per-seed scores, wall time, trials),
rewrites every finished run to `--out` (default `one_liner_results.json` in
`--workdir`) as it goes, and draws score against budget to `--plot` (SVG, pure
Python).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ARMS = ("kerasnas", "kerastuner", "autokeras", "baseline", "minirocket", "rocket",
        "inceptiontime")
ORIGINAL_ARMS = ("kerasnas", "kerastuner", "autokeras", "baseline")
SERIES_ARMS = ("kerasnas", "kerastuner", "autokeras", "minirocket", "rocket", "inceptiontime")
SEQUENCE_ARMS = ("minirocket", "rocket", "inceptiontime")  # they take sequences only
AEON_ARMS = ("minirocket", "rocket")  # they run in --aeon-python
ORIGINAL = ("digits", "signals", "breast_cancer", "diabetes")
# UCR / UEA archive sets that aeon ships in its package, by the name aeon loads them under.
UCR = {"gunpoint": "GunPoint", "italypower": "ItalyPowerDemand",
       "basicmotions": "BasicMotions", "arrowhead": "ArrowHead"}
SERIES = (*UCR, "sunspots")
DATASETS = ORIGINAL + SERIES
GROUPS = {"original": ORIGINAL, "series": SERIES, "all": DATASETS}
KINDS = {"digits": "image", "signals": "sequence", "breast_cancer": "tabular",
         "diabetes": "tabular", **{name: "sequence" for name in SERIES}}
PROBLEMS = {"digits": "classification", "signals": "classification",
            "breast_cancer": "classification", "diabetes": "regression",
            **{name: "classification" for name in UCR}, "sunspots": "regression"}
# sunspots windows: input years t..t+LENGTH-1, target year t+LENGTH-1+HORIZON.
SUNSPOTS = {"length": 40, "horizon": 3, "train_share": 0.7}
BASELINE_NAMES = {"image": "plain CNN", "sequence": "MiniRocket (aeon)",
                  "tabular": "HistGradientBoosting"}
ARM_NAMES = {"minirocket": "MiniRocket (aeon)", "rocket": "Rocket (aeon)",
             "inceptiontime": "InceptionTime-style CNN"}
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".data"


def applies(arm, dataset):
    """Whether `arm` runs on `dataset` (sequence-only arms; baseline on the original sets)."""
    if arm in SEQUENCE_ARMS:
        return KINDS[dataset] == "sequence"
    if arm == "baseline":
        return dataset in ORIGINAL
    return True


# ------------------------------------------------------------------- deadline
# Module state instead of attributes: Keras Tuner deep-copies callbacks per trial.
_DEADLINE = {"end": float("inf"), "active": False}


def _start_deadline(seconds):
    _DEADLINE.update(end=time.monotonic() + seconds, active=True)


def _deadline_passed():
    return _DEADLINE["active"] and time.monotonic() >= _DEADLINE["end"]


def _limit_oracle(oracle):
    """After the deadline the oracle answers STOPPED, which ends `search()`."""
    propose = oracle.populate_space

    def populate_space(trial_id):
        if _deadline_passed():
            _DEADLINE["active"] = False  # the final refit must train in full
            return {"status": "STOPPED", "values": None}
        return propose(trial_id)

    oracle.populate_space = populate_space


def _deadline_callback():
    import keras

    class StopAtDeadline(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if _deadline_passed():
                self.model.stop_training = True

    return StopAtDeadline()


# ---------------------------------------------------------------------- arms
def _with_channel(x, kind):
    """The channel axis a hand-written Keras model wants: (N, H, W, 1) / (N, L, 1)."""
    if (kind == "image" and x.ndim == 3) or (kind == "sequence" and x.ndim == 2):
        return x[..., None]
    return x


def _split(data, seed, validation_split=0.2):
    """The kerastuner arm's training/validation split (stratified for classification)."""
    from sklearn.model_selection import train_test_split

    stratify = data["y_train"] if data["problem"] == "classification" else None
    return train_test_split(data["x_train"], data["y_train"], test_size=validation_split,
                            stratify=stratify, random_state=seed)


def _compile(model, problem, learning_rate):
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy" if problem == "classification"
                  else "mse",
                  metrics=["accuracy"] if problem == "classification" else None)
    return model


def _head(x, problem, num_classes):
    import keras

    if problem == "classification":
        return keras.layers.Dense(int(num_classes), activation="softmax")(x)
    return keras.layers.Dense(1)(x)


def cnn_hypermodel(input_shape, num_classes, mean, variance, problem="classification"):
    """A hand-written Keras Tuner CNN hypermodel for small images."""
    import keras

    def build(hp):
        inputs = keras.Input(input_shape)
        x = keras.layers.Normalization(axis=-1, mean=mean, variance=variance)(inputs)
        for i in range(hp.Int("conv_blocks", 1, 3)):
            x = keras.layers.Conv2D(hp.Choice(f"filters_{i}", [16, 32, 64]),
                                    hp.Choice(f"kernel_{i}", [3, 5]), padding="same",
                                    activation="relu")(x)
            if hp.Boolean(f"batch_norm_{i}"):
                x = keras.layers.BatchNormalization()(x)
            if i < 2:
                x = keras.layers.MaxPooling2D(2, padding="same")(x)
        if hp.Choice("head", ["flatten", "global_average"]) == "flatten":
            x = keras.layers.Flatten()(x)
        else:
            x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
        x = keras.layers.Dense(hp.Choice("units", [32, 64, 128]), activation="relu")(x)
        model = keras.Model(inputs, _head(x, problem, num_classes))
        return _compile(model, problem,
                        hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"))

    return build


def conv1d_hypermodel(input_shape, num_classes, mean, variance, problem="classification"):
    """A hand-written Keras Tuner 1D CNN hypermodel for short sequences.

    1-4 conv blocks (32/64/128 filters, kernel 3/5/7, optional batch norm,
    optional max-pooling by 2 after a block), flatten or global-average head,
    dropout, dense units and a log-uniform learning rate.
    """
    import keras

    def build(hp):
        inputs = keras.Input(input_shape)
        x = keras.layers.Normalization(axis=-1, mean=mean, variance=variance)(inputs)
        for i in range(hp.Int("conv_blocks", 1, 4)):
            x = keras.layers.Conv1D(hp.Choice(f"filters_{i}", [32, 64, 128]),
                                    hp.Choice(f"kernel_{i}", [3, 5, 7]), padding="same",
                                    activation="relu")(x)
            if hp.Boolean(f"batch_norm_{i}"):
                x = keras.layers.BatchNormalization()(x)
            if hp.Boolean(f"pool_{i}"):
                x = keras.layers.MaxPooling1D(2, padding="same")(x)
        if hp.Choice("head", ["flatten", "global_average"]) == "flatten":
            x = keras.layers.Flatten()(x)
        else:
            x = keras.layers.GlobalAveragePooling1D()(x)
        x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
        x = keras.layers.Dense(hp.Choice("units", [32, 64, 128]), activation="relu")(x)
        model = keras.Model(inputs, _head(x, problem, num_classes))
        return _compile(model, problem,
                        hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"))

    return build


def mlp_hypermodel(input_shape, num_classes, mean, variance, problem="classification"):
    """A hand-written Keras Tuner MLP hypermodel for numeric tables.

    1-3 dense layers of 32-256 units, optional batch norm, dropout, a
    log-uniform learning rate; inputs standardised by a Normalization layer.
    """
    import keras

    def build(hp):
        inputs = keras.Input(input_shape)
        x = keras.layers.Normalization(axis=-1, mean=mean, variance=variance)(inputs)
        for i in range(hp.Int("layers", 1, 3)):
            x = keras.layers.Dense(hp.Choice(f"units_{i}", [32, 64, 128, 256]),
                                   activation="relu")(x)
            if hp.Boolean(f"batch_norm_{i}"):
                x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Dropout(hp.Float(f"dropout_{i}", 0.0, 0.5, step=0.1))(x)
        model = keras.Model(inputs, _head(x, problem, num_classes))
        return _compile(model, problem,
                        hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"))

    return build


HYPERMODELS = {"image": cnn_hypermodel, "sequence": conv1d_hypermodel, "tabular": mlp_hypermodel}
# Epochs per Keras Tuner trial and early-stopping patience, by kind: a practitioner's
# choice for the data size (tables are small: more, cheaper epochs).
TRIAL_EPOCHS = {"image": (10, 3), "sequence": (20, 4), "tabular": (100, 10)}


def _stats(x):
    """Per-channel (images, sequences) or per-column (tables) mean and variance."""
    axes = tuple(range(x.ndim - 1))
    return x.mean(axis=axes), x.var(axis=axes) + 1e-8


def run_kerasnas(data, budget, seed, workdir):
    import kerasnas

    result = kerasnas.search(data["x_train"], data["y_train"], time_budget=budget, seed=seed,
                             directory=workdir / "search", overwrite=True, verbose=0)
    info = {"trials": len(result.history), "params": int(result.model.count_params()),
            "architecture": str(result.architecture)[:300]}
    task = getattr(result, "task", None)
    if task is not None:
        info["inferred"] = f"{task.kind} {task.problem} {tuple(task.input_shape)}"
    return result.predict(data["x_test"]), info


def run_kerastuner(data, budget, seed, workdir):
    import keras
    import keras_tuner
    import numpy as np

    kind, problem = data["kind"], data["problem"]
    keras.utils.set_random_seed(seed)
    x_train, x_val, y_train, y_val = _split(data, seed)
    x_train, x_val = (_with_channel(np.asarray(v, "float32"), kind) for v in (x_train, x_val))
    classes = num_classes = None
    if problem == "classification":
        classes = np.unique(data["y_train"])
        num_classes = len(classes)
        y_train, y_val = (np.searchsorted(classes, v) for v in (y_train, y_val))
        objective = "val_accuracy"
    else:  # a practitioner standardises a regression target
        y_mean, y_std = float(np.mean(y_train)), float(np.std(y_train)) or 1.0
        y_train, y_val = ((v - y_mean) / y_std for v in (y_train, y_val))
        objective = "val_loss"
    mean, variance = _stats(x_train)
    build = HYPERMODELS[kind](x_train.shape[1:], num_classes, mean, variance, problem)
    epochs, patience = TRIAL_EPOCHS[kind]
    # Keras Tuner replaces seed=0 by a random seed, so shift it by one.
    tuner = keras_tuner.RandomSearch(build, objective=objective, max_trials=10_000,
                                     seed=seed + 1, directory=str(workdir),
                                     project_name="kerastuner", overwrite=True)
    _limit_oracle(tuner.oracle)
    _start_deadline(budget)
    early = keras.callbacks.EarlyStopping(objective, patience=patience)
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                 batch_size=32, callbacks=[early, _deadline_callback()], verbose=0)
    _DEADLINE["active"] = False
    best = tuner.oracle.get_best_trials(1)[0]
    model = build(best.hyperparameters)
    model.fit(np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val]),
              epochs=int(best.best_step) + 1, batch_size=32, verbose=0)
    outputs = model.predict(_with_channel(np.asarray(data["x_test"], "float32"), kind),
                            verbose=0)
    if problem == "classification":
        predicted = classes[np.argmax(outputs, axis=-1)]
    else:
        predicted = outputs[:, 0] * y_std + y_mean
    trials = [t for t in tuner.oracle.trials.values() if t.score is not None]
    return predicted, {"trials": len(trials), "params": int(model.count_params())}


def _autokeras_input(x, kind):
    """float32 (with a channel axis where needed), except a table of strings.

    benchmarks/tables.py passes mixed-type tables as AutoKeras' own tests pass
    a CSV (`frame.to_numpy().astype(str)`); AutoKeras types those columns itself.
    """
    import numpy as np

    x = np.asarray(x)
    if kind == "tabular" and x.dtype.kind == "U":
        return x
    return _with_channel(x.astype("float32"), kind)


def run_autokeras(data, budget, seed, workdir):
    import autokeras
    import keras
    import numpy as np

    kind, problem = data["kind"], data["problem"]
    keras.utils.set_random_seed(seed)
    common = dict(max_trials=10_000, seed=seed + 1, overwrite=True, directory=str(workdir),
                  project_name="autokeras")
    head = (autokeras.ClassificationHead() if problem == "classification"
            else autokeras.RegressionHead())
    if kind == "image":
        model = (autokeras.ImageClassifier(**common) if problem == "classification"
                 else autokeras.ImageRegressor(**common))
    elif kind == "tabular":
        model = (autokeras.StructuredDataClassifier(**common) if problem == "classification"
                 else autokeras.StructuredDataRegressor(**common))
    else:  # AutoKeras 3 has no time-series task: its generic input and conv block
        inputs = autokeras.Input()
        model = autokeras.AutoModel(inputs=inputs, outputs=head(autokeras.ConvBlock()(inputs)),
                                    **common)
    x_train, x_test = (_autokeras_input(data[k], kind) for k in ("x_train", "x_test"))
    y_train = data["y_train"]
    if problem == "regression":
        y_train = np.asarray(y_train, "float32")
    _limit_oracle(model.tuner.oracle)
    _start_deadline(budget)
    model.fit(x_train, y_train, callbacks=[_deadline_callback()], verbose=0)
    _DEADLINE["active"] = False
    predicted = np.asarray(model.predict(x_test, verbose=0))
    if problem == "classification":
        predicted = predicted.reshape(-1).astype(data["y_train"].dtype)
    else:
        predicted = predicted.reshape(-1).astype("float64")
    trials = [t for t in model.tuner.oracle.trials.values() if t.score is not None]
    exported = model.export_model()
    return predicted, {"trials": len(trials), "params": int(exported.count_params())}


def plain_cnn(input_shape, num_classes, mean, variance):
    """The image baseline: a fixed CNN a practitioner writes for small images.

    Two blocks of two 3x3 convolutions (32 then 64 filters) with batch norm and
    2x2 max-pooling, dropout 0.3, 128 dense units; Adam 1e-3.
    """
    import keras

    inputs = keras.Input(input_shape)
    x = keras.layers.Normalization(axis=-1, mean=mean, variance=variance)(inputs)
    for filters in (32, 64):
        for _ in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    return _compile(keras.Model(inputs, _head(x, "classification", num_classes)),
                    "classification", 1e-3)


def run_baseline(data, budget, seed, workdir):
    import numpy as np

    kind, problem = data["kind"], data["problem"]
    if kind == "tabular":
        from sklearn import ensemble

        cls = (ensemble.HistGradientBoostingClassifier if problem == "classification"
               else ensemble.HistGradientBoostingRegressor)
        model = cls(random_state=seed).fit(data["x_train"], data["y_train"])
        return model.predict(data["x_test"]), {"trials": 1, "params": 0,
                                               "model": cls.__name__}
    if kind == "sequence":
        return _run_aeon(data, seed, "minirocket")
    import keras

    keras.utils.set_random_seed(seed)
    x_train = _with_channel(np.asarray(data["x_train"], "float32"), kind)
    classes = np.unique(data["y_train"])
    mean, variance = _stats(x_train)
    model = plain_cnn(x_train.shape[1:], len(classes), mean, variance)
    _start_deadline(budget)
    history = model.fit(x_train, np.searchsorted(classes, data["y_train"]), epochs=100_000,
                        batch_size=32, callbacks=[_deadline_callback()], verbose=0)
    _DEADLINE["active"] = False
    outputs = model.predict(_with_channel(np.asarray(data["x_test"], "float32"), kind),
                            verbose=0)
    return classes[np.argmax(outputs, axis=-1)], {
        "trials": 1, "params": int(model.count_params()), "model": "plain CNN",
        "epochs": len(history.history.get("loss", []))}


def _panel(x):
    """aeon's layout, `(N, channels, length)`, of `(N, L)` or `(N, L, C)`."""
    import numpy as np

    x = np.asarray(x, "float64")
    return x[:, None, :] if x.ndim == 2 else np.transpose(x, (0, 2, 1))


def _run_aeon(data, seed, variant):
    """aeon's MiniRocket or Rocket classifier / regressor with its defaults."""
    if data["problem"] == "classification":
        from aeon.classification.convolution_based import MiniRocketClassifier, RocketClassifier

        cls = {"minirocket": MiniRocketClassifier, "rocket": RocketClassifier}[variant]
    else:
        from aeon.regression.convolution_based import MiniRocketRegressor, RocketRegressor

        cls = {"minirocket": MiniRocketRegressor, "rocket": RocketRegressor}[variant]
    model = cls(random_state=seed, n_jobs=1)
    model.fit(_panel(data["x_train"]), data["y_train"])
    return model.predict(_panel(data["x_test"])), {"trials": 1, "params": 0,
                                                   "model": cls.__name__}


def run_minirocket(data, budget, seed, workdir):
    return _run_aeon(data, seed, "minirocket")


def run_rocket(data, budget, seed, workdir):
    return _run_aeon(data, seed, "rocket")


def inception_time(input_shape, output_dim, mean, variance, problem="classification",
                   depth=6, filters=32, kernels=(10, 20, 40), bottleneck=32):
    """The InceptionTime-style sequence baseline (after Ismail Fawaz et al. 2020).

    `depth` inception modules: a 1x1 bottleneck conv to `bottleneck` channels
    (skipped when the module's input has one channel, as in the reference
    code), parallel convs of each kernel size with `filters` filters, and a
    max-pool-3 + 1x1 conv branch, concatenated, batch norm, ReLU; a residual
    shortcut (1x1 conv + batch norm, added, ReLU) every 3 modules; global
    average pooling and a softmax (classification) or linear head. Inputs
    standardised per channel; Adam 1e-3.
    """
    import keras

    layers = keras.layers

    def module(x):
        source = x
        if x.shape[-1] > 1:
            source = layers.Conv1D(bottleneck, 1, padding="same", use_bias=False)(x)
        branches = [layers.Conv1D(filters, k, padding="same", use_bias=False)(source)
                    for k in kernels]
        pooled = layers.MaxPooling1D(3, strides=1, padding="same")(x)
        branches.append(layers.Conv1D(filters, 1, padding="same", use_bias=False)(pooled))
        x = layers.Concatenate(axis=-1)(branches)
        x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x)

    def shortcut(residual, x):
        residual = layers.Conv1D(int(x.shape[-1]), 1, padding="same", use_bias=False)(residual)
        residual = layers.BatchNormalization()(residual)
        return layers.Activation("relu")(layers.Add()([residual, x]))

    inputs = keras.Input(input_shape)
    x = residual = layers.Normalization(axis=-1, mean=mean, variance=variance)(inputs)
    for d in range(depth):
        x = module(x)
        if d % 3 == 2:
            x = residual = shortcut(residual, x)
    x = layers.GlobalAveragePooling1D()(x)
    return _compile(keras.Model(inputs, _head(x, problem, output_dim)), problem, 1e-3)


def run_inceptiontime(data, budget, seed, workdir):
    import keras
    import numpy as np

    problem = data["problem"]
    keras.utils.set_random_seed(seed)
    x_train = _with_channel(np.asarray(data["x_train"], "float32"), "sequence")
    x_test = _with_channel(np.asarray(data["x_test"], "float32"), "sequence")
    if problem == "classification":
        classes = np.unique(data["y_train"])
        output_dim, y_train = len(classes), np.searchsorted(classes, data["y_train"])
    else:  # a practitioner standardises a regression target
        y = np.asarray(data["y_train"], "float64")
        y_mean, y_std = float(np.mean(y)), float(np.std(y)) or 1.0
        output_dim, y_train = 1, ((y - y_mean) / y_std).astype("float32")
    mean, variance = _stats(x_train)
    model = inception_time(x_train.shape[1:], output_dim, mean, variance, problem)
    # The reference code's schedule: halve the rate on a 50-epoch plateau of the training loss.
    plateau = keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=50, min_lr=1e-4)
    _start_deadline(budget)
    history = model.fit(x_train, y_train, epochs=100_000, batch_size=64,
                        callbacks=[plateau, _deadline_callback()], verbose=0)
    _DEADLINE["active"] = False
    outputs = model.predict(x_test, verbose=0)
    if problem == "classification":
        predicted = classes[np.argmax(outputs, axis=-1)]
    else:
        predicted = outputs[:, 0] * y_std + y_mean
    return predicted, {"trials": 1, "params": int(model.count_params()),
                       "model": "InceptionTime-style CNN",
                       "epochs": len(history.history.get("loss", []))}


RUNNERS = {"kerasnas": run_kerasnas, "kerastuner": run_kerastuner, "autokeras": run_autokeras,
           "baseline": run_baseline, "minirocket": run_minirocket, "rocket": run_rocket,
           "inceptiontime": run_inceptiontime}


def score(data, predicted):
    """`{"score": ...}` plus `accuracy` (classification) or `mse` and `r2` (regression)."""
    import numpy as np

    y = np.asarray(data["y_test"])
    predicted = np.asarray(predicted).reshape(y.shape)
    if data["problem"] == "classification":
        accuracy = float(np.mean(predicted == y))
        return {"score": accuracy, "accuracy": accuracy}
    mse = float(np.mean((predicted.astype("float64") - y) ** 2))
    r2 = 1.0 - mse / float(np.var(y))
    return {"score": r2, "mse": mse, "r2": r2}


def worker(arm, data_path, budget, seed, workdir, result_path):
    """Runs one (arm, data set, budget, seed) and writes its score and wall time as JSON."""
    import numpy as np

    with np.load(data_path) as archive:
        data = {k: archive[k] for k in archive.files}
    data["kind"], data["problem"] = str(data["kind"]), str(data["problem"])
    started = time.monotonic()
    predicted, info = RUNNERS[arm](data, budget, seed, Path(workdir))
    wall = time.monotonic() - started
    Path(result_path).write_text(json.dumps({
        "arm": arm, "dataset": str(data["name"]), "seed": seed, "budget": budget,
        **score(data, predicted), "wall_s": wall, **info}))


# ------------------------------------------------------------------- driver
def load(name, n_signals, signal_rank):
    """`(x, y)` of a data set, in the form a user would pass it."""
    import numpy as np

    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.images.astype("float32"), digits.target
    if name == "signals":
        from kerasnas.bench.signals import make_signals

        x, y = make_signals(n_signals, length=40, num_classes=10, seed=0)
        return (x if signal_rank == 2 else x[..., None]), y
    from sklearn import datasets

    loader = {"breast_cancer": datasets.load_breast_cancer,
              "diabetes": datasets.load_diabetes}[name]
    x, y = loader(return_X_y=True)
    return np.asarray(x, "float64"), np.asarray(y)


def export_series(names, cache):
    """Writes `cache/<name>.npz` for series sets; runs in the aeon environment.

    Each file holds `x_train`, `y_train`, `x_test`, `y_test` (`x` as `(N, L, C)`
    float64), `classes` (the original labels of classification sets) and `source`.
    """
    import numpy as np

    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name in UCR:
            import aeon
            from aeon.datasets import load_classification

            parts = {}
            for split in ("train", "test"):
                x, y = load_classification(UCR[name], split=split)  # (N, C, L), str labels
                parts[split] = (np.transpose(np.asarray(x, "float64"), (0, 2, 1)),
                                np.asarray(y).astype(str))
            classes = np.unique(parts["train"][1])
            if not np.isin(parts["test"][1], classes).all():
                raise ValueError(f"{name}: test labels missing from the training labels")
            arrays = {f"{k}_{split}": v for split, (x, y) in parts.items()
                      for k, v in (("x", x), ("y", np.searchsorted(classes, y)))}
            source = (f"aeon {aeon.__version__} load_classification({UCR[name]!r}), "
                      "archive train/test split, (N, C, L) transposed to (N, L, C)")
        elif name == "sunspots":
            import statsmodels
            import statsmodels.api as sm

            frame = sm.datasets.sunspots.load_pandas().data
            values = frame["SUNACTIVITY"].to_numpy("float64")
            years = frame["YEAR"].to_numpy().astype(int)
            length, horizon = SUNSPOTS["length"], SUNSPOTS["horizon"]
            starts = np.arange(len(values) - length - horizon + 1)
            x = np.stack([values[t:t + length] for t in starts])[..., None]
            y = values[starts + length - 1 + horizon]
            target_years = years[starts + length - 1 + horizon]
            n_train = int(len(starts) * SUNSPOTS["train_share"])  # chronological split
            arrays = {"x_train": x[:n_train], "y_train": y[:n_train], "x_test": x[n_train:],
                      "y_test": y[n_train:], "years_train": target_years[:n_train],
                      "years_test": target_years[n_train:]}
            classes = np.array([], dtype=str)
            source = (f"statsmodels {statsmodels.__version__} sunspots (yearly, "
                      f"{years[0]}-{years[-1]}): windows of {length} years, target the value "
                      f"{horizon} years after a window's last year; first "
                      f"{SUNSPOTS['train_share']:.0%} of the windows (in time order) train")
        else:
            raise ValueError(f"{name} is not a series set")
        np.savez(cache / f"{name}.npz", classes=classes, source=source, **arrays)
        print(f"exported {name}: train {arrays['x_train'].shape}, test "
              f"{arrays['x_test'].shape} -> {cache / (name + '.npz')}", flush=True)


def ensure_series(names, cache, aeon_python):
    """Exports the series sets missing from `cache` once, in the aeon environment."""
    missing = [n for n in names if n in SERIES and not (Path(cache) / f"{n}.npz").exists()]
    if not missing:
        return
    command = [aeon_python, str(Path(__file__).resolve()), "--export-series", *missing,
               "--data-cache", str(cache)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except OSError as err:
        sys.exit(f"cannot start {aeon_python} to export {missing}: {err} (see the module "
                 "docstring, 'Environments')")
    if proc.returncode != 0:
        sys.exit(f"exporting {missing} with {aeon_python} failed:\n{proc.stderr[-3000:]}")
    print(proc.stdout.strip(), flush=True)


def make_data(name, path, test_size, split_seed, n_signals, signal_rank, cache=CACHE):
    import numpy as np
    from sklearn.model_selection import train_test_split

    if name in SERIES:  # the archive's or the chronological split, from the cache
        with np.load(Path(cache) / f"{name}.npz") as archive:
            parts = {k: archive[k] for k in ("x_train", "y_train", "x_test", "y_test")}
        np.savez(path, **parts, name=name, kind=KINDS[name], problem=PROBLEMS[name])
        return parts["x_train"].shape, len(parts["x_test"])
    x, y = load(name, n_signals, signal_rank)
    stratify = y if PROBLEMS[name] == "classification" else None
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=stratify, random_state=split_seed)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             name=name, kind=KINDS[name], problem=PROBLEMS[name])
    return x_train.shape, len(x_test)


def python_for(arm, dataset, args):
    if arm == "autokeras":
        return args.autokeras_python
    if arm in AEON_ARMS or (arm == "baseline" and KINDS[dataset] == "sequence"):
        return args.aeon_python
    return sys.executable


def run_one(arm, dataset, python, data_path, budget, seed, workdir, timeout, script=None):
    """Runs `script --worker arm ...` (default: this file) in a fresh process; its result."""
    run_dir = Path(workdir) / f"{dataset}-b{budget:g}-{arm}-seed{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    result_path = run_dir / "result.json"
    base = {"arm": arm, "dataset": dataset, "seed": seed, "budget": budget}
    command = [python, str(script or Path(__file__).resolve()), "--worker", arm,
               "--data", str(data_path),
               "--budgets", str(budget), "--seeds", str(seed), "--workdir", str(run_dir),
               "--result", str(result_path)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT),
               KERAS_BACKEND="tensorflow")
    started = time.monotonic()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=run_dir)
    except subprocess.TimeoutExpired:
        return {**base, "error": f"timed out after {timeout} s"}
    except OSError as err:
        return {**base, "error": f"cannot start {python}: {err}"}
    (run_dir / "log.txt").write_text((proc.stdout or "") + (proc.stderr or ""))
    if proc.returncode != 0 or not result_path.exists():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        return {**base, "error": f"exit {proc.returncode}:\n{tail}"}
    result = json.loads(result_path.read_text())
    result["process_s"] = time.monotonic() - started
    return result


def _label(arm, dataset):
    if arm == "baseline":
        return f"baseline: {BASELINE_NAMES[KINDS[dataset]]}"
    return f"{arm}: {ARM_NAMES[arm]}" if arm in ARM_NAMES else arm


def table(results):
    """Markdown: one row per (data set, arm), one score column per budget."""
    budgets = sorted({r["budget"] for r in results})
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in results)]
    arms = [a for a in ARMS if any(r["arm"] == a for r in results)]
    head = ["data set (metric)", "arm"]
    for b in budgets:
        head += [f"{b:g} s: score (mean ± std)", f"{b:g} s: per seed", f"{b:g} s: wall s",
                 f"{b:g} s: trials"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for dataset in datasets:
        metric = "accuracy" if PROBLEMS[dataset] == "classification" else "R²"
        for arm in arms:
            if not any((r["dataset"], r["arm"]) == (dataset, arm) for r in results):
                continue  # an arm that did not run on this data set
            row = [f"{dataset} ({metric})", _label(arm, dataset)]
            for b in budgets:
                runs = [r for r in results
                        if (r["dataset"], r["arm"], r["budget"]) == (dataset, arm, b)]
                ok = sorted((r for r in runs if "error" not in r), key=lambda r: r["seed"])
                failed = len(runs) - len(ok)
                if not ok:
                    row += [f"– ({failed} failed)" if failed else "–", "–", "–", "–"]
                    continue
                values = [r["score"] for r in ok]
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                note = f" ({failed} failed)" if failed else ""
                row += [f"{statistics.mean(values):.4f} ± {std:.4f}{note}",
                        ", ".join(f"{v:.4f}" for v in values),
                        f"{statistics.mean(r['wall_s'] for r in ok):.0f}",
                        f"{statistics.mean(r.get('trials', 0) for r in ok):.1f}"]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------- plot
SPAN = {"classification": 0.3, "regression": 0.8}  # most of the y axis shown below the best
COLORS = {"kerasnas": "#d62728", "kerastuner": "#1f77b4", "autokeras": "#2ca02c",
          "baseline": "#7f7f7f", "minirocket": "#9467bd", "rocket": "#8c564b",
          "inceptiontime": "#ff7f0e"}
LEGEND = {"baseline": "baseline (plain CNN / MiniRocket / HistGradientBoosting)",
          "minirocket": "MiniRocket (aeon)", "rocket": "Rocket (aeon)",
          "inceptiontime": "InceptionTime-style CNN"}


def plot_svg(results, path):
    """Score against budget, one panel per data set: each arm's mean (line) and seeds (dots)."""
    ok = [r for r in results if "error" not in r]
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in ok)]
    if not datasets:
        return None
    budgets = sorted({r["budget"] for r in ok})
    arms = [a for a in ARMS if any(r["arm"] == a for r in ok)]
    pw, ph, ml, mt, mb = 260, 200, 52, 34, 40
    width = max(ml + len(datasets) * (pw + ml) + 10, 420)
    legend, lx, row = [], ml, 0  # (arm, x, row): entries 190 px apart (more for long ones)
    for arm in arms:
        used = 6 * len(LEGEND.get(arm, arm)) + 14  # about 6 px a character
        step = max(190, used + 10)
        if lx > ml and lx + used > width:
            lx, row = ml, row + 1
        legend.append((arm, lx, row))
        lx += step
    height = mt + ph + mb + 30 + 14 * row
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for i, dataset in enumerate(datasets):
        x0 = ml + i * (pw + ml)
        runs = [r for r in ok if r["dataset"] == dataset]
        lo, hi = min(r["score"] for r in runs), max(r["score"] for r in runs)
        # A far-off score (an R² of -4) would flatten the rest: the axis spans at most
        # SPAN below the best; scores under it sit on the bottom edge, labelled.
        lo = max(lo, hi - SPAN[PROBLEMS[dataset]])
        pad = max((hi - lo) * 0.1, 0.005)
        lo, hi = lo - pad, hi + pad

        def px(b, x0=x0):
            if len(budgets) == 1:
                return x0 + pw / 2
            return x0 + 15 + (pw - 30) * budgets.index(b) / (len(budgets) - 1)

        def py(v, lo=lo, hi=hi):
            return mt + ph - (max(v, lo) - lo) / (hi - lo) * ph

        metric = "test accuracy" if PROBLEMS[dataset] == "classification" else "test R²"
        out.append(f'<text x="{x0 + pw / 2}" y="{mt - 12}" text-anchor="middle" '
                   f'font-size="13">{dataset} ({metric})</text>')
        out.append(f'<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" '
                   f'stroke="#444"/>')
        for k in range(5):
            v = lo + (hi - lo) * k / 4
            out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{py(v):.1f}" y2="{py(v):.1f}" '
                       f'stroke="#eee"/>')
            out.append(f'<text x="{x0 - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.3f}</text>')
        for b in budgets:
            out.append(f'<text x="{px(b):.1f}" y="{mt + ph + 15}" text-anchor="middle">'
                       f'{b:g} s</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{mt + ph + 30}" text-anchor="middle">'
                   f'budget</text>')
        for j, arm in enumerate(arms):
            points = []
            for b in budgets:
                values = [r["score"] for r in runs if (r["arm"], r["budget"]) == (arm, b)]
                dx = (j - (len(arms) - 1) / 2) * 4  # spread arms sideways: dots stay visible
                for v in values:
                    out.append(f'<circle cx="{px(b) + dx:.1f}" cy="{py(v):.1f}" r="2.5" '
                               f'fill="{COLORS[arm]}" fill-opacity="0.5"/>')
                    if v < lo:
                        out.append(f'<text x="{px(b) + dx + 4:.1f}" y="{mt + ph - 4}" '
                                   f'fill="{COLORS[arm]}">↓{v:.2f}</text>')
                if values:
                    points.append((px(b) + dx, py(statistics.mean(values))))
            if len(points) > 1:
                coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                out.append(f'<polyline points="{coords}" fill="none" stroke="{COLORS[arm]}" '
                           f'stroke-width="2"/>')
            for x, y in points:
                out.append(f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" '
                           f'fill="{COLORS[arm]}"/>')
    for arm, lx, row in legend:
        ly = mt + ph + mb + 16 + 14 * row
        out.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" '
                   f'fill="{COLORS[arm]}"/>')
        out.append(f'<text x="{lx + 14}" y="{ly + 9}">{LEGEND.get(arm, arm)}</text>')
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0, 180.0],
                        help="wall-clock seconds per run, one set of runs each (default 60 180)")
    parser.add_argument("--budget", type=float, default=None,
                        help="a single budget (same as --budgets B; kept for old commands)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                        help="seeds, one run per arm each (default 1 2 3)")
    parser.add_argument("--datasets", nargs="+", choices=(*DATASETS, *GROUPS),
                        default=list(ORIGINAL),
                        help="data sets, or the groups original / series / all (default "
                             "original: digits signals breast_cancer diabetes)")
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=None,
                        help="arms to run, each on the data sets it applies to (default: "
                             "the original sets get " + " ".join(ORIGINAL_ARMS) +
                             "; the series sets " + " ".join(SERIES_ARMS) + ")")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: digits, budget 15 s, seed 1, 600 signals "
                             "(explicit --datasets/--budgets/--seeds still win)")
    parser.add_argument("--signals", type=int, default=5000,
                        help="number of generated signals (default 5000)")
    parser.add_argument("--signal-rank", type=int, choices=(2, 3), default=2,
                        help="pass signals as (N, 40) (2, default) or (N, 40, 1) (3)")
    parser.add_argument("--test-size", type=float, default=0.25,
                        help="test share of each original data set (default 0.25; the "
                             "series sets keep their own split)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the original sets' fixed train/test split (default 0)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at once (default 1; 2 shares the cores between two runs)")
    parser.add_argument("--autokeras-python",
                        default=str(ROOT / ".venv-autokeras" / "bin" / "python"),
                        help="Python of the AutoKeras virtual environment "
                             "(default .venv-autokeras/bin/python)")
    parser.add_argument("--aeon-python", default=str(ROOT / ".venv-aeon" / "bin" / "python"),
                        help="Python with aeon and statsmodels: MiniRocket / Rocket and the "
                             "series export (default .venv-aeon/bin/python)")
    parser.add_argument("--data-cache", default=str(CACHE),
                        help="folder of the exported series sets (default benchmarks/.data)")
    parser.add_argument("--export-only", action="store_true",
                        help="no runs: export the chosen series sets to --data-cache")
    parser.add_argument("--workdir", default=None,
                        help="folder for data, searches and results (default: a temp folder)")
    parser.add_argument("--out", default=None,
                        help="JSON file for all runs (default WORKDIR/one_liner_results.json)")
    parser.add_argument("--plot", default=None,
                        help="SVG of score against budget (default WORKDIR/one_liner.svg)")
    parser.add_argument("--replot", nargs="+", default=None, metavar="RESULTS",
                        help="no runs: print the table and draw the plot from these JSON files")
    parser.add_argument("--worker", choices=ARMS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--export-series", nargs="+", choices=SERIES, help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.budget is not None:
        args.budgets = [args.budget]
    if args.quick:
        given = set(argv)
        if "--datasets" not in given:
            args.datasets = ["digits"]
        if not given & {"--budgets", "--budget"}:
            args.budgets = [15.0]
        if "--seeds" not in given:
            args.seeds = [1]
        if "--signals" not in given:
            args.signals = 600
    if any(b <= 0 for b in args.budgets):
        parser.error("--budgets must be > 0")
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")

    if args.export_series:  # in the aeon environment, called by ensure_series
        export_series(args.export_series, args.data_cache)
        return

    if args.worker:
        worker(args.worker, args.data, args.budgets[0], args.seeds[0], args.workdir,
               args.result)
        return

    if args.replot:
        results = [r for f in args.replot for r in json.loads(Path(f).read_text())]
        print(table(results))
        if args.plot:
            print(f"\nPlot: {plot_svg(results, args.plot)}")
        return

    datasets = []  # groups expanded, in the given order, each once
    for name in args.datasets:
        datasets += [d for d in GROUPS.get(name, (name,)) if d not in datasets]
    ensure_series(datasets, args.data_cache, args.aeon_python)
    if args.export_only:
        return
    arms = {d: [a for a in (args.arms or (SERIES_ARMS if d in SERIES else ORIGINAL_ARMS))
                if applies(a, d)] for d in datasets}
    for arm in args.arms or ():
        skipped = [d for d in datasets if not applies(arm, d)]
        if skipped:
            print(f"{arm} does not apply to {', '.join(skipped)}: skipped there", flush=True)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="one_liner_"))
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for dataset in datasets:
        paths[dataset] = workdir / f"{dataset}_split.npz"
        shape, n_test = make_data(dataset, paths[dataset], args.test_size, args.split_seed,
                                  args.signals, args.signal_rank, args.data_cache)
        print(f"{dataset}: train x {shape}, {n_test} test examples; arms "
              f"{' '.join(arms[dataset])}", flush=True)
    print(f"budgets {args.budgets} s; seeds {args.seeds}; jobs {args.jobs}; "
          f"workdir {workdir}", flush=True)
    out = Path(args.out) if args.out else workdir / "one_liner_results.json"
    plot = Path(args.plot) if args.plot else workdir / "one_liner.svg"
    plan = [(budget, seed, dataset, arm) for budget in sorted(args.budgets)
            for seed in args.seeds for dataset in datasets for arm in arms[dataset]]
    results, lock = [], threading.Lock()

    def execute(job):
        budget, seed, dataset, arm = job
        timeout = int(budget * 4 + 600)
        result = run_one(arm, dataset, python_for(arm, dataset, args), paths[dataset], budget,
                         seed, workdir, timeout)
        with lock:
            results.append(result)
            out.write_text(json.dumps(results, indent=1))  # written as it goes
            where = f"{dataset:>13} {arm:>13} budget {budget:g} seed {seed}"
            if "error" in result:
                print(f"{where}: FAILED {result['error']}", flush=True)
            else:
                print(f"{where}: score {result['score']:.4f}, wall {result['wall_s']:.0f} s, "
                      f"{result.get('trials', 0)} trials", flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(execute, plan))
    print()
    print(table(results))
    print(f"\nAll runs: {out}\nPlot: {plot_svg(results, plot)}")


if __name__ == "__main__":
    main()
