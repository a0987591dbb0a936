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


# ----------------------------------------------------------- learning curves
PLATEAU_LOW = [0.30, 0.34, 0.35, 0.355, 0.356]
IMPROVING = [0.30, 0.45, 0.57, 0.66, 0.73]


def test_extrapolation_follows_the_curve_and_needs_three_epochs():
    from kerasnas.estimation import extrapolate

    flat = extrapolate(PLATEAU_LOW, horizon=20, bounds=(0, 1))
    rising = extrapolate(IMPROVING, horizon=20, bounds=(0, 1))
    assert 0.33 < flat.mean < 0.42 and flat.std < 0.06
    assert rising.mean > 0.78
    assert set(flat.curves) == {"pow", "exp", "log"}
    assert sum(w for _, w in flat.curves.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 3 epochs"):
        extrapolate([0.1, 0.2], horizon=10)
    with pytest.raises(ValueError, match="horizon"):
        extrapolate(PLATEAU_LOW, horizon=3)


def _decide(values, best, horizon=20):
    from kerasnas.estimation import LearningCurveStopping

    rule = LearningCurveStopping(best=best, horizon=horizon)
    return rule.decide(values, len(values))


def test_the_rule_stops_a_low_plateau_and_not_an_improving_run():
    stop = _decide(PLATEAU_LOW, best=0.6)
    assert stop is not None and stop["stopped"] and stop["epoch"] == 5
    assert "< best 0.6" in stop["reason"]
    assert _decide(IMPROVING, best=0.6) is None
    # Nothing to beat yet, or too few epochs to fit: never stop.
    assert _decide(PLATEAU_LOW, best=None) is None
    assert _decide(PLATEAU_LOW[:2], best=0.6) is None
    # A loss (mode "min") that plateaus high is stopped too.
    from kerasnas.estimation import LearningCurveStopping

    rule = LearningCurveStopping(monitor="val_loss", mode="min", best=0.2, horizon=20,
                                 bounds=None)
    assert rule.decide([2.0, 1.7, 1.6, 1.58, 1.57], 5)["stopped"]


def test_the_callback_stops_a_real_fit_and_records_when(digits):
    import keras

    from kerasnas.estimation import LearningCurveStopping

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rule = LearningCurveStopping(best=1.5)  # unreachable: stop at the first forecast
    history = model.fit(digits.x_train, digits.y_train, epochs=10, verbose=0,
                        validation_data=(digits.x_val, digits.y_val), callbacks=[rule])
    assert len(history.epoch) == 3
    assert rule.record["stopped"] and rule.record["epoch"] == 3 and rule.record["horizon"] == 10
    with pytest.raises(ValueError, match="min_epochs"):
        LearningCurveStopping(min_epochs=2)


# ----------------------------------------------------------- successive halving
@pytest.mark.slow  # a real multi-rung search: ~150 s at load 15
def test_successive_halving_promotes_the_top_fraction_and_continues(tmp_path):
    from sklearn.datasets import load_digits

    from kerasnas.estimation import SuccessiveHalving
    from kerasnas.oracles import RandomSearch
    from kerasnas.spaces import DenseSpace
    from kerasnas.tuner.loop import NASTuner

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    oracle = SuccessiveHalving(RandomSearch(objective="val_accuracy", seed=2),
                               min_epochs=1, max_epochs=4, eta=2, max_trials=7)
    assert oracle.budgets == [1, 2, 4] and oracle.rung_sizes == [4, 2, 1]
    tuner = NASTuner(oracle, DenseSpace((64,), 10, max_layers=2, units=(8, 16, 32)),
                     early_stopping=None, verbose=0, directory=str(tmp_path), project_name="sh")
    tuner.search(x[:300], y[:300], validation_data=(x[300:400], y[300:400]))
    trials = tuner.oracle.trials
    assert len(trials) == 7
    (bracket,) = oracle.brackets
    assert [len(r) for r in bracket] == [4, 2, 1]
    for k in (1, 2):
        below = sorted(bracket[k - 1], key=lambda e: -e["score"])
        assert {e["arch"] for e in bracket[k]} == {e["arch"] for e in below[:len(bracket[k])]}
        for entry in bracket[k]:
            trial = trials[entry["trial"]]
            values = trial.hyperparameters.values
            assert values["tuner/epochs"] == oracle.budgets[k]
            assert values["tuner/initial_epoch"] == oracle.budgets[k - 1]
            source = trials[values["tuner/trial_id"]]
            assert str(oracle.architecture_of(source)) == entry["arch"]
            assert trial.metrics.get_last_value("continued") == 1.0
            assert trial.metrics.get_last_value("epochs") == oracle.budgets[k] - oracle.budgets[k - 1]
    for entry in bracket[0]:
        assert trials[entry["trial"]].metrics.get_last_value("epochs") == 1.0
    # The wrapped strategy saw the four rung-0 results, each once.
    assert len(oracle.inner._fitness) == 4


def test_successive_halving_rejects_bad_settings():
    from kerasnas.estimation import SuccessiveHalving
    from kerasnas.oracles import RandomSearch

    with pytest.raises(TypeError, match="ArchitectureOracle"):
        SuccessiveHalving(object())
    with pytest.raises(ValueError, match="eta"):
        SuccessiveHalving(RandomSearch(seed=1), eta=1)
    with pytest.raises(ValueError, match="min_epochs"):
        SuccessiveHalving(RandomSearch(seed=1), min_epochs=5, max_epochs=2)


# ----------------------------------------------------------------- predictors
@pytest.mark.parametrize("name", ["gp", "mlp_ensemble", "ranker"])
def test_predictors_learn_the_ranking_of_a_known_score(name):
    from kerasnas.estimation import kendall_tau
    from kerasnas.estimation.predictors import make_predictor
    from kerasnas.spaces.encodings import NB201Encoding

    enc = NB201Encoding()
    rng = np.random.default_rng(0)
    archs = [enc.sample(rng) for _ in range(140)]
    score = [a.values.count("nor_conv_3x3") - a.values.count("none") for a in archs]
    pred = make_predictor(name, enc, seed=1).fit(archs[:40], score[:40])
    assert kendall_tau(pred.predict(archs[40:]), score[40:]) > 0.6
    again = make_predictor(name, enc, seed=1).fit(archs[:40], score[:40])
    np.testing.assert_array_equal(pred.predict(archs[40:]), again.predict(archs[40:]))
    with pytest.raises(ValueError, match="one per architecture"):
        make_predictor(name, enc).fit(archs[:3], score[:2])


def test_unknown_predictor_is_named():
    from kerasnas.estimation.predictors import make_predictor
    from kerasnas.spaces.encodings import NB201Encoding

    with pytest.raises(ValueError, match="Unknown predictor 'bananas'"):
        make_predictor("bananas", NB201Encoding())


def test_search_without_training_ranks_by_the_proxy(digits):
    from kerasnas.estimation import search_without_training

    space = _tiny_space()
    ranked = search_without_training(space, digits.x_train[:32], n=3, seed=4)
    scores = [s for _, s in ranked]
    assert len(ranked) == 3 and scores == sorted(scores, reverse=True)
    assert len({str(a) for a, _ in ranked}) == 3
    with pytest.raises(ValueError, match="needs labels"):
        search_without_training(space, digits.x_train[:32], n=3, proxy="snip")
