"""`ResidualSpace`: residual conv stacks, the family of ResNets (images) and TCNs (sequences).

The network is a stem (3-wide conv, BN, ReLU with `width` channels), then
`num_blocks` basic residual blocks (conv-BN-ReLU-conv-BN plus a shortcut, then
ReLU; the shortcut is a 1-wide conv + BN when the shape changes), then global
average pooling and dropout before the head.

Reductions (`downsample="by_size"`) are placed by the input's size, not by a
fixed count (28x28 images: one, 32x32: two; sequences of 40: none, 1,000:
four): the stride-2 blocks, their widths and dilations and the stem's pool are
what `ResidualEncoding.plan(arch, input_shape)` says. That rule lives in the
Keras-free encoding, where its docstring states it, so drawings show exactly
the reductions a model makes.

`hand_designs()` lists the designs a practitioner writes first (a TCN with
1-2-4-8 dilations twice for sequences, a small ResNet for images); the
one-liner evaluates them before searching.
"""

from __future__ import annotations

import contextlib

import keras

from kerasnas.spaces.base import NASHyperModel
from kerasnas.spaces.encodings import ResidualEncoding
from kerasnas.spaces.ops import batch_norm, layer_class

#: Smallest image side a reduction may produce (the rule's home: `ResidualEncoding`).
IMAGE_MIN_SIDE = ResidualEncoding.IMAGE_MIN_SIDE
#: Shortest sequence a reduction may produce (the rule's home: `ResidualEncoding`).
SEQUENCE_MIN_LENGTH = ResidualEncoding.SEQUENCE_MIN_LENGTH

_SEQUENCE_DESIGNS = (
    # The dilated residual TCN of the issue that motivated this space: 8 blocks of 64
    # channels, dilations 1-2-4-8 twice, full resolution.
    "8x64 k3 dilation=exponential downsample=none dropout=0.0",
    "4x32 k5 dilation=exponential downsample=by_size dropout=0.1",
)
_IMAGE_DESIGNS = (
    "4x32 k3 dilation=none downsample=by_size dropout=0.0",  # a small ResNet
    "2x64 k3 dilation=none downsample=by_size dropout=0.3",  # a wide shallow CNN
)


class ResidualSpace(NASHyperModel):
    """Residual conv stacks over images `(H, W, C)` and sequences `(L, C)`.

    Args:
        input_shape: `(height, width, channels)` or `(length, channels)`.
        num_classes: See `NASHyperModel` (default None: regression).
        blocks, widths, kernels, dilations, downsamples, dropouts: The
            candidate values; see `ResidualEncoding` for their defaults.
        **kwargs: `output_dim`, `optimizer`, `learning_rate`, `preprocessing`,
            `name`; see `NASHyperModel`.

    Example:

    >>> from kerasnas.spaces import ResidualSpace
    >>> space = ResidualSpace((40, 1), num_classes=10)
    >>> space.num_reductions(), len(space.hand_designs())
    (0, 2)
    >>> model = space.build_architecture(space.hand_designs()[0])
    """

    input_ranks = (2, 3)
    FIDELITY_KNOBS = ("width",)

    def __init__(self, input_shape, num_classes=None, *, blocks=(2, 4, 6, 8),
                 widths=(16, 32, 64), kernels=(3, 5, 7), dilations=("none", "exponential"),
                 downsamples=("by_size", "none"), dropouts=(0.0, 0.1, 0.3), **kwargs):
        super().__init__(input_shape, num_classes, blocks=blocks, widths=widths,
                         kernels=kernels, dilations=dilations, downsamples=downsamples,
                         dropouts=dropouts, **kwargs)

    def make_encoding(self, **space_args):
        for name in ("blocks", "widths", "kernels"):
            values = space_args[name]
            if not values or any(isinstance(v, bool) or int(v) != v or v < 1 for v in values):
                raise ValueError(f"{name} must list positive ints; got {values!r}.")
        dropouts = space_args["dropouts"]
        if not dropouts or any(not 0.0 <= float(d) < 1.0 for d in dropouts):
            raise ValueError(f"dropouts must be rates in [0, 1); got {dropouts!r}.")
        return ResidualEncoding(**space_args)

    def num_reductions(self) -> int:
        """Stride-2 reductions `downsample="by_size"` applies to this input."""
        return ResidualEncoding.num_reductions(self.input_shape)

    def hand_designs(self) -> list:
        """Known-good architectures of this space for this input, cheapest-first order aside."""
        return self.designs_in_space(_SEQUENCE_DESIGNS if self.spatial_rank == 1
                                     else _IMAGE_DESIGNS)

    def build_body(self, x, arch):
        plan = self.encoding.plan(arch, reductions=self.num_reductions())
        return residual_stack(x, arch, plan, self.scaled_width, self.spatial_rank)


def residual_stack(x, arch, plan, width_of, spatial_rank, *, stem_scope="stem"):
    """The residual network's body on `x`, up to the head: what `ResidualSpace` and
    `SeriesSpace`'s residual family build.

    A stem (3-wide conv without bias, BN, ReLU; then a stride-`plan.stem_pool`
    max-pool when the plan pools), `arch["num_blocks"]` `residual_block`s (stride 2
    at `plan.strided`, widths and dilations from `plan`), global average pooling
    and, when `arch["dropout"] > 0`, dropout. Convolutions and the stem pool
    follow `x`'s rank (1D or 2D); the global pool follows `spatial_rank`.

    Args:
        x: The preprocessed input tensor, `(N, L, C)` or `(N, H, W, C)`.
        arch: The architecture: `width`, `num_blocks`, `kernel`, `dropout`.
        plan: `ResidualEncoding.plan(arch, ...)`'s `ResidualPlan` for this input.
        width_of: Maps a nominal width to the channels built (the space's
            `scaled_width`, which applies the search's width fidelity).
        spatial_rank: 1 (sequences) or 2 (images): which global pool ends the body.
        stem_scope: Name scope of the stem's layers (their variables' paths), or None
            for none (`SeriesSpace`'s models have always been built without it).

    Returns:
        The pooled `(N, channels)` features.
    """
    with keras.name_scope(stem_scope) if stem_scope else contextlib.nullcontext():
        x = layer_class(x, "conv")(width_of(arch["width"]), 3, padding="same",
                                   use_bias=False)(x)
        x = keras.layers.ReLU()(batch_norm(x))
        if plan.stem_pool > 1:
            x = layer_class(x, "max")(plan.stem_pool, strides=plan.stem_pool,
                                      padding="same")(x)
    for i in range(arch["num_blocks"]):
        stride = 2 if i in plan.strided else 1
        with keras.name_scope(f"block{i}"):
            x = residual_block(x, width_of(plan.widths[i]), arch["kernel"], stride,
                               plan.dilations[i])
    pool = (keras.layers.GlobalAveragePooling1D if spatial_rank == 1
            else keras.layers.GlobalAveragePooling2D)
    x = pool()(x)
    if arch["dropout"] > 0:
        x = keras.layers.Dropout(arch["dropout"])(x)
    return x


def residual_block(x, width, kernel, stride, dilation):
    """A basic residual block: conv-BN-ReLU-conv-BN plus a shortcut (1-wide conv + BN when
    the shape changes), then ReLU (`residual_stack`'s blocks)."""
    conv = layer_class(x, "conv")
    y = conv(width, kernel, strides=stride, dilation_rate=1 if stride > 1 else dilation,
             padding="same", use_bias=False)(x)
    y = keras.layers.ReLU()(batch_norm(y))
    y = conv(width, kernel, dilation_rate=dilation, padding="same", use_bias=False)(y)
    y = batch_norm(y)
    shortcut = x
    if stride > 1 or x.shape[-1] != width:
        shortcut = batch_norm(conv(width, 1, strides=stride, use_bias=False)(x))
    return keras.layers.ReLU()(keras.layers.Add()([y, shortcut]))
