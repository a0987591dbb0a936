"""Label encoding: the user's label values <-> class indices."""

from __future__ import annotations

import numpy as np

from kerasnas.data.adapters import as_targets
from kerasnas.data.inference import is_one_hot


def encode_targets(y, task, name):
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
    y = as_targets(y, name) if not isinstance(y, np.ndarray) or y.dtype.kind in "OS" else y
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        if y.shape[1] != task.num_classes or not is_one_hot(y):
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
                         f"the known classes are {list(task.classes)}. Encode validation labels "
                         "like the training labels (same values, same type).") from None


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
