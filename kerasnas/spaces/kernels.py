"""Random convolutional kernel features (MiniRocket) as a Keras layer.

MiniRocket (Dempster, Schmidt and Webb, KDD 2021) turns a series into a few
thousand features with fixed kernels, and a linear model on those features is
among the most accurate classifiers of small UCR / UEA time series. This
module holds the transform; `kerasnas.spaces.series` puts it in a search space
and fits the linear head in closed form (`kerasnas.spaces.closed_form`).

The transform, as in the paper:

* **84 kernels** of length 9: every choice of three positions out of nine
  weighs 2, the other six weigh -1 (so each kernel sums to 0, and a constant
  offset of the series cancels).
* **Dilations** `d` spaced exponentially from 1 to `(L - 1) / 8`, at most
  `max_dilations` of them; the features are shared out between them.
* **Biases** from the training data: for each (dilation, kernel) pair the
  convolution of one randomly drawn training series, at the quantiles
  `q_i = (i * phi) mod 1` of a low-discrepancy sequence (`phi` the golden ratio).
* **PPV** pooling: the proportion of positions where the convolution exceeds
  the bias. Kernels alternate between zero padding ("same", every position)
  and no padding (only positions whose window lies inside the series):
  pair `(dilation i, kernel k)` is padded when `i + k` is even.
* **Channels** (multivariate MiniRocket): each (dilation, kernel) pair sums
  its convolution over a random subset of `floor(2 ** u)` channels,
  `u ~ U(0, log2(min(C, 9) + 1))`.

`pooling="ppv+max"` also returns each (dilation, kernel) convolution's
maximum, ROCKET's second feature. Features come in a fixed order: by
dilation, then the padded kernels' PPVs, then the unpadded kernels', each
kernel's quantiles in turn; the maxima (if any) last.

The layer's biases and channel subsets are non-trainable weights, so a model
holding it saves, reloads and exports (`.keras`, SavedModel, TFLite) like any
other. `adapt(x)` fits the biases.

Example:

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(20, 50, 1)).astype("float32")
>>> layer = RandomKernelFeatures(num_features=168, seed=0)
>>> layer.adapt(x)
>>> tuple(layer(x).shape)
(20, 168)
"""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
from keras import ops

#: Kernel length and the number of kernels (every 3 of the 9 positions weighing 2).
KERNEL_LENGTH = 9
NUM_KERNELS = math.comb(KERNEL_LENGTH, 3)
#: Quantiles of the biases come from the sequence `(i * GOLDEN_RATIO) mod 1`.
GOLDEN_RATIO = (1 + math.sqrt(5)) / 2
POOLINGS = ("ppv", "ppv+max")


def kernel_weights() -> np.ndarray:
    """`(9, 84)` float32: column `k` is kernel `k` (-1 everywhere, 2 at its three positions)."""
    weights = -np.ones((KERNEL_LENGTH, NUM_KERNELS), np.float32)
    for k, positions in enumerate(itertools.combinations(range(KERNEL_LENGTH), 3)):
        weights[list(positions), k] = 2.0
    return weights


def plan_dilations(length: int, num_features: int, max_dilations: int = 32):
    """`(dilations, features_per_dilation)`: the dilations used and each one's share.

    `features_per_dilation[i]` is how many biases (quantiles) each of the 84
    kernels gets at `dilations[i]`; they sum to `num_features // 84`.
    """
    per_kernel = max(1, int(num_features) // NUM_KERNELS)
    count = min(per_kernel, int(max_dilations))
    top = math.log2(max(length - 1, 1) / (KERNEL_LENGTH - 1)) if length > KERNEL_LENGTH else 0.0
    raw = np.logspace(0, max(top, 0.0), count, base=2).astype(np.int64)
    dilations, repeats = np.unique(raw, return_counts=True)
    shares = (repeats * (per_kernel / count)).astype(np.int64)
    for i in range(per_kernel - int(shares.sum())):  # hand the remainder out in turn
        shares[i % len(shares)] += 1
    return [int(d) for d in dilations], [int(s) for s in shares]


def quantiles(n: int) -> np.ndarray:
    """The first `n` terms of `(i * phi) mod 1`, `i = 1, 2, ...` (float64)."""
    return (np.arange(1, n + 1) * GOLDEN_RATIO) % 1.0


def channel_masks(num_channels: int, num_dilations: int, rng) -> np.ndarray:
    """`(num_dilations, C, 84)` 0/1 float32: the channels each (dilation, kernel) pair sums."""
    masks = np.zeros((num_dilations, num_channels, NUM_KERNELS), np.float32)
    top = math.log2(min(num_channels, KERNEL_LENGTH) + 1)
    for i in range(num_dilations):
        for k in range(NUM_KERNELS):
            count = min(num_channels, int(2 ** rng.uniform(0, top)))
            masks[i, rng.choice(num_channels, max(count, 1), replace=False), k] = 1.0
    return masks


def convolve(x: np.ndarray, dilation: int, mask: np.ndarray) -> np.ndarray:
    """Numpy reference: `(N, L, C)` -> `(N, L, 84)`, each kernel's zero-padded ("same")
    dilated convolution summed over its channels (`mask`, `(C, 84)`)."""
    x = np.asarray(x, np.float32)
    weights = kernel_weights()
    pad = (KERNEL_LENGTH // 2) * dilation
    padded = np.pad(x, ((0, 0), (pad, pad), (0, 0)))
    length = x.shape[1]
    out = np.zeros((x.shape[0], length, NUM_KERNELS), np.float32)
    for j in range(KERNEL_LENGTH):
        window = padded[:, j * dilation: j * dilation + length, :]
        out += np.einsum("nlc,ck->nlk", window, mask * weights[j][None, :], optimize=True)
    return out


def convolve_own(series: np.ndarray, dilation: int, mask: np.ndarray) -> np.ndarray:
    """`(84, L)`: kernel `k`'s convolution (as in `convolve`) of series `k` of `series`
    (`(84, L, C)`), without convolving every series with every kernel."""
    weights = kernel_weights()
    pad = (KERNEL_LENGTH // 2) * dilation
    summed = np.einsum("klc,ck->kl", np.asarray(series, np.float32), mask)   # own channels
    padded = np.pad(summed, ((0, 0), (pad, pad)))
    length = series.shape[1]
    out = np.zeros((NUM_KERNELS, length), np.float32)
    for j in range(KERNEL_LENGTH):
        out += weights[j][:, None] * padded[:, j * dilation: j * dilation + length]
    return out


def padded_kernels(dilation_index: int) -> tuple[list[int], list[int]]:
    """`(padded, unpadded)` kernel indices at the `dilation_index`-th dilation."""
    padded = [k for k in range(NUM_KERNELS) if (dilation_index + k) % 2 == 0]
    unpadded = [k for k in range(NUM_KERNELS) if (dilation_index + k) % 2 == 1]
    return padded, unpadded


@keras.saving.register_keras_serializable(package="kerasnas")
class RandomKernelFeatures(keras.layers.Layer):
    """MiniRocket's transform: `(N, L, C)` series -> `(N, num_features)` features.

    Call `adapt(x)` on training series (already preprocessed as the model's
    input is) before use; until then every bias is 0.

    Args:
        num_features: Total PPV features (default 10,000, the paper's);
            rounded down to a multiple of 84.
        max_dilations: Most dilations per kernel (default 32, the paper's).
        pooling: `"ppv"` (default) or `"ppv+max"` (adds `84 * dilations`
            maxima).
        seed: Seeds the channel subsets and the series drawn for the biases
            (default 0).
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, num_features=10_000, max_dilations=32, pooling="ppv", seed=0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("num_features", num_features), ("max_dilations", max_dilations)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}.")
        if num_features < NUM_KERNELS:
            raise ValueError(f"num_features must be at least {NUM_KERNELS} (one per kernel); "
                             f"got {num_features}.")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}.")
        self.num_features = int(num_features)
        self.max_dilations = int(max_dilations)
        self.pooling = pooling
        self.seed = int(seed)
        self.dilations, self.shares = [], []

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[1] is None or input_shape[2] is None:
            raise ValueError(f"RandomKernelFeatures takes series (N, L, C) of a fixed length; "
                             f"got input shape {tuple(input_shape)}.")
        length, channels = int(input_shape[1]), int(input_shape[2])
        self.dilations, self.shares = plan_dilations(length, self.num_features,
                                                     self.max_dilations)
        masks = channel_masks(channels, len(self.dilations), np.random.default_rng(self.seed))
        self.masks, self.biases = [], []
        for i, share in enumerate(self.shares):
            mask = self.add_weight(shape=(channels, NUM_KERNELS), trainable=False,
                                   initializer="zeros", name=f"channels_{i}")
            mask.assign(masks[i])
            self.masks.append(mask)
            self.biases.append(self.add_weight(shape=(NUM_KERNELS, share), trainable=False,
                                               initializer="zeros", name=f"biases_{i}"))
        self.kernel = kernel_weights()

    @property
    def output_dim(self) -> int:
        """Features per series (after `build`)."""
        extra = NUM_KERNELS * len(self.dilations) if self.pooling == "ppv+max" else 0
        return NUM_KERNELS * sum(self.shares) + extra

    def adapt(self, x, seed=None):
        """Fits the biases on training series `x` (`(N, L, C)`, as the layer receives them).

        Each (dilation, kernel) pair's biases are quantiles of the convolution
        of one training series drawn at random (seeded by `seed`, default the
        layer's).
        """
        x = np.asarray(x, np.float32)
        if not self.built:
            self.build((None, *x.shape[1:]))
        rng = np.random.default_rng(self.seed if seed is None else seed)
        q = quantiles(NUM_KERNELS * sum(self.shares)).reshape(-1)
        start = 0
        for i, (dilation, share) in enumerate(zip(self.dilations, self.shares, strict=True)):
            mask = np.asarray(self.masks[i].numpy() if hasattr(self.masks[i], "numpy")
                              else self.masks[i])
            picks = rng.integers(len(x), size=NUM_KERNELS)
            own = convolve_own(x[picks], dilation, mask)       # kernel k on drawn series k
            levels = q[start:start + NUM_KERNELS * share].reshape(NUM_KERNELS, share)
            start += NUM_KERNELS * share
            biases = np.stack([np.quantile(own[k], levels[k]) for k in range(NUM_KERNELS)])
            self.biases[i].assign(biases.astype(np.float32))

    def call(self, inputs):
        inputs = ops.cast(inputs, "float32")
        length = inputs.shape[1]
        ppv, maxima = [], []
        for i, dilation in enumerate(self.dilations):
            conv = self._convolve(inputs, i, dilation)
            pad = (KERNEL_LENGTH // 2) * dilation
            padded, unpadded = padded_kernels(i)
            inner = conv[:, pad:length - pad, :] if length > 2 * pad else conv
            for kernels, window in ((padded, conv), (unpadded, inner)):
                values = ops.take(window, kernels, axis=2)                # (N, L', k)
                biases = ops.take(self.biases[i], kernels, axis=0)         # (k, share)
                above = ops.cast(ops.expand_dims(values, -1) > biases, "float32")
                ppv.append(ops.reshape(ops.mean(above, axis=1), (-1, len(kernels) * self.shares[i])))
            if self.pooling == "ppv+max":
                maxima.append(ops.max(conv, axis=1))
        return ops.concatenate(ppv + maxima, axis=-1)

    def _convolve(self, inputs, i, dilation):
        """`(N, L, 84)`: the zero-padded dilated convolutions at `dilations[i]`, as one matmul
        of the nine shifted copies of the series (faster than a dilated conv on CPU)."""
        length, channels = inputs.shape[1], inputs.shape[2]
        pad = (KERNEL_LENGTH // 2) * dilation
        padded = ops.pad(inputs, ((0, 0), (pad, pad), (0, 0)))
        shifted = ops.concatenate([padded[:, j * dilation: j * dilation + length, :]
                                   for j in range(KERNEL_LENGTH)], axis=-1)   # (N, L, 9C)
        weights = ops.reshape(ops.expand_dims(ops.convert_to_tensor(self.kernel), 1)
                              * ops.expand_dims(self.masks[i], 0),
                              (KERNEL_LENGTH * channels, NUM_KERNELS))
        return ops.matmul(shifted, weights)

    def compute_output_shape(self, input_shape):
        if not self.dilations:
            self.build(input_shape)
        return (input_shape[0], self.output_dim)

    def macs(self, input_shape) -> int:
        """Multiply-accumulates per series: the convolutions (what `count_flops` counts)."""
        length, channels = int(input_shape[1]), int(input_shape[2])
        return length * KERNEL_LENGTH * NUM_KERNELS * channels * len(self.dilations)

    def get_config(self):
        return {**super().get_config(), "num_features": self.num_features,
                "max_dilations": self.max_dilations, "pooling": self.pooling, "seed": self.seed}


def transform(x, dilations, shares, masks, biases, pooling="ppv") -> np.ndarray:
    """Numpy reference of `RandomKernelFeatures`: the same features, computed directly.

    Args:
        x: `(N, L, C)` series.
        dilations, shares: `plan_dilations`'s answer.
        masks: Per dilation, the `(C, 84)` channel subsets.
        biases: Per dilation, the `(84, share)` biases.
        pooling: `"ppv"` or `"ppv+max"`.
    """
    x = np.asarray(x, np.float32)
    length = x.shape[1]
    ppv, maxima = [], []
    for i, (dilation, share) in enumerate(zip(dilations, shares, strict=True)):
        conv = convolve(x, dilation, np.asarray(masks[i]))
        pad = (KERNEL_LENGTH // 2) * dilation
        padded, unpadded = padded_kernels(i)
        inner = conv[:, pad:length - pad, :] if length > 2 * pad else conv
        for kernels, window in ((padded, conv), (unpadded, inner)):
            b = np.asarray(biases[i])[kernels]                             # (k, share)
            above = window[:, :, kernels, None] > b[None, None]
            ppv.append(above.mean(axis=1).reshape(len(x), len(kernels) * share))
        if pooling == "ppv+max":
            maxima.append(conv.max(axis=1))
    return np.concatenate(ppv + maxima, axis=-1).astype(np.float32)


_FAST = None


def fast_transform(x, dilations, shares, masks, biases, pooling="ppv") -> np.ndarray | None:
    """`transform` compiled with numba, in parallel over series; None without numba.

    The same features as the layer (ties of a convolution value with a bias
    aside, which float rounding can decide either way), about 7 times faster on
    CPU than running the layer eagerly (measured: 130 series of 2,000 steps, 8 s against 57 s on a
    loaded 2-core machine): the search computes training features with it,
    the exported model keeps the layer.
    """
    global _FAST
    if _FAST is None:
        try:
            _FAST = _compile_fast()
        except ImportError:
            _FAST = False
    if _FAST is False:
        return None
    x = np.ascontiguousarray(x, np.float32)
    n_max = NUM_KERNELS * len(dilations) if pooling == "ppv+max" else 0
    out = np.zeros((len(x), NUM_KERNELS * int(sum(shares)) + n_max), np.float32)
    offsets = np.cumsum([0] + [NUM_KERNELS * int(s) for s in shares]).astype(np.int64)
    order = np.array([padded_kernels(i)[0] + padded_kernels(i)[1]
                      for i in range(len(dilations))], np.int64)           # (D, 84)
    n_padded = np.array([len(padded_kernels(i)[0]) for i in range(len(dilations))], np.int64)
    share_arr = np.asarray(shares, np.int64)
    width = int(max(shares))
    bias_arr = np.zeros((len(dilations), NUM_KERNELS, width), np.float32)
    for i, b in enumerate(biases):
        bias_arr[i, :, :shares[i]] = np.asarray(b, np.float32)
    mask_arr = np.ascontiguousarray(np.stack([np.asarray(m, np.float32) for m in masks]))
    _FAST(x, np.asarray(dilations, np.int64), share_arr, offsets, order, n_padded, mask_arr,
          bias_arr, kernel_weights(), out, pooling == "ppv+max")
    return out


def _compile_fast():
    import numba

    @numba.njit(parallel=True, cache=True)  # compiled once per machine, not per process
    def run(x, dilations, shares, offsets, order, n_padded, masks, biases, weights, out,
            with_max):
        n, length, channels = x.shape
        n_ppv = offsets[-1]
        half = KERNEL_LENGTH // 2
        for s in numba.prange(n):
            # Each kernel is -1 everywhere and 2 at three taps, so its convolution is
            # alpha + gamma[a] + gamma[b] + gamma[c] with alpha = -(sum of the 9 shifted
            # copies) and gamma[j] = 3 * (copy shifted by tap j): 3 additions per position.
            alpha = np.zeros((channels, length), np.float32)
            gamma = np.zeros((KERNEL_LENGTH, channels, length), np.float32)
            conv = np.empty(length, np.float32)
            taps = np.empty(3, np.int64)
            for i in range(len(dilations)):
                d = dilations[i]
                pad = half * d
                share = shares[i]
                alpha[:] = 0.0
                gamma[:] = 0.0
                for j in range(KERNEL_LENGTH):
                    shift = (j - half) * d
                    for c in range(channels):
                        for t in range(length):
                            u = t + shift
                            if 0 <= u < length:
                                alpha[c, t] -= x[s, u, c]
                                gamma[j, c, t] = 3.0 * x[s, u, c]
                for slot in range(NUM_KERNELS):
                    k = order[i, slot]
                    m = 0
                    for j in range(KERNEL_LENGTH):
                        if weights[j, k] > 0:
                            taps[m] = j
                            m += 1
                    conv[:] = 0.0
                    for c in range(channels):
                        if masks[i, c, k] != 0.0:
                            for t in range(length):
                                conv[t] += (alpha[c, t] + gamma[taps[0], c, t]
                                            + gamma[taps[1], c, t] + gamma[taps[2], c, t])
                    if slot < n_padded[i] or length <= 2 * pad:
                        start, stop = 0, length
                    else:
                        start, stop = pad, length - pad
                    base = offsets[i] + slot * share
                    for q in range(share):
                        b = biases[i, k, q]
                        count = 0
                        for t in range(start, stop):
                            if conv[t] > b:
                                count += 1
                        out[s, base + q] = count / (stop - start)
                    if with_max:
                        top = conv[0]
                        for t in range(1, length):
                            if conv[t] > top:
                                top = conv[t]
                        out[s, n_ppv + i * NUM_KERNELS + k] = top
        return out

    return run
