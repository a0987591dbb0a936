"""Cheaper performance estimation: zero-cost proxies, learning curves, successive halving."""

import numpy as np
import pytest


# ----------------------------------------------------------------- proxies
def _tiny_space():
    from kerasnas.spaces import MacroSpace

    return MacroSpace((8, 8, 1), 10, max_layers=3, widths=(4, 8), stem_channels=4)


def test_naswot_equals_numpy_log_det_of_k_h():
    import keras

    from kerasnas.estimation import naswot

    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(5, 40)), rng.normal(size=(40, 30))
    inputs = keras.Input((5,))
    h1 = keras.layers.Dense(40, activation="relu", use_bias=False)(inputs)
    h2 = keras.layers.Dense(30, use_bias=False)(h1)
    out = keras.layers.Dense(3)(keras.layers.ReLU()(h2))
    model = keras.Model(inputs, out)
    model.layers[1].set_weights([w1.astype("float32")])
    model.layers[2].set_weights([w2.astype("float32")])
    x = rng.normal(size=(12, 5)).astype("float32")

    # Direct computation: the codes of both ReLUs, then log|c c^T + (1-c)(1-c)^T|.
    a1 = x.astype(np.float64) @ w1
    a2 = np.maximum(a1, 0) @ w2
    c = np.concatenate([a1 > 0, a2 > 0], axis=1).astype(np.float64)
    k = c @ c.T + (1 - c) @ (1 - c).T
    expected = np.linalg.slogdet(k)[1]
    assert naswot(model, x) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(expected) and expected > 0


def test_every_proxy_is_repeatable_for_a_seed_and_ignores_example_order(digits):
    from kerasnas.estimation import PROXIES, score_architecture

    space = _tiny_space()
    arch = space.sample(np.random.default_rng(3))
    x, y = digits.x_train[:32], digits.y_train[:32]
    first = score_architecture(space, arch, x, y, seed=5)
    assert set(first) == set(PROXIES)
    assert all(np.isfinite(v) for v in first.values()), first
    again = score_architecture(space, arch, x, y, seed=5)
    perm = np.random.default_rng(1).permutation(len(x))
    shuffled = score_architecture(space, arch, x[perm], y[perm], seed=5)
    other = score_architecture(space, arch, x, y, seed=6)
    for name in PROXIES:
        assert again[name] == first[name], name
        assert shuffled[name] == pytest.approx(first[name], rel=1e-5), name
    # The seed draws the weights: weight-dependent proxies change with it.
    for name in ("naswot", "synflow", "grad_norm", "snip", "jacob_cov"):
        assert other[name] != first[name], name


def test_synflow_restores_weights_and_softmax():
    import keras

    from kerasnas.estimation import synflow

    space = _tiny_space()
    model = space.build_architecture(space.sample(np.random.default_rng(0)))
    before = [np.array(v) for v in model.variables]
    x = np.ones((2, 8, 8, 1), "float32")
    assert synflow(model, x) > 0
    assert all(np.array_equal(a, np.array(v)) for a, v in zip(before, model.variables, strict=True))
    assert model.layers[-1].activation is not keras.activations.linear
    np.testing.assert_allclose(np.sum(np.asarray(model(x)), axis=1), 1.0, rtol=1e-5)


def test_proxies_reject_bad_input_with_clear_errors():
    from kerasnas.estimation import grad_norm, naswot, score_model

    space = _tiny_space()
    model = space.build_architecture(space.sample(np.random.default_rng(0)))
    with pytest.raises(ValueError, match=r"shape \(n, 8, 8, 1\)"):
        naswot(model, np.zeros((4, 8, 8), "float32"))
    with pytest.raises(ValueError, match="at least 2 examples"):
        naswot(model, np.zeros((1, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="need labels"):
        grad_norm(model, np.zeros((4, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="Unknown proxies"):
        score_model(model, np.zeros((4, 8, 8, 1), "float32"), proxies=["nasowt"])
    with pytest.raises(ValueError, match="need labels"):
        score_model(model, np.zeros((4, 8, 8, 1), "float32"), proxies=["snip"])


def test_duplicate_examples_make_naswot_minus_infinity(digits):
    from kerasnas.estimation import naswot

    space = _tiny_space()
    model = space.build_architecture(space.sample(np.random.default_rng(0)))
    x = np.concatenate([digits.x_train[:4], digits.x_train[:1]])
    assert naswot(model, x) == float("-inf")


def test_rank_correlations():
    from kerasnas.estimation import kendall_tau, spearman_rho

    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    assert spearman_rho([1, 2, 3, 4, np.nan], [1, 3, 2, 4, 5]) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="equal length"):
        kendall_tau([1, 2], [1, 2, 3])
