"""Small custom Keras layers used by the operation registry.

Everything else in the search spaces is built from standard Keras layers, so
that `count_flops` can read shapes and kernels straight from the model. The
layers here have no weights, work on 1D `(N, L, C)` and 2D `(N, H, W, C)`
tensors alike, and are registered for `.keras` saving under the `kerasnas`
package.
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
