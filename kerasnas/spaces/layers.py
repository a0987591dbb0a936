"""Small custom Keras layers used by the operation registry.

Everything else in the search spaces is built from standard Keras layers, so
that `count_flops` can read shapes and kernels straight from the model. The
layers here have no weights, work on 1D `(N, L, C)` and 2D `(N, H, W, C)`
tensors alike, and are registered for `.keras` saving under the `kerasnas`
package.

`ResampleSeries` and `PadSeries` are not operations: they sit in front of the
model a search on unequal-length series returns (`kerasnas.data.ragged`) and
bring a NaN-tailed batch of any length to the training length.
"""

import keras
from keras import ops


def _check_stride(stride):
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}.")
    return stride


def _subsample(x, stride):
    """`x` with every `stride`-th position kept along each spatial axis."""
    if stride == 1:
        return x
    if len(x.shape) == 3:
        return x[:, ::stride, :]
    if len(x.shape) == 4:
        return x[:, ::stride, ::stride, :]
    raise ValueError(f"Expected a 1D (N, L, C) or 2D (N, H, W, C) tensor, got shape {x.shape}.")


def _strided_length(length, stride):
    return None if length is None else -(-length // stride)  # ceil, like padding="same"


@keras.saving.register_keras_serializable(package="kerasnas")
class Subsample(keras.layers.Layer):
    """Keeps every `stride`-th position along the spatial axes (positions 0, s, 2s, ...).

    The output length is `ceil(L / stride)`, the same as a strided layer with
    `padding="same"`. Used to emulate strided dilated convolutions, which Keras
    does not allow.

    Args:
        stride: Step along every spatial axis (default 2).

    Example:

    >>> import numpy as np
    >>> tuple(Subsample(2)(np.zeros((1, 5, 5, 3), "float32")).shape)
    (1, 3, 3, 3)
    """

    def __init__(self, stride=2, **kwargs):
        super().__init__(**kwargs)
        self.stride = _check_stride(stride)

    def call(self, inputs):
        return _subsample(inputs, self.stride)

    def compute_output_shape(self, input_shape):
        spatial = [_strided_length(d, self.stride) for d in input_shape[1:-1]]
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="kerasnas")
class Zero(keras.layers.Layer):
    """The `none` operation: zeros shaped like a strided op with `filters` channels.

    Args:
        filters: Output channels (default None: as many as the input).
        stride: Spatial stride (default 1); the output length is `ceil(L / stride)`.

    Example:

    >>> import numpy as np
    >>> tuple(Zero(filters=8, stride=2)(np.ones((1, 4, 4, 3), "float32")).shape)
    (1, 2, 2, 8)
    """

    def __init__(self, filters=None, stride=1, **kwargs):
        super().__init__(**kwargs)
        if filters is not None and (isinstance(filters, bool) or not isinstance(filters, int)
                                    or filters < 1):
            raise ValueError(f"filters must be a positive int or None, got {filters!r}.")
        self.filters = filters
        self.stride = _check_stride(stride)

    def call(self, inputs):
        # A multiplication by 0 rather than `zeros_like`: TFLite has an int8 kernel for MUL but
        # not for ZEROS_LIKE, so this keeps a full-integer model integer throughout.
        zeros = ops.multiply(_subsample(inputs, self.stride), 0.0)
        if self.filters is None or self.filters == inputs.shape[-1]:
            return zeros
        # Broadcasting one zero channel against `filters` ones changes the width.
        return zeros[..., :1] * ops.ones((self.filters,), dtype=zeros.dtype)

    def compute_output_shape(self, input_shape):
        spatial = [_strided_length(d, self.stride) for d in input_shape[1:-1]]
        channels = input_shape[-1] if self.filters is None else self.filters
        return (input_shape[0], *spatial, channels)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}


# ------------------------------------------------------------------ unequal-length series
# The result of a search on unequal-length series (`kerasnas.data.ragged`) takes a batch
# `(N, T, C)` of any length T, each series padded with NaN after its end; one of these two
# layers turns it into the fixed `(N, L_max, C)` the searched model was trained on, exactly as
# `kerasnas.data.ragged.resample` / `pad` did for the training data.


def series_lengths(x):
    """`(N,)` int32 true lengths of a `(N, T, C)` batch whose series end in a NaN tail.

    A series' length is one past its last time step with any non-NaN value (0 for an
    all-NaN row); NaNs before that are part of the series (they reach the output).
    """
    steps = ops.shape(x)[1]
    valid = ops.any(ops.logical_not(ops.isnan(x)), axis=-1)  # (N, T)
    positions = ops.arange(1, steps + 1, dtype="int32")
    return ops.max(ops.where(valid, positions[None, :], 0), axis=1)


def _check_length(length):
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int (the training series' length), "
                         f"got {length!r}.")
    return length


def _gather_steps(x, index):
    """`x[b, index[b, j], :]` for a `(N, T, C)` x and an int `(N, J)` index: `(N, J, C)`."""
    index = ops.broadcast_to(index[:, :, None], (ops.shape(x)[0], ops.shape(index)[1],
                                                 ops.shape(x)[2]))
    return ops.take_along_axis(x, index, axis=1)


@keras.saving.register_keras_serializable(package="kerasnas")
class ResampleSeries(keras.layers.Layer):
    """Each series of a NaN-tailed batch linearly resampled to `length` time steps.

    Input `(N, T, C)` with any T: series `i` is its first `n_i` steps (the rest is NaN,
    see `series_lengths`). Output `(N, length, C)`: step `j` is the linear interpolation of
    the series at position `j * (n_i - 1) / (length - 1)`, so the first and last steps are
    kept and a series of `length` steps is unchanged. Longer series are resampled down,
    shorter ones up; a series of one step is repeated. Equal to
    `kerasnas.data.ragged.resample` (float32 rounding apart).

    Args:
        length: The output length (the longest training series, `L_max`).

    Example:

    >>> import numpy as np
    >>> batch = np.array([[[0.0], [1.0], [2.0]], [[0.0], [4.0], [np.nan]]], "float32")
    >>> ResampleSeries(5)(batch).numpy()[..., 0].tolist()
    [[0.0, 0.5, 1.0, 1.5, 2.0], [0.0, 1.0, 2.0, 3.0, 4.0]]
    """

    def __init__(self, length, **kwargs):
        super().__init__(**kwargs)
        self.length = _check_length(length)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        last = ops.maximum(series_lengths(x), 1) - 1                      # (N,)
        step = ops.cast(last, "float32") / float(max(self.length - 1, 1))
        positions = ops.arange(self.length, dtype="float32")[None, :] * step[:, None]
        low = ops.floor(positions)
        weight = (positions - low)[:, :, None]
        low = ops.minimum(ops.cast(low, "int32"), last[:, None])
        high = ops.minimum(low + 1, last[:, None])
        out = _gather_steps(x, low) * (1.0 - weight) + _gather_steps(x, high) * weight
        return ops.reshape(out, (-1, self.length, inputs.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.length, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "length": self.length}


@keras.saving.register_keras_serializable(package="kerasnas")
class PadSeries(keras.layers.Layer):
    """Each series of a NaN-tailed batch padded at its end (or cropped) to `length` steps.

    Input `(N, T, C)` with any T: series `i` is its first `n_i` steps (the rest is NaN,
    see `series_lengths`). Output `(N, length, C)`: the series' steps, then `values`
    (one per channel; kerasnas uses the training series' channel means, which the model's
    normalisation maps to 0) up to `length`. A series longer than `length` is cropped to its
    first `length` steps. Equal to `kerasnas.data.ragged.pad`.

    Args:
        length: The output length (the longest training series, `L_max`).
        values: The padding value of each channel, or one number for all (default 0.0).

    Example:

    >>> import numpy as np
    >>> batch = np.array([[[1.0], [2.0], [np.nan]]], "float32")
    >>> PadSeries(4, values=[9.0])(batch).numpy()[..., 0].tolist()
    [[1.0, 2.0, 9.0, 9.0]]
    """

    def __init__(self, length, values=0.0, **kwargs):
        super().__init__(**kwargs)
        self.length = _check_length(length)
        if isinstance(values, (int, float)) and not isinstance(values, bool):
            values = [float(values)]
        self.values = [float(v) for v in values]

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        channels = inputs.shape[-1]
        lengths = series_lengths(x)
        tail = ops.full((ops.shape(x)[0], self.length, ops.shape(x)[2]), float("nan"))
        x = ops.concatenate([x, tail], axis=1)[:, :self.length]
        inside = ops.arange(self.length, dtype="int32")[None, :] < lengths[:, None]
        fill = ops.convert_to_tensor(self.values, "float32")
        out = ops.where(inside[:, :, None], x, ops.zeros_like(x) + fill)
        return ops.reshape(out, (-1, self.length, channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.length, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "length": self.length, "values": self.values}
