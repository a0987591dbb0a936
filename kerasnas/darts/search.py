"""`search()`: run DARTS on a space and get the derived `Architecture` back.

The training data is split in halves (the paper's setting: one half trains w,
the other drives α), the supernet is trained for `epochs` epochs with
`DartsModel`, α's softmax is recorded after every epoch, and the derived
architecture is returned with the trajectory. Build and train it like any other
trial: `space.build_architecture(result.architecture)`.

Against the collapse towards `skip_connect` (Zela et al. 2020; NAS-Bench-201
reports DARTS at 54.30 % on CIFAR-10 for this reason) `max_skips` enables
DARTS+ early stopping (Liang et al. 2019): the search stops at the end of the
first epoch whose derived architecture holds `max_skips` or more
`skip_connect` edges (in the normal cell of a `CellSpace`), and returns the
architecture derived at the epoch before. Two further remedies:

* `warmup_epochs`: α is frozen for the first epochs and only w trains (as in
  P-DARTS and many DARTS implementations): α learned against untrained
  convolutions favours parameter-free ops, which lower the loss first.
* `stop_ops`: the ops the DARTS+ rule counts. An extension of DARTS+ (which
  counts `skip_connect` only): by default every parameter-free op of the
  supernet, `skip_connect` and pooling, because on the small data here the drift
  goes to `avg_pool_3x3` as much as to `skip_connect`. `stop_ops=("skip_connect",)`
  is the rule as published.

Example:

>>> import numpy as np
>>> from sklearn.datasets import load_digits
>>> from kerasnas.spaces import NB201Space
>>> from kerasnas import darts
>>> x, y = load_digits(return_X_y=True)
>>> x = (x / 16.0).reshape(-1, 8, 8, 1).astype("float32")
>>> space = NB201Space((8, 8, 1), 10, channels=4, cells_per_stage=1)
>>> result = darts.search(space, x, y, epochs=2, seed=0)      # doctest: +SKIP
>>> model = space.build_architecture(result.architecture)      # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import numbers
import time

import keras
import numpy as np
import tensorflow as tf

from kerasnas.darts.derive import count_op, softmax
from kerasnas.darts.model import W_LEARNING_RATE, W_MIN_LEARNING_RATE, DartsModel
from kerasnas.darts.supernet import build_supernet
from kerasnas.spaces.architecture import Architecture

#: Default search epochs. The paper searches 50; a few suffice for the small data here.
EPOCHS = 10
#: Default batch size of both halves (the paper's 64).
BATCH_SIZE = 64
#: Default warm-up epochs (α frozen, only w trains): 0, the paper's DARTS, because a
#: fixed warm-up must stay below `epochs` and time-budgeted one-liner searches may run
#: only 1-2 epochs. Measured (benchmarks/README.md, DARTS): 2 of 5 epochs lifted signals
#: from 0.683 to 0.810 and left digits unchanged; pass it explicitly.
WARMUP_EPOCHS = 0
#: `stop_ops` default: count every parameter-free op of the supernet (`skip_connect`
#: and pooling) in the DARTS+ rule, since the drift here goes to pooling as well.
PARAMETER_FREE = "parameter_free"


def parameter_free_ops(ops) -> tuple:
    """The parameter-free ops among `ops` other than `none`: `skip_connect` and pooling."""
    return tuple(op for op in ops if op == "skip_connect" or "pool" in op)


@dataclasses.dataclass
class DartsResult:
    """What a DARTS search returns.

    Attributes:
        architecture: The derived `Architecture` (of the space's encoding).
        alpha_trajectory: One entry per finished epoch: cell type -> softmax(α) as nested lists `(E, K)`.
        architectures: The architecture derived after each epoch.
        ops: The α columns.
        history: Keras's `History.history` of the supernet fit.
        order: 1 or 2.
        search_seconds: Wall time of the search.
        stopped_early: The epoch (1-based) at which DARTS+ stopped, else None.
        model: The trained `DartsModel`.
    """

    architecture: Architecture
    alpha_trajectory: list
    architectures: list
    ops: tuple
    history: dict
    order: int
    search_seconds: float
    stopped_early: int | None
    model: DartsModel

    def skip_counts(self) -> list[int]:
        """`skip_connect` edges of the architecture derived after each epoch."""
        return [count_op(a, "skip_connect", _normal_cell(a)) for a in self.architectures]

    def parameter_free_counts(self) -> list[int]:
        """Parameter-free edges (`skip_connect`, pooling) of the architecture derived after each epoch."""
        return [count_ops(a, parameter_free_ops(self.ops)) for a in self.architectures]

    def record(self) -> dict:
        """The search as plain JSON data (no model): what `SearchResult.darts` keeps.

        Keys: `architecture` (string), `order`, `ops`, `alpha_trajectory`,
        `architectures` (strings, one per epoch), `skip_counts`, `search_seconds`,
        `epochs` (finished), `stopped_early`, `history`.
        """
        return {"architecture": str(self.architecture), "order": int(self.order),
                "ops": list(self.ops), "alpha_trajectory": self.alpha_trajectory,
                "architectures": [str(a) for a in self.architectures],
                "skip_counts": self.skip_counts(), "search_seconds": float(self.search_seconds),
                "epochs": len(self.alpha_trajectory), "stopped_early": self.stopped_early,
                "history": {k: [float(v) for v in vals] for k, vals in self.history.items()}}


def _normal_cell(arch):
    names = getattr(arch.encoding, "cell_names", None)
    return "normal" if names and "normal" in names else None


def count_ops(arch, ops) -> int:
    """Edges of `arch` (its normal cell in a `CellSpace`) carrying any of `ops`."""
    return sum(count_op(arch, op, _normal_cell(arch)) for op in ops)


class AlphaRecorder(keras.callbacks.Callback):
    """Records softmax(α) and the derived architecture after every epoch; DARTS+ early stopping.

    Args:
        max_skips: Stop once the derived architecture holds this many edges with
            one of `stop_ops` (default None: never).
        stop_ops: The ops counted (default `("skip_connect",)`: DARTS+ as published).
        warmup_epochs: Epochs with α frozen (default 0); the rule starts checking once
            an architecture derived after the warm-up has been recorded, so it never
            returns the untrained α's architecture.
    """

    def __init__(self, max_skips=None, stop_ops=("skip_connect",), warmup_epochs=0):
        super().__init__()
        self.max_skips = max_skips
        self.stop_ops = tuple(stop_ops)
        self.warmup_epochs = int(warmup_epochs)
        self.trajectory, self.architectures = [], []
        self.stopped_early = None

    def on_epoch_begin(self, epoch, logs=None):
        self.model.freeze_alpha(epoch < self.warmup_epochs)

    def on_epoch_end(self, epoch, logs=None):
        alphas = self.model.alpha_values()
        arch = self.model.derive()
        if self.max_skips is not None and epoch > self.warmup_epochs and self.architectures \
                and count_ops(arch, self.stop_ops) >= self.max_skips:
            self.stopped_early = epoch + 1
            self.model.stop_training = True
            return          # keep the architecture of the epoch before
        self.trajectory.append({k: softmax(a).round(5).tolist() for k, a in alphas.items()})
        self.architectures.append(arch)


class TimeBudget(keras.callbacks.Callback):
    """Stops the search once `seconds` of wall time have passed.

    Checked after every batch, so an epoch longer than the budget is cut in the
    middle; the first epoch always finishes, so there is an α to derive from.
    """

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.start = time.perf_counter()
        self.epochs_done = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_done = epoch + 1
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        if self.epochs_done and time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def paired_dataset(x_train, y_train, x_val, y_val, batch_size=BATCH_SIZE, seed=None):
    """`((x_t, y_t), (x_v, y_v))` batches: one pass over the training half, the validation half cycled."""
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(
        len(x_train), seed=seed).batch(batch_size, drop_remainder=len(x_train) >= batch_size)
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).shuffle(
        len(x_val), seed=seed).repeat().batch(batch_size, drop_remainder=True)
    return tf.data.Dataset.zip((train, val)).prefetch(2)


def search(space, x, y, *, validation_data=None, epochs=EPOCHS, batch_size=BATCH_SIZE, order=1,
           learning_rate=W_LEARNING_RATE, min_learning_rate=W_MIN_LEARNING_RATE, max_skips=None,
           warmup_epochs=WARMUP_EPOCHS, stop_ops=PARAMETER_FREE, time_budget=None, seed=None,
           verbose=0, run_eagerly=False, callbacks=None, partial_channels=None,
           edge_normalisation=False) -> DartsResult:
    """Searches `space` with DARTS and returns the derived architecture.

    Args:
        space: A `CellSpace` or `NB201Space` (its preprocessing, skeleton and head are reused).
        x, y: Training data: inputs shaped `(N, *space.input_shape)`, integer labels
            (or regression targets).
        validation_data: `(x_val, y_val)` driving α (default None: the second half of a
            seeded shuffle of `x, y`, the paper's split).
        epochs: Search epochs (default `EPOCHS` = 10).
        batch_size: Batch size of both halves (default 64, the paper's).
        order: 1 (first-order DARTS) or 2 (second-order) (default 1).
        learning_rate, min_learning_rate: w's cosine schedule (default 0.025 -> 0.001).
        max_skips: DARTS+ early stopping threshold on edges carrying one of `stop_ops`
            (default None: off; DARTS+ uses 2 with `skip_connect` alone).
        warmup_epochs: First epochs with α frozen, only w training (default
            `WARMUP_EPOCHS` = 0, the paper's; P-DARTS-style warm-up against the drift to
            parameter-free ops). Must be below `epochs`.
        stop_ops: Ops the DARTS+ rule counts: `"parameter_free"` (default: `skip_connect`
            and every pooling op of the space, an extension of DARTS+, since the drift
            here goes to pooling too) or a sequence of op names (`("skip_connect",)`:
            DARTS+ as published). Only used with `max_skips`.
        time_budget: Seconds; the search stops at the first batch past it, the first
            epoch always finishing (default None: no limit).
        seed: Seeds the split, α's initialisation, the shuffles and Keras (default None).
        verbose: Keras `fit` verbosity (default 0).
        run_eagerly: Run the train step eagerly (default False: traced once by
            `tf.function`; tracing the second-order step costs seconds, more than
            a handful of eager steps of a tiny supernet take).
        callbacks: Extra Keras callbacks of the supernet `fit` (default None), e.g. a
            progress display; they run after the α recorder.
        partial_channels: PC-DARTS's K, the share `1/K` of channels each edge's ops see
            (default None: DARTS; `kerasnas.darts.supernet`).
        edge_normalisation: PC-DARTS's per-edge β (default False: DARTS;
            `kerasnas.darts.model`). PC-DARTS as published: `partial_channels=4,
            edge_normalisation=True` (`strategy="pcdarts"` in `kerasnas.search`).

    Returns:
        A `DartsResult`.

    Raises:
        ValueError: For data that does not match the space, or bad settings (before any training).
    """
    x, y = _check_xy(space, x, y, "x, y")
    if order not in (1, 2) or isinstance(order, bool):
        raise ValueError(f"order must be 1 (first-order DARTS) or 2 (second-order), got {order!r}.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if max_skips is not None and (isinstance(max_skips, bool) or not isinstance(
            max_skips, numbers.Integral) or max_skips < 1):
        raise ValueError(f"max_skips must be a positive int (DARTS+ uses 2) or None, got {max_skips!r}.")
    if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, numbers.Integral) \
            or not 0 <= warmup_epochs < epochs:
        raise ValueError(f"warmup_epochs must be an int in [0, epochs={epochs}) so that α trains "
                         f"at least one epoch, got {warmup_epochs!r}.")
    stop_ops = _check_stop_ops(space, stop_ops)
    if validation_data is None:
        if len(x) < 4:
            raise ValueError(f"DARTS splits the data in halves; need at least 4 examples, got {len(x)}.")
        order_ = np.random.default_rng(seed).permutation(len(x))
        half = len(x) // 2
        x_val, y_val = x[order_[half:]], y[order_[half:]]
        x, y = x[order_[:half]], y[order_[:half]]
    else:
        x_val, y_val = _check_xy(space, *validation_data, "validation_data")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    start = time.perf_counter()
    model = DartsModel(build_supernet(space, partial_channels), order=order, seed=seed,
                       edge_normalisation=edge_normalisation)
    steps_per_epoch = -(-len(x) // batch_size) if len(x) < batch_size else len(x) // batch_size
    model.compile_search(epochs * steps_per_epoch, learning_rate, min_learning_rate,
                         run_eagerly=bool(run_eagerly))
    recorder = AlphaRecorder(max_skips, stop_ops, warmup_epochs)
    callbacks = [recorder] + ([TimeBudget(time_budget)] if time_budget else []) \
        + list(callbacks or [])
    data = paired_dataset(x, y, x_val, y_val, batch_size, seed)
    history = model.fit(data, epochs=int(epochs), callbacks=callbacks, verbose=verbose,
                        shuffle=False)  # paired_dataset shuffles both halves itself
    return DartsResult(architecture=recorder.architectures[-1],
                       alpha_trajectory=recorder.trajectory, architectures=recorder.architectures,
                       ops=model.supernet.ops, history=history.history, order=order,
                       search_seconds=time.perf_counter() - start,
                       stopped_early=recorder.stopped_early, model=model)


def _check_stop_ops(space, stop_ops):
    ops = tuple(space.encoding.ops) if hasattr(space.encoding, "ops") else None
    if isinstance(stop_ops, str):
        if stop_ops != PARAMETER_FREE:
            raise ValueError(f"stop_ops must be {PARAMETER_FREE!r} or a sequence of op names such "
                             f"as ('skip_connect',), got {stop_ops!r}.")
        return parameter_free_ops(ops or ("skip_connect", "avg_pool_3x3", "max_pool_3x3"))
    stop_ops = tuple(stop_ops)
    unknown = [op for op in stop_ops if ops is not None and op not in ops]
    if not stop_ops or unknown:
        raise ValueError(f"stop_ops: {unknown or 'empty'} not among the space's ops {ops}; "
                         f"pass some of them, or {PARAMETER_FREE!r}.")
    return stop_ops


def _check_xy(space, x, y, what):
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y)
    if x.shape[1:] != tuple(space.input_shape):
        raise ValueError(f"{what}: inputs of shape {x.shape[1:]} do not match the space's "
                         f"input_shape {tuple(space.input_shape)}; reshape them (e.g. "
                         f"x.reshape(-1, {', '.join(map(str, space.input_shape))})).")
    if len(x) != len(y):
        raise ValueError(f"{what}: {len(x)} inputs but {len(y)} targets.")
    if space.num_classes is not None:
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= space.num_classes:
            raise ValueError(f"{what}: classification needs integer labels in [0, {space.num_classes});"
                             f" got dtype {y.dtype}, range [{y.min()}, {y.max()}]. Encode them first.")
    else:
        y = y.astype("float32")
    if not np.isfinite(x).all():
        raise ValueError(f"{what}: inputs contain NaN or infinity; impute or drop them first.")
    return x, y
