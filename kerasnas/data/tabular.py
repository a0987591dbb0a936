"""Tables with text, categories and missing values, preprocessed by Keras layers inside the model.

`prepare_table` is `prepare_data`'s path for DataFrames that need column typing
(`kerasnas.data.columns.needs_columns`, or any `column_types=`). It types the
columns, builds a *column encoder* (a Keras model taking one named input per
column) whose statistics come from the training split only, and encodes the
training and validation rows once, so every trial trains on the same float32
matrix (no string lookups repeated per trial). After the search,
`with_encoder` puts the encoder in front of the trained network: the result's
model, its `.keras` file and its SavedModel take raw columns.

Per column type (see `kerasnas.data.columns`):

* numeric: `ImputeNumeric` (NaN -> training median, plus a 0/1 missing flag
  when the training column had missing values); scaling is left to the search
  space's `Normalization` layer, adapted on the encoded training rows.
* boolean: 0/1.
* categorical text: `StringLookup` one-hot over the (at most `MAX_CATEGORIES`)
  most frequent training categories plus one out-of-vocabulary slot; missing
  is the token `""`, a category of its own when training had it.
* categorical integer codes: `ToCodes` (NaN -> `MISSING_CODE`) then
  `IntegerLookup` one-hot, likewise.

Custom layers are registered under the `kerasnas` package: a fresh process
loading the `.keras` file imports `kerasnas.data.tabular` first
(`SearchResult.load` does it).

Example:

>>> import pandas as pd
>>> from kerasnas.data import prepare_data
>>> frame = pd.DataFrame({"city": ["Oslo", "Rome", None, "Oslo"] * 10,
...                       "income": [1.0, None, 3.0, 2.0] * 10})
>>> data = prepare_data(frame, [0, 1, 1, 0] * 10, seed=0)
>>> data.task.input_shape          # city: Oslo, Rome, "", other; income, income missing
(6,)
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from kerasnas.data.columns import (
    MAX_CATEGORIES,
    MISSING_CODE,
    column_inputs,
    infer_columns,
    schema_table,
)

#: The out-of-vocabulary code of `IntegerLookup` (distinct from `MISSING_CODE`, so a
#: missing code seen in training keeps a slot of its own).
OOV_CODE = int(np.iinfo(np.int64).min)
#: Rows encoded per call when the encoder turns the training data into a matrix.
ENCODE_BATCH = 8192
_TF_DTYPES = {"float32": "float32", "int64": "int64", "string": "string", "bool": "bool"}


@keras.saving.register_keras_serializable(package="kerasnas")
class ImputeNumeric(keras.layers.Layer):
    """Numbers (or bools) as float32 with NaN replaced by `fill_value`.

    Args:
        fill_value: What a missing value becomes (the training median).
        indicator: Also output a 0/1 "was missing" column (default False).

    Example:

    >>> ImputeNumeric(2.0, indicator=True)(np.array([[1.0], [np.nan]])).numpy().tolist()
    [[1.0, 0.0], [2.0, 1.0]]
    """

    def __init__(self, fill_value=0.0, indicator=False, **kwargs):
        super().__init__(**kwargs)
        self.fill_value = float(fill_value)
        self.indicator = bool(indicator)

    def call(self, x):
        x = ops.cast(x, "float32")
        missing = ops.isnan(x)
        filled = ops.where(missing, ops.full_like(x, self.fill_value), x)
        if not self.indicator:
            return filled
        return ops.concatenate([filled, ops.cast(missing, "float32")], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] * (2 if self.indicator else 1),)

    def get_config(self):
        return {**super().get_config(), "fill_value": self.fill_value,
                "indicator": self.indicator}


@keras.saving.register_keras_serializable(package="kerasnas")
class ToCodes(keras.layers.Layer):
    """Category codes (ints, whole floats or bools) as int64; NaN becomes `MISSING_CODE`.

    Example:

    >>> ToCodes()(np.array([[3.0], [np.nan]])).numpy()[:, 0].tolist() == [3, MISSING_CODE]
    True
    """

    def call(self, x):
        if "float" in str(x.dtype):
            missing = ops.isnan(x)
            codes = ops.cast(ops.where(missing, ops.zeros_like(x), ops.round(x)), "int64")
            return ops.where(missing, ops.full_like(codes, MISSING_CODE), codes)
        return ops.cast(x, "int64")

    def compute_output_spec(self, x):
        return keras.KerasTensor(x.shape, dtype="int64")


def prepare_table(frame, y, *, validation_data=None, validation_split=0.2, seed=None,
                  problem=None, column_types=None):
    """`prepare_data` for a DataFrame with columns to type: see the module docstring.

    Args:
        frame: A pandas DataFrame of features (the target already removed).
        y: Targets, checked like `prepare_data`'s.
        validation_data: `(x_val, y_val)` with `x_val` a DataFrame with the same
            columns, or None (default) to split `validation_split` off.
        validation_split: Share held out (default 0.2).
        seed: Seed of the split (default None).
        problem: `"classification"` / `"regression"` or None (inferred).
        column_types: `{column: type}` overrides (default None: inferred).

    Returns:
        A `PreparedData` whose `x_train` / `x_val` are the encoded float32
        rows, whose `task.columns` is the schema and whose `encoder` is the
        column encoder (adapted on the training rows only).
    """
    from kerasnas.data.adapters import as_targets, check_lengths
    from kerasnas.data.inference import infer_task
    from kerasnas.data.labels import encode_targets
    from kerasnas.data.splits import split_indices
    from kerasnas.data.task import PreparedData

    columns = infer_columns(frame, column_types)
    inputs = column_inputs(frame, columns)
    y_arr = as_targets(y, "y")
    check_lengths(np.empty(len(frame)), y_arr, "x", "y")
    used = tuple(c.name for c in columns if c.type != "drop")
    task, y_enc = infer_task(np.empty((len(frame), 1)), y_arr, "tabular", problem, used)
    if validation_data is None:
        train_idx, val_idx = split_indices(y_enc, task, validation_split, seed)
        val_inputs = {k: v[val_idx] for k, v in inputs.items()}
        y_val = y_enc[val_idx]
        inputs, y_train = {k: v[train_idx] for k, v in inputs.items()}, y_enc[train_idx]
    else:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a tuple (x_val, y_val) with x_val a "
                            "DataFrame of the same columns as x.")
        val_inputs = column_inputs(validation_data[0], columns)
        yv = as_targets(validation_data[1], "validation y")
        check_lengths(np.empty(len(validation_data[0])), yv, "validation x", "validation y")
        y_val, y_train = encode_targets(yv, task, "validation y"), y_enc
    encoder, names = build_encoder(columns, inputs)
    x_train, x_val = encode(encoder, inputs), encode(encoder, val_inputs)
    task = dataclasses.replace(task, input_shape=(int(x_train.shape[1]),), columns=columns,
                               feature_layout=feature_layout(columns, names))
    dropped = [c.name for c in columns if c.type == "drop"]
    note = (f"table: {len(used)} column(s) encoded as {x_train.shape[1]} features"
            + (f"; dropped {dropped}" if dropped else "")
            + "; override with column_types={name: 'numeric' | 'categorical' | 'boolean' | "
              "'drop'}\n" + schema_table(columns))
    return PreparedData(x_train, y_train, x_val, y_val, task, note, encoder=encoder)


def build_encoder(columns, train_inputs):
    """The column encoder: `(keras.Model, encoded feature names)`.

    Args:
        columns: The schema (`Column`s).
        train_inputs: `{input_name: (N,) array}` of the training rows
            (`column_inputs`); medians and vocabularies come from them only.
    """
    inputs, parts, names = {}, [], []
    for c in columns:
        if c.type == "drop":
            continue
        key = c.input_name
        layer_name = key.replace("/", "_")
        inputs[key] = keras.Input(shape=(1,), dtype=_TF_DTYPES[c.dtype], name=key)
        values = train_inputs[key]
        if c.type in ("numeric", "boolean"):
            numbers = values.astype(np.float64)
            fill = float(np.nanmedian(numbers)) if np.isfinite(numbers).any() else 0.0
            indicator = c.type == "numeric" and bool(np.isnan(numbers).any())
            parts.append(ImputeNumeric(fill, indicator, name=f"{layer_name}_impute")(inputs[key]))
            names += [c.name] + ([f"{c.name} missing"] if indicator else [])
            continue
        vocabulary = _vocabulary(values)
        if c.dtype == "string":
            lookup = keras.layers.StringLookup(vocabulary=vocabulary, output_mode="one_hot",
                                               name=f"{layer_name}_lookup")
            parts.append(lookup(inputs[key]))
        else:
            codes = ToCodes(name=f"{layer_name}_codes")(inputs[key])
            lookup = keras.layers.IntegerLookup(vocabulary=np.asarray(vocabulary, np.int64),
                                                oov_token=OOV_CODE, output_mode="one_hot",
                                                name=f"{layer_name}_lookup")
            parts.append(lookup(codes))
        names += [f"{c.name}=<other>"] + [f"{c.name}={_show(v)}" for v in vocabulary]
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="columns")(parts)
    return keras.Model(inputs, x, name="column_encoder"), tuple(names)


def feature_layout(columns, names) -> tuple:
    """The encoded features as `(kind, width)` groups (`TaskSpec.feature_layout`).

    A numeric column is `("numeric", 1)`, its missing flag and a boolean column
    `("flag", 1)`, a categorical column `("categorical", 1 + categories)`;
    neighbouring numeric (or flag) groups merge.
    """
    groups, position = [], 0
    for c in columns:
        if c.type == "drop":
            continue
        if c.type == "numeric":
            parts = [("numeric", 1)]
            if position + 1 < len(names) and names[position + 1] == f"{c.name} missing":
                parts.append(("flag", 1))
        elif c.type == "boolean":
            parts = [("flag", 1)]
        else:
            width = 0  # "<name>=<other>" and one "<name>=<value>" per training category
            while position + width < len(names) and names[position + width].startswith(
                    f"{c.name}="):
                width += 1
            parts = [("categorical", width)]
        for kind, width in parts:
            if groups and kind != "categorical" and groups[-1][0] == kind:
                groups[-1] = (kind, groups[-1][1] + width)
            else:
                groups.append((kind, width))
            position += width
    if position != len(names):
        raise AssertionError(f"feature layout covers {position} of {len(names)} features")
    return tuple(groups)


def encode(encoder, inputs) -> np.ndarray:
    """Runs the column encoder over `{input_name: (N,) array}`; a float32 `(N, features)` array."""
    import tensorflow as tf

    n = len(next(iter(inputs.values())))
    chunks = []
    for start in range(0, n, ENCODE_BATCH):
        batch = {k: tf.constant(v[start:start + ENCODE_BATCH, None]) for k, v in inputs.items()}
        chunks.append(np.asarray(encoder(batch), dtype=np.float32))
    return np.concatenate(chunks) if chunks else np.zeros((0,) + encoder.output.shape[1:],
                                                          np.float32)


def with_encoder(encoder, model):
    """`encoder` followed by the trained `model`: one model taking raw named columns."""
    inputs = {t.name: keras.Input(shape=(1,), dtype=t.dtype, name=t.name)
              for t in encoder.inputs}
    return keras.Model(inputs, model(encoder(inputs)), name=f"{model.name}_table")


def takes_columns(model) -> bool:
    """Whether `model` takes named columns (a dict input built by `with_encoder`)."""
    return isinstance(getattr(model, "_inputs_struct", None), dict)


def numeric_part(model):
    """The network behind the column encoder: float32 encoded rows in (what TFLite can convert)."""
    return model.layers[-1]


def column_signature(model):
    """`(input_signature, to_model)` for a SavedModel endpoint taking one `(N,)` tensor per column.

    TF Serving's row format then reads naturally: each instance is
    `{"age": 41, "city": "Oslo", ...}`.
    """
    import tensorflow as tf

    names = list(model._inputs_struct)
    specs = [tf.TensorSpec((None,), model._inputs_struct[n].dtype, name=n) for n in names]

    def to_model(*tensors):
        return {n: tf.expand_dims(t, -1) for n, t in zip(names, tensors, strict=True)}

    return specs, to_model


def _vocabulary(values) -> list:
    """The training categories, most frequent first (ties by value), at most `MAX_CATEGORIES`."""
    if values.dtype == object:
        values = values.astype(str)
    elif values.dtype != np.int64:
        values = np.where(np.isnan(values), MISSING_CODE, np.round(values)).astype(np.int64) \
            if values.dtype.kind == "f" else values.astype(np.int64)
    unique, counts = np.unique(values, return_counts=True)
    order = sorted(range(len(unique)), key=lambda i: (-counts[i], i))[:MAX_CATEGORIES]
    return [unique[i].item() for i in order]


def _show(value) -> str:
    if value == "":
        return "<missing>"
    return "<missing>" if value == MISSING_CODE else str(value)


__all__ = ["ImputeNumeric", "ToCodes", "prepare_table", "build_encoder", "encode",
           "with_encoder", "feature_layout", "takes_columns", "numeric_part", "column_signature"]
