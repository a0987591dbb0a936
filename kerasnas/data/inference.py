"""Task inference: which kind of input (image, sequence, tabular) and which problem."""

from __future__ import annotations

import warnings

import numpy as np

from kerasnas.data.task import TaskSpec


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
