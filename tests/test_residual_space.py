"""ResidualSpace: ResNets for images and dilated TCNs for sequences, reductions by input size."""

import keras
import numpy as np
import pytest

from kerasnas.bench.signals import make_signals
from kerasnas.spaces import ResidualSpace
from kerasnas.spaces.architecture import Architecture
from kerasnas.spaces.encodings import ResidualEncoding


@pytest.mark.parametrize("shape, reductions", [((40, 1), 0), ((100, 6), 1), ((1000, 1), 4),
                                               ((8, 8, 1), 0), ((28, 28, 1), 1),
                                               ((32, 32, 3), 2)])
def test_reductions_follow_the_input_size(shape, reductions):
    space = ResidualSpace(shape, 3, blocks=(2,), widths=(4,), kernels=(3,))
    assert space.num_reductions() == reductions
    arch = space.encoding.from_string("2x4 k3 dilation=none downsample=by_size dropout=0.0")
    model = space.build_architecture(arch)
    assert model(np.zeros((2,) + shape, "float32")).shape == (2, 3)
    strided = [layer for layer in model.layers if getattr(layer, "strides", (1,))[0] == 2
               or getattr(layer, "pool_size", (1,))[0] > 1]
    # Each reduction is one stride-2 block conv + its shortcut, or a stem pool for the rest.
    assert (len(strided) > 0) == (reductions > 0)
    flat = space.encoding.from_string("2x4 k3 dilation=none downsample=none dropout=0.0")
    assert not [layer for layer in space.build_architecture(flat).layers
                if getattr(layer, "strides", (1,))[0] == 2]


def test_the_reduction_rule_lives_in_the_keras_free_encoding():
    import math

    for side in range(1, 3000):
        for shape, floor in (((side, 3), 32), ((side, side + 5, 1), 8)):
            # The rule as first written: halve while the side stays >= the floor.
            expected = max(0, math.floor(math.log2(side / floor))) if side >= floor else 0
            assert ResidualEncoding.num_reductions(shape) == expected, shape
            low, high = ResidualEncoding.sizes_for_reductions(expected, len(shape) - 1)
            assert low <= side <= high
    enc = ResidualEncoding()
    arch = enc.from_string("4x16 k3 dilation=exponential downsample=by_size dropout=0.0")
    plan = enc.plan(arch, (1000, 1))
    assert (plan.reductions, plan.strided, plan.widths, plan.dilations, plan.stem_pool) == \
        (4, (0, 1, 2, 3), (32, 64, 64, 64), (1, 2, 4, 8), 1)
    assert enc.plan(arch, (28, 28, 1)).strided == (2,)
    assert enc.plan(arch, (512, 512, 1)).stem_pool == 4  # 6 reductions, 4 blocks
    flat = enc.from_string("4x16 k3 dilation=none downsample=none dropout=0.0")
    assert enc.plan(flat, (1000, 1)) == enc.plan(flat, reductions=0)
    assert enc.plan(flat, (1000, 1)).strided == () and enc.plan(flat, (1000, 1)).reductions == 0
    for bad in ((64,), (8, 8, 8, 1), (0, 3), ("a", 3), None):
        with pytest.raises(ValueError, match="input_shape|plan needs"):
            enc.plan(arch, bad)


def test_tcn_hand_design_has_the_1_2_4_8_dilation_cycle():
    space = ResidualSpace((40, 1), 10)
    tcn = space.hand_designs()[0]
    assert str(tcn) == "8x64 k3 dilation=exponential downsample=none dropout=0.0"
    model = space.build_architecture(tcn, compile=False)
    dilations = [layer.dilation_rate[0] for layer in model.layers
                 if isinstance(layer, keras.layers.Conv1D) and layer.kernel_size[0] == 3]
    assert dilations[1:] == [1, 1, 2, 2, 4, 4, 8, 8] * 2  # stem first, two convs per block


def test_random_architectures_build_on_1d_and_2d_and_round_trip():
    rng = np.random.default_rng(0)
    for shape in ((24, 2), (16, 16, 1)):
        space = ResidualSpace(shape, None, blocks=(1, 2, 3), widths=(4, 8), kernels=(3, 5))
        for _ in range(6):
            arch = space.sample(rng)
            assert space.encoding.from_string(str(arch)) == arch
            assert Architecture.from_json(arch.to_json()) == arch
            out = space.build_architecture(arch)(np.zeros((1,) + shape, "float32"))
            assert out.shape == (1, 1)


def test_bad_arguments_and_strings_are_named():
    with pytest.raises(ValueError, match="dilations must be a non-empty subset"):
        ResidualEncoding(dilations=("huge",))
    with pytest.raises(ValueError, match="widths must list positive ints"):
        ResidualSpace((40, 1), 2, widths=(0,))
    with pytest.raises(ValueError, match="Cannot parse residual architecture"):
        ResidualEncoding().from_string("8x64 k3 colour=red")


def test_hand_designs_left_out_when_the_space_is_narrowed():
    space = ResidualSpace((40, 1), 2, widths=(8, 16))
    assert space.hand_designs() == []  # both designs need width 32 or 64


def test_tcn_learns_generated_signals():
    x, y = make_signals(600, length=40, num_classes=4, noise=0.3, seed=0)
    space = ResidualSpace((40, 1), 4, learning_rate=3e-3)
    arch = space.encoding.from_string("2x16 k3 dilation=exponential downsample=none dropout=0.0")
    model = space.build_architecture(arch)
    model.fit(x[:500, :, None], y[:500], epochs=6, batch_size=32, verbose=0)
    accuracy = model.evaluate(x[500:, :, None], y[500:], verbose=0)[1]
    assert accuracy > 0.8, accuracy  # chance is 0.25
