"""One graph view of every architecture: operations as nodes, data flow as edges.

NAO's encoder, CTNAS's comparator, GHN's hypernetwork and IRLAS's topology
reward all read an architecture as a directed acyclic graph. This module is
that view's one home. It imports neither Keras nor TensorFlow.

* `ArchitectureGraph`: nodes in topological order (node 0 is the input, the
  last node the output), each with an operation label and numeric
  attributes (`width`, `kernel`, `dilation`, `stride`, `dropout`, ...), and
  the directed edges between them.
* `graph_of(arch, input_shape=None)`: the graph of an `Architecture`, from the
  rule registered for its encoding (`register_graph`). Every kerasnas
  encoding has one: cell, NB201, macro, dense, residual, series, table, mnas and nago. An
  encoding without one (a user's `build(hp)` through `HPEncoding`) gets the
  chain of its active decisions; `graph_of_model` reads the real data flow of
  a built model instead, and `graph_of_hypermodel(arch, hypermodel)` of the
  model a `build(hp)` makes of an architecture.
* `graph_of_model(model)`: the layer graph of a built Keras model, read from
  its public `get_config()`, so it works for any functional or sequential
  model without importing Keras here.
* `GraphFeaturizer`: turns graphs into the padded arrays a graph neural
  network takes (one-hot operation plus scaled attributes per node, an
  adjacency matrix and a node mask), over a fixed operation vocabulary so a
  search's features never change meaning between rounds or after a resume.

The node conventions, per encoding:

* NB201: operations on nodes. Each edge operation of the cell is a node
  between the sum nodes it joins: `input -> op(1,0) -> sum1 -> ...`, 10 nodes.
* Cell (DARTS): for each cell type, the two cell inputs, then per block its
  two operation nodes and the join (`add` / `concat`); the cell's output
  concatenates the blocks. Cells are chained as the network applies them
  (the normal cell, then the reduction cell; each cell of `macro=True`).
* Macro, dense and table: the chain of layers, with the skip connections.
* Residual (and the series space's residual family): a stem, then per block
  two convolutions and an `add` fed by the block's input (the shortcut),
  then the head.
* Mnas (MnasNet's blocks): a stem, then per layer `conv` or [`expand` ->]
  `depthwise` -> `project`, with an `se` node after the spatial convolution
  where it has one and an `add` fed by the layer's input where it takes the
  identity residual; strides as the encoding places them.
* NAGO: the three levels flattened into one DAG of operations: a stem, every
  cell's operations (an operation's inputs are the operations whose outputs
  reach it through the cells' and stages' means), a pool.

Example:

>>> from kerasnas.spaces.encodings import NB201Encoding
>>> enc = NB201Encoding()
>>> g = graph_of(enc.from_string(
...     "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"))
>>> g.num_nodes, g.ops[1], g.ops[-1]
(10, 'nor_conv_3x3', 'output')
>>> batch = GraphFeaturizer.for_encoding(enc).transform([g])
>>> batch.features.shape, batch.adjacency.shape
((1, 10, 18), (1, 10, 10))
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

#: Node attributes the featurizer knows, in feature order. Values are scaled by
#: `log2(1 + v)` (widths span 16 to 10,000, kernels 1 to 40, rates 0 to 0.5).
ATTRIBUTES = ("width", "kernel", "dilation", "stride", "dropout", "members", "reduce")

#: Operation labels every graph may hold, whatever its encoding.
STRUCTURAL_OPS = ("input", "output", "sum", "add", "concat", "other")


@dataclasses.dataclass(frozen=True)
class ArchitectureGraph:
    """A directed acyclic graph of operations, nodes in topological order.

    Attributes:
        ops: One operation label per node (`"input"` first, `"output"` last).
        edges: `(source, target)` pairs with `source < target`.
        attributes: One mapping per node of numeric attributes (names from
            `ATTRIBUTES`; others are kept but not featurized).
    """

    ops: tuple
    edges: tuple
    attributes: tuple

    def __post_init__(self):
        n = len(self.ops)
        if len(self.attributes) != n:
            raise ValueError(f"{n} nodes but {len(self.attributes)} attribute mappings.")
        for source, target in self.edges:
            if not 0 <= source < target < n:
                raise ValueError(f"Edge {(source, target)} is not forward within {n} nodes.")

    @property
    def num_nodes(self) -> int:
        return len(self.ops)

    def adjacency(self) -> np.ndarray:
        """`(N, N)` float32 with `A[i, j] = 1` for an edge `i -> j`."""
        a = np.zeros((self.num_nodes, self.num_nodes), np.float32)
        for source, target in self.edges:
            a[source, target] = 1.0
        return a

    def predecessors(self, node: int) -> list[int]:
        return [s for s, t in self.edges if t == node]

    def to_dict(self) -> dict:
        """JSON-serialisable form (`from_dict` reads it back)."""
        return {"ops": list(self.ops), "edges": [list(e) for e in self.edges],
                "attributes": [dict(a) for a in self.attributes]}

    @staticmethod
    def from_dict(data: Mapping) -> "ArchitectureGraph":
        return ArchitectureGraph(tuple(data["ops"]), tuple(tuple(e) for e in data["edges"]),
                                 tuple(dict(a) for a in data["attributes"]))


class GraphBuilder:
    """Collects nodes and edges in order; `node()` returns the new node's index."""

    def __init__(self):
        self.ops: list[str] = []
        self.attributes: list[dict] = []
        self.edges: list[tuple[int, int]] = []

    def node(self, op: str, inputs: Iterable[int] = (), **attributes) -> int:
        index = len(self.ops)
        self.ops.append(str(op))
        self.attributes.append({k: float(v) for k, v in attributes.items()})
        for source in inputs:
            self.edges.append((int(source), index))
        return index

    def graph(self) -> ArchitectureGraph:
        """The graph of the nodes the last node (the output) depends on: a cell input no
        block reads is dead in the network, so it is left out."""
        edges = list(dict.fromkeys(self.edges))
        live, stack = {len(self.ops) - 1}, [len(self.ops) - 1]
        while stack:
            node = stack.pop()
            for source, target in edges:
                if target == node and source not in live:
                    live.add(source)
                    stack.append(source)
        keep = sorted(live)
        position = {old: new for new, old in enumerate(keep)}
        return ArchitectureGraph(
            tuple(self.ops[i] for i in keep),
            tuple((position[s], position[t]) for s, t in edges if s in live and t in live),
            tuple(self.attributes[i] for i in keep))


# ------------------------------------------------------------------ registry
_RULES: dict[type, tuple[Callable, Callable]] = {}


def register_graph(encoding_class, vocabulary: Callable):
    """Decorator: registers `rule(arch, input_shape)` as the graph of `encoding_class`'s
    architectures; `vocabulary(encoding)` lists every operation label the rule can emit.

    Example:

    >>> from kerasnas.spaces.architecture import Decision, Encoding
    >>> class Chain(Encoding):
    ...     name = "chain-example"
    ...     def __init__(self):
    ...         super().__init__([Decision("op", ("conv", "pool"))])
    >>> @register_graph(Chain, vocabulary=lambda enc: ("conv", "pool"))
    ... def chain_graph(arch, input_shape=None):
    ...     b = GraphBuilder()
    ...     b.node("output", [b.node(arch["op"], [b.node("input")])])
    ...     return b.graph()
    >>> graph_of(Chain().default()).ops
    ('input', 'conv', 'output')
    """
    def decorate(rule):
        _RULES[encoding_class] = (rule, vocabulary)
        return rule
    return decorate


def _rule_for(encoding):
    _load_builtin_rules()
    for cls in type(encoding).__mro__:
        if cls in _RULES:
            return _RULES[cls]
    return None


def graph_of(arch, input_shape=None) -> ArchitectureGraph:
    """The graph of `arch` (an `Architecture` of any encoding).

    Args:
        arch: The architecture.
        input_shape: The model's per-example input shape, where the network
            depends on it (the residual stack's strides); default None.

    Returns:
        An `ArchitectureGraph`. Encodings without a registered rule give the
        chain of their active decisions, each a node labelled `name=value`.
    """
    rule = _rule_for(arch.encoding)
    if rule is None:
        return decision_chain(arch)
    return rule[0](arch, input_shape)


def vocabulary_of(encoding) -> tuple[str, ...]:
    """Every operation label `graph_of` can give `encoding`'s architectures, in a fixed order."""
    rule = _rule_for(encoding)
    if rule is None:
        own = [f"{d.name}={c}" for d in encoding.decisions for c in d.choices]
    else:
        own = list(rule[1](encoding))
    return tuple(dict.fromkeys([*STRUCTURAL_OPS, *own]))


def decision_chain(arch) -> ArchitectureGraph:
    """The fallback graph: input, one node per active decision (`name=value`), output."""
    b = GraphBuilder()
    last = b.node("input")
    active = arch.encoding.active(arch.as_dict())
    for d, v in zip(arch.encoding.decisions, arch.values, strict=True):
        if d.name in active:
            last = b.node(f"{d.name}={v}", [last])
    b.node("output", [last])
    return b.graph()


# ---------------------------------------------------------------- built models
def graph_of_hypermodel(arch, hypermodel) -> ArchitectureGraph:
    """The layer graph of the model `hypermodel` builds for `arch` (`graph_of_model`): the
    graph view of a user's `build(hp)`, whose `HPEncoding` knows no data flow.

    Args:
        arch: An `Architecture` of `hypermodel`'s encoding (its hyperparameter values).
        hypermodel: A `keras_tuner.HyperModel` (or a kerasnas space).
    """
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.values.update(arch.to_hp_values())
    build = getattr(hypermodel, "build", hypermodel)
    return graph_of_model(build(hp))


def _first(value):
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _layer_attributes(class_name: str, config: Mapping) -> dict:
    attrs = {}
    for key, name in (("units", "width"), ("filters", "width"), ("kernel_size", "kernel"),
                      ("strides", "stride"), ("dilation_rate", "dilation"),
                      ("pool_size", "kernel"), ("rate", "dropout")):
        value = _first(config.get(key))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs.setdefault(name, float(value))
    return attrs


def _layer_op(class_name: str, config: Mapping) -> str:
    op = class_name.lower()
    activation = config.get("activation")
    if isinstance(activation, str) and activation not in ("linear", None):
        op = f"{op}:{activation}"
    return op


def _histories(value, found):
    """Every `keras_history` `[layer, node, tensor]` inside a serialized call's arguments."""
    if isinstance(value, Mapping):
        history = value.get("config", {}).get("keras_history") if isinstance(
            value.get("config"), Mapping) else None
        if history is not None:
            found.append(history[0])
            return found
        for item in value.values():
            _histories(item, found)
    elif isinstance(value, (list, tuple)):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
            found.append(value[0])  # Keras 2 style [name, node, tensor, kwargs]
            return found
        for item in value:
            _histories(item, found)
    return found


def graph_of_model(model) -> ArchitectureGraph:
    """The layer graph of a built Keras model (functional or sequential), read from its
    public `get_config()`: one node per layer (its class name, lower-case, with `:relu`
    etc. for a fused activation), an edge per tensor passed between layers, and an
    `output` node fed by the model's outputs. A nested model is one node.

    Example:

    >>> import keras
    >>> x = keras.Input((8,))
    >>> h = keras.layers.Dense(16, activation="relu")(x)
    >>> m = keras.Model(x, keras.layers.Dense(2)(keras.layers.Add()([h, h])))
    >>> graph_of_model(m).ops
    ('input', 'dense:relu', 'add', 'dense', 'output')
    """
    config = model.get_config()
    layers = config.get("layers", [])
    b = GraphBuilder()
    index: dict[str, int] = {}
    if "input_layers" not in config and "output_layers" not in config:  # Sequential
        last = b.node("input")
        for layer in layers:
            if layer.get("class_name") == "InputLayer":
                continue
            conf = layer.get("config", {})
            last = b.node(_layer_op(layer["class_name"], conf), [last],
                          **_layer_attributes(layer["class_name"], conf))
        b.node("output", [last])
        return b.graph()
    for layer in layers:
        name, conf = layer.get("name") or layer["config"].get("name"), layer.get("config", {})
        sources = [index[s] for s in dict.fromkeys(_histories(layer.get("inbound_nodes", []), []))
                   if s in index]
        if layer.get("class_name") == "InputLayer":
            index[name] = b.node("input")
        else:
            index[name] = b.node(_layer_op(layer["class_name"], conf), sources,
                                 **_layer_attributes(layer["class_name"], conf))
    outputs = [index[h] for h in dict.fromkeys(_histories(config.get("output_layers", []), []))
               if h in index]
    b.node("output", outputs or [len(b.ops) - 1])
    return _inputs_first(b.graph())


def _inputs_first(graph: ArchitectureGraph) -> ArchitectureGraph:
    """`graph` with its input nodes moved to the front (a stable topological order)."""
    n = graph.num_nodes
    order = [i for i in range(n) if graph.ops[i] == "input"]
    order += [i for i in range(n) if graph.ops[i] != "input"]
    if order == list(range(n)):
        return graph
    position = {old: new for new, old in enumerate(order)}
    edges = tuple(sorted((position[s], position[t]) for s, t in graph.edges))
    return ArchitectureGraph(tuple(graph.ops[i] for i in order), edges,
                             tuple(graph.attributes[i] for i in order))


# ------------------------------------------------------------------- features
@dataclasses.dataclass(frozen=True)
class GraphBatch:
    """Padded arrays of a batch of graphs.

    Attributes:
        features: `(B, N, F)` float32: one-hot operation, then scaled attributes.
        adjacency: `(B, N, N)` float32, `A[b, i, j] = 1` for an edge `i -> j`.
        mask: `(B, N)` float32, 1 for real nodes, 0 for padding.
    """

    features: np.ndarray
    adjacency: np.ndarray
    mask: np.ndarray

    def __len__(self):
        return len(self.features)

    def take(self, indices) -> "GraphBatch":
        return GraphBatch(self.features[indices], self.adjacency[indices], self.mask[indices])

    def inputs(self) -> tuple:
        """`(features, adjacency, mask)`: what `GraphEncoder` takes."""
        return self.features, self.adjacency, self.mask


class GraphFeaturizer:
    """Graphs to `GraphBatch` arrays over a fixed operation vocabulary.

    Args:
        vocabulary: Operation labels, in feature order. Labels outside it count
            as `"other"` (which is added when missing).
        max_nodes: Pad to this many nodes (default None: the largest graph of
            each batch). Larger graphs raise `ValueError`.

    Example:

    >>> f = GraphFeaturizer(["input", "conv", "output"])
    >>> g = ArchitectureGraph(("input", "conv", "output"), ((0, 1), (1, 2)),
    ...                       ({}, {"width": 32.0}, {}))
    >>> f.transform([g]).features.shape
    (1, 3, 11)
    """

    def __init__(self, vocabulary: Sequence[str], max_nodes: int | None = None):
        vocab = list(dict.fromkeys(vocabulary))
        if "other" not in vocab:
            vocab.append("other")
        self.vocabulary = tuple(vocab)
        self._position = {op: i for i, op in enumerate(self.vocabulary)}
        self.max_nodes = None if max_nodes is None else int(max_nodes)

    @classmethod
    def for_encoding(cls, encoding, max_nodes=None) -> "GraphFeaturizer":
        """The featurizer of `encoding`'s graphs (its `vocabulary_of`)."""
        return cls(vocabulary_of(encoding), max_nodes)

    @classmethod
    def from_graphs(cls, graphs: Iterable[ArchitectureGraph], max_nodes=None):
        """A featurizer whose vocabulary is every label in `graphs` (model graphs)."""
        ops = [op for g in graphs for op in g.ops]
        return cls([*STRUCTURAL_OPS, *sorted(set(ops) - set(STRUCTURAL_OPS))], max_nodes)

    @property
    def num_features(self) -> int:
        return len(self.vocabulary) + len(ATTRIBUTES)

    def get_config(self) -> dict:
        return {"vocabulary": list(self.vocabulary), "max_nodes": self.max_nodes}

    def node_features(self, graph: ArchitectureGraph) -> np.ndarray:
        out = np.zeros((graph.num_nodes, self.num_features), np.float32)
        other = self._position["other"]
        offset = len(self.vocabulary)
        for i, (op, attrs) in enumerate(zip(graph.ops, graph.attributes, strict=True)):
            out[i, self._position.get(op, other)] = 1.0
            for j, name in enumerate(ATTRIBUTES):
                if name in attrs:
                    value = float(attrs[name])
                    out[i, offset + j] = math.copysign(math.log2(1.0 + abs(value)), value)
        return out

    def transform(self, graphs: Sequence[ArchitectureGraph]) -> GraphBatch:
        graphs = list(graphs)
        largest = max((g.num_nodes for g in graphs), default=1)
        n = self.max_nodes or largest
        if largest > n:
            raise ValueError(f"A graph has {largest} nodes, more than max_nodes={n}; raise "
                             "max_nodes.")
        features = np.zeros((len(graphs), n, self.num_features), np.float32)
        adjacency = np.zeros((len(graphs), n, n), np.float32)
        mask = np.zeros((len(graphs), n), np.float32)
        for b, g in enumerate(graphs):
            k = g.num_nodes
            features[b, :k] = self.node_features(g)
            adjacency[b, :k, :k] = g.adjacency()
            mask[b, :k] = 1.0
        return GraphBatch(features, adjacency, mask)

    def architectures(self, archs, input_shape=None) -> GraphBatch:
        """`transform` of the graphs of `archs`."""
        return self.transform([graph_of(a, input_shape) for a in archs])


# ---------------------------------------------------------- built-in encodings
_LOADED = False


def _load_builtin_rules():
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from kerasnas.spaces import encodings as e

    register_graph(e.NB201Encoding, vocabulary=lambda enc: enc.ops)(_nb201_graph)
    register_graph(e.CellEncoding, vocabulary=lambda enc: ("cell_input", *enc.ops,
                                                           *enc.combinations))(_cell_graph)
    register_graph(e.MacroEncoding, vocabulary=lambda enc: ("stem", *enc.ops, "pool"))(
        _macro_graph)
    register_graph(e.DenseEncoding, vocabulary=lambda enc: tuple(
        f"dense:{a}" for a in enc.activations))(_dense_graph)
    register_graph(e.ResidualEncoding, vocabulary=lambda enc: _RESIDUAL_OPS)(_residual_graph)
    register_graph(e.SeriesEncoding, vocabulary=lambda enc: (
        *_RESIDUAL_OPS, "random_kernels:ppv", "random_kernels:ppv+max", "ridge",
        "bottleneck", "max_pool"))(_series_graph)
    register_graph(e.TableEncoding, vocabulary=lambda enc: (
        *(f"numeric:{t}" for t in enc.numerics), *(f"embedding:{m}" for m in enc.embeddings),
        *(f"categorical:{c}" for c in enc.categoricals),
        *(f"{body}:{a}" for body in enc.bodies for a in enc.activations), "ensemble"))(
        _table_graph)
    register_graph(e.MnasEncoding, vocabulary=lambda enc: _MNAS_OPS)(_mnas_graph)
    register_graph(e.NAGOEncoding, vocabulary=lambda enc: _NAGO_OPS)(_nago_graph)


def _nb201_graph(arch, input_shape=None):
    b = GraphBuilder()
    sums = {0: b.node("input")}
    for node in (1, 2, 3):
        ops = [b.node(arch[f"edge_{node}_{i}"], [sums[i]]) for i in range(node)]
        sums[node] = b.node("output" if node == 3 else "sum", ops)
    return b.graph()


def _cell_graph(arch, input_shape=None):
    enc = arch.encoding
    b = GraphBuilder()
    start = b.node("input")
    previous = [start, start]  # outputs of the cells two and one steps back
    for name in enc.cell_names:
        reduce = 1.0 if name == "reduce" else 0.0
        states = [b.node("cell_input", [previous[0]], reduce=reduce),
                  b.node("cell_input", [previous[1]], reduce=reduce)]
        for op1, in1, op2, in2, comb in enc.blocks(arch, name):
            branches = [b.node(op1, [states[in1]], reduce=reduce),
                        b.node(op2, [states[in2]], reduce=reduce)]
            states.append(b.node(comb, branches, reduce=reduce))
        out = b.node("concat", states[2:], reduce=reduce)
        previous = [previous[1], out]
    b.node("output", [previous[1]])
    return b.graph()


def _macro_graph(arch, input_shape=None):
    b = GraphBuilder()
    x = b.node("stem", [b.node("input")])
    outputs = []
    for layer in arch.encoding.layers(arch):
        family = layer["op"].rsplit("_", 1)[0]
        sources = [x, *(outputs[j] for j in layer["skips"])]
        x = b.node(family, sources, width=layer["width"], kernel=layer["kernel"])
        outputs.append(x)
    b.node("output", [b.node("pool", [x])])
    return b.graph()


def _dense_graph(arch, input_shape=None):
    b = GraphBuilder()
    x = b.node("input")
    dropout = arch["dropout"]
    for i in range(arch["num_layers"]):
        h = b.node(f"dense:{arch['activation']}", [x], width=arch[f"units{i}"], dropout=dropout)
        x = b.node("add", [x, h]) if arch["skip"] and i > 0 else h
    b.node("output", [x])
    return b.graph()


_RESIDUAL_OPS = ("stem", "conv", "conv:relu", "stem_pool", "pool")


def _residual_body(b, x, arch, plan):
    x = b.node("stem", [x], width=arch["width"], kernel=3)
    if plan.stem_pool > 1:
        x = b.node("stem_pool", [x], kernel=plan.stem_pool, stride=plan.stem_pool)
    for i in range(arch["num_blocks"]):
        stride = 2 if i in plan.strided else 1
        width, dilation = plan.widths[i], plan.dilations[i]
        y = b.node("conv:relu", [x], width=width, kernel=arch["kernel"], stride=stride,
                   dilation=1 if stride > 1 else dilation)
        y = b.node("conv", [y], width=width, kernel=arch["kernel"], dilation=dilation)
        x = b.node("add", [y, x])
    return b.node("pool", [x], dropout=arch["dropout"])


def _residual_plan(enc, arch, input_shape):
    if input_shape is not None:
        return enc.plan(arch, input_shape)
    return enc.plan(arch, reductions=0)


def _residual_graph(arch, input_shape=None):
    b = GraphBuilder()
    x = _residual_body(b, b.node("input"), arch, _residual_plan(arch.encoding, arch,
                                                                input_shape))
    b.node("output", [x])
    return b.graph()


def _series_graph(arch, input_shape=None):
    b = GraphBuilder()
    x = b.node("input")
    family = arch["family"]
    if family == "rocket":
        x = b.node(f"random_kernels:{arch['rocket_pooling']}", [x],
                   width=arch["rocket_features"], dilation=arch["rocket_dilations"])
        x = b.node("ridge", [x])
    elif family == "inception":
        kernel, filters = arch["inception_kernel"], arch["inception_filters"]
        shortcut = x
        for i in range(arch["inception_depth"]):
            neck = b.node("bottleneck", [x], width=filters, kernel=1)
            branches = [b.node("conv", [neck], width=filters, kernel=k)
                        for k in (kernel, kernel // 2, kernel // 4)]
            branches.append(b.node("conv", [b.node("max_pool", [x], kernel=3)], width=filters,
                                   kernel=1))
            x = b.node("concat", branches)
            if (i + 1) % 3 == 0:
                x = shortcut = b.node("add", [x, shortcut])
        x = b.node("pool", [x])
    else:
        x = _residual_body(b, x, arch, _residual_plan(arch.encoding, arch, input_shape))
    b.node("output", [x])
    return b.graph()


def _table_graph(arch, input_shape=None):
    b = GraphBuilder()
    x = b.node("input")
    numeric = b.node(f"numeric:{arch['numeric']}", [x])
    parts = [numeric]
    if arch["embedding"] != "none":
        parts.append(b.node(f"embedding:{arch['embedding']}", [numeric]))
    parts.append(b.node(f"categorical:{arch['categorical']}", [x]))
    x = b.node("concat", parts)
    for _ in range(arch["num_layers"]):
        h = b.node(f"{arch['body']}:{arch['activation']}", [x], width=arch["width"],
                   dropout=arch["dropout"])
        x = b.node("add", [x, h]) if arch["body"] == "resnet" else h
    if arch["num_layers"] and arch["ensemble"] > 1:
        x = b.node("ensemble", [x], members=arch["ensemble"])
    b.node("output", [x])
    return b.graph()


_MNAS_OPS = ("stem", "conv", "expand", "depthwise", "se", "project", "pool")


def _mnas_graph(arch, input_shape=None):
    """MnasNet's layers (`MnasEncoding.layers`, strides already placed by the encoding's
    `reductions`): `conv` (+ `se`); or [`expand` ->] `depthwise` [-> `se`] -> `project`; an
    `add` with the layer's input where it takes the identity residual."""
    enc = arch.encoding
    b = GraphBuilder()
    stem_stride, _ = enc.strides()
    x = b.node("stem", [b.node("input")], width=enc.stem_width, kernel=3, stride=stem_stride)
    for layer in enc.layers(arch):
        y, inner = x, layer.width if layer.op == "conv" else layer.in_width
        if layer.op == "conv":
            y = b.node("conv", [y], width=layer.width, kernel=layer.kernel, stride=layer.stride)
        else:
            if layer.op == "mbconv":
                inner = layer.expansion * layer.in_width
                y = b.node("expand", [y], width=inner, kernel=1)
            y = b.node("depthwise", [y], width=inner, kernel=layer.kernel, stride=layer.stride)
        if layer.se:
            y = b.node("se", [y], width=max(1, int(enc.SE_RATIO * layer.in_width)))
        if layer.op != "conv":
            y = b.node("project", [y], width=layer.width, kernel=1)
        x = b.node("add", [y, x]) if layer.residual else y
    b.node("output", [b.node("pool", [x])])
    return b.graph()


_NAGO_OPS = ("stem", "sep_conv", "conv", "pool")


def _nago_graph(arch, input_shape=None):
    """NAGO's three levels flattened into one DAG of operations (`NAGOEncoding.plan`): an
    operation's inputs are the operations whose outputs reach it through the cells' and
    stages' means; `reduce` is its resolution (0: the stem's)."""
    enc = arch.encoding
    plan = enc.plan(arch, input_shape)
    op = "sep_conv" if enc.conv == "separable" else "conv"
    b = GraphBuilder()
    stem = b.node("stem", [b.node("input")], width=plan.widths[0], kernel=3,
                  stride=plan.stem_pool)

    def run(dag, entry, node):
        """The builder nodes of `dag`'s sinks, with `entry` feeding its sources."""
        outputs = {dag.input: entry}
        for v in dag.nodes():
            outputs[v] = node(v, [i for s in dag.predecessors(v) for i in outputs[s]])
        return [i for s in dag.sinks() for i in outputs[s]]

    stages = {plan.top.input: [stem]}
    for t in plan.top.nodes():
        width, level, cells = plan.widths[t - 1], plan.levels[t - 1], plan.bottom[t - 1]

        def cell(c, entry, width=width, level=level, cells=cells):
            return run(cells[c - 1], entry, lambda o, feeds: [b.node(
                op, feeds, width=width, kernel=enc.kernel, reduce=level)])

        entry = [i for s in plan.top.predecessors(t) for i in stages[s]]
        stages[t] = run(plan.mid[t - 1], entry, cell)
    b.node("output", [b.node("pool", [i for s in plan.top.sinks() for i in stages[s]])])
    return b.graph()
