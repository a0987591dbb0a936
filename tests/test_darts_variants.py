"""PC-DARTS (partial_channels / edge_normalisation): the channel shuffle, partial channel
connections, edge normalisation, K=1 equals DARTS, the one-liner name; D-DARTS (one α per
cell, deepen)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from kerasnas import darts  # noqa: E402
from kerasnas.darts.derive import deepen, derive  # noqa: E402
from kerasnas.darts.model import DartsModel  # noqa: E402
from kerasnas.darts.supernet import ChannelShuffle, build_supernet, mixed_op  # noqa: E402
from kerasnas.spaces import CellSpace, NB201Space  # noqa: E402
from kerasnas.spaces.encodings import CellEncoding  # noqa: E402

OPS = ("none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3")


def test_channel_shuffle_matches_numpy():
    x = np.arange(2 * 3 * 8, dtype="float32").reshape(2, 3, 8)
    got = ChannelShuffle(4)(x).numpy()
    want = x.reshape(2, 3, 4, 2).transpose(0, 1, 3, 2).reshape(2, 3, 8)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ChannelShuffle(1)(x).numpy(), x)


def test_partial_mixed_op_convolves_only_the_sampled_channels():
    inputs = keras.Input((6, 6, 8))
    weights = keras.Input((1, len(OPS)))
    out = mixed_op(inputs, weights, 0, OPS, 8, 1, partial=4)
    model = keras.Model([inputs, weights], out)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 6, 8)).astype("float32")
    w = np.full((2, 1, len(OPS)), 0.25, "float32")
    base = model.predict([x, w], verbose=0)
    # Shuffled in 4 groups of 2: the op part (2 channels) lands on channels 0 and 4.
    changed = x.copy()
    changed[..., 2:] += 1.0  # the bypass channels only
    after = model.predict([changed, w], verbose=0)
    np.testing.assert_allclose(after[..., [0, 4]], base[..., [0, 4]], atol=1e-6)
    np.testing.assert_allclose(after[..., [1, 2, 3, 5, 6, 7]],
                               base[..., [1, 2, 3, 5, 6, 7]] + 1.0, atol=1e-6)
    assert model.count_params() < keras.Model(
        [inputs, weights], mixed_op(inputs, weights, 0, OPS, 8, 1)).count_params()


def test_partial_channels_must_divide_the_channels():
    space = NB201Space((8, 8, 1), 10, channels=6, cells_per_stage=1, ops=OPS)
    with pytest.raises(ValueError, match="partial_channels=4 must divide"):
        build_supernet(space, partial_channels=4)


def test_pcdarts_with_k1_and_no_edge_normalisation_equals_darts_on_the_same_seed(digits):
    space = CellSpace((8, 8, 1), 10, channels=4, num_cells=2, num_blocks=2,
                      ops=("sep_conv_3x3", "skip_connect", "max_pool_3x3"))
    x, y = digits.x_train[:96], digits.y_train[:96]
    runs = [darts.search(space, x, y, epochs=2, batch_size=32, seed=0, run_eagerly=True,
                         partial_channels=k) for k in (None, 1)]
    # equal up to float rounding (the K=1 path adds slices and a 1-group shuffle)
    for a, b in zip(runs[0].alpha_trajectory, runs[1].alpha_trajectory, strict=True):
        for cell in a:
            np.testing.assert_allclose(a[cell], b[cell], atol=2e-5)
    np.testing.assert_allclose(runs[0].history["loss"], runs[1].history["loss"], rtol=1e-5)
    assert runs[0].architecture == runs[1].architecture
    four = darts.search(space, x, y, epochs=2, batch_size=32, seed=0, run_eagerly=True,
                        partial_channels=4, edge_normalisation=True)
    (cell,) = four.alpha_trajectory[-1]  # two cells of 2: both reduction cells
    assert not np.allclose(four.alpha_trajectory[-1][cell], runs[0].alpha_trajectory[-1][cell],
                           atol=2e-5)


def test_edge_normalisation_weights_each_node_by_softmax_beta():
    space = CellSpace((8, 8, 1), 10, channels=4, num_cells=1, num_blocks=2,
                      ops=("sep_conv_3x3", "skip_connect"))
    model = DartsModel(build_supernet(space), edge_normalisation=True, seed=0)
    (name,) = model.supernet.edges
    beta = np.array([0.0, 1.0, 2.0, -1.0, 0.5], "float32")  # block 0: edges 0-1, block 1: 2-4
    model.betas[0].assign(beta)
    alpha = model.alphas[0].numpy()
    got = model.mixing_weights(1)[0].numpy()[0]
    soft = np.exp(alpha) / np.exp(alpha).sum(1, keepdims=True)
    edge = np.concatenate([np.exp(beta[:2]) / np.exp(beta[:2]).sum(),
                           np.exp(beta[2:]) / np.exp(beta[2:]).sum()])
    np.testing.assert_allclose(got, soft * edge[:, None], rtol=1e-5)
    # The derivation keeps the edges strongest under α times β: with α uniform, block 1
    # keeps inputs 0 and 2 (β 2.0 and 0.5), not input 1 (-1.0).
    model.alphas[0].assign(np.zeros_like(alpha))
    arch = model.derive()
    assert sorted((arch[f"{name}_b1_in1"], arch[f"{name}_b1_in2"])) == [0, 2]
    plain = derive(space.encoding, model.alpha_values(), model.supernet.ops)  # β left out
    assert sorted((plain[f"{name}_b1_in1"], plain[f"{name}_b1_in2"])) == [0, 1]
    assert model.arch_variables == model.alphas + model.betas


def test_one_liner_pcdarts_runs_and_records_its_settings(tmp_path, digits):
    import kerasnas

    result = kerasnas.search(digits.x_train[:200].reshape(-1, 8, 8), digits.y_train[:200],
                             strategy="pcdarts", space="nb201", channels=4, cells_per_stage=1,
                             ops=OPS, strategy_args={"epochs": 1}, max_trials=1, verbose=0,
                             directory=tmp_path / "run", seed=0, refit=False)
    assert result.darts is not None and result.darts["epochs"] == 1
    assert result.architecture.encoding.name == "nb201"


def test_ddarts_supernet_has_one_alpha_per_cell():
    space = CellSpace((8, 8, 1), 10, channels=4, num_cells=3, num_blocks=2, macro=True,
                      ops=("sep_conv_3x3", "skip_connect"))
    net = build_supernet(space)
    assert tuple(net.edges) == ("cell0", "cell1", "cell2")
    model = DartsModel(net, seed=0)
    model.alphas[1].assign(np.tile([0.0, 0.0, 5.0], (5, 1)))  # cell1: skip_connect everywhere
    arch = model.derive()
    assert all(arch[f"cell1_b{b}_op{k}"] == "skip_connect" for b in (0, 1) for k in (1, 2))
    assert space.build_architecture(arch).output_shape == (None, 10)


def test_deepen_keeps_stages_reductions_and_cycles_normal_cells():
    ops = ("sep_conv_3x3", "skip_connect", "max_pool_3x3")
    enc = CellEncoding(num_blocks=1, ops=ops, macro=True, num_cells=6)  # reductions at 2, 4
    values = {d.name: d.default for d in enc.decisions}
    for cell, op in enumerate(["sep_conv_3x3", "skip_connect", "max_pool_3x3", "skip_connect",
                               "max_pool_3x3", "sep_conv_3x3"]):
        values[f"cell{cell}_b0_op1"] = values[f"cell{cell}_b0_op2"] = op
    arch = enc.architecture(values)
    deep = deepen(arch, 12)  # reductions at 4 and 8
    got = [deep[f"cell{i}_b0_op1"] for i in range(12)]
    # stage 0 cycles searched cells 0, 1; reduction 4 <- 2; stage 1 <- 3; 8 <- 4; stage 2 <- 5
    assert got == ["sep_conv_3x3", "skip_connect", "sep_conv_3x3", "skip_connect",
                   "max_pool_3x3", "skip_connect", "skip_connect", "skip_connect",
                   "max_pool_3x3", "sep_conv_3x3", "sep_conv_3x3", "sep_conv_3x3"]
    assert deepen(arch, 6) == arch
    space = CellSpace((8, 8, 1), 10, channels=4, num_cells=12, num_blocks=1, macro=True, ops=ops)
    assert space.build_architecture(deep).output_shape == (None, 10)
    with pytest.raises(ValueError, match="macro=True"):
        deepen(CellEncoding(num_blocks=1, ops=ops).default(), 9)
    with pytest.raises(ValueError, match="num_cells"):
        deepen(arch, 4)


def test_one_liner_ddarts_searches_a_genotype_per_cell(tmp_path, digits):
    import kerasnas

    result = kerasnas.search(digits.x_train[:160].reshape(-1, 8, 8), digits.y_train[:160],
                             strategy="ddarts", channels=4, num_cells=3, num_blocks=2,
                             ops=("sep_conv_3x3", "skip_connect"),
                             strategy_args={"epochs": 1}, max_trials=1, verbose=0,
                             directory=tmp_path / "run", seed=0, refit=False)
    assert result.architecture.encoding.macro
    assert set(result.darts["alpha_trajectory"][-1]) == {"cell0", "cell1", "cell2"}
    with pytest.raises(ValueError, match="macro=True"):
        kerasnas.search(digits.x_train[:160].reshape(-1, 8, 8), digits.y_train[:160],
                        strategy="ddarts", macro=False, max_trials=1, verbose=0,
                        directory=tmp_path / "bad")
