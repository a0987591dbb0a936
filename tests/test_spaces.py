"""The four search spaces: random architectures build, run and survive `.keras` save/load.

Per space, 100 distinct random architectures (half on 2D, half on 1D inputs
where the space allows) are built and run in the fast suite, split into chunks
of at most 10 so no test runs long; the first of every chunk (10 to 12 per
space) also round-trips through `.keras` (a round trip costs about twice a
build). The slow suite round-trips all 100.
"""

import warnings

import keras
import keras_tuner
import numpy as np
import pytest

from kerasnas.spaces import CellSpace, DenseSpace, MacroSpace, NB201Space
from kerasnas.spaces.architecture import SPACE_HP_NAME
from kerasnas.spaces.cost import count_flops, count_params

CHUNK, SAVED_PER_CHUNK = 10, 1


def make_space(kind, rank, **overrides):
    """A tiny space; 2D spaces classify 3 classes, 1D/tabular ones regress 2 targets."""
    shape = {2: (8, 8, 1), 1: (16, 1), 0: (10,)}[rank]
    head = {"num_classes": 3} if rank == 2 else {"output_dim": 2}
    args = {
        "macro": dict(widths=(4, 8), stem_channels=4, max_layers=5, min_layers=1),
        "cell": dict(channels=4, num_blocks=3, num_cells=3, stem_multiplier=1),
        "cell_macro": dict(channels=4, num_blocks=3, num_cells=3, stem_multiplier=1, macro=True),
        "nb201": dict(channels=4, cells_per_stage=1),
        "dense": dict(units=(4, 8), max_layers=3),
    }[kind]
    cls = {"macro": MacroSpace, "cell": CellSpace, "cell_macro": CellSpace,
           "nb201": NB201Space, "dense": DenseSpace}[kind]
    return cls(shape, **head, **{**args, **overrides})


#: (space variant, input rank, number of architectures); CellSpace's 100 are split
#: between the normal/reduce and the per-cell (`macro=True`) genotypes.
VARIANTS = [("macro", 2, 50), ("macro", 1, 50), ("cell", 2, 25), ("cell", 1, 25),
            ("cell_macro", 2, 25), ("cell_macro", 1, 25), ("nb201", 2, 50), ("nb201", 1, 50),
            ("dense", 0, 100)]


def variant_archs(kind, rank):
    """The distinct random architectures tested for (kind, rank): disjoint slices of one list."""
    mine = [v for v in VARIANTS if v[0] == kind]
    offset = sum(n for k, r, n in mine[:[r for _, r, _ in mine].index(rank)])
    count = next(n for k, r, n in mine if r == rank)
    total = sum(n for _, _, n in mine)
    return distinct_archs(make_space(kind, rank), total)[offset:offset + count]


def distinct_archs(space, n, seed=0):
    rng, archs = np.random.default_rng(seed), {}
    while len(archs) < n:
        archs.setdefault(space.sample(rng), None)
    return list(archs)


def chunks():
    for kind, rank, count in VARIANTS:
        for start in range(0, count, CHUNK):
            yield pytest.param(kind, rank, start, id=f"{kind}-{rank}d-{start}")


def _check_round_trip(model, x, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    with warnings.catch_warnings():  # the never-used optimizer has no variables to restore
        warnings.simplefilter("ignore", UserWarning)
        loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded(x, training=False).numpy(),
                                  model(x, training=False).numpy())


def _check_archs(kind, rank, archs, tmp_path, saved):
    space = make_space(kind, rank)
    x = np.random.default_rng(1).normal(size=(2, *space.input_shape)).astype("float32")
    for i, arch in enumerate(archs):
        model = space.build_architecture(arch)
        y = model(x, training=False).numpy()
        assert np.isfinite(y).all(), str(arch)
        if space.num_classes:
            assert y.shape == (2, 3)
            np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
        else:
            assert y.shape == (2, 2)
        assert count_params(model) > 0 and count_flops(model) > 0, str(arch)
        if i < saved:
            _check_round_trip(model, x, tmp_path)
    keras.backend.clear_session()


@pytest.mark.parametrize("kind, rank, start", list(chunks()))
def test_random_architectures_build_run_and_save(kind, rank, start, tmp_path):
    archs = variant_archs(kind, rank)[start:start + CHUNK]
    _check_archs(kind, rank, archs, tmp_path, saved=SAVED_PER_CHUNK)


@pytest.mark.slow
@pytest.mark.parametrize("kind, rank", [(k, r) for k, r, _ in VARIANTS])
def test_all_random_architectures_round_trip_through_keras_files(kind, rank, tmp_path):
    archs = variant_archs(kind, rank)
    _check_archs(kind, rank, archs, tmp_path, saved=len(archs))


# ------------------------------------------------------------- structure
def _feature_map_shape(model):
    pool = next(la for la in model.layers if "GlobalAveragePooling" in type(la).__name__)
    return tuple(pool.input.shape[1:])


def test_cell_space_reduces_twice_and_concatenates_blocks():
    space = CellSpace((8, 8, 1), 10, channels=4, num_blocks=3, num_cells=5)
    assert space.reduction_cells == (1, 3)
    assert [space.cell_name(i) for i in range(5)] == ["normal", "reduce", "normal", "reduce",
                                                      "normal"]
    model = space.build_architecture(space.sample(0), compile=False)
    # Two stride-2 reductions (8 -> 2) and channels 4 -> 16; output = 3 blocks concatenated.
    assert _feature_map_shape(model) == (2, 2, 3 * 16)


def test_cell_space_macro_uses_one_genotype_per_cell():
    space = CellSpace((16, 2), 10, channels=4, num_blocks=2, num_cells=3, macro=True)
    assert space.encoding.cell_names == ("cell0", "cell1", "cell2")
    assert [space.cell_name(i) for i in range(3)] == ["cell0", "cell1", "cell2"]
    model = space.build_architecture(space.sample(0), compile=False)
    assert _feature_map_shape(model) == (4, 2 * 16)


def test_swapped_cell_branches_build_the_same_network():
    space = CellSpace((8, 8, 1), 10, channels=4, num_blocks=1, num_cells=1)
    a = space.encoding.from_string("normal: sep_conv_3x3~0 max_pool_3x3~1 add | "
                                   "reduce: skip_connect~1 dil_conv_5x5~0 add")
    b = space.encoding.from_string("normal: max_pool_3x3~1 sep_conv_3x3~0 add | "
                                   "reduce: dil_conv_5x5~0 skip_connect~1 add")
    assert a == b
    assert space.cost(a) == space.cost(b)


def test_nb201_space_matches_the_benchmark_network():
    # NATS-Bench's topology table lists this all-3x3-conv cell on CIFAR-10 with
    # 1.531546 M parameters and 220.11969 M FLOPs; our MAC count leaves out
    # the classifier's 10 bias additions.
    space = NB201Space((32, 32, 3), 10)
    arch = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
            "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    model = space.build_architecture(arch, compile=False)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 1_531_546
    assert count_flops(model) == 220_119_680
    assert _feature_map_shape(model) == (8, 8, 64)


def test_nb201_dead_edges_do_not_count():
    space = NB201Space((8, 8, 1), 10, channels=4, cells_per_stage=1)
    conv_only_into_dead_node = space.cost("|nor_conv_3x3~0|+|none~0|none~1|"
                                          "+|skip_connect~0|none~1|none~2|")
    all_skip = space.cost("|skip_connect~0|+|skip_connect~0|skip_connect~1|"
                          "+|skip_connect~0|skip_connect~1|skip_connect~2|")
    assert conv_only_into_dead_node == all_skip


def test_macro_space_reductions_and_skips():
    space = MacroSpace((8, 8, 1), 10, widths=(4, 8), stem_channels=4, max_layers=6)
    assert [space.reductions(n) for n in (2, 3, 6)] == [(0, 1), (1, 2), (2, 4)]
    assert MacroSpace((8, 8, 1), 10, reduction_layers=0).reductions(6) == ()
    arch = space.encoding.from_string(
        "conv_3x3:4 > sep_conv_5x5:8 > avg_pool_3x3:8 > dil_conv_3x3:4+0,1 > max_pool_5x5:8+2")
    model = space.build_architecture(arch, compile=False)
    assert _feature_map_shape(model) == (2, 2, 8)
    no_skip = space.encoding.from_string(
        "conv_3x3:4 > sep_conv_5x5:8 > avg_pool_3x3:8 > dil_conv_3x3:4 > max_pool_5x5:8")
    assert space.cost(arch)["params"] > space.cost(no_skip)["params"]


def test_dense_space_residuals_project_only_when_widths_differ():
    space = DenseSpace((10,), 3, units=(8, 16))
    plain = space.build_architecture("8-8-16 relu dropout=0.0", compile=False)
    residual = space.build_architecture("8-8-16 relu dropout=0.1 skip", compile=False)
    dense_count = lambda m: sum(isinstance(la, keras.layers.Dense) for la in m.layers)  # noqa: E731
    assert dense_count(plain) == 4  # 3 hidden + head
    assert dense_count(residual) == 5  # + one projection 8 -> 16
    assert sum(isinstance(la, keras.layers.Add) for la in residual.layers) == 2
    assert sum(isinstance(la, keras.layers.Dropout) for la in residual.layers) == 3


@pytest.mark.parametrize("kind, rank", [("macro", 2), ("cell", 1), ("nb201", 2), ("dense", 0)])
def test_flops_grow_with_width(kind, rank):
    wide_args = {"macro": dict(stem_channels=8), "cell": dict(channels=8),
                 "nb201": dict(channels=8), "dense": dict(units=(4, 8, 16))}[kind]
    narrow, wide = make_space(kind, rank), make_space(kind, rank, **wide_args)
    arch = str(narrow.sample(3))
    if kind == "dense":
        arch = "8-8-8 relu dropout=0.0"
        wider = "16-16-16 relu dropout=0.0"
    else:
        wider = arch
    small, big = narrow.cost(arch), wide.cost(wider)
    assert 0 < small["flops"] < big["flops"]
    assert 0 < small["params"] < big["params"]


# ----------------------------------------------------------- hypermodel API
def test_build_declares_exactly_the_encoding_decisions():
    space = make_space("cell", 2)
    hp = keras_tuner.HyperParameters()
    space.declare_hyperparameters(hp)
    names = {h.name for h in hp.space}
    assert names == {d.name for d in space.encoding.decisions} | {SPACE_HP_NAME}
    arch = space.sample(5)
    hp = keras_tuner.HyperParameters()
    space.declare_hyperparameters(hp)
    hp.values.update(arch.to_hp_values())
    model = space.build(hp)
    assert count_params(model) == count_params(space.build_architecture(arch))
    assert model.optimizer is not None and model.loss == "sparse_categorical_crossentropy"


def test_regression_and_classification_heads():
    reg = DenseSpace((5,), output_dim=3, units=(4,))
    model = reg.build_architecture(reg.sample(0))
    assert reg.task == "regression" and model.output_shape == (None, 3)
    assert model.loss == "mse"
    assert model.get_layer("head").activation is keras.activations.linear
    clf = DenseSpace((5,), num_classes=4, units=(4,), optimizer="sgd", learning_rate=0.05)
    model = clf.build_architecture(clf.sample(0))
    assert clf.task == "classification" and model.output_shape == (None, 4)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)


def test_preprocessing_layers_live_inside_the_model(digits, tmp_path):
    norm = keras.layers.Normalization()
    norm.adapt(digits.x_train)
    space = NB201Space((8, 8, 1), 10, channels=4, cells_per_stage=1, preprocessing=[norm])
    model = space.build_architecture(space.sample(0))
    assert model.layers[1] is norm
    model.save(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loaded = keras.models.load_model(tmp_path / "m.keras")
    x = digits.x_val[:4]
    np.testing.assert_allclose(loaded.layers[1](x).numpy(), norm(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(loaded(x, training=False).numpy(),
                               model(x, training=False).numpy(), rtol=1e-6)


def test_architecture_of_another_space_is_rejected():
    space, other = make_space("nb201", 2), make_space("cell", 2)
    with pytest.raises(ValueError, match="belongs to"):
        space.build_architecture(other.sample(0))
    with pytest.raises(TypeError, match="Expected an Architecture"):
        space.build_architecture(42)


@pytest.mark.parametrize("cls, shape, match", [
    (DenseSpace, (8, 8, 1), r"DenseSpace needs input_shape \(features,\)"),
    (CellSpace, (10,), r"CellSpace needs input_shape \(length, channels\) or \(height"),
    (MacroSpace, (4, 4, 4, 1), "MacroSpace needs input_shape"),
    (NB201Space, (32, None, 3), "positive ints"),
    (NB201Space, 32, "must be a tuple"),
])
def test_bad_input_shape_raises(cls, shape, match):
    with pytest.raises(ValueError, match=match):
        cls(shape, num_classes=10)


def test_bad_space_arguments_raise():
    with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
        NB201Space((8, 8, 1), num_classes=1)
    with pytest.raises(ValueError, match="Unknown ops \\['conv_9x9'\\]"):
        CellSpace((8, 8, 1), 10, ops=("conv_9x9", "skip_connect"))
    with pytest.raises(ValueError, match="combinations must be"):
        CellSpace((8, 8, 1), 10, combinations=("multiply",))
    with pytest.raises(ValueError, match="needs ops \\['conv_7x7'\\]"):
        MacroSpace((8, 8, 1), 10, kernels=(3, 7), ops=("conv",))
    with pytest.raises(ValueError, match="channels must be a positive int"):
        NB201Space((8, 8, 1), 10, channels=0)
    with pytest.raises(ValueError, match="Unknown activation 'relux'"):
        DenseSpace((4,), activations=("relux",))
    with pytest.raises(TypeError, match="list of Keras layers"):
        DenseSpace((4,), preprocessing=["normalize"])
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        DenseSpace((4,), learning_rate=0)


def test_get_config_recreates_the_space():
    space = make_space("macro", 1)
    again = MacroSpace.from_config(space.get_config())
    assert again.encoding == space.encoding
    assert again.input_shape == space.input_shape and again.output_dim == 2


def test_models_compile_without_xla_by_default_and_on_request():
    space = DenseSpace((6,), num_classes=3)
    arch = space.sample(np.random.default_rng(0))
    assert space.build_architecture(arch).jit_compile is False
    assert DenseSpace((6,), num_classes=3, jit_compile=True).build_architecture(arch).jit_compile


def test_dense_linear_design_is_one_dense_layer():
    space = DenseSpace((10,), num_classes=3, min_layers=0, units=(4, 8), max_layers=2)
    assert "linear" in [str(a) for a in space.hand_designs()]
    model = space.build_architecture(space.encoding.from_string("linear"))
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 1 and count_params(model) >= (10 + 1) * 3
    assert model.predict(np.zeros((2, 10), "float32"), verbose=0).shape == (2, 3)
    assert "linear" not in [str(a) for a in DenseSpace((10,), num_classes=3).hand_designs()]


def test_searched_learning_rate_compiles_each_model_at_its_rate():
    space = DenseSpace((6,), num_classes=2, min_layers=0, units=(4,), max_layers=1,
                       learning_rates=(1e-3, 1e-2))
    rates = {str(a): float(space.build_architecture(a).optimizer.learning_rate)
             for a in space.hand_designs()}
    assert rates == pytest.approx({str(a): float(a["learning_rate"])
                                   for a in space.hand_designs()})
    assert "linear lr=0.01" in rates
    assert float(space.build_architecture("linear lr=0.01").optimizer.learning_rate) == \
        pytest.approx(0.01)
    assert float(space.build_architecture("4 relu dropout=0.0 lr=0.001").optimizer
                 .learning_rate) == pytest.approx(0.001)


def test_target_scale_starts_at_the_mean_and_survives_saving(tmp_path):
    space = DenseSpace((3,), output_dim=2, min_layers=0, target_scale=([100.0, -5.0], [25.0, 4.0]))
    model = space.build_architecture("linear")
    # The head's bias starts at 0, so a zero input predicts the standardised 0: the mean.
    np.testing.assert_allclose(model.predict(np.zeros((1, 3)), verbose=0), [[100.0, -5.0]])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
    assert DenseSpace.from_config(space.get_config()).target_scale == space.target_scale
    with pytest.raises(ValueError, match="one per output"):
        DenseSpace((3,), output_dim=2, target_scale=([1.0], [1.0]))
    with pytest.raises(ValueError, match="regression"):
        DenseSpace((3,), num_classes=2, target_scale=([1.0], [1.0]))
