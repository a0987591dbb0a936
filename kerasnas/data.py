"""Input adapters: validation with clear errors, task inference, splits, loading.

`prepare_data` turns what a user has (numpy arrays, pandas objects, a
`tf.data.Dataset`, or a data set name) into float32 arrays plus a `TaskSpec`
that says what kind of model to build. Every check runs before any training.

How the task is inferred (each rule can be overridden with `kind=` or
`problem=`):

| x                          | kind (default)                               |
|----------------------------|----------------------------------------------|
| `(N, D)` numpy             | tabular; `kind="sequence"` reads `(N, L)`    |
| `(N, H, W)`                | image, a channel axis is added: `(H, W, 1)`  |
|                            | `kind="sequence"` reads `(N, L, C)` instead  |
| `(N, H, W, C)`             | image                                        |
| pandas DataFrame           | always tabular                               |

| y                                   | problem (default)                     |
|-------------------------------------|---------------------------------------|
| int, str or bool labels `(N,)`      | classification                        |
| one-hot rows `(N, K)` of 0/1        | classification with K classes         |
| float `(N,)`                        | regression, `output_dim=1`            |
| float `(N, K)` that is not one-hot  | regression, `output_dim=K`            |

Float labels are regression targets even when they are all whole numbers
(0.0/1.0): pass `problem="classification"` to treat them as classes.

Normalisation is not applied to the arrays: `normalization_layers` returns
Keras layers adapted on the training split, which go inside the model so it
takes raw inputs. Likewise the model predicts class indices and
`decode_labels` maps them back to the user's own label values.

Example:

>>> from kerasnas.data import load_dataset, prepare_data
>>> x, y = load_dataset("digits")
>>> data = prepare_data(x, y, seed=0)
>>> data.task.kind, data.task.problem, data.task.input_shape, data.task.num_classes
('image', 'classification', (8, 8, 1), 10)
"""

from __future__ import annotations

import dataclasses
import os
import socket
import warnings
from pathlib import Path

import numpy as np

from kerasnas.validation import validate_budget, validate_choice

__all__ = [
    "KINDS", "PROBLEMS", "TaskSpec", "PreparedData", "prepare_data", "load_dataset",
    "normalization_layers", "encode_labels", "decode_labels", "validate_budget",
    "validate_choice",
]

#: Input kinds a `TaskSpec` can have.
KINDS = ("image", "sequence", "tabular")
#: Problems a `TaskSpec` can have.
PROBLEMS = ("classification", "regression")
#: Host probed before a tensorflow-datasets download, to fail fast offline.
TFDS_DOWNLOAD_HOST = "storage.googleapis.com"


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """What the data asks for: input kind, problem, shapes and label values.

    Attributes:
        kind: `"image"`, `"sequence"` or `"tabular"`.
        problem: `"classification"` or `"regression"`.
        input_shape: Per-example shape the model's `Input` takes, e.g.
            `(8, 8, 1)`, `(100, 1)` or `(13,)`.
        num_classes: Number of classes (>= 2), classification only.
        classes: The user's label values; encoded label `i` is `classes[i]`
            (classification only).
        output_dim: Number of regression targets (1 for a 1-D target),
            regression only.
        feature_names: Column names of tabular data from pandas or CSV.
        raw_shape: Per-example shape of the `x` the user gave, before channel
            axes were added (`(8, 8)` for digits whose `input_shape` is
            `(8, 8, 1)`); exported models take this shape. None: `input_shape`.
        raw_dtype: numpy dtype name of the user's `x` (`"uint8"`,
            `"float64"`, ...); exported models take it. None: float32.

    Example:

    >>> task = TaskSpec("tabular", "classification", (4,), 3, ("a", "b", "c"), None, None)
    >>> task.loss, task.output_units, task.objective
    ('sparse_categorical_crossentropy', 3, 'val_accuracy')
    """

    kind: str
    problem: str
    input_shape: tuple
    num_classes: int | None = None
    classes: tuple | None = None
    output_dim: int | None = None
    feature_names: tuple | None = None
    raw_shape: tuple | None = None
    raw_dtype: str | None = None

    @property
    def output_units(self) -> int:
        """Units of the model's last Dense layer."""
        return int(self.num_classes if self.problem == "classification" else self.output_dim)

    @property
    def output_activation(self) -> str:
        """`"softmax"` for classification, `"linear"` for regression."""
        return "softmax" if self.problem == "classification" else "linear"

    @property
    def loss(self) -> str:
        """Keras loss name: sparse categorical cross-entropy or mean squared error."""
        if self.problem == "classification":
            return "sparse_categorical_crossentropy"
        return "mean_squared_error"

    @property
    def metrics(self) -> tuple:
        """Keras metric names: `("accuracy",)` or `("mae",)`."""
        return ("accuracy",) if self.problem == "classification" else ("mae",)

    @property
    def objective(self) -> str:
        """Default search objective: `"val_accuracy"` or `"val_loss"`."""
        return "val_accuracy" if self.problem == "classification" else "val_loss"

    @property
    def objective_direction(self) -> str:
        """`"max"` for `"val_accuracy"`, `"min"` for `"val_loss"`."""
        return "max" if self.problem == "classification" else "min"

    def describe(self) -> str:
        """One line for logs, e.g. `image classification, input (8, 8, 1), 10 classes`."""
        if self.problem == "classification":
            what = f"{self.num_classes} classes"
        else:
            what = f"{self.output_dim} target(s)"
        return f"{self.kind} {self.problem}, input {tuple(self.input_shape)}, {what}"


@dataclasses.dataclass
class PreparedData:
    """Validated, split arrays and the inferred task.

    Attributes:
        x_train: float32, shape `(N,) + task.input_shape`, raw values (the
            model normalises them).
        y_train: int32 class indices (classification) or float32 targets.
        x_val: Like `x_train`, the validation examples.
        y_val: Like `y_train`, the validation targets.
        task: The `TaskSpec`.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: TaskSpec

    def __repr__(self):
        return (f"PreparedData({self.task.describe()}; train {self.x_train.shape}, "
                f"val {self.x_val.shape})")


# ----------------------------------------------------------------------- prepare
def prepare_data(x, y=None, *, validation_data=None, validation_split=0.2, seed=None,
                 kind=None, problem=None) -> PreparedData:
    """Validates `(x, y)`, infers the task and splits off validation data.

    Args:
        x: Examples: a numpy array (or nested list), a pandas DataFrame, a
            `tf.data.Dataset` of `(x, y)` pairs (batched or not; `y` must then
            be None), or a name for `load_dataset` such as `"digits"` or
            `"tfds:mnist"` (`y` must then be None).
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

    x, y = _resolve_source(x, y)
    raw_dtype = _raw_dtype(x)
    x_arr, feature_names = _features(x, "x")
    raw_shape = tuple(int(d) for d in x_arr.shape[1:])
    x_arr, kind = _shape_for_kind(x_arr, kind, "x")
    y_arr = _targets(y, "y")
    _check_lengths(x_arr, y_arr, "x", "y")
    task, y_enc = _infer_task(x_arr, y_arr, kind, problem, feature_names)
    task = dataclasses.replace(task, raw_shape=raw_shape, raw_dtype=raw_dtype)

    if validation_data is None:
        train_idx, val_idx = _split(y_enc, task, validation_split, seed)
        return PreparedData(x_arr[train_idx], y_enc[train_idx], x_arr[val_idx],
                            y_enc[val_idx], task)

    x_val, y_val = _validation_source(validation_data)
    if feature_names is not None and _is_dataframe(x_val):
        missing = [c for c in feature_names if c not in x_val.columns]
        if missing:
            raise ValueError(f"validation_data's x lacks the column(s) {missing} that x has.")
        x_val = x_val[list(feature_names)]
    xv, _ = _features(x_val, "validation x")
    xv, _ = _shape_for_kind(xv, task.kind, "validation x")
    if xv.shape[1:] != tuple(task.input_shape):
        raise ValueError(f"validation x has per-example shape {xv.shape[1:]}, but x has "
                         f"{tuple(task.input_shape)}; pass validation examples shaped like x.")
    yv = _targets(y_val, "validation y")
    _check_lengths(xv, yv, "validation x", "validation y")
    yv_enc = _encode_targets(yv, task, "validation y")
    return PreparedData(x_arr, y_enc, xv, yv_enc, task)


def _raw_dtype(x) -> str:
    """The numpy dtype name exported models accept: the user's own when numeric, else float32."""
    if _is_dataframe(x):
        dtype = np.result_type(*x.dtypes) if all(
            isinstance(d, np.dtype) for d in x.dtypes) else np.dtype(object)
    else:
        dtype = getattr(x, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return "float32" if dtype.kind == "f" and dtype.itemsize < 4 else dtype.name
    return "float32"


def _resolve_source(x, y):
    """Turns a data set name or a tf.data.Dataset into `(x, y)`."""
    if isinstance(x, (str, os.PathLike)):
        if y is not None:
            raise ValueError(f"y must be None when x names a data set ({str(x)!r}): the targets "
                             "come from the data set.")
        return load_dataset(x)
    if _is_tf_dataset(x):
        if y is not None:
            raise ValueError("y must be None when x is a tf.data.Dataset: the dataset must "
                             "yield (x, y) pairs.")
        return _dataset_to_arrays(x, "x")
    if y is None:
        raise ValueError("y is required: pass the targets as y (or a tf.data.Dataset of "
                         "(x, y) pairs, or a data set name, as x).")
    if isinstance(y, str):
        if not _is_dataframe(x):
            raise TypeError(f"y is the string {y!r}; a column name is only accepted when x is "
                            "a pandas DataFrame. Pass the targets as an array.")
        if y not in x.columns:
            raise ValueError(f"x has no column {y!r} to use as the target; its columns are "
                             f"{list(x.columns)}.")
        return x.drop(columns=[y]), x[y]
    return x, y


def _validation_source(validation_data):
    if _is_tf_dataset(validation_data):
        return _dataset_to_arrays(validation_data, "validation_data")
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError("validation_data must be a tuple (x_val, y_val) or a tf.data.Dataset of "
                        f"(x, y) pairs; got {type(validation_data).__name__}.")
    return validation_data


def _features(x, name):
    """`x` as a float32 array, plus column names for a DataFrame."""
    feature_names = None
    if _is_dataframe(x):
        bad = [str(c) for c, dt in x.dtypes.items() if not _numeric_dtype(dt)]
        if bad:
            raise TypeError(f"{name} has non-numeric column(s) {bad}; encode them as numbers "
                            "first, e.g. pandas.get_dummies(df, columns=[...]) for categories.")
        feature_names = tuple(str(c) for c in x.columns)
        x = x.to_numpy(dtype=np.float32, na_value=np.nan)
    elif _is_series(x):
        raise ValueError(f"{name} is a pandas Series (one value per example); for a single "
                         "feature pass series.to_frame().")
    array = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if array.dtype.kind not in "biuf":
        if array.dtype.kind == "O":
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"{name} has non-numeric values (dtype object); features must "
                                "be numbers. Encode categories as numbers first, e.g. with "
                                "pandas.get_dummies.") from None
        else:
            raise TypeError(f"{name} has non-numeric values (dtype {array.dtype}); features "
                            "must be numbers. Encode categories as numbers first, e.g. with "
                            "pandas.get_dummies.")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{name} is empty; pass at least two examples.")
    if array.size == 0:
        raise ValueError(f"{name} has shape {array.shape}: examples without any values.")
    with np.errstate(over="ignore"):
        array = array.astype(np.float32, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), array.shape)
        raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite value(s), the first at "
                         f"index {tuple(int(i) for i in first)} (values beyond float32's range "
                         "count as infinite); drop or impute them before searching.")
    return array, feature_names


def _shape_for_kind(x, kind, name):
    """Adds channel axes and checks the rank: returns `(array, kind)`."""
    ndim = x.ndim
    shape = x.shape
    if ndim == 1:
        raise ValueError(f"{name} has shape {shape}: one value per example. Pass a 2-D array, "
                         "e.g. x.reshape(-1, 1) for a single tabular feature.")
    if ndim > 4:
        raise ValueError(f"{name} has rank {ndim} (shape {shape}); kerasnas takes images "
                         "(N, H, W[, C]), sequences (N, L[, C]) or tabular data (N, D).")
    if kind is None:
        kind = "tabular" if ndim == 2 else "image"
    if kind == "tabular" and ndim != 2:
        raise ValueError(f"kind='tabular' needs x of shape (N, D); {name} has shape {shape}. "
                         "Flatten it with x.reshape(len(x), -1), or use kind='image'/'sequence'.")
    if kind == "sequence":
        if ndim == 4:
            raise ValueError(f"kind='sequence' needs x of shape (N, L) or (N, L, C); {name} has "
                             f"shape {shape}.")
        return (x[..., None] if ndim == 2 else x), kind
    if kind == "image":
        if ndim == 2:
            raise ValueError(f"kind='image' needs x of shape (N, H, W) or (N, H, W, C); {name} "
                             f"has shape {shape}. Reshape flat images, e.g. "
                             "x.reshape(-1, 28, 28).")
        return (x[..., None] if ndim == 3 else x), kind
    return x, kind


def _targets(y, name):
    """`y` as a numpy array of numbers, bools or strings (labels not encoded yet)."""
    if _is_dataframe(y):
        y = y.iloc[:, 0] if y.shape[1] == 1 else y.to_numpy()
    if _is_series(y):
        import pandas as pd

        missing = pd.isna(y).to_numpy()
        if missing.any():
            raise ValueError(f"{name} has {int(missing.sum())} missing value(s), the first at "
                             f"position {int(np.argmax(missing))}; drop those examples.")
        y = y.to_numpy()
    array = np.asarray(y)
    if array.ndim == 0:
        raise ValueError(f"{name} is a single value; pass one target per example.")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim > 2:
        raise ValueError(f"{name} has rank {array.ndim} (shape {array.shape}); pass labels "
                         "(N,), one-hot rows (N, K) or regression targets (N,) / (N, K).")
    if len(array) == 0:
        raise ValueError(f"{name} is empty; pass at least two examples.")
    if array.dtype.kind == "S":
        array = array.astype(str)  # tf.data hands strings back as bytes
    elif array.dtype.kind == "O":
        array = _object_labels(array, name)
    elif array.dtype.kind not in "biufU":
        raise TypeError(f"{name} has unsupported dtype {array.dtype}; pass numbers, strings or "
                        "bools.")
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            raise ValueError(f"{name} has {int(bad.sum())} NaN or infinite value(s), the first "
                             f"at position {int(np.argmax(bad.reshape(len(array), -1).any(1)))}; "
                             "drop those examples.")
    return array


def _object_labels(array, name):
    """Object arrays (from lists or pandas) as a plain str, bool, int or float array."""
    values = array.ravel().tolist()
    missing = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and v != v)]
    if missing:
        raise ValueError(f"{name} has {len(missing)} missing value(s), the first at position "
                         f"{missing[0]}; drop those examples.")
    values = [v.decode() if isinstance(v, bytes) else v for v in values]
    types = {type(v) for v in values}
    if all(issubclass(t, str) for t in types):
        return np.asarray(values, dtype=str).reshape(array.shape)
    if all(issubclass(t, (bool, np.bool_)) for t in types):
        return np.asarray(values, dtype=bool).reshape(array.shape)
    try:
        return np.asarray(values, dtype=np.float64 if any(
            issubclass(t, (float, np.floating)) for t in types) else np.int64).reshape(array.shape)
    except (TypeError, ValueError):
        raise TypeError(f"{name} mixes label types {sorted(t.__name__ for t in types)}; use one "
                        "type for all labels (e.g. all strings).") from None


def _check_lengths(x, y, x_name, y_name):
    if len(x) != len(y):
        raise ValueError(f"{x_name} has {len(x)} examples but {y_name} has {len(y)}; they must "
                         "have one target per example.")
    if len(x) < 2:
        raise ValueError(f"{x_name} has only {len(x)} example; pass at least two.")


def _infer_task(x, y, kind, problem, feature_names):
    """Returns `(TaskSpec, encoded y)`."""
    input_shape = tuple(int(d) for d in x.shape[1:])
    one_hot = y.ndim == 2 and _is_one_hot(y)
    if problem is None:
        if y.dtype.kind in "biuUS" or one_hot:
            problem = "classification"
        else:
            problem = "regression"
            if y.ndim == 1 and np.all(y == np.round(y)) and len(np.unique(y)) <= 10:
                warnings.warn(f"y holds float values that are all whole numbers "
                              f"({len(np.unique(y))} distinct); kerasnas treats float targets "
                              "as regression. Pass problem='classification', or integer "
                              "labels, to classify.", UserWarning, stacklevel=3)

    if problem == "regression":
        if y.dtype.kind not in "biuf":
            raise TypeError(f"Regression targets must be numbers; y has dtype {y.dtype}. Pass "
                            "problem='classification' (or leave it out) for labels.")
        y_float = y.astype(np.float32)
        task = TaskSpec(kind, problem, input_shape, output_dim=1 if y.ndim == 1 else int(
            y.shape[1]), feature_names=feature_names)
        return task, y_float

    if y.ndim == 2:
        if not one_hot:
            raise ValueError(f"y has shape {y.shape} but its rows are not one-hot (exactly one 1, "
                             "the rest 0); multi-label classification is not supported. Pass "
                             "labels of shape (N,), one-hot rows, or problem='regression' for "
                             "several regression targets.")
        classes = tuple(range(int(y.shape[1])))
        y_enc = np.argmax(y, axis=1).astype(np.int32)
        present = np.unique(y_enc)
    else:
        try:
            unique = np.unique(y)
        except TypeError:
            raise TypeError("y mixes label types that cannot be compared; use one type for all "
                            "labels.") from None
        classes = tuple(unique.tolist())
        present = unique
        y_enc = None
    if len(present) < 2:
        raise ValueError(f"y has a single class ({_show(present[0], classes, y.ndim)}); "
                         "classification needs at least two classes.")
    task = TaskSpec(kind, problem, input_shape, num_classes=len(classes), classes=classes,
                    feature_names=feature_names)
    if y_enc is None:
        y_enc = np.searchsorted(unique, y).astype(np.int32)
    return task, y_enc


def _show(value, classes, ndim):
    return f"column {int(value)} of the one-hot rows" if ndim == 2 else repr(
        value.item() if hasattr(value, "item") else value)


def _is_one_hot(y):
    if y.dtype.kind not in "biuf" or y.shape[1] < 2:
        return False
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))


def _encode_targets(y, task, name):
    """Encodes validation targets with the training task's classes."""
    if task.problem == "regression":
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numbers for regression; got dtype {y.dtype}.")
        width = 1 if y.ndim == 1 else y.shape[1]
        if width != task.output_dim:
            raise ValueError(f"{name} has {width} target(s) per example but y has "
                             f"{task.output_dim}.")
        return y.astype(np.float32)
    return encode_labels(y, task, name=name)


# -------------------------------------------------------------------- split
def _split(y, task, fraction, seed):
    """Train and validation indices; stratified by class for classification."""
    rng = np.random.default_rng(seed)
    n = len(y)
    if task.problem == "regression":
        order = rng.permutation(n)
        n_val = min(max(int(round(n * fraction)), 1), n - 1)
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    train, val, singles = [], [], []
    for c in range(task.num_classes):
        idx = np.flatnonzero(y == c)
        if len(idx) == 0:
            continue
        idx = rng.permutation(idx)
        if len(idx) == 1:
            singles.append(task.classes[c])
        # Every class keeps one example for training; one for validation if it has two.
        n_val = min(max(int(round(len(idx) * fraction)), 1), len(idx) - 1)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    if singles:
        warnings.warn(f"{len(singles)} class(es) have a single example (e.g. {singles[0]!r}); "
                      "they are kept for training only and do not appear in validation.",
                      UserWarning, stacklevel=3)
    train_idx = rng.permutation(np.concatenate(train))
    val_idx = rng.permutation(np.concatenate(val))
    if len(val_idx) == 0:
        raise ValueError("No class has two examples, so no validation split is possible; pass "
                         "more data or validation_data=(x_val, y_val).")
    return train_idx, val_idx


# ----------------------------------------------------------------- labels
def encode_labels(y, task, *, name="y"):
    """Maps the user's label values to class indices `0 .. num_classes - 1`.

    Args:
        y: Labels in the user's values (array, list or pandas Series), or
            one-hot rows of width `task.num_classes`.
        task: A classification `TaskSpec`.
        name: What `y` is called in error messages (default `"y"`).

    Returns:
        An int32 array of indices into `task.classes`.

    Raises:
        ValueError: for a label the task has not seen.

    Example:

    >>> task = TaskSpec("tabular", "classification", (2,), 2, ("cat", "dog"))
    >>> encode_labels(["dog", "cat", "dog"], task)
    array([1, 0, 1], dtype=int32)
    """
    _need_classification(task)
    y = _targets(y, name) if not isinstance(y, np.ndarray) or y.dtype.kind in "OS" else y
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        if y.shape[1] != task.num_classes or not _is_one_hot(y):
            raise ValueError(f"{name} has shape {y.shape}; one-hot rows need exactly "
                             f"{task.num_classes} columns with a single 1 each.")
        return np.argmax(y, axis=1).astype(np.int32)
    lookup = {value: i for i, value in enumerate(task.classes)}
    values = y.tolist()
    try:
        return np.fromiter((lookup[v] for v in values), dtype=np.int32, count=len(values))
    except (KeyError, TypeError):
        unseen = sorted({repr(v) for v in values if _unseen(v, lookup)})
        raise ValueError(f"{name} has label(s) {', '.join(unseen[:5])} not seen in training; "
                         f"the known classes are {list(task.classes)}.") from None


def _unseen(value, lookup):
    try:
        return value not in lookup
    except TypeError:
        return True


def decode_labels(indices, task):
    """Maps class indices back to the user's label values.

    Args:
        indices: Integer class indices, any shape.
        task: A classification `TaskSpec`.

    Returns:
        A numpy array of the same shape holding values from `task.classes`.

    Raises:
        ValueError: for an index outside `0 .. num_classes - 1`.

    Example:

    >>> task = TaskSpec("tabular", "classification", (2,), 2, ("cat", "dog"))
    >>> decode_labels([1, 0], task).tolist()
    ['dog', 'cat']
    """
    _need_classification(task)
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"Class indices must be integers; got dtype {indices.dtype}.")
    if indices.size and (indices.min() < 0 or indices.max() >= task.num_classes):
        raise ValueError(f"Class indices must lie in [0, {task.num_classes - 1}]; got "
                         f"{int(indices.min())}..{int(indices.max())}.")
    return np.asarray(task.classes)[indices]


def _need_classification(task):
    if task.problem != "classification":
        raise ValueError(f"Labels are encoded only for classification; this task is "
                         f"{task.problem}.")


# ----------------------------------------------------------- normalisation
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


# --------------------------------------------------------------- loading
def load_dataset(name, *, target=None, split="train", data_dir=None):
    """Loads a data set by name or path as `(x, y)`.

    Args:
        name: One of
            - `"digits"`: scikit-learn's 1,797 handwritten digits, images
              `(N, 8, 8)` float32 with values 0..16 and int labels 0..9;
            - `"tfds:NAME"`: a tensorflow-datasets data set (needs
              `pip install tensorflow-datasets` and, the first time, internet),
              read as `(image, label)` pairs into numpy;
            - a `.npz` file with arrays `x` and `y` (or `x_train` and
              `y_train`);
            - a `.csv` file with a header row (needs pandas): the features as
              a DataFrame and the `target` column as a Series.
        target: CSV only: the target column (default None: the last column).
        split: tfds only: the split to load (default `"train"`).
        data_dir: tfds only: where data sets are stored (default None: the
            `TFDS_DATA_DIR` environment variable, else tensorflow-datasets'
            own default, `~/tensorflow_datasets`).

    Returns:
        `(x, y)`.

    Raises:
        ValueError: unknown name, missing npz keys or CSV column.
        FileNotFoundError: a `.npz` or `.csv` path that does not exist.
        ImportError: tensorflow-datasets or pandas is needed but missing.
        RuntimeError: a tfds data set is not stored locally and cannot be
            downloaded (no internet).

    Example:

    >>> x, y = load_dataset("digits")
    >>> x.shape, y[:5].tolist()
    ((1797, 8, 8), [0, 1, 2, 3, 4])
    """
    text = os.fspath(name) if isinstance(name, os.PathLike) else name
    if not isinstance(text, str):
        raise TypeError(f"A data set name must be a string or path; got {name!r}.")
    if text == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.images.astype(np.float32), digits.target.astype(np.int64)
    if text.startswith("tfds:"):
        return _load_tfds(text[len("tfds:"):], split, data_dir)
    suffix = Path(text).suffix.lower()
    if suffix in (".npz", ".csv"):
        if not Path(text).is_file():
            raise FileNotFoundError(f"No data file at {text!r}.")
        return _load_npz(text) if suffix == ".npz" else _load_csv(text, target)
    raise ValueError(f"Unknown data set {text!r}; pass 'digits', 'tfds:NAME' (e.g. 'tfds:mnist'), "
                     "a .npz file (arrays x, y) or a .csv file.")


def _load_npz(path):
    with np.load(path, allow_pickle=False) as archive:
        keys = set(archive.files)
        for kx, ky in (("x", "y"), ("x_train", "y_train")):
            if {kx, ky} <= keys:
                return archive[kx], archive[ky]
    raise ValueError(f"{path} holds arrays {sorted(keys)}; it needs 'x' and 'y' (or 'x_train' "
                     "and 'y_train').")


def _load_csv(path, target):
    try:
        import pandas as pd
    except ImportError as err:
        raise ImportError("Reading CSV files needs pandas: pip install pandas "
                          "(or pip install 'kerasnas[pandas]').") from err
    frame = pd.read_csv(path)
    if frame.shape[1] < 2:
        raise ValueError(f"{path} has {frame.shape[1]} column(s); it needs features and a "
                         "target column.")
    target = frame.columns[-1] if target is None else target
    if target not in frame.columns:
        raise ValueError(f"{path} has no column {target!r}; its columns are "
                         f"{list(frame.columns)}.")
    return frame.drop(columns=[target]), frame[target]


def _load_tfds(name, split, data_dir):
    if not name:
        raise ValueError("Name the tensorflow-datasets data set after 'tfds:', e.g. 'tfds:mnist'.")
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise ImportError(f"Loading 'tfds:{name}' needs tensorflow-datasets: pip install "
                          "tensorflow-datasets (or pip install 'kerasnas[tfds]').") from err
    data_dir = data_dir or os.environ.get("TFDS_DATA_DIR") or None
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"tensorflow-datasets has no data set {name!r}; see "
                         "https://www.tensorflow.org/datasets/catalog for names.") from None
    if not builder.is_prepared():
        where = data_dir or "tensorflow-datasets' default folder"
        # tfds retries a failed download for minutes; probe first to fail fast offline.
        try:
            socket.create_connection((TFDS_DOWNLOAD_HOST, 443), timeout=5).close()
        except OSError as err:
            raise RuntimeError(
                f"'tfds:{name}' is not stored in {where} and downloading it needs internet, "
                f"but {TFDS_DOWNLOAD_HOST} is unreachable ({err}). Download it once on a "
                "machine with internet and point TFDS_DATA_DIR (or data_dir=) at the folder, "
                "or pass numpy arrays instead.") from None
        try:
            builder.download_and_prepare()
        except Exception as err:  # tfds raises many kinds of download errors
            raise RuntimeError(f"Downloading 'tfds:{name}' failed: {err}") from err
    try:
        dataset = builder.as_dataset(split=split, as_supervised=True)
    except ValueError as err:
        raise ValueError(f"Cannot read 'tfds:{name}' split {split!r} as (input, label) pairs: "
                         f"{err}") from None
    return _dataset_to_arrays(dataset, f"tfds:{name}")


# ------------------------------------------------------------------ helpers
def _dataset_to_arrays(dataset, name):
    """Reads a finite tf.data.Dataset of `(x, y)` pairs into two numpy arrays.

    A dataset is taken as batched when both its `x` and `y` have an unknown
    leading dimension (what `.batch()` gives); batches made with
    `drop_remainder=True` have a known size, so call `.unbatch()` on those.
    """
    import tensorflow as tf

    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2 or not all(
            isinstance(s, tf.TensorSpec) for s in spec):
        raise TypeError(f"{name} must yield (x, y) pairs of tensors; its elements are {spec}.")
    if int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError(f"{name} is infinite (it repeats); remove .repeat() so kerasnas can "
                         "read it once.")
    x_spec, y_spec = spec
    batched = (x_spec.shape.rank and x_spec.shape[0] is None and y_spec.shape.rank
               and y_spec.shape[0] is None)
    xs, ys = [], []
    for xb, yb in dataset.as_numpy_iterator():
        xs.append(xb)
        ys.append(yb)
    if not xs:
        raise ValueError(f"{name} is empty; it yielded no examples.")
    if batched:
        return np.concatenate(xs), np.concatenate(ys)
    return np.stack(xs), np.stack(ys)


def _is_tf_dataset(obj) -> bool:
    if type(obj).__module__.startswith("tensorflow"):
        import tensorflow as tf

        return isinstance(obj, tf.data.Dataset)
    return False


def _is_dataframe(obj) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


def _is_series(obj) -> bool:
    return type(obj).__name__ == "Series" and hasattr(obj, "to_numpy")


def _numeric_dtype(dtype) -> bool:
    import pandas as pd

    return (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)) and not (
        isinstance(dtype, pd.CategoricalDtype))
