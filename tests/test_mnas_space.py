"""MnasSpace and MnasEncoding: MnasNet's factorized hierarchical space (per-block decisions)."""

import itertools
import json

import keras
import numpy as np
import pytest

from kerasnas.graphs import GraphFeaturizer, graph_of, vocabulary_of
from kerasnas.spaces import MnasSpace
from kerasnas.spaces.architecture import Architecture, Encoding
from kerasnas.spaces.encodings import MnasEncoding


def _count(model, cls):
    return sum(isinstance(layer, cls) for layer in model.layers)


def _one_block(block, **kwargs):
    """A one-block space on 8x8 images with a stem of 8 and a base width of 16."""
    space = MnasSpace((8, 8, 1), 3, num_blocks=1, stem_width=8, base_widths=(16,), **kwargs)
    return space, space.build_architecture(space.encoding.from_string(block), compile=False)


# ------------------------------------------------------------------ encoding
def test_strings_json_and_specs_round_trip():
    enc = MnasEncoding(reductions=2)
    rng = np.random.default_rng(0)
    for _ in range(100):
        arch = enc.sample(rng)
        assert enc.from_string(str(arch)) == arch
        assert Architecture.from_json(arch.to_json()) == arch
        assert enc.from_hp_values(json.loads(json.dumps(arch.to_hp_values()))) == arch
        child = arch.mutate(rng)
        assert child != arch and enc.from_string(str(child)) == child
    assert Encoding.from_spec(json.loads(json.dumps(enc.to_spec()))) == enc


def test_inactive_decisions_are_canonical_and_size_counts_distinct_networks():
    enc = MnasEncoding(num_blocks=2, ops=("mbconv", "conv"), expansions=(6, 1), kernels=(3,),
                       layers=(1, 2), width_ratios=(1.0, 0.75, 1.25, 1.1), base_widths=(32, 32),
                       stem_width=32, reductions=1)
    names = [d.name for d in enc.decisions]
    distinct = {enc.architecture(dict(zip(names, values, strict=True)))
                for values in itertools.product(*(d.choices for d in enc.decisions))}
    assert len(distinct) == enc.size()  # 1.1 rounds to 1.0's 32 channels: one choice
    conv = enc.from_string("conv k3 x1 w1 | conv k3 x1 w1")
    assert "block0_expansion" not in enc.active(conv.as_dict())
    # Block 0 (32 -> 32, stride 1) can take the identity; block 1 strides and has one layer.
    assert {"block0_skip"} == {n for n in enc.active(conv.as_dict()) if n.endswith("skip")}
    assert enc.from_string("conv k3 x1 w1 | conv k3 x1 w1 skip") == conv


def test_reductions_follow_the_input_size_and_mobilenets_stages():
    assert MnasEncoding.num_reductions((8, 8, 1)) == 1      # 8 -> 4
    assert MnasEncoding.num_reductions((28, 28, 1)) == 2    # 28 -> 14 -> 7
    assert MnasEncoding.num_reductions((32, 32, 3)) == 3    # 32 -> 4
    assert MnasEncoding.num_reductions((40, 3)) == 2        # 40 -> 10
    assert MnasEncoding.num_reductions((7, 7, 1)) == 0
    # Seven blocks at 224 px: MnasNet's own layout, stem and blocks 1, 2, 3 and 5 strided.
    assert MnasEncoding.num_reductions((224, 224, 3), num_blocks=7) == 5
    assert MnasEncoding(num_blocks=7, reductions=5).strides() == (2, (1, 2, 2, 2, 1, 2, 1))
    # Fewer reductions go to the last strided stages: the first blocks keep full resolution.
    assert MnasEncoding(reductions=1).strides() == (1, (1, 1, 1, 2))
    assert MnasEncoding(reductions=4).strides() == (2, (1, 2, 2, 2))
    assert MnasEncoding(num_blocks=5).base_widths == (8, 12, 16, 32, 48)  # MobileNetV2's / 2


def test_bad_arguments_and_strings_name_the_problem():
    with pytest.raises(ValueError, match="num_blocks must be an int from 1 to 7"):
        MnasEncoding(num_blocks=8)
    with pytest.raises(ValueError, match="base_widths needs one width per block"):
        MnasEncoding(num_blocks=3, base_widths=(16, 24))
    with pytest.raises(ValueError, match="width_ratios must list positive numbers"):
        MnasEncoding(width_ratios=(1.0, -0.5))
    with pytest.raises(ValueError, match="ops must be a non-empty subset"):
        MnasEncoding(ops=("mbconv", "hard_swish_conv"))
    with pytest.raises(ValueError, match="reductions must be an int from 0 to 4"):
        MnasEncoding(reductions=5)
    with pytest.raises(ValueError, match="reductions must be an int from 0 to 2"):
        MnasEncoding(num_blocks=2, reductions=3)
    enc = MnasEncoding(num_blocks=2)
    with pytest.raises(ValueError, match="it has 1 blocks, this space 2"):
        enc.from_string("conv k3 x1 w1")
    with pytest.raises(ValueError, match="unknown option 'q7'"):
        enc.from_string("conv k3 x1 w1 | conv k3 x1 w1 q7")
    with pytest.raises(ValueError, match="block1_kernel"):
        enc.from_string("conv k3 x1 w1 | conv k7 x1 w1")
    with pytest.raises(ValueError, match="num_blocks must be an int from 1 to 7"):
        MnasSpace((8, 8, 1), 3, num_blocks=0)


# ------------------------------------------------------------------- models
def test_squeeze_excitation_adds_a_pool_and_two_dense_layers_per_layer():
    _, plain = _one_block("mbconv6 k3 x2 w1 skip")
    _, se = _one_block("mbconv6 k3 x2 w1 se skip")
    pools = keras.layers.GlobalAveragePooling2D
    assert _count(se, pools) - _count(plain, pools) == 2
    assert _count(se, keras.layers.Dense) - _count(plain, keras.layers.Dense) == 4
    assert _count(se, keras.layers.Multiply) == 2 and _count(plain, keras.layers.Multiply) == 0
    # The bottleneck is max(1, int(0.25 * C_in)): 2 units for the first layer (8 channels in).
    bottlenecks = sorted(layer.units for layer in se.layers
                         if isinstance(layer, keras.layers.Dense) and layer.name != "head")
    assert bottlenecks == [2, 4, 48, 96]  # SE reduce 8/4, 16/4; expand to 6 x 8, 6 x 16


@pytest.mark.parametrize("expansion", [1, 3, 6])
def test_expansion_multiplies_the_expand_convs_width(expansion):
    _, model = _one_block(f"mbconv{expansion} k3 x1 w1")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
             and not isinstance(layer, keras.layers.DepthwiseConv2D)]
    stem, expand, project = convs
    assert stem.filters == 8 and expand.kernel_size == (1, 1)
    assert expand.filters == expansion * 8  # expansion x the layer's input channels
    assert project.filters == 16


@pytest.mark.parametrize("ratio, width", [(0.75, 12), (1.0, 16), (1.25, 20)])
def test_width_ratio_scales_the_blocks_output_channels(ratio, width):
    _, model = _one_block(f"sep_conv k5 x1 w{ratio:g}")
    assert model.get_layer(index=-2).output.shape[-1] == width  # the pooled features
    depthwise = [layer for layer in model.layers
                 if isinstance(layer, keras.layers.DepthwiseConv2D)]
    assert [layer.kernel_size for layer in depthwise] == [(5, 5)]


def test_layers_repeat_with_the_stride_on_the_first_and_skips_where_shapes_agree():
    space = MnasSpace((8, 8, 1), 3, num_blocks=2, stem_width=8, base_widths=(8, 16))
    assert space.encoding.strides() == (1, (1, 2))  # 8x8: one reduction, in block 1
    arch = space.encoding.from_string("conv k3 x2 w1 skip | mbconv3 k3 x3 w1 skip")
    model = space.build_architecture(arch, compile=False)
    assert _count(model, keras.layers.DepthwiseConv2D) == 3
    # Block 0: both layers 8 -> 8 at stride 1 add their input; block 1's first layer strides.
    assert _count(model, keras.layers.Add) == 2 + 2
    strided = [layer for layer in model.layers if getattr(layer, "strides", (1, 1)) == (2, 2)]
    assert len(strided) == 1 and isinstance(strided[0], keras.layers.DepthwiseConv2D)
    no_skip = space.build_architecture(
        space.encoding.from_string("conv k3 x2 w1 | mbconv3 k3 x3 w1"), compile=False)
    assert _count(no_skip, keras.layers.Add) == 0
    assert model.count_params() == no_skip.count_params()  # the identity has no weights
    # Name scopes tag the weights with their decision group (net2net matches layers by them).
    paths = {w.path.split("/")[0] for w in model.weights}
    assert {"stem", "block0", "block1"} <= paths


def test_sequences_get_1d_layers():
    space = MnasSpace((40, 3), 4, num_blocks=2, base_widths=(8, 16), stem_width=8)
    model = space.build_architecture(
        space.encoding.from_string("sep_conv k5 x1 w1 se | mbconv6 k3 x2 w1.25 skip"))
    assert _count(model, keras.layers.DepthwiseConv1D) == 3
    assert _count(model, keras.layers.GlobalAveragePooling1D) == 2  # the SE's and the body's
    assert not any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
    assert model.output_shape == (None, 4)
    x = np.random.default_rng(0).random((4, 40, 3)).astype("float32")
    assert np.allclose(model.predict(x, verbose=0).sum(1), 1.0, atol=1e-5)


@pytest.mark.parametrize("shape", [(8, 8, 1), (40, 3)], ids=["digits", "series"])
def test_hand_designs_are_in_the_space_and_build(shape):
    space = MnasSpace(shape, 10)
    mobilenet, a1 = space.hand_designs()
    assert all(b.startswith("mbconv") and "k3" in b and " se" not in b
               for b in str(mobilenet).split(" | "))
    assert str(a1).split(" | ") == ["sep_conv k3 x1 w1", "mbconv6 k3 x2 w1 skip",
                                    "mbconv3 k5 x3 w1.25 se skip", "mbconv6 k3 x4 w1.25 skip"]
    for design in (mobilenet, a1):
        assert space.encoding.from_string(str(design)) == design
        assert space.build_architecture(design, compile=False).output_shape == (None, 10)
    # A space narrowed by the user keeps only the designs it holds.
    assert MnasSpace(shape, 10, squeeze_excite=(False,)).hand_designs() == [
        MnasSpace(shape, 10, squeeze_excite=(False,)).encoding.from_string(str(mobilenet))]
    assert [len(str(d).split(" | ")) for d in MnasSpace(shape, 10, num_blocks=7).hand_designs()] \
        == [7, 7]


def test_width_fidelity_scales_every_width_and_config_round_trips():
    space = MnasSpace((8, 8, 1), 3, num_blocks=1, stem_width=8, base_widths=(16,))
    arch = space.encoding.from_string("mbconv6 k3 x1 w1")
    space.fidelity = {"width": 0.5}
    model = space.build_architecture(arch, compile=False)
    assert model.get_layer(index=-2).output.shape[-1] == 8
    again = MnasSpace.from_config(json.loads(json.dumps(space.get_config())))
    assert again.encoding == space.encoding


def test_graph_view_shows_each_layers_convolutions_se_and_skips():
    enc = MnasEncoding(num_blocks=3, reductions=1)
    arch = enc.from_string("sep_conv k3 x1 w1 | mbconv6 k3 x2 w1 se skip | conv k5 x1 w1.25")
    g = graph_of(arch)
    assert g.ops.count("expand") == 2 and g.ops.count("se") == 2 and g.ops.count("add") == 1
    assert g.ops.count("depthwise") == 3 and g.ops.count("conv") == 1
    expand = [a for op, a in zip(g.ops, g.attributes, strict=True) if op == "expand"]
    assert [a["width"] for a in expand] == [6 * 8, 6 * 12]  # 6 x the input channels
    convs = [a for op, a in zip(g.ops, g.attributes, strict=True) if op == "conv"]
    assert [a.get("stride") for a in convs] == [2.0]
    rng = np.random.default_rng(0)
    vocabulary = set(vocabulary_of(enc))
    for _ in range(30):
        graph = graph_of(enc.sample(rng))
        assert set(graph.ops) <= vocabulary and all(s < t for s, t in graph.edges)
    batch = GraphFeaturizer.for_encoding(enc).architectures([arch, enc.sample(rng)])
    assert batch.features.shape[0] == 2 and batch.mask[0].sum() == g.num_nodes


# ---------------------------------------------------------------- one-liner
def test_one_liner_space_choice_under_a_latency_budget(digits, monkeypatch):
    """`space="mnas"` is a name of the one-liner; `space="auto"` with a latency budget keeps the
    measured choice (benchmarks/README.md, "Spaces under a latency budget": MnasSpace lost on
    digits and GunPoint at equal search time, so `LATENCY_SPACES` lists no kind) and switches
    to a listed space where the table says so."""
    from kerasnas.automl import assemble
    from kerasnas.automl.checks import check_space
    from kerasnas.data import prepare_data
    from kerasnas.hardware import HardwareObjective

    assert check_space("mnas", {"num_blocks": 3})[1] is MnasSpace
    x, y = digits.x_train, digits.y_train
    images = prepare_data(x, y, seed=0).task
    series = prepare_data(x.reshape(len(x), 8, 8), y, kind="sequence", seed=0).task
    budget = HardwareObjective("int8", latency_budget_ms=0.1)
    assert assemble.LATENCY_SPACES == {}  # the measured choice: no kind switches to MnasSpace
    assert assemble.auto_space(images, budget)[0] == "ResidualSpace"
    assert assemble.auto_space(series, budget)[0] == "SeriesSpace"
    monkeypatch.setitem(assemble.LATENCY_SPACES, "image", "MnasSpace")
    assert assemble.auto_space(images, budget)[0] == "MnasSpace"
    assert assemble.auto_space(images, HardwareObjective("int8", target_ms=0.1))[0] == "MnasSpace"
    assert assemble.auto_space(images, None)[0] == "ResidualSpace"  # no budget: as before
    size_only = HardwareObjective("int8", size_budget_bytes=10_000)
    assert assemble.auto_space(images, size_only)[0] == "ResidualSpace"
    assert assemble.auto_space(series, budget)[0] == "SeriesSpace"  # a kind not listed
    space = assemble.make_space("auto", None, images, {}, 1e-3, lambda: None, hardware=budget)
    assert isinstance(space, MnasSpace) and space.input_shape == (8, 8, 1)
