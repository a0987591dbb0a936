"""The DARTS supernet: every edge of a cell holds every candidate op, mixed by softmax(α).

Liu et al. (2019), eq. 1: the mixed op on edge (i, j) is

    ō(x) = Σ_o  exp(α_o) / Σ_o' exp(α_o')  ·  o(x)

`build_supernet(space)` turns a `CellSpace` or an `NB201Space` into a
functional Keras model that takes the input batch and, for each cell type,
the softmax weights `(E, K)` of its `E` edges over its `K` ops (tiled over the
batch). The α variables themselves live in the search model
(`kerasnas.darts.model.DartsModel`), so the same α row drives one edge in
every cell of its type, as in the paper.

The ops come from the shared registry (`kerasnas.spaces.ops`) and the network
skeleton is the space's own (stem, reduction cells, NB201's ResNet blocks,
head), so the derived architecture is built by the space's `build_architecture`
on the same skeleton. The `none` op adds nothing to the sum, so it is not
computed, but it keeps its α column.

PC-DARTS (Xu et al., ICLR 2020), `build_supernet(space, partial_channels=K)`:
each mixed op sees only the first `1/K` of its input's channels; the other
channels bypass the edge (max-pooled where the edge strides), the two parts are
concatenated and the channels shuffled in `K` groups, so the next edge samples
other channels. Memory and time per step fall by about `K` in the ops. (Its
edge normalisation is in `DartsModel(edge_normalisation=True)`: it only
reweights the mixing weights this model takes.)

Example:

>>> from kerasnas.spaces import NB201Space
>>> space = NB201Space((8, 8, 1), num_classes=10, channels=4, cells_per_stage=1)
>>> net = build_supernet(space)
>>> net.edges, net.ops
({'cell': 6}, ('none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'))
"""

from __future__ import annotations

import dataclasses

import keras
from keras import ops as K

from kerasnas.spaces.cell import CellSpace
from kerasnas.spaces.nb201 import NB201Space, resnet_basic_block
from kerasnas.spaces.ops import apply_op, batch_norm, factorized_reduce, layer_class, relu_conv_bn

#: The name of NB201's single cell type (all its cells share one genotype).
NB201_CELL = "cell"


@keras.saving.register_keras_serializable(package="kerasnas")
class MixedOp(keras.layers.Layer):
    """Σ_k w[e, k] · o_k(x): the softmax-weighted sum of one edge's op outputs.

    Inputs are `[weights, out_0, out_1, ...]`: `weights` is `(batch, E, K)`
    (the softmax of the cell type's α, tiled over the batch) and `out_n` is
    the output of op `columns[n]`. Columns left out (the `none` op) add zero.

    Args:
        edge: Row `e` of the weights this edge reads.
        columns: The α column of each given op output.
    """

    def __init__(self, edge, columns, **kwargs):
        super().__init__(**kwargs)
        self.edge = int(edge)
        self.columns = tuple(int(c) for c in columns)

    def call(self, inputs):
        weights, outputs = inputs[0], inputs[1:]
        total = 0.0
        for column, out in zip(self.columns, outputs, strict=True):
            w = weights[:, self.edge, column]
            w = K.reshape(w, (-1,) + (1,) * (len(out.shape) - 1))
            total = total + w * out
        return total

    def compute_output_shape(self, input_shapes):
        return input_shapes[1]

    def get_config(self):
        return {**super().get_config(), "edge": self.edge, "columns": list(self.columns)}


@keras.saving.register_keras_serializable(package="kerasnas")
class ChannelSlice(keras.layers.Layer):
    """Channels `start:stop` of the last axis (PC-DARTS's sampled part and bypass)."""

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, x):
        return x[..., self.start:self.stop]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.stop - self.start,)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package="kerasnas")
class ChannelShuffle(keras.layers.Layer):
    """ShuffleNet's channel shuffle in `groups` groups: channel `g * (C / groups) + i` moves
    to `i * groups + g` (PC-DARTS, after each partial mixed op)."""

    def __init__(self, groups, **kwargs):
        super().__init__(**kwargs)
        self.groups = int(groups)

    def call(self, x):
        channels = x.shape[-1]
        spatial = (-1,) + tuple(x.shape[1:-1])  # every axis but the batch is static here
        y = K.reshape(x, spatial + (self.groups, channels // self.groups))
        rank = len(x.shape)
        y = K.transpose(y, tuple(range(rank - 1)) + (rank, rank - 1))
        return K.reshape(y, spatial + (channels,))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


@dataclasses.dataclass
class Supernet:
    """A supernet and what the search model needs to drive it.

    Attributes:
        network: Functional model `[x, weights_<cell>...] -> predictions`.
        space: The `CellSpace` or `NB201Space` it was built from.
        ops: The α columns: candidate ops, `none` first.
        edges: Edges (α rows) per cell type, in the order of `network`'s weight inputs.
        nodes: Per cell type, the α rows of each node's incoming edges (what PC-DARTS's
            edge normalisation takes a softmax over).
        partial_channels: PC-DARTS's `K` (None: DARTS, every channel on every edge).
    """

    network: keras.Model
    space: object
    ops: tuple[str, ...]
    edges: dict[str, int]
    nodes: dict = dataclasses.field(default_factory=dict)
    partial_channels: int | None = None

    @property
    def cell_names(self) -> tuple[str, ...]:
        return tuple(self.edges)


def supernet_ops(encoding_ops) -> tuple[str, ...]:
    """The α columns for a space's ops: `none` first (added when the space lacks it, as DARTS keeps it)."""
    ops = tuple(encoding_ops)
    return ops if "none" in ops else ("none",) + ops


def cell_edges(num_blocks: int) -> int:
    """Edges of a DARTS cell: block `b` reads the two cell inputs and the `b` earlier blocks."""
    return sum(b + 2 for b in range(num_blocks))


def mixed_op(x, weights, edge, ops, filters, stride, partial=None):
    """All of `ops` (except `none`) applied to `x`, mixed by row `edge` of `weights`.

    With `partial` = K (PC-DARTS) the ops see the first `filters / K` channels; the
    rest bypass the edge (max-pooled 2x2 where it strides) and the channels are shuffled
    in K groups. K = 1 runs the same layers over all channels (no bypass), which is DARTS.
    """
    columns = [k for k, name in enumerate(ops) if name != "none"]
    if partial is None:
        outputs = [apply_op(ops[k], x, filters, stride) for k in columns]
        return MixedOp(edge, columns)([weights, *outputs])
    channels = x.shape[-1]
    part = channels // partial
    sampled = ChannelSlice(0, part)(x)
    outputs = [apply_op(ops[k], sampled, filters // partial, stride) for k in columns]
    mixed = MixedOp(edge, columns)([weights, *outputs])
    if part == channels:
        return ChannelShuffle(1)(mixed)
    bypass = ChannelSlice(part, channels)(x)
    if stride > 1:
        bypass = layer_class(x, "max")(2, strides=2, padding="same")(bypass)
    return ChannelShuffle(partial)(keras.layers.Concatenate()([mixed, bypass]))


def build_supernet(space, partial_channels=None) -> Supernet:
    """The supernet of `space` (a `CellSpace` or an `NB201Space`), not compiled.

    Args:
        space: The search space; its preprocessing layers, skeleton and head are reused.
        partial_channels: PC-DARTS's K: each edge's ops see `1/K` of the channels
            (default None: DARTS; 1 runs PC-DARTS's layers on every channel, the same
            network).

    Returns:
        A `Supernet`.

    Raises:
        TypeError: For any other space.
        ValueError: `partial_channels` does not divide the space's channel counts.
    """
    if partial_channels is not None:
        if isinstance(partial_channels, bool) or not isinstance(partial_channels, int) \
                or partial_channels < 1:
            raise ValueError(f"partial_channels must be a positive int (PC-DARTS uses 4) or "
                             f"None; got {partial_channels!r}.")
    if isinstance(space, CellSpace):
        names = tuple(dict.fromkeys(space.cell_name(i) for i in range(space.num_cells)))
        edges = {name: cell_edges(space.num_blocks) for name in names}
        rows, blocks = 0, []
        for b in range(space.num_blocks):
            blocks.append(tuple(range(rows, rows + b + 2)))
            rows += b + 2
        nodes = {name: tuple(blocks) for name in names}
    elif isinstance(space, NB201Space):
        edges = {NB201_CELL: len(space.encoding.edges)}
        nodes = {NB201_CELL: tuple(tuple(e for e, (j, _) in enumerate(space.encoding.edges)
                                         if j == node) for node in (1, 2, 3))}
    else:
        raise TypeError(f"DARTS searches a CellSpace or an NB201Space; got {type(space).__name__}. "
                        "Build one with kerasnas.spaces.CellSpace(...) or NB201Space(...).")
    if partial_channels is not None and space.channels % partial_channels:
        raise ValueError(f"partial_channels={partial_channels} must divide the space's "
                         f"channels ({space.channels}); pass e.g. channels="
                         f"{partial_channels * max(1, space.channels // partial_channels)}.")
    ops = supernet_ops(space.encoding.ops)
    x = inputs = keras.Input(space.input_shape, name="x")
    weights = {name: keras.Input((n, len(ops)), name=f"weights_{name}") for name, n in edges.items()}
    for layer in space.preprocessing:
        x = layer(x)
    if isinstance(space, CellSpace):
        features = _cell_body(space, x, weights, ops, partial_channels)
    else:
        features = _nb201_body(space, x, weights[NB201_CELL], ops, partial_channels)
    if space.num_classes is None:
        outputs = keras.layers.Dense(space.output_dim, dtype="float32", name="head")(features)
    else:
        outputs = keras.layers.Dense(space.num_classes, activation="softmax", dtype="float32",
                                     name="head")(features)
    network = keras.Model([inputs, *weights.values()], outputs, name="darts_supernet")
    return Supernet(network, space, ops, edges, nodes, partial_channels)


def _global_pool(x):
    pool = keras.layers.GlobalAveragePooling1D if len(x.shape) == 3 \
        else keras.layers.GlobalAveragePooling2D
    return pool()(x)


def _cell_body(space, x, weights, ops, partial=None):
    """`CellSpace.build_body` with a mixed search cell in place of each discrete cell."""
    width = space.channels
    stem = layer_class(x, "conv")(space.stem_multiplier * width, 3, padding="same",
                                  use_bias=False)(x)
    s0 = s1 = batch_norm(stem)
    reduction_prev = False
    for index in range(space.num_cells):
        reduction = index in space.reduction_cells
        if reduction:
            width *= 2
        w = weights[space.cell_name(index)]
        out = search_cell(s0, s1, w, ops, space.num_blocks, width, reduction, reduction_prev,
                          partial)
        s0, s1, reduction_prev = s1, out, reduction
    return _global_pool(s1)


def search_cell(s0, s1, weights, ops, num_blocks, filters, reduction, reduction_prev, partial=None):
    """DARTS's search cell: node `j` = Σ_{i<j} ō_(i,j)(state_i); output = concat of the nodes.

    Edge `e` runs block by block and, within block `b`, over its inputs
    `0 .. b+1`; `derive.derive_cell` reads α rows in the same order.
    """
    s0 = factorized_reduce(s0, filters) if reduction_prev else relu_conv_bn(s0, filters, 1)
    states = [s0, relu_conv_bn(s1, filters, 1)]
    edge = 0
    for _ in range(num_blocks):
        terms = []
        for i, state in enumerate(states):
            stride = 2 if reduction and i < 2 else 1
            terms.append(mixed_op(state, weights, edge, ops, filters, stride, partial))
            edge += 1
        states.append(keras.layers.Add()(terms))
    return keras.layers.Concatenate()(states[2:])


def _nb201_body(space, x, weights, ops, partial=None):
    """`NB201Space.build_body` with mixed cells."""
    x = batch_norm(layer_class(x, "conv")(space.channels, 3, padding="same", use_bias=False)(x))
    for stage in range(3):
        width = space.channels * 2 ** stage
        if stage > 0:
            x = resnet_basic_block(x, width, stride=2)
        for _ in range(space.cells_per_stage):
            x = nb201_search_cell(x, weights, ops, space.encoding.edges, partial)
    x = keras.layers.Activation("relu")(batch_norm(x))
    return _global_pool(x)


def nb201_search_cell(x, weights, ops, edges, partial=None):
    """NB201 cell with every edge mixed; edge `e` is `edges[e] = (j, i)`, NB201's order."""
    nodes = [x]
    for j in (1, 2, 3):
        terms = [mixed_op(nodes[i], weights, edges.index((j, i)), ops, x.shape[-1], 1, partial)
                 for i in range(j)]
        nodes.append(terms[0] if len(terms) == 1 else keras.layers.Add()(terms))
    return nodes[3]
