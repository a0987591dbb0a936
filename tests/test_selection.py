"""The one-standard-error selection rule and the exact linear-regression refit (#7)."""

import math
import types

import keras
import keras_tuner
import numpy as np
import pytest

from kerasnas.automl.linear_solve import solve_linear_regression
from kerasnas.automl.selection import (
    ONE_SE_BELOW,
    check_select,
    choose_trial,
    simplest_within_se,
    standard_error,
)


def _trial(trial_id, score, params, cut=False):
    trial = keras_tuner.engine.trial.Trial(keras_tuner.HyperParameters(), trial_id=trial_id,
                                           status="COMPLETED")
    trial.score = score
    for name, value in (("params", params), ("budget_cut", float(cut))):
        trial.metrics.register(name)
        trial.metrics.update(name, value)
    return trial


def test_standard_errors_follow_the_documented_formulas():
    # Agresti-Coull: q = (90 + 2) / 104, sqrt(q (1 - q) / 104).
    assert standard_error("val_accuracy", 0.9, 100) == pytest.approx(0.031328, abs=1e-6)
    assert standard_error("accuracy", 1.0, 50) == pytest.approx(0.025700, abs=1e-6)  # not 0
    assert standard_error("val_loss", 2500.0, 50, "regression") == pytest.approx(500.0)
    assert standard_error("val_mae", 10.0, 100, "regression") == pytest.approx(
        10.0 * math.sqrt((math.pi / 2 - 1) / 100))
    # A classifier's val_loss is cross-entropy: its error is not known from the value alone.
    assert standard_error("val_loss", 0.3, 100, "classification") is None
    assert standard_error("params", 1000.0, 100) is None
    assert standard_error("val_accuracy", float("nan"), 100) is None


def test_the_simplest_trial_within_one_standard_error_is_chosen():
    maximise = keras_tuner.Objective("val_accuracy", "max")
    # n = 100 at 0.90: SE 0.031, so 0.88 is within it and 0.86 is not.
    best, close, far = _trial("0", 0.90, 5000), _trial("1", 0.88, 300), _trial("2", 0.86, 40)
    chosen, record = simplest_within_se([best, close, far], maximise, 100, "classification")
    assert chosen is close
    assert record["best_trial"] == "0" and record["trial"] == "1"
    assert record["standard_error"] == pytest.approx(0.0313, abs=1e-4)
    assert record["params"] == 300 and record["best_params"] == 5000
    # A budget-cut trial's partial score is no verdict, however small the model.
    cut = _trial("3", 0.89, 10, cut=True)
    assert simplest_within_se([best, cut, close], maximise, 100, "classification")[0] is close
    # With more examples the error shrinks and the best stays.
    assert simplest_within_se([best, close, far], maximise, 10_000,
                              "classification") == (best, None)
    # The best is already the smallest: nothing to record.
    small_best = _trial("4", 0.90, 20)
    assert simplest_within_se([small_best, close], maximise, 100,
                              "classification") == (small_best, None)


def test_the_rule_minimises_regression_losses():
    minimise = keras_tuner.Objective("val_loss", "min")
    # MSE 2400 over 66 examples: SE = 2400 * sqrt(2 / 66) = 418.
    best, linear, worse = _trial("0", 2400.0, 68_000), _trial("1", 2750.0, 11), \
        _trial("2", 2900.0, 5)
    chosen, record = simplest_within_se([best, linear, worse], minimise, 66, "regression")
    assert chosen is linear and record["standard_error"] == pytest.approx(417.8, abs=0.1)


def _oracle(trials, objective):
    oracle = keras_tuner.oracles.RandomSearchOracle(objective=objective, max_trials=10)
    oracle.trials = {t.trial_id: t for t in trials}
    return oracle


def _data(n_train, n_val, problem="classification"):
    return types.SimpleNamespace(x_train=np.zeros((n_train, 2)), x_val=np.zeros((n_val, 2)),
                                 task=types.SimpleNamespace(problem=problem))


def test_choose_trial_applies_the_rule_only_where_asked():
    objective = keras_tuner.Objective("val_accuracy", "max")
    trials = [_trial("0", 0.90, 5000), _trial("1", 0.88, 300)]
    oracle = _oracle(trials, objective)
    assert choose_trial(oracle, _data(400, 100))[0].trial_id == "1"
    assert choose_trial(oracle, _data(400, 100), select="best")[0].trial_id == "0"
    # At ONE_SE_BELOW examples "auto" returns the best; "one_se" still applies the rule
    # (with 200 validation examples the SE is 0.022, so 0.88 is within it).
    big = _data(ONE_SE_BELOW - 200, 200)
    assert choose_trial(oracle, big)[0].trial_id == "0"
    assert choose_trial(oracle, big, select="one_se")[0].trial_id == "1"
    # Under k-fold every example is scored once: 500 examples give SE 0.014, 0.88 is out.
    assert choose_trial(oracle, _data(400, 100), folds=5)[0].trial_id == "0"
    with pytest.raises(ValueError, match="select must be one of"):
        check_select("simplest")


def _linear_model(target_mean=150.0, target_std=70.0):
    inputs = keras.Input((5,))
    x = keras.layers.Normalization(mean=[0.0] * 5, variance=[4.0] * 5)(inputs)
    x = keras.layers.Dense(1)(x)
    outputs = keras.layers.Rescaling(target_std, offset=target_mean)(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    return model


def test_a_linear_regression_gets_the_least_squares_weights():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 3))
    # Correlated features: where a few hundred Adam steps stop short of the optimum.
    x = np.concatenate([base, base[:, :2] + 0.05 * rng.normal(size=(200, 2))], axis=1) * 2
    y = x @ np.array([30.0, -20.0, 10.0, 25.0, -5.0]) + 150 + rng.normal(scale=40, size=200)
    keras.utils.set_random_seed(0)
    model = _linear_model()
    model.fit(x, y, epochs=3, batch_size=32, verbose=0)
    trained = float(np.mean((model.predict(x, verbose=0)[:, 0] - y) ** 2))
    assert solve_linear_regression(model, x, y)
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    optimum = np.linalg.lstsq(design, y, rcond=None)[0]
    exact = float(np.mean((design @ optimum - y) ** 2))
    solved = float(np.mean((model.predict(x, verbose=0)[:, 0] - y) ** 2))
    assert solved == pytest.approx(exact, rel=1e-4)
    assert solved < trained


def test_other_models_are_left_untouched():
    x = np.random.default_rng(1).normal(size=(64, 5))
    y = x.sum(axis=1)
    hidden = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                               keras.layers.Dense(1)])
    hidden.compile("adam", "mse")
    classifier = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)])
    classifier.compile("adam", "sparse_categorical_crossentropy")
    inputs = keras.Input((5,))
    dense = keras.layers.Dense(1)(inputs)
    skip = keras.Model(inputs, keras.layers.Add()([dense, inputs[:, :1]]))  # not affine in it
    skip.compile("adam", "mse")
    for model, target in ((hidden, y), (classifier, (y > 0).astype(int)), (skip, y)):
        before = [w.copy() for w in model.get_weights()]
        assert not solve_linear_regression(model, x, target)
        for a, b in zip(before, model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_search_returns_the_rule_s_choice_and_keeps_its_record(tmp_path):
    import kerasnas
    from kerasnas.deploy.result import SearchResult

    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 4))
    y = x @ np.array([1.0, -1.0, 0.5, 0.0]) + rng.normal(scale=3.0, size=150)
    # DenseSpace's hand designs: two MLPs and the linear model, which the rule should prefer.
    result = kerasnas.search(x, y, max_trials=3, epochs=2, min_steps=40, cv_folds=None, seed=0,
                             directory=tmp_path / "search", verbose=0, space="dense",
                             min_layers=0, learning_rates=(1e-3, 3e-3, 1e-2))
    finished = [r for r in result.history if r.status == "COMPLETED"]
    best = min(finished, key=lambda r: r.score)
    se = best.score * math.sqrt(2 / 30)  # 30 validation examples
    expected = min((r for r in finished if r.score <= best.score + se),
                   key=lambda r: (r.params, r.score))
    assert str(result.architecture) == expected.architecture
    assert expected is not best  # with this much noise the MLP that wins the split is not kept
    if expected is best:
        assert result.selection is None
    else:
        assert result.selection["trial"] == expected.trial_id
        assert result.selection["best_trial"] == best.trial_id
        assert "the simplest within one standard error" in result.summary()
    reloaded = SearchResult.load(tmp_path / "search" / "result")
    assert reloaded.selection == result.selection
