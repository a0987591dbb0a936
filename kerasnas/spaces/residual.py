"""`ResidualSpace`: residual conv stacks, the family of ResNets (images) and TCNs (sequences).

The network is a stem (3-wide conv, BN, ReLU with `width` channels), then
`num_blocks` basic residual blocks (conv-BN-ReLU-conv-BN plus a shortcut, then
ReLU; the shortcut is a 1-wide conv + BN when the shape changes), then global
average pooling and dropout before the head.

Reductions (`downsample="by_size"`) are placed by the input's size, not by a
fixed count: an image is halved while its smaller side stays at least
`IMAGE_MIN_SIDE` = 8 after halving (8x8: none, 28x28: one, 32x32: two), a
sequence while its length stays at least `SEQUENCE_MIN_LENGTH` = 32 (40: none,
so short signals are never downsampled early; 1,000: four). The stride-2
blocks are spread evenly over the stack; reductions beyond the number of
blocks become a max-pool in the stem. Each reduction doubles the width (up to
4x the first stage's). With `dilation="exponential"`, block `i` dilates its
convs by `2 ** (i % 4)` (a strided conv is never dilated: Keras cannot do both).

`hand_designs()` lists the designs a practitioner writes first (a TCN with
1-2-4-8 dilations twice for sequences, a small ResNet for images); the
one-liner evaluates them before searching.
"""

from __future__ import annotations

import math

import keras

from kerasnas.spaces.base import NASHyperModel
from kerasnas.spaces.encodings import ResidualEncoding
from kerasnas.spaces.ops import batch_norm, layer_class

#: Smallest image side a reduction may produce.
IMAGE_MIN_SIDE = 8
#: Shortest sequence a reduction may produce.
SEQUENCE_MIN_LENGTH = 32

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
        spatial = self.input_shape[:-1]
        floor = IMAGE_MIN_SIDE if len(spatial) == 2 else SEQUENCE_MIN_LENGTH
        side = min(spatial)
        return max(0, int(math.floor(math.log2(side / floor)))) if side >= floor else 0

    def hand_designs(self) -> list:
        """Known-good architectures of this space for this input, cheapest-first order aside."""
        texts = _SEQUENCE_DESIGNS if self.spatial_rank == 1 else _IMAGE_DESIGNS
        designs = []
        for text in texts:
            try:
                designs.append(self.encoding.from_string(text))
            except ValueError:  # the user narrowed the space: that design is not in it
                pass
        return designs

    def build_body(self, x, arch):
        n = arch["num_blocks"]
        reductions = self.num_reductions() if arch["downsample"] == "by_size" else 0
        in_blocks = min(reductions, n)
        strided = {(k * n) // (in_blocks + 1) for k in range(1, in_blocks + 1)}
        with keras.name_scope("stem"):
            x = layer_class(x, "conv")(self.scaled_width(arch["width"]), 3, padding="same",
                                       use_bias=False)(x)
            x = keras.layers.ReLU()(batch_norm(x))
            if reductions > in_blocks:
                factor = 2 ** (reductions - in_blocks)
                x = layer_class(x, "max")(factor, strides=factor, padding="same")(x)
        width, done = arch["width"], 0
        for i in range(n):
            stride = 2 if i in strided else 1
            if stride == 2:
                done += 1
                width = arch["width"] * min(2 ** done, 4)
            dilation = 2 ** (i % 4) if arch["dilation"] == "exponential" else 1
            with keras.name_scope(f"block{i}"):
                x = _residual_block(x, self.scaled_width(width), arch["kernel"], stride, dilation)
        pool = (keras.layers.GlobalAveragePooling1D if self.spatial_rank == 1
                else keras.layers.GlobalAveragePooling2D)
        x = pool()(x)
        if arch["dropout"] > 0:
            x = keras.layers.Dropout(arch["dropout"])(x)
        return x


def _residual_block(x, width, kernel, stride, dilation):
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
