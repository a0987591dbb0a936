"""Keras layers for the numeric and categorical columns of a table (`TableSpace`).

Each layer with statistics fits them with `adapt(x)` on training rows (numpy,
`(N, F)`), stores them as non-trainable weights (so checkpoints, `.keras` files
and SavedModels carry them) and starts from neutral statistics before that.

* `NumericTransform`: per-column scaling, one of `TRANSFORMS`:
  - `"standard"`: `(x - mean) / std`;
  - `"robust"`: `(x - median) / IQR-scale`, then the smooth clip
    `x / sqrt(1 + (x / 3)^2)` of RealMLP (Holzmüller et al., 2024), so outliers
    and heavy tails stay within about ±3;
  - `"quantile"`: the training column's empirical CDF mapped to normal scores,
    `Φ⁻¹(F̂(x))`, interpolated linearly between `num_quantiles` training
    quantiles (rank-based: any monotone distortion of a column is undone);
  - `"log"`: `log1p(x)` for columns that are non-negative and right-skewed in
    training (skewness > `LOG_SKEW`), then `"standard"` on every column.
* `PiecewiseLinearEncoding` (PLE, Gorishniy et al., 2022): bins
  `b_0 < ... < b_T` from training quantiles;
  `e_t(x) = clip((x - b_{t-1}) / (b_t - b_{t-1}), 0, 1)`, with the first bin
  open below and the last open above, so the encoding stays linear outside
  the training range.
* `PeriodicFeatures` (the "P" of PLR, same paper): `[cos 2πc·x, sin 2πc·x]`
  with trainable frequencies `c ~ N(0, σ²)` per column.
* `PerFeatureDense`: a separate `Dense` per column on its `(F, k)` encoding
  (`einsum("nfk,fkd->nfd")`), the "L" that turns either encoding into a
  `d`-dimensional embedding.
* `EnsembleInputs`: the `k` members of a parameter-efficient ensemble (TabM-mini,
  Gorishniy et al., 2024): the rows repeated `k` times, each copy scaled by its
  member's own vector `r_i` (initialised to random signs); the shared layers
  after it see `(N, k, D)`.

Example:

>>> import numpy as np
>>> x = np.random.default_rng(0).lognormal(size=(200, 2)).astype("float32")
>>> layer = NumericTransform("quantile")
>>> layer.adapt(x)
>>> z = layer(x).numpy()
>>> bool(abs(np.median(z)) < 0.1)
True
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

#: The per-column scalings of `NumericTransform`.
TRANSFORMS = ("standard", "robust", "quantile", "log")
#: Training skewness above which a non-negative column is log-transformed (`"log"`).
LOG_SKEW = 1.0
#: Quantiles `"quantile"` interpolates between (more than a small table has distinct values
#: seldom matters: ties collapse).
NUM_QUANTILES = 64
#: Bound of the smooth clip's linear range (RealMLP's 3).
SMOOTH_CLIP = 3.0
#: Normal scores of the extreme quantiles are those of these tail probabilities.
_TAIL = 1e-3


def _columns(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"adapt needs rows of features, shape (N, F); got shape {x.shape}.")
    return x


def _normal_scores(p):
    """Φ⁻¹(p), the tails clipped at `_TAIL`."""
    from scipy.special import ndtri

    return ndtri(np.clip(p, _TAIL, 1 - _TAIL))


@keras.saving.register_keras_serializable(package="kerasnas")
class NumericTransform(keras.layers.Layer):
    """Per-column scaling of numeric features; see the module docstring for the modes.

    Args:
        mode: One of `TRANSFORMS` (default `"standard"`).
        num_quantiles: Knots of `"quantile"` (default `NUM_QUANTILES`).

    Example:

    >>> layer = NumericTransform("robust")
    >>> layer.adapt(np.array([[0.0], [1.0], [2.0], [3.0], [1000.0]]))
    >>> bool(float(layer(np.array([[1000.0]]))[0, 0]) < SMOOTH_CLIP)
    True
    """

    def __init__(self, mode="standard", num_quantiles=NUM_QUANTILES, **kwargs):
        super().__init__(**kwargs)
        if mode not in TRANSFORMS:
            raise ValueError(f"Unknown numeric transform {mode!r}; choose one of {TRANSFORMS}.")
        self.mode = mode
        self.num_quantiles = int(num_quantiles)

    def build(self, input_shape):
        f = int(input_shape[-1])
        fixed = dict(trainable=False)
        self.center = self.add_weight(shape=(f,), initializer="zeros", name="center", **fixed)
        self.scale = self.add_weight(shape=(f,), initializer="ones", name="scale", **fixed)
        if self.mode == "log":
            self.log_mask = self.add_weight(shape=(f,), initializer="zeros", name="log_mask",
                                            **fixed)
        if self.mode == "quantile":
            start = np.tile(np.linspace(-3.0, 3.0, self.num_quantiles, dtype="float32"), (f, 1))
            self.knots = self.add_weight(shape=start.shape, name="knots", **fixed,
                                         initializer=keras.initializers.Constant(start))
            self.scores = self.add_weight(shape=start.shape, name="scores", **fixed,
                                          initializer=keras.initializers.Constant(start))

    def adapt(self, x) -> None:
        """Fits the statistics of the mode on training rows `x` `(N, F)`."""
        x = _columns(x)
        if not self.built:
            self.build(x.shape)
        if self.mode == "quantile":
            pairs = [_quantile_knots(column, self.num_quantiles) for column in x.T]
            knots, scores = zip(*pairs, strict=True)
            self.knots.assign(np.stack(knots).astype("float32"))
            self.scores.assign(np.stack(scores).astype("float32"))
            return
        if self.mode == "log":
            positive = x.min(axis=0) >= 0
            mean, std = x.mean(axis=0), x.std(axis=0)
            skew = np.where(std > 0, ((x - mean) ** 3).mean(axis=0) / np.maximum(std, 1e-12) ** 3,
                            0.0)
            mask = positive & (skew > LOG_SKEW)
            x = np.where(mask, np.log1p(np.where(mask, x, 0.0)), x)
            self.log_mask.assign(mask.astype("float32"))
        if self.mode == "robust":
            q25, center, q75 = np.quantile(x, [0.25, 0.5, 0.75], axis=0)
            # The IQR of a normal column is 1.349 sigma; a column constant over half its rows
            # (IQR 0) falls back to its standard deviation, a constant one to 1.
            scale = (q75 - q25) / 1.349
            scale = np.where(scale > 0, scale, x.std(axis=0))
        else:
            center, scale = x.mean(axis=0), x.std(axis=0)
        self.center.assign(center.astype("float32"))
        self.scale.assign(np.where(scale > 0, scale, 1.0).astype("float32"))

    def call(self, x):
        x = ops.cast(x, "float32")
        if self.mode == "quantile":
            return _interpolate(x, self.knots, self.scores)
        if self.mode == "log":
            x = ops.where(self.log_mask > 0, ops.log1p(ops.maximum(x, 0.0)), x)
        z = (x - self.center) / self.scale
        if self.mode == "robust":
            z = z / ops.sqrt(1.0 + ops.square(z / SMOOTH_CLIP))
        return z

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "num_quantiles": self.num_quantiles}


def _quantile_knots(column, count):
    """`(knots, scores)` of one column: its distinct training quantiles and their normal scores.

    A value that several quantiles share (a column with few distinct values) is one knot at
    the middle of those quantiles' levels, so a 0/1 column maps to two scores symmetric about
    its base rate instead of a step to a tail. Padded to `count` by repeating the last knot.
    """
    levels = np.linspace(0.0, 1.0, count)
    quantiles = np.quantile(column, levels)
    knots, where = np.unique(quantiles, return_inverse=True)
    middle = np.array([levels[where == i].mean() for i in range(len(knots))])
    scores = _normal_scores(middle)
    pad = count - len(knots)
    return (np.concatenate([knots, np.full(pad, knots[-1])]),
            np.concatenate([scores, np.full(pad, scores[-1])]))


def _interpolate(x, knots, scores):
    """Piecewise-linear `f` per column with `f(knots[f, j]) = scores[f, j]`, flat beyond the ends.

    `f(x) = scores[:, 0] + Σ_j Δscores[:, j] · clip((x - k_{j-1}) / (k_j - k_{j-1}), 0, 1)`;
    the repeated knots of the padding add steps of 0.
    """
    left, width = knots[:, :-1], knots[:, 1:] - knots[:, :-1]
    ramp = ops.clip((ops.expand_dims(x, -1) - left) / ops.maximum(width, 1e-12), 0.0, 1.0)
    return scores[:, 0] + ops.sum(ramp * (scores[:, 1:] - scores[:, :-1]), axis=-1)


@keras.saving.register_keras_serializable(package="kerasnas")
class PiecewiseLinearEncoding(keras.layers.Layer):
    """PLE: each column as `num_bins` ramps between its training quantiles, `(N, F, T)`.

    Columns with fewer distinct training values get fewer bins (the rest encode 0).

    Args:
        num_bins: Bins `T` per column (default 16).

    Example:

    >>> layer = PiecewiseLinearEncoding(num_bins=2)
    >>> layer.adapt(np.array([[0.0], [1.0], [2.0]]))
    >>> layer(np.array([[0.5], [3.0]])).numpy()[:, 0].round(2).tolist()
    [[0.5, 0.0], [1.0, 2.0]]
    """

    def __init__(self, num_bins=16, **kwargs):
        super().__init__(**kwargs)
        self.num_bins = int(num_bins)
        if self.num_bins < 1:
            raise ValueError(f"num_bins must be >= 1, got {num_bins!r}.")

    def build(self, input_shape):
        f, t = int(input_shape[-1]), self.num_bins
        start = np.tile(np.linspace(-2.0, 2.0, t + 1, dtype="float32"), (f, 1))
        self.edges = self.add_weight(shape=(f, t + 1), name="edges", trainable=False,
                                     initializer=keras.initializers.Constant(start))
        self.bins = self.add_weight(shape=(f,), name="bins", trainable=False,
                                    initializer=keras.initializers.Constant(float(t)))

    def adapt(self, x) -> None:
        """Bins from the training quantiles of each column of `x` `(N, F)` (ties merged)."""
        x = _columns(x)
        if not self.built:
            self.build(x.shape)
        t = self.num_bins
        edges = np.empty((x.shape[1], t + 1))
        bins = np.empty(x.shape[1])
        for j in range(x.shape[1]):
            e = np.unique(np.quantile(x[:, j], np.linspace(0.0, 1.0, t + 1)))
            if len(e) < 2:  # a constant column: one bin of width 1 from its value
                e = np.array([e[0], e[0] + 1.0])
            bins[j] = len(e) - 1
            edges[j] = np.concatenate([e, np.full(t + 1 - len(e), e[-1])])
        self.edges.assign(edges.astype("float32"))
        self.bins.assign(bins.astype("float32"))

    def call(self, x):
        x = ops.expand_dims(ops.cast(x, "float32"), -1)
        left, width = self.edges[:, :-1], self.edges[:, 1:] - self.edges[:, :-1]
        ramp = (x - left) / ops.maximum(width, 1e-12)
        index = ops.arange(self.num_bins, dtype="float32")
        last = ops.expand_dims(self.bins - 1.0, -1)
        ramp = ops.where(index > 0, ops.maximum(ramp, 0.0), ramp)  # the first bin is open below
        ramp = ops.where(index < last, ops.minimum(ramp, 1.0), ramp)  # the last, above
        return ops.where(index <= last, ramp, 0.0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.num_bins,)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins}


@keras.saving.register_keras_serializable(package="kerasnas")
class PeriodicFeatures(keras.layers.Layer):
    """`[cos(2π c x), sin(2π c x)]` per column with trainable frequencies, `(N, F, 2K)`.

    Args:
        frequencies: `K` per column (default 16).
        sigma: Standard deviation of the initial frequencies, truncated at 3σ
            (default 0.1; inputs are scaled columns, about unit variance).

    Example:

    >>> PeriodicFeatures(frequencies=4)(np.zeros((2, 3))).shape
    TensorShape([2, 3, 8])
    """

    def __init__(self, frequencies=16, sigma=0.1, **kwargs):
        super().__init__(**kwargs)
        self.frequencies, self.sigma = int(frequencies), float(sigma)

    def build(self, input_shape):
        self.c = self.add_weight(
            shape=(int(input_shape[-1]), self.frequencies), name="frequencies",
            initializer=keras.initializers.TruncatedNormal(stddev=self.sigma))

    def call(self, x):
        v = 2.0 * math.pi * self.c * ops.expand_dims(ops.cast(x, "float32"), -1)
        return ops.concatenate([ops.cos(v), ops.sin(v)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (2 * self.frequencies,)

    def get_config(self):
        return {**super().get_config(), "frequencies": self.frequencies, "sigma": self.sigma}


@keras.saving.register_keras_serializable(package="kerasnas")
class PerFeatureDense(keras.layers.Layer):
    """A separate dense map per column: `(N, F, k)` -> `(N, F, units)`.

    Example:

    >>> PerFeatureDense(5)(np.zeros((2, 3, 4))).shape
    TensorShape([2, 3, 5])
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        f, k = int(input_shape[-2]), int(input_shape[-1])
        bound = 1.0 / math.sqrt(k)  # the default of a torch Linear, as in the paper's code
        init = keras.initializers.RandomUniform(-bound, bound)
        self.kernel = self.add_weight(shape=(f, k, self.units), name="kernel", initializer=init)
        self.bias = self.add_weight(shape=(f, self.units), name="bias", initializer=init)

    def call(self, x):
        return ops.einsum("nfk,fkd->nfd", x, self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="kerasnas")
class EnsembleInputs(keras.layers.Layer):
    """`(N, D)` -> `(N, k, D)`: member `i` sees `x * r_i` (TabM-mini's first adapter).

    Args:
        members: `k` (default 8).
        seed: Seed of the random signs that initialise `r` (default None).

    Example:

    >>> EnsembleInputs(4, seed=0)(np.ones((2, 3))).shape
    TensorShape([2, 4, 3])
    """

    def __init__(self, members=8, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.members = int(members)
        self.seed = seed

    def build(self, input_shape):
        d = int(input_shape[-1])
        signs = np.random.default_rng(self.seed).choice([-1.0, 1.0], size=(self.members, d))
        self.r = self.add_weight(shape=(self.members, d), name="r",
                                 initializer=keras.initializers.Constant(signs.astype("float32")))

    def call(self, x):
        return ops.expand_dims(ops.cast(x, "float32"), 1) * self.r

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.members, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "members": self.members, "seed": self.seed}


@keras.saving.register_keras_serializable(package="kerasnas")
class SelectFeatures(keras.layers.Layer):
    """The columns `indices` of `(N, D)` rows, in that order.

    Example:

    >>> SelectFeatures([2, 0])(np.array([[1.0, 2.0, 3.0]])).numpy().tolist()
    [[3.0, 1.0]]
    """

    def __init__(self, indices, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]

    def call(self, x):
        return ops.take(x, np.asarray(self.indices, "int32"), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (len(self.indices),)

    def get_config(self):
        return {**super().get_config(), "indices": list(self.indices)}


__all__ = ["TRANSFORMS", "NumericTransform", "PiecewiseLinearEncoding", "PeriodicFeatures",
           "PerFeatureDense", "EnsembleInputs", "SelectFeatures"]
