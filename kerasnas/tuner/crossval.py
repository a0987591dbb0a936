"""k-fold selection for small data: a trial's score is the mean over folds, not one noisy split.

With a few dozen examples a 20 % validation split holds a handful of them, and
its accuracy moves in steps of 10-20 points from one lucky split to the next:
architectures are then ranked by noise. `NASTuner(cv_folds=k)` instead trains
each candidate k times, each fold holding out a different `1/k` of the
training and validation data together (stratified for classification), and
reports every epoch's metrics to Keras Tuner once per fold. Keras Tuner
averages the values reported at the same step, so the trial's curve is the
mean over folds and its score is the best epoch of that mean curve.

`kerasnas.search` switches it on below `CV_THRESHOLD` = 300 examples with
`CV_FOLDS` = 5 folds (k-fold error estimates are markedly less variable than a
single 20 % hold-out at that size; above it the hold-out is cheaper and its
noise small enough).

Under a time budget, a fold is not started when the time left (less the
refit's reserve) is under `FOLD_MARGIN` times the slowest fold so far: it
would be cut before it trained, drag the trial's mean down with an untrained
score, and overwrite the trial's checkpoint (the copy returned when no refit
fits) with a barely trained model. The trial is then scored on the folds that
finished (`cv_folds` records how many).
"""

from __future__ import annotations

import numbers
import time

import numpy as np

from kerasnas.tuner.features import TunerFeature

#: Below this many examples (training + validation) `search` selects by k-fold.
CV_THRESHOLD = 300
#: Folds used below `CV_THRESHOLD`.
CV_FOLDS = 5
#: Seed of the folds: every trial and the baselines (`kerasnas.automl.baseline`) validate on
#: the same folds, so their scores differ by the models, not by the luck of a split (on 36
#: ArrowHead series, MiniRocket 0.839 and logistic regression 0.843 on different folds).
FOLD_SEED = 0
#: A fold starts only if the time left covers this many times the slowest fold so far
#: (fold times vary by a few tens of percent on a shared machine).
FOLD_MARGIN = 1.25


def another_fold_fits(time_left, fold_times):
    """Whether a next fold can finish: always without a budget (`time_left` None) or before
    the first fold, else when `time_left >= FOLD_MARGIN * max(fold_times)`."""
    if time_left is None or not fold_times:
        return True
    return time_left >= FOLD_MARGIN * max(fold_times)


def check_folds(folds):
    """`folds` as an int >= 2, or None."""
    if folds is None:
        return None
    if isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < 2:
        raise ValueError(f"cv_folds must be an int >= 2 or None; got {folds!r}.")
    return int(folds)


def fold_indices(y, folds, seed=0, stratify=True, contiguous=False):
    """`[(train_index, validation_index), ...]` for `folds` folds of `y`.

    Classification labels (`stratify=True`) are spread evenly over the folds,
    class by class; every fold keeps at least one training example. With
    `contiguous=True` each fold validates one block of consecutive examples
    (overlapping windows of a series, see `kerasnas.data.splits`).
    """
    n = len(y)
    folds = min(int(folds), n)
    rng = np.random.default_rng(seed)
    assignment = np.empty(n, dtype=int)
    if contiguous:
        assignment[:] = np.arange(n) * folds // n
    elif stratify:
        offset = 0
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            assignment[members] = (offset + np.arange(len(members))) % folds
            offset += len(members)
    else:
        assignment[rng.permutation(n)] = np.arange(n) % folds
    result = []
    for k in range(folds):
        val = np.flatnonzero(assignment == k)
        train = np.flatnonzero(assignment != k)
        if len(val) and len(train):
            result.append((train, val))
    return result


class CrossValidation(TunerFeature):
    """The `NASTuner` feature of `cv_folds=`: numpy trials scored by `folds`-fold cross-validation.

    Args:
        folds: An int >= 2, or None (the feature then leaves trials to the
            validation split).
    """

    def __init__(self, folds=None):
        self.folds = check_folds(folds)

    def run_trial(self, tuner, trial, x, y, validation_data, fit_kwargs):
        if not self.folds or not isinstance(x, np.ndarray) or validation_data is None:
            return None
        return run_folds(tuner, trial, x, y, validation_data, fit_kwargs, self.folds)


def folds_of(x_all, y_all, folds, seed):
    """The folds of `(x_all, y_all)` (training then validation data): stratified for class
    labels, contiguous blocks for a regression on overlapping windows of one series."""
    from kerasnas.data.splits import sliding_windows

    stratify = np.issubdtype(y_all.dtype, np.integer) and y_all.ndim == 1
    contiguous = not stratify and sliding_windows(x_all)
    return fold_indices(y_all, folds, seed, stratify and not contiguous, contiguous=contiguous)


def run_folds(tuner, trial, x, y, validation_data, fit_kwargs, folds):
    """Runs `trial` on each of `folds` folds through `tuner.fit_trial`; returns the mean metrics."""
    x_val, y_val = validation_data[:2]
    x_all = np.concatenate([x, x_val])
    y_all = np.concatenate([y, y_val])
    per_fold, fold_times = [], []
    for train, val in folds_of(x_all, y_all, folds, FOLD_SEED):
        left = tuner.time_left()
        if not another_fold_fits(None if left is None else left - tuner.reserved_time(),
                                 fold_times):
            break
        started = time.monotonic()
        per_fold.append(tuner.fit_trial(trial, x_all[train], y_all[train],
                                        (x_all[val], y_all[val]), **dict(fit_kwargs)))
        fold_times.append(time.monotonic() - started)
    keys = set.intersection(*(set(m) for m in per_fold))
    mean = {k: float(np.mean([m[k] for m in per_fold])) for k in keys}
    if "fit_time" in keys:  # the cost adds up over folds
        mean["fit_time"] = float(np.sum([m["fit_time"] for m in per_fold]))
    mean["cv_folds"] = float(len(per_fold))
    return mean
