"""The graph view of architectures (`kerasnas.graphs`) and its graph neural network."""

import keras
import keras_tuner
import numpy as np
import pytest

from kerasnas.graphs import (
    ArchitectureGraph,
    GraphEncoder,
    GraphFeaturizer,
    graph_of,
    graph_of_hypermodel,
    graph_of_model,
    vocabulary_of,
)
from kerasnas.spaces.encodings import (
    CellEncoding,
    DenseEncoding,
    MacroEncoding,
    NAGOEncoding,
    NB201Encoding,
    ResidualEncoding,
    SeriesEncoding,
    TableEncoding,
)
from kerasnas.spaces.hp_encoding import HPEncoding

ENCODINGS = [NB201Encoding(), CellEncoding(), CellEncoding(macro=True, num_cells=4),
             MacroEncoding(), DenseEncoding(min_layers=0), ResidualEncoding(), SeriesEncoding(),
             TableEncoding(), NAGOEncoding()]


def _reaches(graph, start, forward=True):
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        for s, t in graph.edges:
            a, b = (s, t) if forward else (t, s)
            if a == node and b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


@pytest.mark.parametrize("encoding", ENCODINGS, ids=lambda e: repr(e)[:40])
def test_every_graph_is_a_dag_from_input_to_output_in_the_vocabulary(encoding):
    rng = np.random.default_rng(0)
    vocabulary = set(vocabulary_of(encoding))
    for _ in range(60):
        g = graph_of(encoding.sample(rng))
        assert g.ops[0] == "input" and g.ops[-1] == "output"
        assert set(g.ops) <= vocabulary, set(g.ops) - vocabulary
        assert all(s < t for s, t in g.edges)
        # Every node lies on a path from the input to the output.
        assert _reaches(g, 0) == set(range(g.num_nodes))
        assert _reaches(g, g.num_nodes - 1, forward=False) == set(range(g.num_nodes))


def test_nb201_graph_puts_each_edge_operation_between_its_nodes():
    enc = NB201Encoding()
    arch = enc.from_string("|nor_conv_3x3~0|+|skip_connect~0|none~1|+"
                           "|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|")
    g = graph_of(arch)
    assert g.ops == ("input", "nor_conv_3x3", "sum", "skip_connect", "none", "sum",
                     "avg_pool_3x3", "nor_conv_1x1", "skip_connect", "output")
    assert set(g.edges) == {(0, 1), (1, 2), (0, 3), (2, 4), (3, 5), (4, 5), (0, 6), (2, 7),
                            (5, 8), (6, 9), (7, 9), (8, 9)}


def test_nb201_graphs_tell_every_cell_apart():
    enc = NB201Encoding()
    rng = np.random.default_rng(1)
    archs = {enc.sample(rng) for _ in range(400)}
    graphs = {(graph_of(a).ops, graph_of(a).edges) for a in archs}
    assert len(graphs) == len(archs)


def test_residual_graph_follows_the_plan_for_the_input_shape():
    enc = ResidualEncoding()
    arch = enc.from_string("4x16 k3 dilation=none downsample=by_size dropout=0.0")
    plan = enc.plan(arch, (32, 32, 3))
    g = graph_of(arch, (32, 32, 3))
    strides = [a.get("stride", 1.0) for op, a in zip(g.ops, g.attributes, strict=True) if op == "conv:relu"]
    assert [i for i, s in enumerate(strides) if s == 2] == list(plan.strided)
    widths = [a["width"] for op, a in zip(g.ops, g.attributes, strict=True) if op == "conv"]
    assert widths == [float(w) for w in plan.widths]
    # Without the input shape the stack never strides.
    assert all(a.get("stride", 1.0) == 1 for a in graph_of(arch).attributes)


def test_macro_skips_and_cell_inputs_become_edges():
    enc = MacroEncoding()
    arch = enc.from_string("conv_3x3:16 > conv_3x3:32 > sep_conv_5x5:64+0")
    g = graph_of(arch)
    layer = [i for i, op in enumerate(g.ops) if op in enc.ops]
    assert (layer[0], layer[2]) in g.edges and (layer[1], layer[2]) in g.edges
    assert g.attributes[layer[2]] == {"width": 64.0, "kernel": 5.0}
    cell = CellEncoding(num_blocks=2)
    g = graph_of(cell.from_string("normal: skip_connect~0 sep_conv_3x3~1 add / "
                                  "max_pool_3x3~1 avg_pool_3x3~2 concat | reduce: "
                                  "skip_connect~0 skip_connect~1 add / skip_connect~0 "
                                  "skip_connect~2 add"))
    assert g.ops.count("cell_input") == 4 and g.ops.count("concat") == 3


def test_graph_of_model_reads_a_functional_model():
    x = keras.Input((8,))
    h = keras.layers.Dense(16, activation="relu", name="h")(x)
    s = keras.layers.Add(name="s")([h, keras.layers.Dense(16, name="p")(x)])
    model = keras.Model(x, keras.layers.Dense(3, name="out")(keras.layers.Dropout(0.2)(s)))
    g = graph_of_model(model)
    assert g.ops == ("input", "dense:relu", "dense", "add", "dropout", "dense", "output")
    assert set(g.edges) == {(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (4, 5), (5, 6)}
    assert g.attributes[1]["width"] == 16.0 and g.attributes[4]["dropout"] == 0.2
    seq = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(8, 3, strides=2),
                            keras.layers.Flatten(), keras.layers.Dense(2)])
    g = graph_of_model(seq)
    assert g.ops == ("input", "conv2d", "flatten", "dense", "output")
    assert g.attributes[1] == {"width": 8.0, "kernel": 3.0, "stride": 2.0, "dilation": 1.0}


def test_a_user_build_hp_gets_a_decision_chain_or_its_model_graph():
    def build(hp):
        x = keras.Input((5,))
        h = x
        for i in range(hp.Int("layers", 1, 3)):
            h = keras.layers.Dense(hp.Choice(f"units{i}", [8, 16]), activation="relu")(h)
        model = keras.Model(x, keras.layers.Dense(1)(h))
        return model

    hp = keras_tuner.HyperParameters()
    build(hp)
    enc = HPEncoding.from_keras_tuner(hp)
    arch = enc.architecture({**{d.name: d.default for d in enc.decisions}, "layers": 1})
    chain = graph_of(arch)
    assert chain.ops[0] == "input" and chain.ops[-1] == "output"
    assert all("=" in op for op in chain.ops[1:-1])
    assert graph_of_hypermodel(arch, build).ops == ("input", "dense:relu", "dense", "output")


def test_featurizer_pads_masks_and_one_hots():
    enc = NB201Encoding()
    f = GraphFeaturizer.for_encoding(enc, max_nodes=12)
    arch = enc.default()
    batch = f.architectures([arch, arch.mutate(np.random.default_rng(0))])
    assert batch.features.shape == (2, 12, f.num_features)
    assert batch.mask[0].tolist() == [1.0] * 10 + [0.0, 0.0]
    assert np.all(batch.features[:, 10:] == 0) and np.all(batch.adjacency[:, 10:] == 0)
    ops = f.vocabulary
    assert batch.features[0, 1, ops.index(arch["edge_1_0"])] == 1.0
    assert batch.features[0, :10, :len(ops)].sum() == 10  # one operation per real node
    unknown = ArchitectureGraph(("input", "mystery", "output"), ((0, 1), (1, 2)), ({}, {}, {}))
    assert f.transform([unknown]).features[0, 1, ops.index("other")] == 1.0
    with pytest.raises(ValueError, match="max_nodes"):
        GraphFeaturizer.for_encoding(enc, max_nodes=5).architectures([arch])
    with pytest.raises(ValueError, match="not forward"):
        ArchitectureGraph(("input", "output"), ((1, 0),), ({}, {}))


def test_encoder_ignores_padding_and_tells_graphs_apart():
    enc = NB201Encoding()
    rng = np.random.default_rng(3)
    archs = [enc.sample(rng) for _ in range(6)]
    encoder = GraphEncoder(units=16, num_layers=2)
    tight = GraphFeaturizer.for_encoding(enc).architectures(archs)
    padded = GraphFeaturizer.for_encoding(enc, max_nodes=14).architectures(archs)
    nodes, graphs = encoder(tight.inputs())
    nodes_p, graphs_p = encoder(padded.inputs())
    np.testing.assert_allclose(np.asarray(graphs), np.asarray(graphs_p), atol=1e-5)
    np.testing.assert_allclose(np.asarray(nodes), np.asarray(nodes_p)[:, :10], atol=1e-5)
    assert np.all(np.asarray(nodes_p)[:, 10:] == 0)
    distances = np.linalg.norm(np.asarray(graphs)[:, None] - np.asarray(graphs)[None], axis=-1)
    assert np.all(distances[~np.eye(6, dtype=bool)] > 1e-4)
    clone = GraphEncoder.from_config(encoder.get_config())
    assert (clone.units, clone.num_layers) == (16, 2)
    with pytest.raises(ValueError, match="positive ints"):
        GraphEncoder(units=0)
