"""`MacroSpace`: a searched chain of layers with skip connections (ENAS-macro style).

The network is a stem (3x3 conv + BN with `stem_channels` channels) followed
by the encoding's layers, each an op of `MACRO_OPS` (`conv`, `sep_conv`,
`dil_conv`, `max_pool`, `avg_pool`) with its own kernel size and width. Layer
`i` reads the previous layer's output; when skips are searched and layer `i`
has skip inputs `j`, each of those outputs is average-pooled down to the
current resolution and projected to the previous layer's width by a 1x1
ReLU-Conv-BN, and all are concatenated with the previous output before the op.

`reduction_layers` layers have stride 2: with `n` active layers and
`R = reduction_layers`, the layers at indices `k * n // (R + 1)` for
`k = 1..R` (for the default R=2: `n // 3` and `2 * n // 3`; indices that
coincide reduce once). The head is ReLU + global average pooling + dense.
Pools keep their input width; a 1x1 ReLU-Conv-BN follows them when the layer's
width differs. Works on images `(H, W, C)` and sequences `(L, C)`.
"""

from __future__ import annotations

import numbers

import keras

from kerasnas.spaces.base import NASHyperModel, positive_int
from kerasnas.spaces.encodings import MACRO_OPS, MacroEncoding
from kerasnas.spaces.ops import OPS, apply_op, batch_norm, layer_class, relu_conv_bn


class MacroSpace(NASHyperModel):
    """The macro (whole-network chain) search space.

    Args:
        input_shape: `(height, width, channels)` or `(length, channels)`.
        num_classes: See `NASHyperModel` (default None: regression).
        max_layers: Deepest chain (default 6).
        min_layers: Shallowest chain (default 2).
        ops: Layer families; `f"{family}_{k}x{k}"` must be a registered op for
            every kernel `k` (default `MACRO_OPS`).
        widths: Candidate output channels per layer (default `(16, 32, 64)`).
        kernels: Candidate kernel sizes (default `(3, 5)`).
        skips: Search skip connections (default True).
        stem_channels: Channels of the stem conv (default 16).
        reduction_layers: Number of stride-2 layers (default 2); see the module docs.
        **kwargs: `output_dim`, `optimizer`, `learning_rate`, `preprocessing`,
            `name`; see `NASHyperModel`.

    Example:

    >>> from kerasnas.spaces import MacroSpace
    >>> space = MacroSpace((16, 16, 3), num_classes=10, widths=(8, 16))
    >>> arch = space.encoding.from_string("conv_3x3:8 > sep_conv_5x5:16 > max_pool_3x3:16+0")
    >>> space.reductions(3)
    (1, 2)
    >>> model = space.build_architecture(arch)
    """

    input_ranks = (2, 3)
    FIDELITY_KNOBS = ("width",)

    def __init__(self, input_shape, num_classes=None, *, max_layers=6, min_layers=2,
                 ops=MACRO_OPS, widths=(16, 32, 64), kernels=(3, 5), skips=True,
                 stem_channels=16, reduction_layers=2, **kwargs):
        super().__init__(input_shape, num_classes, max_layers=max_layers, min_layers=min_layers,
                         ops=ops, widths=widths, kernels=kernels, skips=skips,
                         stem_channels=stem_channels, reduction_layers=reduction_layers,
                         **kwargs)

    def make_encoding(self, *, max_layers, min_layers, ops, widths, kernels, skips,
                      stem_channels, reduction_layers):
        self.stem_channels = positive_int(stem_channels, "stem_channels")
        if isinstance(reduction_layers, bool) or not isinstance(reduction_layers,
                                                                numbers.Integral) \
                or reduction_layers < 0:
            raise ValueError(f"reduction_layers must be an int >= 0, got {reduction_layers!r}.")
        self.reduction_layers = int(reduction_layers)
        widths = tuple(positive_int(w, "each of widths") for w in widths)
        kernels = tuple(positive_int(k, "each of kernels") for k in kernels)
        ops = (ops,) if isinstance(ops, str) else tuple(ops)
        if not (ops and widths and kernels):
            raise ValueError("ops, widths and kernels must each list at least one choice.")
        missing = [f"{op}_{k}x{k}" for op in ops for k in kernels if f"{op}_{k}x{k}" not in OPS]
        if missing:
            raise ValueError(f"MacroSpace needs ops {missing}, which are not registered; drop "
                             "those families/kernels or add them with register_op.")
        return MacroEncoding(max_layers=max_layers, min_layers=min_layers, ops=ops,
                             widths=widths, kernels=kernels, skips=skips)

    def reductions(self, num_layers: int) -> tuple[int, ...]:
        """Indices of the stride-2 layers in a chain of `num_layers` layers."""
        r = self.reduction_layers
        return tuple(sorted({k * num_layers // (r + 1) for k in range(1, r + 1)}))

    def build_body(self, x, arch):
        # Name scopes tag each layer's weights with its decision group ("stem", "layer{i}");
        # kerasnas.net2net reads them to match a child's layers with its parent's.
        with keras.name_scope("stem"):
            x = layer_class(x, "conv")(self.scaled_width(self.stem_channels), 3, padding="same",
                                       use_bias=False)(x)
            x = batch_norm(x)
        layers = self.encoding.layers(arch)
        reductions = self.reductions(len(layers))
        outputs, scales, scale = [], [], 0  # scale: stride-2 steps taken so far
        for i, layer in enumerate(layers):
            with keras.name_scope(f"layer{i}"):
                if layer["skips"]:
                    parts = [x]
                    for j in layer["skips"]:
                        factor = 2 ** (scale - scales[j])
                        y = outputs[j]
                        if factor > 1:
                            y = layer_class(y, "avg")(factor, strides=factor, padding="same")(y)
                        parts.append(relu_conv_bn(y, x.shape[-1], 1))
                    x = keras.layers.Concatenate()(parts)
                stride = 2 if i in reductions else 1
                x = apply_op(layer["op"], x, self.scaled_width(layer["width"]), stride)
                scale += stride == 2
                outputs.append(x)
                scales.append(scale)
        x = keras.layers.Activation("relu")(x)
        pool = keras.layers.GlobalAveragePooling1D if len(x.shape) == 3 \
            else keras.layers.GlobalAveragePooling2D
        return pool()(x)
