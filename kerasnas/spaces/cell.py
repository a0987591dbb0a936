"""`CellSpace`: DARTS / NASNet cell-based networks (Liu et al. 2019; Zoph et al. 2018).

The network is a stem (3x3 conv + BN with `stem_multiplier * channels`
channels) followed by `num_cells` cells. Cells at indices `num_cells // 3` and
`2 * num_cells // 3` are reduction cells: their ops on the cell inputs use
stride 2 and the channel count doubles (with fewer than 3 cells those indices
coincide or are 0; the set of distinct indices is used). Each cell reads the
outputs of the two previous cells: `s0` is preprocessed by FactorizedReduce
when the previous cell reduced (so it matches `s1`'s resolution), else by a 1x1
ReLU-Conv-BN; `s1` by a 1x1 ReLU-Conv-BN. Each block then creates a new state
from two ops on earlier states, joined by `add` or by `concat` + 1x1
ReLU-Conv-BN, and the cell outputs the concatenation of all block outputs
(`num_blocks * C` channels). The head is global average pooling + dense.

Works on images `(H, W, C)` and sequences `(L, C)`.
"""

from __future__ import annotations

import keras

from kerasnas.spaces.base import NASHyperModel, positive_int
from kerasnas.spaces.encodings import DARTS_OPS, CellEncoding
from kerasnas.spaces.ops import (
    apply_op,
    batch_norm,
    check_ops,
    factorized_reduce,
    layer_class,
    relu_conv_bn,
)

_COMBINATIONS = ("add", "concat")


class CellSpace(NASHyperModel):
    """The DARTS-style cell search space.

    Args:
        input_shape: `(height, width, channels)` or `(length, channels)`.
        num_classes: See `NASHyperModel` (default None: regression).
        num_blocks: Blocks per cell (default 4, as in DARTS).
        num_cells: Cells in the network (default 3).
        channels: Channels `C` of the first cells, doubled at each reduction
            (default 16).
        ops: Candidate operations (default `DARTS_OPS`).
        combinations: How a block joins its two branches, any of `"add"`,
            `"concat"` (default both).
        macro: Search each cell separately (`cell0` ... `cell{n-1}`) instead
            of one normal and one reduction cell (default False).
        stem_multiplier: Stem channels are `stem_multiplier * channels`
            (default 3, as in DARTS).
        **kwargs: `output_dim`, `optimizer`, `learning_rate`, `preprocessing`,
            `name`; see `NASHyperModel`.

    Example:

    >>> import numpy as np
    >>> from kerasnas.spaces import CellSpace
    >>> space = CellSpace((32, 32, 3), num_classes=10, channels=16, num_cells=5)
    >>> arch = space.sample(np.random.default_rng(0))
    >>> model = space.build_architecture(arch)
    >>> space.reduction_cells
    (1, 3)
    """

    input_ranks = (2, 3)
    FIDELITY_KNOBS = ("width", "cells")

    def __init__(self, input_shape, num_classes=None, *, num_blocks=4, num_cells=3, channels=16,
                 ops=DARTS_OPS, combinations=_COMBINATIONS, macro=False, stem_multiplier=3,
                 **kwargs):
        super().__init__(input_shape, num_classes, num_blocks=num_blocks, num_cells=num_cells,
                         channels=channels, ops=ops, combinations=combinations, macro=macro,
                         stem_multiplier=stem_multiplier, **kwargs)

    def make_encoding(self, *, num_blocks, num_cells, channels, ops, combinations, macro,
                      stem_multiplier):
        self.num_blocks = positive_int(num_blocks, "num_blocks")
        self.num_cells = positive_int(num_cells, "num_cells")
        self.channels = positive_int(channels, "channels")
        self.stem_multiplier = positive_int(stem_multiplier, "stem_multiplier")
        combinations = (combinations,) if isinstance(combinations, str) else tuple(combinations)
        bad = [c for c in combinations if c not in _COMBINATIONS]
        if bad or not combinations:
            raise ValueError(f"combinations must be a non-empty subset of {_COMBINATIONS}; "
                             f"got {combinations!r}.")
        self.macro = bool(macro)
        return CellEncoding(num_blocks=self.num_blocks, ops=check_ops(ops),
                            combinations=combinations, macro=self.macro,
                            num_cells=self.num_cells)

    @property
    def reduction_cells(self) -> tuple[int, ...]:
        """Indices of the reduction cells: `num_cells // 3` and `2 * num_cells // 3`."""
        return tuple(sorted({self.num_cells // 3, 2 * self.num_cells // 3}))

    def cell_name(self, index: int) -> str:
        """The encoding's cell name used by cell `index`."""
        if self.macro:
            return f"cell{index}"
        return "reduce" if index in self.reduction_cells else "normal"

    def build_body(self, x, arch):
        width = self.scaled_width(self.channels)
        stem = layer_class(x, "conv")(self.stem_multiplier * width, 3, padding="same",
                                      use_bias=False)(x)
        s0 = s1 = batch_norm(stem)
        reduction_prev = False
        num_cells = self.fidelity.get("cells", self.num_cells)  # fewer in a down-scaled proxy
        for index in range(num_cells):
            reduction = index in {num_cells // 3, 2 * num_cells // 3}
            if reduction:
                width *= 2
            name = self.cell_name(index) if self.macro else ("reduce" if reduction else "normal")
            out = cell(s0, s1, self.encoding.blocks(arch, name), width, reduction, reduction_prev)
            s0, s1, reduction_prev = s1, out, reduction
        pool = keras.layers.GlobalAveragePooling1D if len(s1.shape) == 3 \
            else keras.layers.GlobalAveragePooling2D
        return pool()(s1)


def cell(s0, s1, blocks, filters, reduction, reduction_prev):
    """One DARTS cell on the two previous cell outputs; returns the concatenated block outputs.

    Args:
        s0, s1: Outputs of the cells two and one steps back.
        blocks: `[(op1, in1, op2, in2, comb), ...]` as `CellEncoding.blocks` returns.
        filters: Channels `C` of every block.
        reduction: Whether this cell halves the resolution (ops on states 0/1 at stride 2).
        reduction_prev: Whether the previous cell did (then `s0` is FactorizedReduced).
    """
    s0 = factorized_reduce(s0, filters) if reduction_prev else relu_conv_bn(s0, filters, 1)
    states = [s0, relu_conv_bn(s1, filters, 1)]
    for op1, in1, op2, in2, comb in blocks:
        branches = [apply_op(op, states[i], filters, 2 if reduction and i < 2 else 1)
                    for op, i in ((op1, in1), (op2, in2))]
        if comb == "add":
            states.append(keras.layers.Add()(branches))
        else:
            states.append(relu_conv_bn(keras.layers.Concatenate()(branches), filters, 1))
    return keras.layers.Concatenate()(states[2:])
