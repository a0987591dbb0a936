"""Input adapters: numpy, pandas, tf.data and names in; numeric arrays out, with clear errors."""

from __future__ import annotations

import numpy as np


def input_dtype(x) -> str:
    """The numpy dtype name exported models accept: the user's own when numeric, else float32."""
    if is_dataframe(x):
        dtype = np.result_type(*x.dtypes) if all(
            isinstance(d, np.dtype) for d in x.dtypes) else np.dtype(object)
    else:
        dtype = getattr(x, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return "float32" if dtype.kind == "f" and dtype.itemsize < 4 else dtype.name
    return "float32"


def as_features(x, name):
    """`x` as a float32 array, plus column names for a DataFrame."""
    feature_names = None
    if is_dataframe(x):
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


def as_targets(y, name):
    """`y` as a numpy array of numbers, bools or strings (labels not encoded yet)."""
    if is_dataframe(y):
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


def check_lengths(x, y, x_name, y_name):
    """Raises ValueError unless `x` and `y` hold the same number (at least two) of examples."""
    if len(x) != len(y):
        raise ValueError(f"{x_name} has {len(x)} examples but {y_name} has {len(y)}; they must "
                         "have one target per example.")
    if len(x) < 2:
        raise ValueError(f"{x_name} has only {len(x)} example; pass at least two.")


def is_tf_dataset(obj) -> bool:
    """Whether `obj` is a `tf.data.Dataset` (without importing TensorFlow for other objects)."""
    if type(obj).__module__.startswith("tensorflow"):
        import tensorflow as tf

        return isinstance(obj, tf.data.Dataset)
    return False


def is_dataframe(obj) -> bool:
    """Whether `obj` is a pandas DataFrame (duck-typed, without importing pandas)."""
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


def _is_series(obj) -> bool:
    return type(obj).__name__ == "Series" and hasattr(obj, "to_numpy")


def _numeric_dtype(dtype) -> bool:
    import pandas as pd

    return (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)) and not (
        isinstance(dtype, pd.CategoricalDtype))
