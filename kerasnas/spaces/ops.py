"""The operation registry: named DARTS / NAS-Bench-201 operations for 1D and 2D tensors.

`apply_op(name, x, filters, stride)` adds one operation to a functional Keras
graph and returns its output. The rank is read from `x`: `(N, L, C)` inputs get
`Conv1D`-style layers, `(N, H, W, C)` inputs `Conv2D`-style ones. Every
operation returns `filters` channels and, at `stride=2`, `ceil(L / 2)` positions
along each spatial axis (all layers use `padding="same"`).

Operations (the names DARTS and NAS-Bench-201 use):

* `conv_1x1`, `conv_3x3`, `conv_5x5`, and NB201's `nor_conv_1x1`,
  `nor_conv_3x3`: ReLU-Conv-BN.
* `sep_conv_3x3`, `sep_conv_5x5`: DARTS's separable convolution, two stacked
  ReLU-SeparableConv-BN (the first one strided, keeping the input width).
* `dil_conv_3x3`, `dil_conv_5x5`: ReLU-SeparableConv(dilation 2)-BN. Keras
  forbids a stride above 1 together with dilation, so at `stride=2` the
  convolution runs at stride 1 and `Subsample` keeps every second position.
* `max_pool_3x3`, `max_pool_5x5`, `avg_pool_3x3`, `avg_pool_5x5`: pooling
  (averages exclude the padding, like NB201's `count_include_pad=False`).
  Pools keep the channel count; when `filters` differs, a 1x1 ReLU-Conv-BN
  projection follows.
* `skip_connect`: identity; `FactorizedReduce` at `stride=2`; a 1x1
  ReLU-Conv-BN when only the width changes.
* `none`: the zero operation (`Zero` layer), strided and resized like the others.

New operations are added with `register_op`.

Example:

>>> import keras
>>> from kerasnas.spaces.ops import apply_op
>>> x = keras.Input((8, 8, 4))
>>> apply_op("sep_conv_3x3", x, filters=8, stride=2).shape
(None, 4, 4, 8)
>>> apply_op("max_pool_3x3", keras.Input((16, 4)), filters=4).shape
(None, 16, 4)
"""

from __future__ import annotations

import numbers
from typing import Callable

import keras

from kerasnas.spaces.layers import Subsample, Zero

#: BatchNormalization settings of every op (PyTorch's defaults, as in DARTS and NB201;
#: Keras's momentum of 0.99 adapts too slowly for the short trainings of a search).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

OpBuilder = Callable[[keras.KerasTensor, int, int], keras.KerasTensor]

#: Registered operations: name -> builder `(x, filters, stride) -> output tensor`.
OPS: dict[str, OpBuilder] = {}

_LAYERS = {
    1: {"conv": keras.layers.Conv1D, "sep": keras.layers.SeparableConv1D,
        "max": keras.layers.MaxPooling1D, "avg": keras.layers.AveragePooling1D,
        "pad": lambda: keras.layers.ZeroPadding1D((0, 1)),
        "crop": lambda: keras.layers.Cropping1D((1, 0))},
    2: {"conv": keras.layers.Conv2D, "sep": keras.layers.SeparableConv2D,
        "max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D,
        "pad": lambda: keras.layers.ZeroPadding2D(((0, 1), (0, 1))),
        "crop": lambda: keras.layers.Cropping2D(((1, 0), (1, 0)))},
}


def register_op(name: str, builder: OpBuilder | None = None, *, overwrite: bool = False):
    """Adds an operation to `OPS`; usable as a decorator.

    Args:
        name: The op's name, as used in encodings (e.g. `"conv_7x7"`).
        builder: `builder(x, filters, stride) -> tensor`; it must return
            `filters` channels and `ceil(L / stride)` positions per spatial axis.
            Default None: return a decorator.
        overwrite: Replace an existing op of that name (default False).

    Returns:
        `builder` (or the decorator).

    Example:

    >>> import keras
    >>> @register_op("gelu_conv_3x3")
    ... def gelu_conv(x, filters, stride):
    ...     return conv_layer(x, filters, 3, stride, activation="gelu")
    >>> apply_op("gelu_conv_3x3", keras.Input((16, 2)), 4).shape
    (None, 16, 4)
    """
    if builder is None:
        return lambda fn: register_op(name, fn, overwrite=overwrite)
    if not isinstance(name, str) or not name:
        raise TypeError(f"Op name must be a non-empty str, got {name!r}.")
    if not callable(builder):
        raise TypeError(f"Builder of op {name!r} must be callable, got {builder!r}.")
    if name in OPS and not overwrite:
        raise ValueError(f"Op {name!r} is already registered; pass overwrite=True to replace it.")
    OPS[name] = builder
    return builder


def apply_op(name: str, x, filters: int | None = None, stride: int = 1):
    """Applies the registered op `name` to `x`.

    Args:
        name: A key of `OPS`.
        x: A `(N, L, C)` or `(N, H, W, C)` Keras tensor.
        filters: Output channels (default None: the input's channels).
        stride: 1, or 2 to halve every spatial axis (default 1).

    Returns:
        The op's output tensor.

    Raises:
        ValueError: For an unknown op, a bad rank, filters or stride.
    """
    if name not in OPS:
        raise ValueError(f"Unknown op {name!r}; registered ops: {sorted(OPS)}. "
                         "Add new ones with kerasnas.spaces.ops.register_op.")
    spatial_rank(x)  # validates the rank before any layer is created
    filters = x.shape[-1] if filters is None else _positive_int(filters, "filters")
    if stride not in (1, 2) or isinstance(stride, bool):
        raise ValueError(f"stride must be 1 or 2, got {stride!r}.")
    return OPS[name](x, int(filters), int(stride))


def spatial_rank(x) -> int:
    """1 for `(N, L, C)` tensors, 2 for `(N, H, W, C)` ones (else `ValueError`)."""
    rank = len(x.shape) - 2
    if rank not in _LAYERS:
        raise ValueError(f"Ops need a 1D (batch, length, channels) or 2D (batch, height, width, "
                         f"channels) tensor; got shape {tuple(x.shape)}.")
    return rank


def check_ops(names) -> tuple[str, ...]:
    """`tuple(names)` if every name is a registered op, else a `ValueError` listing the unknown."""
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [n for n in names if n not in OPS]
    if unknown or not names:
        raise ValueError(f"Unknown ops {unknown or names}; registered ops: {sorted(OPS)}. "
                         "Add new ones with kerasnas.spaces.ops.register_op.")
    return names


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}.")
    return int(value)


def layer_class(x, kind: str):
    """The Keras layer class of `kind` ("conv", "sep", "max", "avg") for `x`'s rank."""
    return _LAYERS[spatial_rank(x)][kind]


def batch_norm(x):
    """BatchNormalization with the registry's settings."""
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON)(x)


def conv_layer(x, filters, kernel_size=1, stride=1, dilation=1, activation="relu"):
    """Activation-Conv-BN (ReLU by default), the building block of the conv ops."""
    x = keras.layers.Activation(activation)(x)
    x = layer_class(x, "conv")(int(filters), int(kernel_size), strides=int(stride),
                          dilation_rate=int(dilation), padding="same", use_bias=False)(x)
    return batch_norm(x)


def relu_conv_bn(x, filters, kernel_size=1, stride=1):
    """ReLU-Conv-BN, used by the ops and by the spaces' 1x1 projections."""
    return conv_layer(x, filters, kernel_size, stride)


def project(x, filters):
    """`x` unchanged if it has `filters` channels, else a 1x1 ReLU-Conv-BN to `filters`."""
    return x if x.shape[-1] == filters else relu_conv_bn(x, filters, 1)


def factorized_reduce(x, filters):
    """DARTS's FactorizedReduce: halves the resolution without discarding positions.

    Two 1x1 stride-2 convolutions, one on `x` and one on `x` shifted by one
    position (so together they see every position), are concatenated and
    batch-normalised. Here the shift pads one zero at the end and crops the
    first position, which keeps both halves at `ceil(L / 2)` for odd sizes too.
    """
    conv = layer_class(x, "conv")
    x = keras.layers.Activation("relu")(x)
    shifted = layer_class(x, "crop")()(layer_class(x, "pad")()(x))
    half = filters // 2
    a = conv(half, 1, strides=2, padding="same", use_bias=False)(x)
    b = conv(filters - half, 1, strides=2, padding="same", use_bias=False)(shifted)
    return batch_norm(keras.layers.Concatenate()([a, b]))


def sep_conv(x, filters, kernel_size, stride):
    """DARTS's SepConv: (ReLU-SeparableConv-BN) twice; only the first is strided."""
    sep = layer_class(x, "sep")
    channels = x.shape[-1]
    x = keras.layers.Activation("relu")(x)
    x = sep(int(channels), int(kernel_size), strides=stride, padding="same", use_bias=False)(x)
    x = keras.layers.Activation("relu")(batch_norm(x))
    x = sep(int(filters), int(kernel_size), padding="same", use_bias=False)(x)
    return batch_norm(x)


def dil_conv(x, filters, kernel_size, stride, dilation=2):
    """DARTS's DilConv: ReLU-SeparableConv(dilated)-BN, subsampled at stride 2."""
    x = keras.layers.Activation("relu")(x)
    x = layer_class(x, "sep")(int(filters), int(kernel_size), dilation_rate=int(dilation),
                         padding="same", use_bias=False)(x)
    if stride > 1:
        x = Subsample(int(stride))(x)
    return batch_norm(x)


def pool(x, filters, kind, size, stride):
    """Max or average pooling (`kind` "max"/"avg"), projected when `filters` differs."""
    x = layer_class(x, kind)(int(size), strides=int(stride), padding="same")(x)
    return project(x, filters)


def skip_connect(x, filters, stride):
    """Identity; FactorizedReduce at stride 2; 1x1 ReLU-Conv-BN if only the width changes."""
    if stride > 1:
        return factorized_reduce(x, filters)
    return project(x, filters)


def zero(x, filters, stride):
    """The `none` op: a `Zero` layer."""
    return Zero(filters=int(filters), stride=int(stride))(x)


def _register_defaults():
    for k in (1, 3, 5):
        register_op(f"conv_{k}x{k}", lambda x, f, s, k=k: relu_conv_bn(x, f, k, s))
    for k in (1, 3):
        register_op(f"nor_conv_{k}x{k}", lambda x, f, s, k=k: relu_conv_bn(x, f, k, s))
    for k in (3, 5):
        register_op(f"sep_conv_{k}x{k}", lambda x, f, s, k=k: sep_conv(x, f, k, s))
        register_op(f"dil_conv_{k}x{k}", lambda x, f, s, k=k: dil_conv(x, f, k, s))
        register_op(f"max_pool_{k}x{k}", lambda x, f, s, k=k: pool(x, f, "max", k, s))
        register_op(f"avg_pool_{k}x{k}", lambda x, f, s, k=k: pool(x, f, "avg", k, s))
    register_op("skip_connect", skip_connect)
    register_op("none", zero)


_register_defaults()
