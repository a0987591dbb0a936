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
#: Integer targets are labels unless they take more than this many distinct values ...
MAX_INTEGER_CLASSES = 20
#: ... with fewer than this many examples per value on average: then they are amounts
#: (prices, counts, scores), and a classifier would see most "classes" once or twice.
MIN_EXAMPLES_PER_CLASS = 5

# What the values of an `(N, A, B)` array say, when its shape allows an image. In an image
# both axes are spatial; in a multichannel sequence `(L, C)` the second axis is a set of
# sensors. The tests below only ever turn a shape-allowed image into a sequence, so data
# that says nothing (constant, noise, copies) keeps the shape rule. Measured on: smooth,
# random-walk, white and sine channels with their own scales/offsets, mixtures of a few
# sources, grouped sensors, kerasnas.bench.signals (all sequences); digits 8x8 and
# upsampled to 28x28, smooth blobs, natural-image patches, each also with added noise
# (all images).
#: Rows of `x` (spread evenly over it) that the evidence is computed on: cheap, deterministic.
EVIDENCE_MAX_ROWS = 2000
#: ... and at most this many values in all (8 MB of float64; fewer rows for large examples,
#: but at least one: a large example alone holds many neighbouring pairs).
EVIDENCE_MAX_VALUES = 1_000_000
#: Data sets of fewer examples say too little (correlations too noisy): the shape rule
#: decides. The padding test also needs this many non-empty examples in the sample.
MIN_EVIDENCE_EXAMPLES = 8
#: A position (a row or a column) whose standard deviation is below this fraction of the
#: largest is constant (an image's empty border, a dead sensor) and is left out of the
#: correlations, where it would be 0/0.
CONSTANT_POSITION_STD = 1e-6
#: Test 1, unordered channels. Along an axis, `(1 - r_near) / (1 - r_far)` compares the mean
#: correlation of neighbouring positions (lag 1) with that of positions farther apart (lag
#: >= 2), each correlation pooled over examples and the other axis (so per-channel scales
#: and offsets drop out). An ordered axis gives well under 1 (images: 0.02-0.68 along either
#: axis, the most for digits 8x8; only images buried in noise as strong as themselves pass
#: 0.9); a set of channels gives about 1 (0.99-1.02 for independent or interchangeable
#: channels; 0.55-1.26 for mixtures of a few sources, which test 2 catches). So the second
#: axis is a set of channels when the ratio is at least this ...
CHANNEL_UNORDERED = 0.9
#: ... while along the first axis it is at most this (time is ordered: sequences measured
#: 0.06-0.6; the noise-buried images whose second axis passes 0.9 measure >= 0.89 here).
#: Channels white in time fail this and rely on test 2 (their own offsets).
TIME_ORDERED = 0.7
#: Columns correlating at least this much with their neighbours are copies of one signal:
#: the second axis then says nothing (a 1-D signal broadcast to a square stays an image).
COPIES_CORRELATION = 0.95
#: Test 2, channels with their own level. Within each example, the mean squared change
#: between neighbouring rows (and columns) divided by twice the example's variance
#: (about 1 for unrelated values, 0 for no change) has a median over examples `l_rows`
#: (`l_cols`). Channels with their own offsets, or unrelated ones over a smooth time axis,
#: change much more from column to column than from row to row: sequences measured
#: `l_rows / l_cols` <= 0.23 whenever their time axis is smooth; images >= 0.48 (strokes of
#: digits make columns change about twice as much as rows; natural images about as much).
#: The second axis holds channels when the ratio is at most this ...
ROW_COLUMN_CONTRAST = 0.3
#: ... and `l_cols` is at least this: the columns do change. A smooth image streaked along
#: its first axis (smoothed over 8 rows but 1 column) has a small ratio too, but measures
#: `l_cols` = 0.23; sequences measured >= 0.36.
MIN_COLUMN_CHANGE = 0.3
#: Test 3, padding. At least this share of the examples end (or start) with rows of exact
#: zeros, of varying lengths, as sequences padded to one length do ...
PAD_MIN_SHARE = 0.1
#: ... while at most this share have zero rows at the other end, or an all-zero first or
#: last column: an image's empty margins show on every side, padding at one end of time.
PAD_OTHER_MAX_SHARE = 0.01


def infer_kind(x) -> tuple[str, str]:
    """The input kind of a float array `x` (`(N, ...)`) and a one-line reason.

    Rules (override any of them with `kind=`):

    * `(N, H, W, C)`: an image.
    * `(N, A, B)`: a sequence of length A with B channels (`(40, 1)`,
      `(100, 6)`) unless both sides look spatial (each at least
      `MIN_IMAGE_SIDE` = 8 and neither more than `MAX_IMAGE_ASPECT` = 4 times
      the other: `(8, 8)`, `(28, 28)`, `(29, 12)`). When they do, it is an
      image `(A, B, 1)` unless the values show that the second axis is a set
      of channels (`sequence_evidence`): neighbouring columns no more alike
      than distant ones while neighbouring rows are, columns that change far
      more than rows (channels with their own level), or zero rows padding
      one end of the first axis. Data that shows nothing (constant, noise)
      keeps the shape's answer.
    * `(N, D)`: a sequence of length D with one channel when its columns
      behave like a signal (`looks_like_signal`), else a table.

    Example:

    >>> import numpy as np
    >>> infer_kind(np.zeros((10, 100, 6)))[0], infer_kind(np.zeros((10, 28, 28)))[0]
    ('sequence', 'image')
    >>> t = np.arange(29)[None, :, None] + np.random.default_rng(0).uniform(0, 9, (50, 1, 12))
    >>> infer_kind(np.sin(t / 4) * np.arange(1, 13) + np.arange(12) ** 2)[0]  # 12 sensors
    'sequence'
    """
    shape = x.shape[1:]
    if len(shape) == 3:
        return "image", f"(N, {shape[0]}, {shape[1]}, {shape[2]}) is read as images"
    if len(shape) == 2:
        a, b = shape
        if min(a, b) >= MIN_IMAGE_SIDE and max(a, b) <= MAX_IMAGE_ASPECT * min(a, b):
            evidence = sequence_evidence(x)
            if evidence is None:
                return "image", (f"(N, {a}, {b}) is read as {a}x{b} images with one channel "
                                 "(both sides look spatial)")
            return "sequence", (f"(N, {a}, {b}) is read as sequences of length {a} with {b} "
                                f"channels ({evidence})")
        return "sequence", (f"(N, {a}, {b}) is read as sequences of length {a} with {b} "
                            f"channel(s) (a {b}-wide side is not an image side)")
    d = shape[0]
    if looks_like_signal(x):
        return "sequence", (f"(N, {d}) is read as sequences of length {d} (neighbouring columns "
                            "share one scale and correlate like a signal)")
    return "tabular", f"(N, {d}) is read as a table of {d} features"


def sequence_evidence(x) -> str | None:
    """Why the values of an `(N, A, B)` array make it sequences, not images; None if they don't.

    Three tests, each enough alone (the module constants hold the thresholds
    and why): the columns are an unordered set while the rows are ordered
    (`CHANNEL_UNORDERED`, `TIME_ORDERED`, `COPIES_CORRELATION`); the values
    change far more from column to column than from row to row
    (`ROW_COLUMN_CONTRAST`, `MIN_COLUMN_CHANGE`); zero rows pad one end of
    the first axis (`PAD_MIN_SHARE`, `PAD_OTHER_MAX_SHARE`). Computed on at
    most `EVIDENCE_MAX_ROWS` examples spread evenly over `x` (and at most
    `EVIDENCE_MAX_VALUES` values, but one example at least); None with fewer than
    `MIN_EVIDENCE_EXAMPLES` examples or non-finite values.
    """
    if x.ndim != 3 or min(x.shape[1:]) < 2:
        return None
    rows = _evidence_rows(x)
    if rows is None:
        return None
    padding = _padding(rows)
    if padding is not None:
        return padding
    near_rows, far_rows = _axis_correlations(rows, 1)
    near_cols, far_cols = _axis_correlations(rows, 2)
    if near_cols < COPIES_CORRELATION and far_rows < 1 and far_cols < 1:  # False on NaN
        order_rows = (1 - near_rows) / (1 - far_rows)
        order_cols = (1 - near_cols) / (1 - far_cols)
        if order_cols >= CHANNEL_UNORDERED and order_rows <= TIME_ORDERED:
            return (f"neighbouring columns correlate no more than distant ones ({order_cols:.2f}) "
                    f"while neighbouring rows do ({order_rows:.2f}): the {rows.shape[2]} columns "
                    "are channels")
    change_rows, change_cols = _neighbour_change(rows)
    if change_cols >= MIN_COLUMN_CHANGE and change_rows <= ROW_COLUMN_CONTRAST * change_cols:
        return (f"values change {change_cols / max(change_rows, 1e-12):.0f}x more from column "
                "to column than from row to row: the columns are channels of their own level")
    return None


def _evidence_rows(x):
    n = len(x)
    if n < MIN_EVIDENCE_EXAMPLES:
        return None
    per_example = int(np.prod(x.shape[1:]))
    k = max(1, min(n, EVIDENCE_MAX_ROWS, EVIDENCE_MAX_VALUES // per_example))
    index = np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))
    rows = np.asarray(x[index], dtype=np.float64)
    return rows if np.all(np.isfinite(rows)) else None


def _axis_correlations(rows, axis):
    """Mean correlation of neighbouring positions along `axis`, and of the others (NaN if none).

    Each position (a row or a column) is a variable observed over the examples
    and the other axis; constant positions are left out.
    """
    values = np.moveaxis(rows, axis, -1)
    values = values.reshape(-1, values.shape[-1])
    values = values - values.mean(axis=0)
    std = np.sqrt(np.mean(values ** 2, axis=0))
    varies = std > CONSTANT_POSITION_STD * std.max()
    z = np.where(varies, values / np.where(varies, std, 1.0), 0.0)
    count = int(varies.sum())
    adjacent = varies[1:] & varies[:-1]
    near_pairs = int(adjacent.sum())
    far_pairs = count * (count - 1) // 2 - near_pairs
    if near_pairs == 0 or far_pairs == 0:
        return np.nan, np.nan
    near = float(np.mean(z[:, 1:] * z[:, :-1], axis=0)[adjacent].sum())
    total = z.sum(axis=1)  # the sum over all pairs, without forming the correlation matrix
    all_pairs = (float(total @ total) / len(z) - count) / 2
    return near / near_pairs, (all_pairs - near) / far_pairs


def _neighbour_change(rows):
    """Median over examples of the mean squared change between neighbouring rows (columns),
    over twice the example's variance."""
    var = rows.reshape(len(rows), -1).var(axis=1)
    varies = var > 0
    if not varies.any():
        return np.nan, np.nan
    rows, var = rows[varies], var[varies]
    along_rows = np.mean((rows[:, 1:] - rows[:, :-1]) ** 2, axis=(1, 2)) / (2 * var)
    along_cols = np.mean((rows[:, :, 1:] - rows[:, :, :-1]) ** 2, axis=(1, 2)) / (2 * var)
    return float(np.median(along_rows)), float(np.median(along_cols))


def _padding(rows):
    zero_row = np.all(rows == 0, axis=2)
    filled = ~np.all(zero_row, axis=1)  # examples that are all zeros say nothing
    if filled.sum() < MIN_EVIDENCE_EXAMPLES:
        return None
    zero_row = zero_row[filled]
    lead = np.argmax(~zero_row, axis=1)
    tail = np.argmax(~zero_row[:, ::-1], axis=1)
    zero_side = np.all(rows[filled][:, :, [0, -1]] == 0, axis=1).any(axis=1)
    if np.mean(zero_side) > PAD_OTHER_MAX_SHARE:
        return None
    for padded, other, end in ((tail, lead, "end"), (lead, tail, "start")):
        if (np.mean(padded > 0) >= PAD_MIN_SHARE and np.mean(other > 0) <= PAD_OTHER_MAX_SHARE
                and len(np.unique(padded[padded > 0])) >= 2):
            return (f"{np.mean(padded > 0):.0%} of the examples are padded with zero rows at the "
                    f"{end}, of varying lengths")
    return None


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


def looks_like_amounts(y) -> bool:
    """Whether integer targets `y` are amounts rather than labels.

    More than `MAX_INTEGER_CLASSES` distinct values with fewer than
    `MIN_EXAMPLES_PER_CLASS` examples per value on average: a price column read
    from a CSV is integers, and CIFAR-100's labels are not.

    >>> looks_like_amounts(np.arange(300) * 7), looks_like_amounts(np.arange(1000) % 100)
    (True, False)
    """
    distinct = len(np.unique(y))
    return distinct > MAX_INTEGER_CLASSES and len(y) < MIN_EXAMPLES_PER_CLASS * distinct


def infer_task(x, y, kind, problem, feature_names):
    """Returns `(TaskSpec, encoded y)`."""
    input_shape = tuple(int(d) for d in x.shape[1:])
    one_hot = y.ndim == 2 and is_one_hot(y)
    if problem is None:
        if y.dtype.kind in "iu" and y.ndim == 1 and looks_like_amounts(y):
            problem = "regression"
            warnings.warn(f"y holds integers with {len(np.unique(y))} distinct values, "
                          f"{len(y) / len(np.unique(y)):.1f} examples each on average: kerasnas "
                          "treats them as amounts (regression). Pass problem='classification' "
                          "to classify.", UserWarning, stacklevel=3)
        elif y.dtype.kind in "biuUS" or one_hot:
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
