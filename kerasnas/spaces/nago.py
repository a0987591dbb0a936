"""`NAGOSpace`: NAGO's hierarchical graph-generator space (Ru, Esperança & Carlucci, 2020).

NAGO searches the generator of a network, not the network: a top graph of
stages, a mid graph of cells in each stage and a bottom graph of operations in
each cell, each drawn by a random graph generator (Watts-Strogatz, Erdős-Rényi
or Barabási-Albert) from a few numbers. `NAGOEncoding` holds those numbers
(on grids) and a seed per level, so one architecture is one sample of the
generators, reproducible and hashable; Bayesian optimisation searches them
(`kerasnas.search(space="nago")` runs `strategy="bayesian"` by default).

The network `build_architecture` makes of a `NAGOEncoding.plan`:

* a stem: a 3-wide conv to the first stage's width, BN (and a max-pool when the
  input allows more reductions than the network has resolutions);
* every graph evaluated as RandWire (Xie et al., 2019) does: a node
  aggregates its inputs by a learned weighted sum, `sum_i sigmoid(w_i) x_i`
  (`WeightedSum`; NAGO's bounded scalar weights, or a plain sum with
  `merge="sum"`), the graph's input feeds its source nodes and its output is
  the mean of its sink nodes;
* a bottom-graph node is ReLU, a depthwise-separable (or plain) `kernel`-wide
  conv to the stage's width, BN; a mid-graph node is a cell (a bottom graph);
  a top-graph node is a stage (a mid graph);
* a stage reads its inputs average-pooled to its resolution, projected
  (1x1 ReLU-conv-BN) to its width where a sum mixes widths; the network's
  output is the mean of the top graph's sinks at the last resolution;
* ReLU and global average pooling before the head.

Works on images `(H, W, C)` and sequences `(L, C)`. Layers are named by scope
(`stem`, `stage{t}/cell{c}/op{o}`) after the graphs' 1-based node numbers.

Example:

>>> from kerasnas.spaces import NAGOSpace
>>> space = NAGOSpace((8, 8, 1), num_classes=10)
>>> model = space.build_architecture(space.hand_designs()[0])
>>> model.output_shape
(None, 10)
"""

from __future__ import annotations

import keras

from kerasnas.spaces.base import NASHyperModel
from kerasnas.spaces.encodings import (
    NAGO_BA_M,
    NAGO_BOTTOM_NODES,
    NAGO_GENERATORS,
    NAGO_KERNEL,
    NAGO_MID_NODES,
    NAGO_P,
    NAGO_SEEDS,
    NAGO_TOP_NODES,
    NAGO_WIDTH,
    NAGO_WS_K,
    NAGOEncoding,
)
from kerasnas.spaces.ops import batch_norm, layer_class, project

#: How a node joins its inputs: `"weighted"` (RandWire's and NAGO's learned, sigmoid-bounded
#: weight per input) or `"sum"`.
MERGES = ("weighted", "sum")
#: Starting weight of `WeightedSum` before the sigmoid: 1.0, NAGO's `BoundedScalarMultiply`
#: initialisation (each input enters at sigmoid(1) = 0.73).
WEIGHT_INIT = 1.0

_DESIGNS = (
    # RandWire's best generator, WS(4, 0.75) (Xie et al., 2019, small regime: three stages,
    # one graph each), in NAGO's terms: three stages (each reading every earlier one), one
    # cell per stage, the widest bottom graph of the default grid.
    "top=ws(n=3,k=2) mid=er(n=1) bottom=ws(n=6,k=4,p=0.75,seed=0)",
)


@keras.saving.register_keras_serializable(package="kerasnas")
class WeightedSum(keras.layers.Layer):
    """`sum_i sigmoid(w_i) * x_i` over a list of same-shape inputs, one learned `w_i` each.

    RandWire's node aggregation (positive weights through a sigmoid) and
    NAGO's `BoundedScalarMultiply`. The weights start at `init` (default
    `WEIGHT_INIT`).

    Example:

    >>> import numpy as np
    >>> layer = WeightedSum(init=0.0)
    >>> float(layer([np.ones((1, 2)), np.ones((1, 2))])[0, 0])   # 0.5 + 0.5
    1.0
    """

    def __init__(self, init=WEIGHT_INIT, **kwargs):
        super().__init__(**kwargs)
        self.init = float(init)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 2:
            raise ValueError("WeightedSum takes a list of at least two tensors.")
        self.logits = self.add_weight(shape=(len(input_shape),), name="logits",
                                      initializer=keras.initializers.Constant(self.init))

    def call(self, inputs):
        gates = keras.ops.sigmoid(self.logits)
        total = inputs[0] * gates[0]
        for i, x in enumerate(inputs[1:], start=1):
            total = total + x * gates[i]
        return total

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "init": self.init}


class NAGOSpace(NASHyperModel):
    """NAGO's hierarchical graph-generator space over images `(H, W, C)` and sequences `(L, C)`.

    Args:
        input_shape: `(height, width, channels)` or `(length, channels)`.
        num_classes: See `NASHyperModel` (default None: regression).
        top_generators, mid_generators, bottom_generators, top_nodes, mid_nodes,
            bottom_nodes, ks, ps, ms, seeds: The generators and grids searched;
            see `NAGOEncoding` for their defaults.
        width: Channels at the first resolution, doubled at each reduction
            (default `NAGO_WIDTH` = 16).
        conv: `"separable"` (default, NAGO's mobile setting) or `"plain"`.
        kernel: Kernel size of every operation (default 3).
        merge: `"weighted"` (default) or `"sum"`; see `MERGES`.
        **kwargs: `output_dim`, `optimizer`, `learning_rate`, `preprocessing`,
            `name`; see `NASHyperModel`.

    Example:

    >>> from kerasnas.spaces import NAGOSpace
    >>> space = NAGOSpace((40, 3), num_classes=4)
    >>> arch = space.hand_designs()[0]
    >>> str(arch)
    'top=ws(n=3,k=2) mid=er(n=1) bottom=ws(n=6,k=4,p=0.75,seed=0)'
    >>> space.encoding.plan(arch, space.input_shape).num_ops
    18
    """

    input_ranks = (2, 3)
    FIDELITY_KNOBS = ("width",)
    #: What `kerasnas.search(strategy="auto")` runs on this space: NAGO's strategy, Bayesian
    #: optimisation of the generators' parameters (the paper's BOHB without multi-fidelity).
    AUTO_STRATEGY = "bayesian"

    def __init__(self, input_shape, num_classes=None, *,
                 top_generators=NAGO_GENERATORS["top"], mid_generators=NAGO_GENERATORS["mid"],
                 bottom_generators=NAGO_GENERATORS["bottom"], top_nodes=NAGO_TOP_NODES,
                 mid_nodes=NAGO_MID_NODES, bottom_nodes=NAGO_BOTTOM_NODES, ks=NAGO_WS_K,
                 ps=NAGO_P, ms=NAGO_BA_M, seeds=NAGO_SEEDS, width=NAGO_WIDTH, conv="separable",
                 kernel=NAGO_KERNEL, merge="weighted", **kwargs):
        super().__init__(input_shape, num_classes, top_generators=top_generators,
                         mid_generators=mid_generators, bottom_generators=bottom_generators,
                         top_nodes=top_nodes, mid_nodes=mid_nodes, bottom_nodes=bottom_nodes,
                         ks=ks, ps=ps, ms=ms, seeds=seeds, width=width, conv=conv, kernel=kernel,
                         merge=merge, **kwargs)

    def make_encoding(self, *, merge, **encoding_args):
        if merge not in MERGES:
            raise ValueError(f"merge must be one of {MERGES}; got {merge!r}.")
        self.merge = merge
        return NAGOEncoding(**encoding_args)

    def num_reductions(self) -> int:
        """Halvings the input allows (`ResidualEncoding.num_reductions`); see `NAGOEncoding`."""
        from kerasnas.spaces.encodings import ResidualEncoding

        return ResidualEncoding.num_reductions(self.input_shape)

    def hand_designs(self) -> list:
        """RandWire's WS(4, 0.75) setting, where this space holds it."""
        return self.designs_in_space(_DESIGNS)

    # ------------------------------------------------------------ building
    def build_body(self, x, arch):
        plan = self.encoding.plan(arch, reductions=self.num_reductions())
        with keras.name_scope("stem"):
            x = layer_class(x, "conv")(self.scaled_width(plan.widths[0]), 3, padding="same",
                                       use_bias=False)(x)
            x = batch_norm(x)
            if plan.stem_pool > 1:
                x = layer_class(x, "max")(plan.stem_pool, strides=plan.stem_pool,
                                          padding="same")(x)
        stages = {0: (x, 0)}  # top node -> (output, resolution)
        for t in plan.top.nodes():
            level, width = plan.levels[t - 1], self.scaled_width(plan.widths[t - 1])
            with keras.name_scope(f"stage{t}"):
                inputs = [self._resize(*stages[s], level) for s in plan.top.predecessors(t)]
                stage_input = self._join(inputs, width)
                cell_dags = plan.bottom[t - 1]

                def cell(c, y, width=width, cell_dags=cell_dags):
                    with keras.name_scope(f"cell{c}"):
                        return self._graph(y, cell_dags[c - 1], lambda o, z: self._op(o, z, width))

                stages[t] = (self._graph(stage_input, plan.mid[t - 1], cell), level)
        last = plan.levels[-1]
        sinks = [self._resize(*stages[s], last) for s in plan.top.sinks()]
        with keras.name_scope("output"):
            x = self._mean(self._same_width(sinks, self.scaled_width(plan.widths[-1])))
        x = keras.layers.Activation("relu")(x)
        pool = keras.layers.GlobalAveragePooling1D if len(x.shape) == 3 \
            else keras.layers.GlobalAveragePooling2D
        return pool()(x)

    def _graph(self, x, dag, node):
        """Evaluates `dag` on input `x`: node `v` gets `node(v, joined inputs)`; the output
        is the mean of the sinks."""
        outputs = {dag.input: x}
        for v in dag.nodes():
            outputs[v] = node(v, self._join([outputs[s] for s in dag.predecessors(v)]))
        return self._mean([outputs[s] for s in dag.sinks()])

    def _op(self, index, x, width):
        """A bottom-graph node: ReLU, a (separable) conv to `width`, BN."""
        with keras.name_scope(f"op{index}"):
            x = keras.layers.Activation("relu")(x)
            kind = "sep" if self.encoding.conv == "separable" else "conv"
            x = layer_class(x, kind)(width, self.encoding.kernel, padding="same",
                                     use_bias=False)(x)
            return batch_norm(x)

    def _join(self, inputs, width=None):
        """A node's aggregation of its inputs (projected to `width` first if they differ)."""
        if len(inputs) == 1:
            return inputs[0]
        if width is not None:
            inputs = self._same_width(inputs, width)
        if self.merge == "sum":
            return keras.layers.Add()(inputs)
        return WeightedSum()(inputs)

    @staticmethod
    def _same_width(inputs, width):
        if len(inputs) == 1:
            return inputs
        return [project(y, width) for y in inputs]

    @staticmethod
    def _mean(inputs):
        return inputs[0] if len(inputs) == 1 else keras.layers.Average()(inputs)

    @staticmethod
    def _resize(x, level, target):
        """`x` (at resolution `level`) average-pooled to resolution `target`."""
        factor = 2 ** (target - level)
        if factor == 1:
            return x
        return layer_class(x, "avg")(factor, strides=factor, padding="same")(x)
