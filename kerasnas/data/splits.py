"""Train / validation splits (stratified for classification; in time order for windows).

Examples cut as overlapping windows of one series (example `i + 1` is example
`i` shifted by a few steps, as when a forecasting task is built from one long
series) share most of their values with their neighbours: a random split puts
near-copies of every validation example in training, and the validation score
then rewards models that interpolate between neighbours, not ones that
predict the next part of the series (measured on yearly sunspot windows:
5-fold CV on random folds scored MiniRocket's features at MSE 164 against
the mean's 1,175, then the model scored R^2 -0.43 on the later years).
`sliding_windows(x)` detects such data, and regression on it is split in
time order: the last `fraction` validates, and k-fold CV uses contiguous
blocks (`kerasnas.tuner.crossval.fold_indices(..., contiguous=True)`).
"""

from __future__ import annotations

import warnings

import numpy as np

#: Largest step between consecutive windows that `sliding_windows` looks for.
MAX_WINDOW_STRIDE = 8
#: Share of consecutive pairs that must be shifted copies of each other.
WINDOW_SHARE = 0.9


def sliding_windows(x, max_rows: int = 2000) -> bool:
    """Whether consecutive examples of `x` (`(N, L[, C])`) are overlapping windows of one series.

    True when, for one stride `s` in `1..MAX_WINDOW_STRIDE` (and `s < L / 2`),
    at least `WINDOW_SHARE` of the consecutive pairs satisfy
    `x[i + 1][:-s] == x[i][s:]` (to float tolerance). Uses the first
    `max_rows` examples.

    Example:

    >>> series = np.sin(np.arange(300) / 7.0)
    >>> windows = np.stack([series[i:i + 40] for i in range(200)])
    >>> sliding_windows(windows), sliding_windows(windows[np.random.default_rng(0).permutation(200)])
    (True, False)
    """
    x = np.asarray(x)
    if x.ndim < 2 or len(x) < 8 or x.dtype.kind not in "fiu":
        return False
    rows = np.asarray(x[:max_rows], np.float64)
    length = rows.shape[1]
    for stride in range(1, min(MAX_WINDOW_STRIDE, (length - 1) // 2) + 1):
        later, earlier = rows[1:, :-stride], rows[:-1, stride:]
        scale = max(float(np.abs(rows).max()), 1e-12)
        close = np.abs(later - earlier).reshape(len(later), -1).max(axis=1) <= 1e-6 * scale
        if close.mean() >= WINDOW_SHARE:
            return True
    return False


def split_indices(y, task, fraction, seed, x=None):
    """Train and validation indices; stratified by class for classification.

    A regression on `x` that `sliding_windows` recognises is split in time
    order instead: the last `fraction` of the examples validates.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    if task.problem == "regression" and x is not None and sliding_windows(x):
        n_val = min(max(int(round(n * fraction)), 1), n - 1)
        return np.arange(n - n_val), np.arange(n - n_val, n)
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
