"""Task inference: which kind of input (image, sequence, tabular) and which problem."""

from __future__ import annotations

import warnings

import numpy as np

from kerasnas.data.task import TaskSpec

#: Rank-3 `(N, A, B)` arrays are images only when both sides are at least this long ...
MIN_IMAGE_SIDE = 8
#: ... and neither side is more than this many times the other; else `(N, L, C)` sequences.
MAX_IMAGE_ASPECT = 4
#: `(N, D)` arrays need at least this many columns to be read as signals.
MIN_SIGNAL_LENGTH = 16


def infer_kind(x) -> tuple[str, str]:
    """The input kind of a float array `x` (`(N, ...)`) and a one-line reason.

    Rules (override any of them with `kind=`):

    * `(N, H, W, C)`: an image.
    * `(N, A, B)`: an image `(A, B, 1)` when both sides look spatial (each at
      least `MIN_IMAGE_SIDE` = 8 and neither more than `MAX_IMAGE_ASPECT` = 4
      times the other: `(8, 8)`, `(28, 28)`); otherwise a sequence of length A
      with B channels (`(40, 1)`, `(100, 6)`).
    * `(N, D)`: a sequence of length D with one channel when its columns
      behave like a signal (`looks_like_signal`), else a table.

    Example:

    >>> import numpy as np
    >>> infer_kind(np.zeros((10, 100, 6)))[0], infer_kind(np.zeros((10, 28, 28)))[0]
    ('sequence', 'image')
    """
    shape = x.shape[1:]
    if len(shape) == 3:
        return "image", f"(N, {shape[0]}, {shape[1]}, {shape[2]}) is read as images"
    if len(shape) == 2:
        a, b = shape
        if min(a, b) >= MIN_IMAGE_SIDE and max(a, b) <= MAX_IMAGE_ASPECT * min(a, b):
            return "image", (f"(N, {a}, {b}) is read as {a}x{b} images with one channel "
                             "(both sides look spatial)")
        return "sequence", (f"(N, {a}, {b}) is read as sequences of length {a} with {b} "
                            f"channel(s) (a {b}-wide side is not an image side)")
    d = shape[0]
    if looks_like_signal(x):
        return "sequence", (f"(N, {d}) is read as sequences of length {d} (neighbouring columns "
                            "share one scale and correlate like a signal)")
    return "tabular", f"(N, {d}) is read as a table of {d} features"


def looks_like_signal(x, max_rows: int = 2000) -> bool:
    """Whether the columns of a 2-D array behave like samples of a signal.

    True when there are at least `MIN_SIGNAL_LENGTH` columns, the columns share
    one scale (the 90th percentile of the column standard deviations is within
    5x of the 10th) and nearly every pair of neighbouring columns correlates
    (the 10th percentile of the lag-1 correlations is at least 0.2). Tables mix
    units, or order their columns so that some neighbours are unrelated, and
    fail one of the tests (measured: breast cancer, wine, digits flattened,
    standardised or not, and iid features are tables; smoothed noise, random
    walks and noisy sines with random phase are signals). Uses at most
    `max_rows` rows (default 2000).
    """
    d = x.shape[1]
    if d < MIN_SIGNAL_LENGTH or len(x) < 8:
        return False
    rows = np.asarray(x[:max_rows], dtype=np.float64)
    std = rows.std(axis=0)
    low, high = np.percentile(std, [10, 90])
    if low <= 0 or high / low > 5:
        return False
    z = (rows - rows.mean(axis=0)) / np.where(std > 0, std, 1)
    lag1 = np.sum(z[:, 1:] * z[:, :-1], axis=0) / len(z)
    return bool(np.percentile(lag1, 10) >= 0.2)


def shape_for_kind(x, kind, name):
    """Infers the kind (if None), adds channel axes, checks the rank: `(array, kind, note)`."""
    ndim = x.ndim
    shape = x.shape
    if ndim == 1:
        raise ValueError(f"{name} has shape {shape}: one value per example. Pass a 2-D array, "
                         "e.g. x.reshape(-1, 1) for a single tabular feature.")
    if ndim > 4:
        raise ValueError(f"{name} has rank {ndim} (shape {shape}); kerasnas takes images "
                         "(N, H, W[, C]), sequences (N, L[, C]) or tabular data (N, D).")
    note = ""
    if kind is None:
        kind, note = infer_kind(x)
        others = [k for k in ("image", "sequence", "tabular") if k != kind
                  and not (k == "tabular" and ndim > 2) and not (k == "image" and ndim == 2)
                  and not (k == "sequence" and ndim == 4)]
        if others:
            note += "; pass " + " or ".join(f"kind={k!r}" for k in others) + " to override"
    if kind == "tabular" and ndim != 2:
        raise ValueError(f"kind='tabular' needs x of shape (N, D); {name} has shape {shape}. "
                         "Flatten it with x.reshape(len(x), -1), or use kind='image'/'sequence'.")
    if kind == "sequence":
        if ndim == 4:
            raise ValueError(f"kind='sequence' needs x of shape (N, L) or (N, L, C); {name} has "
                             f"shape {shape}.")
        return (x[..., None] if ndim == 2 else x), kind, note
    if kind == "image":
        if ndim == 2:
            raise ValueError(f"kind='image' needs x of shape (N, H, W) or (N, H, W, C); {name} "
                             f"has shape {shape}. Reshape flat images, e.g. "
                             "x.reshape(-1, 28, 28).")
        return (x[..., None] if ndim == 3 else x), kind, note
    return x, kind, note


def infer_task(x, y, kind, problem, feature_names):
    """Returns `(TaskSpec, encoded y)`."""
    input_shape = tuple(int(d) for d in x.shape[1:])
    one_hot = y.ndim == 2 and is_one_hot(y)
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


def is_one_hot(y):
    """Whether the 2-D array `y` holds one-hot rows (0/1, a single 1 each, >= 2 columns)."""
    if y.dtype.kind not in "biuf" or y.shape[1] < 2:
        return False
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))
