"""`prepare_data`: validate, infer the task, split; and the normalisation layers."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from kerasnas.data import ragged as ragged_series
from kerasnas.data.adapters import (
    as_features,
    as_targets,
    check_lengths,
    input_dtype,
    is_dataframe,
    is_tf_dataset,
)
from kerasnas.data.columns import as_frame as _as_frame
from kerasnas.data.columns import needs_columns as _needs_columns
from kerasnas.data.inference import infer_task, shape_for_kind
from kerasnas.data.labels import encode_targets
from kerasnas.data.loaders import dataset_to_arrays, load_dataset, validation_source
from kerasnas.data.splits import split_indices
from kerasnas.data.task import KINDS, PROBLEMS, PreparedData
from kerasnas.infra.validation import validate_choice

DEFAULT_RAGGED = ragged_series.DEFAULT_METHOD


def prepare_data(x, y=None, *, validation_data=None, validation_split=0.2, seed=None,
                 kind=None, problem=None, column_types=None,
                 ragged=DEFAULT_RAGGED) -> PreparedData:
    """Validates `(x, y)`, infers the task and splits off validation data.

    Args:
        x: Examples: a numpy array (or nested list), a pandas DataFrame (or a
            dict of columns, or a numpy structured array, read as one), a
            `tf.data.Dataset` of `(x, y)` pairs (batched or not; `y` must then
            be None), or a name for `load_dataset` such as `"digits"` or
            `"tfds:mnist"` (`y` must then be None); or a list of series of
            different lengths, each `(L_i, C)` or `(L_i,)` (see `ragged`).
        y: Targets: a numpy array, list or pandas Series/DataFrame; or, when
            `x` is a DataFrame, the name of its target column. Default None.
        validation_data: `(x_val, y_val)` or a `tf.data.Dataset`, checked
            like `x` and `y`; or None (default) to split `validation_split` of
            the examples off.
        validation_split: Share held out when `validation_data` is None
            (default 0.2), strictly between 0 and 1. Classification splits are
            stratified: every class keeps at least one example in training and,
            when it has two or more, at least one in validation.
        seed: Seed of the split (default None: a different split each call).
        kind: Overrides the input kind (default None: inferred, see the module
            docstring): `"image"`, `"sequence"` or `"tabular"`.
        problem: Overrides the problem (default None: inferred):
            `"classification"` or `"regression"`.
        column_types: For a DataFrame, `{column: type}` overriding the
            inferred column types (`"numeric"`, `"categorical"`, `"boolean"`,
            `"drop"`; default None). A DataFrame with text, categories or
            missing values, or any `column_types`, is typed column by column
            and encoded by Keras layers inside the model
            (`kerasnas.data.tabular`); `task.columns` holds the schema.
        ragged: For `x` a list of unequal-length series, how they reach one
            length `L_max` (the longest in `x`): `"pad"` (default: padded at
            the end with the channel's training mean) or `"resample"` (linear
            interpolation). See `kerasnas.data.ragged`; `task.max_length` and
            `task.ragged_method` record it.

    Returns:
        A `PreparedData`.

    Raises:
        ValueError: empty data, mismatched lengths, NaN or inf values, a
            single class, wrong rank, unseen validation labels, bad split.
        TypeError: non-numeric features, unsupported input types.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(40, 5))
    >>> data = prepare_data(x, np.array(["no", "yes"] * 20), seed=1)
    >>> data.task.describe()
    'tabular classification, input (5,), 2 classes'
    >>> data.x_train.shape, data.x_val.shape
    ((32, 5), (8, 5))
    """
    if kind is not None:
        kind = validate_choice("kind", kind, KINDS)
    if problem is not None:
        problem = validate_choice("problem", problem, PROBLEMS)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None; got {seed!r}.")
    if validation_data is None:
        if (isinstance(validation_split, bool) or not isinstance(validation_split, (int, float))
                or not 0 < validation_split < 1):
            raise ValueError(f"validation_split must be a number strictly between 0 and 1; "
                             f"got {validation_split!r}. Pass e.g. validation_split=0.2, or "
                             "give validation_data=(x_val, y_val).")

    ragged = validate_choice("ragged", ragged, ragged_series.METHODS)
    x, y = _resolve_source(_as_frame(x), y)
    if ragged_series.is_ragged(x) or _ragged_validation(validation_data):
        if column_types is not None:
            raise TypeError("column_types applies to a pandas DataFrame x; x is a list of "
                            "series.")
        return ragged_series.prepare_ragged(x, y, validation_data=validation_data,
                                            validation_split=validation_split, seed=seed,
                                            kind=kind, problem=problem, method=ragged)
    if isinstance(x, np.ndarray) and ragged_series.series_list(x) is not None:
        x = np.stack(list(x))  # an object array of equal-shaped series: numpy's own array
    if is_dataframe(x) and (column_types is not None or _needs_columns(x)):
        if kind not in (None, "tabular"):
            raise ValueError(f"kind={kind!r} does not fit a DataFrame with typed columns; "
                             "leave kind out (a table).")
        from kerasnas.data.tabular import prepare_table

        return prepare_table(x, y, validation_data=validation_data,
                             validation_split=validation_split, seed=seed, problem=problem,
                             column_types=column_types)
    if column_types is not None:
        raise TypeError("column_types applies to a pandas DataFrame x; x is "
                        f"{type(x).__name__}.")
    raw_dtype = input_dtype(x)
    x_arr, feature_names = as_features(x, "x")
    raw_shape = tuple(int(d) for d in x_arr.shape[1:])
    if kind is None and feature_names is not None:
        kind = "tabular"  # a DataFrame's columns are named features, never a signal
    x_arr, kind, note = shape_for_kind(x_arr, kind, "x")
    y_arr = as_targets(y, "y")
    check_lengths(x_arr, y_arr, "x", "y")
    task, y_enc = infer_task(x_arr, y_arr, kind, problem, feature_names)
    task = dataclasses.replace(task, raw_shape=raw_shape, raw_dtype=raw_dtype)

    if validation_data is None:
        train_idx, val_idx = split_indices(y_enc, task, validation_split, seed, x=x_arr)
        return PreparedData(x_arr[train_idx], y_enc[train_idx], x_arr[val_idx],
                            y_enc[val_idx], task, note)

    x_val, y_val = validation_source(validation_data)
    if feature_names is not None and is_dataframe(x_val):
        missing = [c for c in feature_names if c not in x_val.columns]
        if missing:
            raise ValueError(f"validation_data's x lacks the column(s) {missing} that x has.")
        x_val = x_val[list(feature_names)]
    xv, _ = as_features(x_val, "validation x")
    xv, _, _ = shape_for_kind(xv, task.kind, "validation x")
    if xv.shape[1:] != tuple(task.input_shape):
        raise ValueError(f"validation x has per-example shape {xv.shape[1:]}, but x has "
                         f"{tuple(task.input_shape)}; pass validation examples shaped like x.")
    yv = as_targets(y_val, "validation y")
    check_lengths(xv, yv, "validation x", "validation y")
    yv_enc = encode_targets(yv, task, "validation y")
    return PreparedData(x_arr, y_enc, xv, yv_enc, task, note)


def _ragged_validation(validation_data) -> bool:
    """Whether `validation_data` is `(x_val, y_val)` with `x_val` unequal-length series."""
    return (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2
            and ragged_series.is_ragged(validation_data[0]))


def _resolve_source(x, y):
    """Turns a data set name or a tf.data.Dataset into `(x, y)`."""
    if isinstance(x, (str, os.PathLike)):
        if y is not None:
            raise ValueError(f"y must be None when x names a data set ({str(x)!r}): the targets "
                             "come from the data set.")
        return load_dataset(x)
    if is_tf_dataset(x):
        if y is not None:
            raise ValueError("y must be None when x is a tf.data.Dataset: the dataset must "
                             "yield (x, y) pairs.")
        return dataset_to_arrays(x, "x")
    if y is None:
        raise ValueError("y is required: pass the targets as y (or a tf.data.Dataset of "
                         "(x, y) pairs, or a data set name, as x).")
    if isinstance(y, str):
        if not is_dataframe(x):
            raise TypeError(f"y is the string {y!r}; a column name is only accepted when x is "
                            "a pandas DataFrame. Pass the targets as an array.")
        if y not in x.columns:
            raise ValueError(f"x has no column {y!r} to use as the target; its columns are "
                             f"{list(x.columns)}.")
        return x.drop(columns=[y]), x[y]
    return x, y


def normalization_layers(prepared):
    """Keras layers that standardise raw inputs, adapted on `prepared.x_train`.

    The statistics are per channel for images and sequences (the last axis)
    and per feature for tabular data, so the model takes raw inputs. Each call
    returns new layers.

    Args:
        prepared: A `PreparedData`.

    Returns:
        `[keras.layers.Normalization]`, already adapted.

    Example:

    >>> data = prepare_data(*load_dataset("digits"), seed=0)
    >>> [layer] = normalization_layers(data)
    >>> tuple(layer.mean.shape)
    (1, 1, 1, 1)
    """
    import keras

    layer = keras.layers.Normalization(axis=-1, name="normalize")
    layer.adapt(prepared.x_train)
    return [layer]


def target_scale(prepared):
    """`(mean, variance)` per regression target of `prepared.y_train`, or None.

    Passed to a space's `target_scale` so its head predicts standardised
    targets (see `NASHyperModel`). None for classification.

    Example:

    >>> data = prepare_data(*load_dataset("diabetes"), seed=0)
    >>> mean, variance = target_scale(data)
    >>> round(mean[0]), variance[0] > 1000
    (152, True)
    """
    if prepared.task.problem != "regression":
        return None
    y = np.asarray(prepared.y_train, "float64").reshape(len(prepared.y_train), -1)
    return [float(v) for v in y.mean(axis=0)], [float(v) for v in y.var(axis=0)]
