"""Data sets by name or path: digits, tfds:NAME, .npz, .csv."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np

#: Host probed before a tensorflow-datasets download, to fail fast offline.
TFDS_DOWNLOAD_HOST = "storage.googleapis.com"


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
    return dataset_to_arrays(dataset, f"tfds:{name}")


def dataset_to_arrays(dataset, name):
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


def validation_source(validation_data):
    """`(x_val, y_val)` of `validation_data`: a pair as given, or a `tf.data.Dataset`'s arrays."""
    from kerasnas.data.adapters import is_tf_dataset

    if is_tf_dataset(validation_data):
        return dataset_to_arrays(validation_data, "validation_data")
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError("validation_data must be a tuple (x_val, y_val) or a tf.data.Dataset of "
                        f"(x, y) pairs; got {type(validation_data).__name__}.")
    return validation_data
