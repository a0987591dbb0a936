"""The operation registry, the custom layers and the cost counters."""

import math

import keras
import numpy as np
import pytest

from kerasnas.spaces.cost import count_flops, count_params
from kerasnas.spaces.encodings import DARTS_OPS, MACRO_OPS, NB201_OPS
from kerasnas.spaces.layers import Subsample, Zero
from kerasnas.spaces.ops import OPS, apply_op, register_op

DEFAULT_OPS = [
    "conv_1x1", "conv_3x3", "conv_5x5", "nor_conv_1x1", "nor_conv_3x3",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
    "max_pool_3x3", "max_pool_5x5", "avg_pool_3x3", "avg_pool_5x5", "skip_connect", "none",
]


def _run(inputs, outputs, x):
    return keras.Model(inputs, outputs)(x, training=False).numpy()


def test_registry_holds_every_name_the_encodings_use():
    macro_names = [f"{family}_{k}x{k}" for family in MACRO_OPS for k in (3, 5)]
    for name in DEFAULT_OPS + macro_names + list(DARTS_OPS) + list(NB201_OPS):
        assert name in OPS, name


@pytest.mark.parametrize("name", DEFAULT_OPS)
def test_op_shapes_on_1d_and_2d_inputs(name):
    rng = np.random.default_rng(0)
    # Odd sizes check that every op rounds like padding="same": ceil(L / stride).
    for shape in [(7, 7, 3), (9, 3)]:
        for stride in (1, 2):
            for filters in (3, 6):
                inputs = keras.Input(shape)
                outputs = apply_op(name, inputs, filters, stride)
                spatial = tuple(math.ceil(d / stride) for d in shape[:-1])
                assert tuple(outputs.shape) == (None, *spatial, filters)
                y = _run(inputs, outputs, rng.normal(size=(2, *shape)).astype("float32"))
                assert y.shape == (2, *spatial, filters)
                assert np.isfinite(y).all()


def test_skip_connect_is_the_input_itself_at_stride_1():
    inputs = keras.Input((8, 8, 4))
    assert apply_op("skip_connect", inputs, 4) is inputs
    assert apply_op("skip_connect", inputs) is inputs


def test_factorized_reduce_sees_odd_positions():
    # A 1x1 stride-2 conv alone reads positions 0, 2, ...; the shifted half must
    # pick up a signal that sits only at position (1, 1).
    inputs = keras.Input((6, 6, 2))
    outputs = apply_op("skip_connect", inputs, 4, stride=2)
    x = np.zeros((1, 6, 6, 2), "float32")
    x[0, 1, 1, :] = 1.0
    model = keras.Model(inputs, outputs)
    silent = model(np.zeros_like(x), training=False).numpy()
    assert not np.allclose(model(x, training=False).numpy(), silent)


def test_none_gives_zeros_with_the_requested_shape():
    inputs = keras.Input((5, 5, 3))
    y = _run(inputs, apply_op("none", inputs, 8, stride=2), np.ones((2, 5, 5, 3), "float32"))
    assert y.shape == (2, 3, 3, 8)
    assert not y.any()


@pytest.mark.parametrize("shape", [(6, 6, 2), (7, 2)])
def test_avg_pool_excludes_padding(shape):
    inputs = keras.Input(shape)
    y = _run(inputs, apply_op("avg_pool_5x5", inputs), np.ones((1, *shape), "float32"))
    np.testing.assert_allclose(y, 1.0, rtol=1e-6)


def test_max_pool_takes_the_window_maximum():
    inputs = keras.Input((5, 1))
    x = np.array([[[0.0], [3.0], [1.0], [0.0], [2.0]]], "float32")
    y = _run(inputs, apply_op("max_pool_3x3", inputs), x)
    np.testing.assert_allclose(y[0, :, 0], [3, 3, 3, 2, 2])


def test_sep_conv_stacks_two_separable_convolutions():
    inputs = keras.Input((8, 8, 4))
    model = keras.Model(inputs, apply_op("sep_conv_5x5", inputs, 6, stride=2))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.SeparableConv2D)]
    assert [c.strides for c in convs] == [(2, 2), (1, 1)]
    assert [c.kernel_size for c in convs] == [(5, 5), (5, 5)]
    assert [c.filters for c in convs] == [4, 6]


def test_strided_dil_conv_equals_subsampled_stride_1():
    inputs = keras.Input((8, 8, 3))
    dense = keras.Model(inputs, apply_op("dil_conv_3x3", inputs, 5, stride=1))
    strided = keras.Model(inputs, apply_op("dil_conv_3x3", inputs, 5, stride=2))
    conv = next(la for la in strided.layers if isinstance(la, keras.layers.SeparableConv2D))
    assert conv.dilation_rate == (2, 2)
    rng = np.random.default_rng(1)
    strided.set_weights([w + rng.normal(size=w.shape) * 0.1 for w in strided.get_weights()])
    dense.set_weights(strided.get_weights())
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    full = dense(x, training=False).numpy()
    np.testing.assert_allclose(strided(x, training=False).numpy(), full[:, ::2, ::2], atol=1e-5)


def test_pool_projects_when_the_width_changes():
    inputs = keras.Input((8, 3))
    model = keras.Model(inputs, apply_op("max_pool_3x3", inputs, 7))
    assert model.output_shape == (None, 8, 7)
    assert any(isinstance(la, keras.layers.Conv1D) and la.kernel_size == (1,)
               for la in model.layers)


def test_register_op_adds_custom_ops_and_guards_names():
    name = "test_gelu_conv_3x3"
    try:
        @register_op(name)
        def gelu_conv(x, filters, stride):
            layer = keras.layers.Conv1D if len(x.shape) == 3 else keras.layers.Conv2D
            return layer(filters, 3, strides=stride, padding="same", activation="gelu")(x)

        assert OPS[name] is gelu_conv
        assert apply_op(name, keras.Input((16, 2)), 4, stride=2).shape == (None, 8, 4)
        with pytest.raises(ValueError, match="already registered"):
            register_op(name, gelu_conv)
        register_op(name, gelu_conv, overwrite=True)
        with pytest.raises(TypeError, match="callable"):
            register_op("test_broken", 42)
    finally:
        OPS.pop(name, None)


def test_apply_op_rejects_bad_arguments():
    x2d = keras.Input((8, 8, 3))
    with pytest.raises(ValueError, match="Unknown op 'conv_9x9'.*register_op"):
        apply_op("conv_9x9", x2d, 4)
    with pytest.raises(ValueError, match="1D .* or 2D"):
        apply_op("conv_3x3", keras.Input((10,)), 4)
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        apply_op("conv_3x3", x2d, 4, stride=3)
    with pytest.raises(ValueError, match="filters must be a positive int"):
        apply_op("conv_3x3", x2d, 0)


def test_custom_layers_serialize(tmp_path):
    assert Zero.from_config(Zero(filters=5, stride=2).get_config()).filters == 5
    assert Subsample.from_config(Subsample(3).get_config()).stride == 3
    with pytest.raises(ValueError, match="stride"):
        Subsample(0)
    inputs = keras.Input((9, 2))
    outputs = keras.layers.Concatenate()([Subsample(2)(inputs), Zero(3, 2)(inputs)])
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert [type(la) for la in loaded.layers] == [type(la) for la in model.layers]
    x = np.arange(18, dtype="float32").reshape(1, 9, 2)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    np.testing.assert_array_equal(loaded(x).numpy()[0, :, :2], x[0, ::2])


# ------------------------------------------------------------------ cost
def test_count_flops_matches_hand_computed_2d_model():
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(inputs)        # -> 4x4x4
    x = keras.layers.SeparableConv2D(6, 3, padding="same")(x)               # -> 4x4x6
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)  # -> 4x4x12
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5)(x))
    conv = 4 * 4 * (3 * 3 * 2) * 4
    sep = 4 * 4 * (3 * 3) * 4 + 4 * 4 * 4 * 6
    depthwise = 4 * 4 * (3 * 3) * 6 * 2
    dense = 12 * 5
    assert count_flops(model) == conv + sep + depthwise + dense == 3900
    bn = 4 * 12
    params = (3 * 3 * 2 * 4 + 4) + (9 * 4 + 4 * 6 + 6) + (9 * 6 * 2 + 12) + bn + (12 * 5 + 5)
    assert count_params(model) == params
    assert isinstance(count_flops(model), int) and isinstance(count_params(model), int)


def test_count_flops_matches_hand_computed_1d_model():
    inputs = keras.Input((16, 3))
    x = keras.layers.Conv1D(4, 5, padding="same")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))  # dense on each of 16 positions
    assert count_flops(model) == 16 * 5 * 3 * 4 + 16 * 4 * 2


def test_count_flops_counts_shared_layers_once_per_model_and_nested_models():
    shared = keras.layers.Dense(8)
    inputs = keras.Input((4,))
    first = keras.Model(inputs, shared(inputs))
    assert count_flops(first) == 32
    other = keras.Input((4,))
    keras.Model(other, keras.layers.Dense(3)(shared(other)))
    assert count_flops(first) == 32
    outer_in = keras.Input((4,))
    outer = keras.Model(outer_in, keras.layers.Dense(1)(first(outer_in)))
    assert count_flops(outer) == 32 + 8


def test_count_flops_needs_a_built_model():
    with pytest.raises(ValueError, match="built model"):
        count_flops(keras.Sequential([keras.layers.Dense(2)]))
