"""`TableSpace`: the one-liner's space for tables, with what the tabular deep-learning literature
found to close the gap to gradient-boosted trees.

The input is a table's encoded rows (`kerasnas.data.tabular`: numbers with missing flags,
one-hot categories), described by a `layout`: which features are numeric columns, which
are 0/1 flags and which are the one-hot block of a categorical column. The model then

1. scales the numeric columns (`NumericTransform`: quantile, robust + smooth clip,
   standard, or log for skewed positives),
2. embeds them (`PiecewiseLinearEncoding` or `PeriodicFeatures`, each followed by a
   per-column `PerFeatureDense` and ReLU; Gorishniy et al., 2022) beside the scaled numbers,
3. passes flags through and one-hot blocks either as they are or through a learned
   embedding of `category_embedding_size(k)` dimensions,
4. runs an MLP or ResNet body (optionally a TabM-mini ensemble of `ensemble` members,
   Gorishniy et al., 2024) into the usual head; AdamW with the architecture's learning
   rate and weight decay.

The statistics of steps 1 and 2 (quantiles, bins) are fit on each trial's training rows
by the space's `fit`, Keras Tuner's `HyperModel.fit` hook, and travel in the model's
weights. Every layer is a registered Keras layer: `.keras` files, SavedModels and the
column encoder in front of them (raw DataFrame rows in) work as for any model.

Example:

>>> import numpy as np
>>> from kerasnas.spaces import TableSpace
>>> space = TableSpace((4,), num_classes=2, layout=[("numeric", 2), ("categorical", 2)])
>>> model = space.build_architecture("mlp 2x64 relu embedding=ple")
>>> model.output_shape
(None, 2)
"""

from __future__ import annotations

import keras
import numpy as np

from kerasnas.spaces.base import NASHyperModel
from kerasnas.spaces.encodings import TableEncoding
from kerasnas.spaces.table_layers import (
    EnsembleInputs,
    NumericTransform,
    PerFeatureDense,
    PeriodicFeatures,
    PiecewiseLinearEncoding,
    SelectFeatures,
)

#: Kinds of feature groups in a `layout`.
LAYOUT_KINDS = ("numeric", "flag", "categorical")
#: Bins of the piecewise-linear encoding (`PiecewiseLinearEncoding`).
NUM_BINS = 16
#: Frequencies of the periodic features.
NUM_FREQUENCIES = 16
#: Dimensions of each numeric column's embedding (PLE or periodic).
EMBEDDING_DIM = 16
#: The architectures a search tries first (see `TableSpace.hand_designs`).
HAND_DESIGNS = (
    # MLP-PLE (Gorishniy et al., 2022): quantile bins, a 3x256 ReLU MLP.
    "mlp 3x256 relu dropout=0.1 numeric=quantile embedding=ple categorical=onehot ensemble=1 "
    "lr=0.001 wd=0.01",
    # RealMLP-like (Holzmüller et al., 2024): robust scaling + smooth clip, periodic
    # embeddings, SiLU, embedded categories.
    "mlp 3x256 silu dropout=0.1 numeric=robust embedding=periodic categorical=embed ensemble=1 "
    "lr=0.001 wd=0.01",
    # A GAM-like additive model: PLE into a linear head.
    "linear numeric=quantile embedding=ple categorical=onehot lr=0.003 wd=0",
    # TabM-mini (Gorishniy et al., 2024): eight members over one PLE MLP.
    "mlp 2x256 relu dropout=0.1 numeric=quantile embedding=ple categorical=onehot ensemble=8 "
    "lr=0.001 wd=0.01",
)


def category_embedding_size(cardinality: int) -> int:
    """Dimensions of a categorical column's embedding: `min(16, round(1.6 k^0.56))`, at least 2.

    The rule of thumb of fast.ai's tabular models, capped for small tables.
    """
    return int(max(2, min(16, round(1.6 * cardinality ** 0.56))))


def check_layout(layout, features: int) -> tuple:
    """`layout` as a tuple of `(kind, width)` covering `features` features, or a clear error.

    None means every feature is a numeric column.
    """
    if layout is None:
        return (("numeric", int(features)),)
    try:
        groups = tuple((str(kind), int(width)) for kind, width in layout)
    except (TypeError, ValueError):
        raise ValueError(f"layout must be a list of (kind, width) pairs; got {layout!r}.") from None
    bad = [g for g in groups if g[0] not in LAYOUT_KINDS or g[1] < 1]
    if bad:
        raise ValueError(f"layout groups must be (kind, width >= 1) with kind in {LAYOUT_KINDS}; "
                         f"got {bad}.")
    total = sum(width for _, width in groups)
    if total != features:
        raise ValueError(f"layout covers {total} features but the input has {features}; "
                         "describe every feature once, in order.")
    return groups


class TableSpace(NASHyperModel):
    """The table space (see the module docstring).

    Args:
        input_shape: `(features,)`, the encoded row width.
        num_classes: See `NASHyperModel` (default None: regression).
        layout: `[(kind, width), ...]` in feature order, kind one of
            `LAYOUT_KINDS` (default None: every feature a numeric column).
            `kerasnas.search` passes the table encoder's layout.
        **kwargs: `TableEncoding`'s arguments (`layers`, `widths`, `numerics`,
            ...) and `NASHyperModel`'s (`output_dim`, `preprocessing`, ...;
            `optimizer` and `learning_rate` are not used: every model trains
            with AdamW at its architecture's rate and decay).

    Example:

    >>> space = TableSpace((3,), output_dim=1)
    >>> [str(a).split()[0] for a in space.hand_designs()]
    ['mlp', 'mlp', 'linear', 'mlp']
    """

    input_ranks = (1,)
    #: The encoding `make_encoding` passes the space's own arguments to (`search` checks them).
    encoding_class = TableEncoding
    #: The space fits its own column statistics: `kerasnas.search` gives it raw encoded rows,
    #: not standardised ones.
    ADAPTS_INPUTS = True

    def __init__(self, input_shape, num_classes=None, *, layout=None, **kwargs):
        super().__init__(input_shape, num_classes, **kwargs)
        self.layout = check_layout(layout, self.input_shape[0])
        self.space_args["layout"] = [list(g) for g in self.layout]

    @classmethod
    def task_args(cls, task) -> dict:
        """The arguments `kerasnas.search` takes from the data: the encoded table's layout."""
        return {"layout": getattr(task, "feature_layout", None)}

    def make_encoding(self, **space_args):
        return self.encoding_class(**space_args)

    def hand_designs(self) -> list:
        """MLP-PLE, a RealMLP-like MLP, a PLE additive model and TabM-mini (those in the space)."""
        return self.designs_in_space(HAND_DESIGNS)

    # ------------------------------------------------------------ layout
    def groups(self, kind):
        """`[(start, width), ...]` of the layout's groups of `kind`."""
        spans, start = [], 0
        for group_kind, width in self.layout:
            if group_kind == kind:
                spans.append((start, width))
            start += width
        return spans

    def indices(self, kind):
        """The feature indices of the layout's groups of `kind`."""
        return [i for start, width in self.groups(kind) for i in range(start, start + width)]

    # ------------------------------------------------------------ building
    def build_body(self, x, arch):
        parts = []
        numeric = self.indices("numeric")
        if numeric:
            z = SelectFeatures(numeric, name="numeric_columns")(x)
            z = NumericTransform(arch["numeric"], name="numeric_transform")(z)
            parts.append(z)
            if arch["embedding"] != "none":
                if arch["embedding"] == "ple":
                    e = PiecewiseLinearEncoding(NUM_BINS, name="ple")(z)
                else:
                    e = PeriodicFeatures(NUM_FREQUENCIES, name="periodic")(z)
                e = keras.layers.ReLU()(PerFeatureDense(EMBEDDING_DIM, name="numeric_embedding")(e))
                parts.append(keras.layers.Flatten()(e))
        flags = self.indices("flag")
        if flags:
            parts.append(SelectFeatures(flags, name="flags")(x))
        for i, (start, width) in enumerate(self.groups("categorical")):
            block = SelectFeatures(range(start, start + width), name=f"category{i}")(x)
            if arch["categorical"] == "embed":
                block = keras.layers.Dense(category_embedding_size(width), use_bias=False,
                                           name=f"category{i}_embedding")(block)
            parts.append(block)
        h = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="features")(parts)
        depth = arch["num_layers"]
        if depth == 0:
            return h
        members = arch["ensemble"]
        if members > 1:
            h = EnsembleInputs(members, seed=0, name="ensemble_inputs")(h)
        width, rate = self.scaled_width(arch["width"]), arch["dropout"]
        if arch["body"] == "resnet":
            h = keras.layers.Dense(width)(h)
        for i in range(depth):
            with keras.name_scope(f"layer{i}"):
                if arch["body"] == "mlp":
                    h = keras.layers.Dense(width, activation=arch["activation"])(h)
                    h = keras.layers.Dropout(rate)(h) if rate > 0 else h
                    continue
                z = keras.layers.BatchNormalization()(h)
                z = keras.layers.Dense(2 * width, activation=arch["activation"])(z)
                z = keras.layers.Dropout(rate)(z) if rate > 0 else z
                z = keras.layers.Dense(width)(z)
                z = keras.layers.Dropout(rate)(z) if rate > 0 else z
                h = keras.layers.Add()([h, z])
        if arch["body"] == "resnet":
            h = keras.layers.Activation(arch["activation"])(keras.layers.BatchNormalization()(h))
        if members > 1:
            # One linear head on the members' concatenated outputs: the mean of k member
            # heads' logits (members share the loss of that mean, unlike TabM's mean of
            # member losses).
            h = keras.layers.Flatten()(h)
        return h

    def compile_model(self, model, arch=None):
        """Compiles `model` with AdamW at `arch`'s learning rate and weight decay."""
        arch = self.encoding.default() if arch is None else self.architecture(arch)
        if self.num_classes is None:
            loss, metrics = "mse", ["mae"]
        else:
            loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
        optimizer = keras.optimizers.AdamW(learning_rate=float(arch["learning_rate"]),
                                           weight_decay=float(arch["weight_decay"]))
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                      jit_compile=self.jit_compile)
        return model

    # ------------------------------------------------------------ training
    def fit(self, hp, model, *args, **kwargs):
        """Keras Tuner's training hook: fits the column statistics on `x`, then `model.fit`.

        Arrays are handed to Keras as cached `tf.data` pipelines (`as_datasets`):
        on a few hundred rows Keras's own array adapter costs about 70 ms per
        epoch, three times the training itself (measured: 30 epochs of 275 rows
        in 2.6 s from arrays, 0.9 s from a dataset).
        """
        x = args[0] if args else kwargs.get("x")
        if isinstance(x, np.ndarray):
            adapt_columns(model, self, x)
            args, kwargs = as_datasets(args, kwargs)
        return model.fit(*args, **kwargs)


#: Rows of larger arrays are left to Keras's own adapter (a dataset caches them in memory).
DATASET_MAX_BYTES = 1 << 28


def as_datasets(args, kwargs):
    """`model.fit` arguments with array `x, y` (and validation arrays) as cached `tf.data`
    pipelines: shuffled every epoch (unless `shuffle=False`), batched at `batch_size`.

    Anything else (sample weights, `validation_split`, `steps_per_epoch`, large arrays) is
    returned unchanged.
    """
    import tensorflow as tf

    kwargs = dict(kwargs)
    names = ("x", "y")
    for name, value in zip(names, args[:len(names)], strict=False):
        kwargs[name] = value
    args = tuple(args[len(names):])
    x, y = kwargs.get("x"), kwargs.get("y")
    plain = not args and y is not None and isinstance(y, np.ndarray) and not any(
        key in kwargs for key in ("sample_weight", "validation_split", "steps_per_epoch",
                                  "class_weight"))
    if not plain or x.nbytes + y.nbytes > DATASET_MAX_BYTES:
        return (kwargs.pop("x"), kwargs.pop("y", None), *args), kwargs
    batch = int(kwargs.pop("batch_size", None) or 32)
    data = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if kwargs.pop("shuffle", True):
        data = data.shuffle(len(x), reshuffle_each_iteration=True)
    kwargs["x"] = data.batch(batch)
    del kwargs["y"]
    kwargs["shuffle"] = False  # the dataset shuffles itself; Keras would warn it ignores True
    validation = kwargs.get("validation_data")
    if isinstance(validation, (tuple, list)) and len(validation) == 2 and all(
            isinstance(v, np.ndarray) for v in validation):
        kwargs["validation_data"] = tf.data.Dataset.from_tensor_slices(
            tuple(validation)).batch(max(batch, 256)).cache()
    return (), kwargs


def adapt_columns(model, space, x) -> None:
    """Fits `model`'s `NumericTransform` and `PiecewiseLinearEncoding` on training rows `x`."""
    numeric = space.indices("numeric")
    if not numeric:
        return
    rows = np.asarray(x, np.float32)
    for layer in space.preprocessing:
        rows = keras.ops.convert_to_numpy(layer(rows))
    transform = model.get_layer("numeric_transform")
    columns = rows[:, numeric]
    transform.adapt(columns)
    if any(layer.name == "ple" for layer in model.layers):
        model.get_layer("ple").adapt(keras.ops.convert_to_numpy(transform(columns)))


__all__ = ["TableSpace", "LAYOUT_KINDS", "HAND_DESIGNS", "category_embedding_size",
           "check_layout", "adapt_columns", "as_datasets"]
