"""Train / validation splits (stratified for classification)."""

from __future__ import annotations

import warnings

import numpy as np


def split_indices(y, task, fraction, seed):
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
