"""`NB201Space`: the NAS-Bench-201 network (Dong & Yang, ICLR 2020) as a Keras HyperModel.

The skeleton is the benchmark's: a 3x3 conv + BN stem, three stages of
`cells_per_stage` cells with `C`, `2C` and `4C` channels, a ResNet basic block
with stride 2 between stages, and a BN-ReLU-global-average-pool head. All
cells share one genotype: a 4-node DAG where node `j` is the sum of
`op(node i)` over `i < j`, node 0 is the cell input and node 3 its output.

With the defaults (`channels=16`, `cells_per_stage=5`) and 32x32x3 inputs this is
the network whose CIFAR-10 accuracies `shared/data/nb201_cifar10.csv` tabulates.
The space also accepts 1D `(length, channels)` inputs.
"""

from __future__ import annotations

import keras

from kerasnas.spaces.base import NASHyperModel, positive_int
from kerasnas.spaces.encodings import NB201_OPS, NB201Encoding
from kerasnas.spaces.layers import Zero
from kerasnas.spaces.ops import apply_op, batch_norm, check_ops, layer_class, relu_conv_bn


class NB201Space(NASHyperModel):
    """The NAS-Bench-201 search space (15,625 cells with the default ops).

    Args:
        input_shape: `(height, width, channels)` or `(length, channels)`.
        num_classes: See `NASHyperModel` (default None: regression).
        channels: Channels `C` of the first stage (default 16, as in NB201).
        cells_per_stage: Cells per stage `N` (default 5, as in NB201).
        ops: Edge operations (default `NB201_OPS`).
        **kwargs: `output_dim`, `optimizer`, `learning_rate`, `preprocessing`,
            `name`; see `NASHyperModel`.

    Example:

    >>> from kerasnas.spaces import NB201Space
    >>> space = NB201Space((32, 32, 3), num_classes=10)
    >>> arch = space.encoding.from_string(
    ...     "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|nor_conv_3x3~2|")
    >>> model = space.build_architecture(arch)
    """

    input_ranks = (2, 3)

    def __init__(self, input_shape, num_classes=None, *, channels=16, cells_per_stage=5,
                 ops=NB201_OPS, **kwargs):
        super().__init__(input_shape, num_classes, channels=channels,
                         cells_per_stage=cells_per_stage, ops=tuple(ops), **kwargs)

    def make_encoding(self, *, channels, cells_per_stage, ops):
        self.channels = positive_int(channels, "channels")
        self.cells_per_stage = positive_int(cells_per_stage, "cells_per_stage")
        return NB201Encoding(ops=check_ops(ops))

    def build_body(self, x, arch):
        x = layer_class(x, "conv")(self.channels, 3, padding="same", use_bias=False)(x)
        x = batch_norm(x)
        for stage in range(3):
            width = self.channels * 2 ** stage
            if stage > 0:
                x = resnet_basic_block(x, width, stride=2)
            for _ in range(self.cells_per_stage):
                x = nb201_cell(x, arch)
        x = keras.layers.Activation("relu")(batch_norm(x))
        pool = keras.layers.GlobalAveragePooling1D if len(x.shape) == 3 \
            else keras.layers.GlobalAveragePooling2D
        return pool()(x)


def nb201_cell(x, arch):
    """One NB201 cell: node j = sum of edge ops from every earlier node; returns node 3."""
    nodes = [x]
    for j in (1, 2, 3):
        terms = [apply_op(arch[f"edge_{j}_{i}"], nodes[i])
                 for i in range(j) if arch[f"edge_{j}_{i}"] != "none"]
        if not terms:  # every incoming edge is `none`: the node is zero
            nodes.append(Zero()(x))
        elif len(terms) == 1:
            nodes.append(terms[0])
        else:
            nodes.append(keras.layers.Add()(terms))
    return nodes[3]


def resnet_basic_block(x, filters, stride=2):
    """NB201's ResNetBasicblock: ReLU-Conv-BN twice plus an avg-pool + 1x1 conv shortcut."""
    y = relu_conv_bn(x, filters, 3, stride)
    y = relu_conv_bn(y, filters, 3, 1)
    shortcut = x
    if stride > 1:
        shortcut = layer_class(x, "avg")(stride, strides=stride, padding="same")(shortcut)
    if stride > 1 or x.shape[-1] != filters:
        shortcut = layer_class(x, "conv")(filters, 1, use_bias=False)(shortcut)
    return keras.layers.Add()([shortcut, y])
