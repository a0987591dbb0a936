"""`MnasSpace`: MnasNet's factorized hierarchical search space, for images and sequences.

Tan et al. (2019, "MnasNet: Platform-Aware Neural Architecture Search for
Mobile") split a mobile network into `B` blocks and search each block's own
layer: the convolution (regular conv, depthwise-separable conv, or MobileNetV2's
inverted bottleneck MBConv with expansion 1 / 3 / 6), its kernel size (3 / 5),
squeeze-and-excitation, an identity residual, the number of layers `N_i` and
the width (0.75 / 1.0 / 1.25 of the block's base width). The decisions and
their rules are `MnasEncoding`'s (Keras-free); this module builds them:

* stem: 3-wide conv (stride 2 where the input is large enough), BN, ReLU;
* per block `i`, `N_i` copies of its layer, the first one with the block's
  stride (`MnasEncoding.strides`: reductions placed by the input's size);
  `mbconv` = 1x1 expand to `e x C_in` -> BN -> ReLU -> depthwise k -> BN ->
  ReLU -> [SE] -> 1x1 linear projection -> BN; `sep_conv` = depthwise k -> BN
  -> ReLU -> [SE] -> 1x1 projection -> BN; `conv` = k conv -> BN -> ReLU ->
  [SE]; the skip adds the layer's input where the shapes agree;
* SE = global average pool -> Dense(`max(1, int(0.25 C_in))`, ReLU) ->
  Dense(channels, sigmoid) -> reshape -> multiply;
* global average pooling, then the head.

Everything is ReLU, sigmoid, convolutions, means, adds and multiplies, so every
model converts to a fully integer int8 TFLite model (tested in
`tests/test_hardware.py`; hard-swish, MobileNetV3's activation, is left out).
No 1x1 "head" conv to 1,280 channels before the pool: on the small inputs of
this package it would be most of a model's latency and parameters.

`hand_designs()` are MobileNetV2's and MnasNet-A1's block patterns cut to the
space's number of blocks; the one-liner evaluates them first.

Example:

>>> from kerasnas.spaces import MnasSpace
>>> space = MnasSpace((8, 8, 1), num_classes=10)
>>> space.encoding.strides()                      # 8x8: one reduction, in block 3
(1, (1, 1, 1, 2))
>>> mobilenet, a1 = space.hand_designs()
>>> str(a1).split(" | ")[2]
'mbconv3 k5 x3 w1.25 se skip'
>>> model = space.build_architecture(a1)
"""

from __future__ import annotations

import numbers

import keras

from kerasnas.spaces.base import NASHyperModel
from kerasnas.spaces.encodings import MnasEncoding
from kerasnas.spaces.ops import batch_norm, spatial_rank

#: MobileNetV2's seven bottleneck stages (Sandler et al., 2018, Table 2) as `(op, expansion t,
#: kernel, layers n)`; every layer takes the identity residual where its shapes allow.
MOBILENET_V2_BLOCKS = (("mbconv", 1, 3, 1), ("mbconv", 6, 3, 2), ("mbconv", 6, 3, 3),
                       ("mbconv", 6, 3, 4), ("mbconv", 6, 3, 3), ("mbconv", 6, 3, 3),
                       ("mbconv", 6, 3, 1))
#: MnasNet-A1's seven blocks (Tan et al., 2019, Figure 7; `mnasnet_a1` of the paper's code) as
#: `(op, expansion, kernel, layers, SE, width ratio)`: SepConv k3; MBConv6 k3 x2; MBConv3 k5 SE
#: x3; MBConv6 k3 x4; MBConv6 k3 SE x2; MBConv6 k5 SE x3; MBConv6 k3. Its widths 16-24-40-80-
#: 112-160-320 are MobileNetV2's 16-24-32-64-96-160-320 at ratios 1, 1, 1.25, 1.25, 1.25
#: (112 / 96 = 1.17, the nearest ratio), 1, 1.
MNASNET_A1_BLOCKS = (("sep_conv", 1, 3, 1, False, 1.0), ("mbconv", 6, 3, 2, False, 1.0),
                     ("mbconv", 3, 5, 3, True, 1.25), ("mbconv", 6, 3, 4, False, 1.25),
                     ("mbconv", 6, 3, 2, True, 1.25), ("mbconv", 6, 5, 3, True, 1.0),
                     ("mbconv", 6, 3, 1, False, 1.0))

#: Initial bias of both SE Dense layers: the bottleneck's ReLU units start on, the gates at
#: sigmoid(1) = 0.73. With Keras's zero biases, an untrained SE whose few bottleneck units are
#: all off for the calibration data passes on a constant 0, which int8 calibration gives a scale
#: of about 1e-9; XNNPACK then refuses the model ("failed to prepare"), so its latency cannot be
#: measured before training (seen in 3-5 of 8-10 untrained models with 2-unit bottlenecks).
SE_BIAS = 1.0

_LAYERS = {
    1: {"conv": keras.layers.Conv1D, "depthwise": keras.layers.DepthwiseConv1D,
        "pool": keras.layers.GlobalAveragePooling1D},
    2: {"conv": keras.layers.Conv2D, "depthwise": keras.layers.DepthwiseConv2D,
        "pool": keras.layers.GlobalAveragePooling2D},
}


class MnasSpace(NASHyperModel):
    """MnasNet's per-block search space over images `(H, W, C)` and sequences `(L, C)`.

    Args:
        input_shape: `(height, width, channels)` or `(length, channels)`.
        num_classes: See `NASHyperModel` (default None: regression).
        num_blocks: Blocks `B` (default `MnasEncoding.DEFAULT_NUM_BLOCKS` = 4;
            MnasNet's 7, with `base_widths=MOBILENET_V2_WIDTHS` and
            `stem_width=32`, suit inputs of about 224 px).
        ops, expansions, kernels, squeeze_excite, skips, layers,
            width_ratios, base_widths, stem_width: The candidate values;
            see `MnasEncoding` for their defaults.
        **kwargs: `output_dim`, `optimizer`, `learning_rate`, `preprocessing`,
            `name`; see `NASHyperModel`.

    Example:

    >>> from kerasnas.spaces import MnasSpace
    >>> space = MnasSpace((40, 3), num_classes=4, num_blocks=3)
    >>> space.encoding.reductions, space.encoding.strides()
    (2, (1, (1, 2, 2)))
    >>> arch = space.encoding.from_string("conv k5 x1 w1 | sep_conv k3 x2 w0.75 se skip | "
    ...                                   "mbconv6 k3 x1 w1")
    >>> space.build_architecture(arch).output_shape
    (None, 4)
    """

    input_ranks = (2, 3)
    FIDELITY_KNOBS = ("width",)

    def __init__(self, input_shape, num_classes=None, *,
                 num_blocks=MnasEncoding.DEFAULT_NUM_BLOCKS, ops=None, expansions=None,
                 kernels=None, squeeze_excite=None, skips=None, layers=None, width_ratios=None,
                 base_widths=None, stem_width=MnasEncoding.DEFAULT_STEM_WIDTH, **kwargs):
        choices = {"ops": ops, "expansions": expansions, "kernels": kernels,
                   "squeeze_excite": squeeze_excite, "skips": skips, "layers": layers,
                   "width_ratios": width_ratios, "base_widths": base_widths}
        # Only the values given travel (None: MnasEncoding's default), so get_config stays short.
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in choices.items()
                 if v is not None}
        super().__init__(input_shape, num_classes, num_blocks=num_blocks, stem_width=stem_width,
                         **given, **kwargs)

    def make_encoding(self, *, num_blocks, stem_width, **choices):
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, numbers.Integral) \
                or not 1 <= num_blocks <= MnasEncoding.MAX_BLOCKS:
            raise ValueError(f"num_blocks must be an int from 1 to {MnasEncoding.MAX_BLOCKS} "
                             f"(MnasNet's seven-stage layout); got {num_blocks!r}.")
        reductions = MnasEncoding.num_reductions(self.input_shape, int(num_blocks))
        return MnasEncoding(num_blocks=int(num_blocks), stem_width=stem_width, reductions=reductions,
                            **choices)

    def num_reductions(self) -> int:
        """Stride-2 reductions this input takes (`MnasEncoding.num_reductions`)."""
        return self.encoding.reductions

    def hand_designs(self) -> list:
        """MobileNetV2 and MnasNet-A1, cut to this space's blocks (those the space holds)."""
        n = self.encoding.num_blocks
        mobilenet = " | ".join(f"mbconv{e} k{k} x{layers} w1 skip"
                               for _, e, k, layers in MOBILENET_V2_BLOCKS[:n])
        a1 = " | ".join(
            f"{'mbconv' + str(e) if op == 'mbconv' else op} k{k} x{layers} w{ratio:g}"
            f"{' se' if se else ''} skip"
            for op, e, k, layers, se, ratio in MNASNET_A1_BLOCKS[:n])
        return self.designs_in_space([mobilenet, a1])

    def build_body(self, x, arch):
        # Name scopes tag each layer's weights with its decision group ("stem", "block{i}").
        rank = spatial_rank(x)
        stem_stride, _ = self.encoding.strides()
        with keras.name_scope("stem"):
            x = _LAYERS[rank]["conv"](self.scaled_width(self.encoding.stem_width), 3,
                                      strides=stem_stride, padding="same", use_bias=False)(x)
            x = keras.layers.ReLU()(batch_norm(x))
        for layer in self.encoding.layers(arch):
            with keras.name_scope(f"block{layer.block}"):
                x = mnas_layer(x, layer, self.scaled_width(layer.width))
        return _LAYERS[rank]["pool"]()(x)


def mnas_layer(x, layer, width):
    """One layer of a MnasNet block on `x` (`(N, L, C)` or `(N, H, W, C)`).

    Args:
        x: The layer's input.
        layer: Its `MnasLayer` (op, expansion, kernel, SE, stride, residual).
        width: Output channels to build (the nominal `layer.width` after the
            search's width fidelity).

    Returns:
        The layer's output, with `width` channels.
    """
    kinds = _LAYERS[spatial_rank(x)]
    inputs, channels = x, int(x.shape[-1])
    if layer.op == "conv":
        y = kinds["conv"](width, layer.kernel, strides=layer.stride, padding="same",
                          use_bias=False)(x)
        y = keras.layers.ReLU()(batch_norm(y))
        if layer.se:
            y = squeeze_excite(y, channels)
    else:
        y = x
        if layer.op == "mbconv":  # expand: e x C_in channels
            y = kinds["conv"](layer.expansion * channels, 1, use_bias=False)(y)
            y = keras.layers.ReLU()(batch_norm(y))
        y = kinds["depthwise"](layer.kernel, strides=layer.stride, padding="same",
                               use_bias=False)(y)
        y = keras.layers.ReLU()(batch_norm(y))
        if layer.se:
            y = squeeze_excite(y, channels)
        y = batch_norm(kinds["conv"](width, 1, use_bias=False)(y))  # linear projection
    if layer.residual:  # the encoding's rule: skip, stride 1, same nominal widths
        y = keras.layers.Add()([inputs, y])
    return y


def squeeze_excite(x, in_channels):
    """Squeeze-and-excitation (Hu et al., 2018) as MnasNet applies it.

    Global average pool, `Dense(max(1, int(SE_RATIO * in_channels)), relu)`,
    `Dense(C, sigmoid)` (both biases start at `SE_BIAS`), reshaped to `(1, ..., C)` and multiplied into `x` (the
    reshape keeps the two Dense layers on `(N, C)` rows, which TFLite runs as
    plain FULLY_CONNECTED ops).
    """
    rank = spatial_rank(x)
    channels = int(x.shape[-1])
    s = _LAYERS[rank]["pool"]()(x)
    s = keras.layers.Dense(max(1, int(MnasEncoding.SE_RATIO * in_channels)), activation="relu",
                           bias_initializer=keras.initializers.Constant(SE_BIAS))(s)
    s = keras.layers.Dense(channels, activation="sigmoid",
                           bias_initializer=keras.initializers.Constant(SE_BIAS))(s)
    s = keras.layers.Reshape((1,) * rank + (channels,))(s)
    return keras.layers.Multiply()([x, s])
