"""Issue 23, "never silently worse than the mean": cross-validated baselines and the fallback to them.

The baselines (`kerasnas.automl.baseline`) are the mean / majority class and ridge /
logistic regression with cross-validated regularisation on standardised features.
A search whose best does not beat them warns and returns the better one as a
Keras model (`search(baseline_fallback=True)`, the default).
"""

import warnings

import numpy as np
import pytest

from kerasnas.automl import baseline

FAST = {"min_steps": 0, "cv_folds": None, "verbose": 0, "seed": 0, "strategy": "random",
        "space": "dense", "max_layers": 1, "units": (8,)}


def _save_load(keras_model, tmp_path):
    import keras

    path = tmp_path / "baseline.keras"
    keras_model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loads cleanly: no skipped optimizer variables
        return keras.saving.load_model(path)


# ------------------------------------------------------------------ the fitted models
def test_the_ridge_baseline_s_keras_model_is_the_closed_form_ridge(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 6, 2)) * rng.uniform(0.5, 20, size=(6, 2)) + 3.0  # a sequence
    y = np.stack([x[:, 0, 0] - 0.5 * x[:, 3, 1], x[:, 1, 1]], axis=1) + rng.normal(size=(150, 2))
    x_new = rng.normal(size=(40, 6, 2)) * 5

    fitted = baseline.fit_linear(x[:120], y[:120], "regression")
    assert fitted.kind == "ridge" and set(fitted.regularisation) == {"alpha"}
    alpha = fitted.regularisation["alpha"]
    flat = x[:120].reshape(120, -1)
    # Ordinary columns: plain standardisation (nothing clipped, nothing dropped).
    np.testing.assert_allclose(fitted.mean, flat.mean(axis=0))
    np.testing.assert_allclose(fitted.scale, flat.std(axis=0))
    # The alpha is the one leave-one-out cross-validation picks on the grid (sklearn's RidgeCV).
    from sklearn.linear_model import Ridge, RidgeCV

    z = (flat - flat.mean(axis=0)) / flat.std(axis=0)
    assert alpha == pytest.approx(RidgeCV(alphas=baseline.ridge_alphas(*z.shape)).fit(z, y[:120])
                                  .alpha_)
    # The closed form on centred standardised features.
    zc, yc = z - z.mean(axis=0), y[:120] - y[:120].mean(axis=0)
    w = np.linalg.solve(zc.T @ zc + alpha * np.eye(z.shape[1]), zc.T @ yc)
    z_new = (x_new.reshape(40, -1) - flat.mean(axis=0)) / flat.std(axis=0)
    closed = (z_new - z.mean(axis=0)) @ w + y[:120].mean(axis=0)
    np.testing.assert_allclose(Ridge(alpha=alpha).fit(z, y[:120]).predict(z_new), closed,
                               rtol=1e-8, atol=1e-8)

    model = fitted.keras_model((6, 2))
    keras_out = model.predict(x_new.astype("float32"), verbose=0)
    np.testing.assert_allclose(keras_out, closed, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fitted.outputs(x_new), closed, rtol=1e-9, atol=1e-9)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Flatten", "Normalization", "Dense"]
    reloaded = _save_load(model, tmp_path)
    np.testing.assert_allclose(reloaded.predict(x_new.astype("float32"), verbose=0), keras_out,
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("num_classes", [2, 3])
def test_the_logistic_baseline_s_keras_model_is_sklearns_logistic_regression(num_classes,
                                                                            tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(num_classes)
    x = rng.normal(size=(200, 5)) * [1, 10, 0.1, 3, 1] + [0, 50, 0, -2, 1]
    logits = x[:, :num_classes] / [1, 10, 0.1][:num_classes]
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    x_new = rng.normal(size=(30, 5)) * [1, 10, 0.1, 3, 1] + [0, 50, 0, -2, 1]

    fitted = baseline.fit_linear(x, y, "classification", num_classes=num_classes)
    assert fitted.kind == "logistic"
    c = fitted.regularisation["C"]
    assert c in baseline.LOGISTIC_CS
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    z_new = (x_new - x.mean(axis=0)) / x.std(axis=0)
    reference = LogisticRegression(C=c, max_iter=baseline.MAX_ITER).fit(z, y)
    expected = reference.predict_proba(z_new)

    model = fitted.keras_model((5,))
    proba = model.predict(x_new.astype("float32"), verbose=0)
    assert proba.shape == (30, num_classes)  # binary too: two logits [0, z] under a softmax
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    np.testing.assert_allclose(fitted.outputs(x_new), expected, atol=1e-6)
    np.testing.assert_allclose(_save_load(model, tmp_path).predict(x_new.astype("float32"),
                                                                  verbose=0), proba, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_regularisation_is_chosen_by_cross_validation_not_fixed(seed):
    """Noise gets a strong penalty, a clean signal a weak one (a fixed alpha=1 / C=1 gets neither)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(150, 10))
    noise = rng.integers(0, 2, 150)
    signal = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(int)
    assert baseline.fit_linear(x, noise, "classification").regularisation["C"] <= 1e-2
    assert baseline.fit_linear(x, signal, "classification").regularisation["C"] >= 10
    assert baseline.fit_linear(x, rng.normal(size=150), "regression").regularisation[
        "alpha"] >= 1e3
    assert baseline.fit_linear(x, x[:, 0] + 0.1 * rng.normal(size=150), "regression"
                               ).regularisation["alpha"] <= 0.1


def test_the_trivial_baselines_are_a_zero_kernel_with_the_mean_or_the_log_priors(tmp_path):
    y = np.array([0, 0, 0, 1, 2, 2])
    majority = baseline.fit_trivial(y, "classification", num_classes=4, features=3)
    model = majority.keras_model((3,))
    proba = model.predict(np.random.default_rng(0).normal(size=(4, 3)).astype("float32"),
                          verbose=0)
    np.testing.assert_allclose(proba[:, :3], np.tile([0.5, 1 / 6, 1 / 3], (4, 1)), atol=1e-6)
    assert np.all(proba[:, 3] < 1e-20)  # a class no training example has
    kernel, bias = model.get_layer("majority").get_weights()
    assert not kernel.any()
    mean = baseline.fit_trivial(np.array([[1.0, 10.0], [3.0, 20.0]]), "regression", features=2)
    out = mean.keras_model((2,)).predict(np.ones((3, 2), "float32"), verbose=0)
    np.testing.assert_allclose(out, [[2.0, 15.0]] * 3)


def test_a_near_constant_column_cannot_blow_up_the_linear_baseline():
    """The old fixed ridge divided by a training std of 1e-7: its MSE was thousands of means'."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    n_train, n_val = 100, 60
    x = rng.normal(size=(n_train + n_val, 8))
    y = x[:, 0] + rng.normal(size=n_train + n_val)
    x[:n_train, 7] = 1.0 + 1e-7 * rng.normal(size=n_train)   # constant up to rounding in training,
    x[n_train:, 7] = rng.normal(1.0, 1.0, size=n_val)        # moving afterwards
    x[:n_train, 6] = 1e-7 * rng.normal(size=n_train)         # ~0 in training (units shared)
    x[n_train:, 6] = rng.normal(size=n_val)
    old = make_pipeline(StandardScaler(), Ridge()).fit(x[:n_train], y[:n_train])
    old_mse = np.mean((old.predict(x[n_train:]) - y[n_train:]) ** 2)
    found = baseline.evaluate(x[:n_train], y[:n_train], x[n_train:], y[n_train:], "regression",
                              shared_units=True)
    assert old_mse > 100 * found.scores["trivial"]  # the old baseline guarded nothing
    assert found.scores["linear"] <= found.scores["trivial"]  # x0 is real signal
    fitted = baseline.fit_linear(x[:n_train], y[:n_train], "regression", shared_units=True)
    assert not fitted.kernel[6:].any()  # both near-constant columns dropped (weight 0)
    assert np.all(np.isfinite(fitted.outputs(x[n_train:])))

    # Small series, some nearly constant in training (the 140 x 84 case, scaled down):
    series = np.cumsum(rng.normal(size=(140, 84)), axis=1) * rng.lognormal(0, 2, (140, 1))
    series[:20] = 5.0 + 1e-9 * rng.normal(size=(20, 84))
    target = series[:, -1] * 0.1 + rng.normal(size=140)
    order = rng.permutation(140)
    train, val = order[:112], order[112:]
    found = baseline.evaluate(series[train], target[train], series[val], target[val],
                              "regression", shared_units=True)
    assert found.scores["linear"] <= 1.5 * found.scores["trivial"], found


def test_scores_use_the_objective_s_metric_and_the_search_s_folds():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(90, 3))
    y = (x[:, 0] > 0).astype(int)
    assert baseline.metric_for("val_accuracy", "classification") == "accuracy"
    assert baseline.metric_for("val_loss", "classification") == "crossentropy"
    assert baseline.metric_for("val_loss", "regression") == "mse"
    assert baseline.metric_for("val_mae", "regression") == "mae"
    assert baseline.metric_for("params", "regression") is None
    folds = [(np.arange(90)[np.arange(90) % 3 != k], np.arange(90)[np.arange(90) % 3 == k])
             for k in range(3)]
    found = baseline.evaluate(x[:60], y[:60], x[60:], y[60:], "classification", folds=folds)
    per_fold = [baseline.score(baseline.fit_linear(x[t], y[t], "classification",
                                                   num_classes=2), x[v], y[v], "accuracy")
                for t, v in folds]
    assert found.scores["linear"] == pytest.approx(np.mean(per_fold))
    assert found.scores["linear"] > 0.85 > found.scores["trivial"]
    loss = baseline.evaluate(x[:60], y[:60], x[60:], y[60:], "classification",
                             metric="crossentropy")
    assert loss.scores["linear"] < loss.scores["trivial"] <= np.log(2) + 0.05
    # The verdict: a tie is no better; the better baseline is the one returned.
    assert baseline.fallback_choice(0.9, {"trivial": 0.5, "linear": 0.9}, "accuracy") == "linear"
    assert baseline.fallback_choice(0.91, {"trivial": 0.5, "linear": 0.9}, "accuracy") is None
    assert baseline.fallback_choice(2.0, {"trivial": 1.0, "linear": 1.5}, "mse") == "trivial"
    assert baseline.fallback_choice(2.0, {"trivial": 1.0, "linear": 1.0}, "mse") == "trivial"
    assert baseline.fallback_choice(0.5, {"trivial": 1.0, "linear": 0.9}, "mse") is None
    assert baseline.compare(0.5, {"trivial": 0.6}, "val_loss", "classification") == []
    assert baseline.compare(0.7, {"trivial": 0.6}, "val_loss", "classification")[0].startswith(
        "The best architecture (cross-entropy 0.7000) is no better")


def test_the_baselines_stay_fast_on_a_few_thousand_by_a_few_thousand():
    import time

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2500, 2500)).astype("float32")
    y = x[:, :50].sum(axis=1) + rng.normal(size=2500)
    labels = np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75]))
    baseline.evaluate(x[:50], y[:50], x[50:60], y[50:60], "regression")  # imports sklearn
    for problem, target in (("regression", y), ("classification", labels)):
        started = time.monotonic()
        baseline.evaluate(x[:2000], target[:2000], x[2000:], target[2000:], problem)
        elapsed = time.monotonic() - started
        assert elapsed < 20, (problem, elapsed)  # 1-3 s when the machine is not shared


def test_baseline_fallback_is_checked_before_any_work(tmp_path):
    import kerasnas

    with pytest.raises(TypeError, match="baseline_fallback must be True"):
        kerasnas.search(object(), None, baseline_fallback="yes", directory=tmp_path / "run")
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def noise_search(tmp_path_factory):
    """A regression search on pure-noise targets: nothing beats the mean."""
    import kerasnas

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 10))
    y = rng.normal(size=80) * 3 + 10
    run = tmp_path_factory.mktemp("noise") / "run"
    result = kerasnas.search(x, y, max_trials=1, epochs=1, directory=run, **FAST)
    return result, x, y, run


def test_a_search_that_loses_to_a_baseline_warns_and_returns_it(noise_search, tmp_path):
    import kerasnas
    from kerasnas.automl.finish import baseline_model
    from kerasnas.data import prepare_data

    result, x, y, run = noise_search
    assert result.returned in ("baseline:mean", "baseline:ridge")
    assert any("is returned instead of the searched model" in w for w in result.warnings)
    assert any("no better than" in w for w in result.warnings)
    assert result.baseline_metric == "mse" and set(result.baselines) == {"trivial", "linear"}
    assert result.baseline_models["linear"]["model"] == "ridge"
    assert "alpha" in result.baseline_models["linear"]
    assert f"returned: {result.returned}" in result.summary()
    assert "WARNING" in result.summary()
    text = open(result.report(tmp_path / "r.html"), encoding="utf-8").read()
    assert "Returned model" in text and result.returned in text

    # The returned model is the baseline refit on train + validation, exactly.
    data = prepare_data(x, y, seed=0)
    found = baseline.evaluate(data.x_train, data.y_train, data.x_val, data.y_val, "regression")
    assert found.scores == pytest.approx(result.baselines)
    key = "trivial" if result.returned == "baseline:mean" else "linear"
    fitted, _ = baseline_model(key, found, data)
    expected = fitted.outputs(x)[:, 0]
    np.testing.assert_allclose(result.predict(x), expected, rtol=1e-5, atol=1e-5)
    if key == "trivial":
        np.testing.assert_allclose(expected, y.mean(), rtol=1e-9)
    assert result.refit_history == {}  # the searched model was not refit for nothing
    reloaded = kerasnas.SearchResult.load(run / "result")
    assert reloaded.returned == result.returned
    assert reloaded.baseline_models == result.baseline_models
    np.testing.assert_allclose(reloaded.predict(x), result.predict(x), atol=1e-6)


def test_baseline_fallback_false_keeps_the_searched_model_but_warns(noise_search):
    import kerasnas

    result, x, y, run = noise_search
    # The same call resumes the finished search (no trial re-runs): only its end differs.
    kept = kerasnas.search(x, y, max_trials=1, epochs=1, directory=run, baseline_fallback=False,
                           **FAST)
    assert kept.returned == "search"
    assert not kept.model.name.startswith("baseline_")
    assert any("baseline_fallback=False" in w for w in kept.warnings)
    assert any("no better than" in w for w in kept.warnings)
    assert kept.refit_history  # refit as usual
    assert "returned: baseline" not in kept.summary()
    assert not np.allclose(kept.predict(x), result.predict(x), atol=1e-3)


def test_a_search_that_beats_the_baselines_returns_its_own_model(tmp_path):
    import kerasnas

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = x[:, 0] ** 2 + x[:, 1] ** 2 + 0.05 * rng.normal(size=200)  # neither linear nor constant
    result = kerasnas.search(x, y, max_trials=1, epochs=15, early_stopping=None,
                             directory=tmp_path / "run",
                             **{**FAST, "units": (32,)}, activations=("relu",), dropouts=(0.0,),
                             learning_rates=(1e-2,))
    assert result.returned == "search"
    assert result.best_trials(1)[0].score < 0.5 * min(result.baselines.values())
    assert not any("no better than" in w for w in result.warnings)
    assert not result.model.name.startswith("baseline_")


def test_a_budget_spent_before_any_trial_returns_the_baseline(tmp_path):
    import kerasnas

    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=60)
    result = kerasnas.search(x, y, time_budget=1e-3, directory=tmp_path / "run", **FAST)
    assert len(result.history) == 0 or all(r.score is None for r in result.history)
    assert result.returned == "baseline:ridge"                # the linear baseline wins here
    assert any("No trial finished within the budget" in w for w in result.warnings)
    assert result.architecture is None
    r2 = 1 - np.mean((result.predict(x) - y) ** 2) / np.var(y)
    assert r2 > 0.95
    with pytest.raises(RuntimeError, match="No trial finished"):
        kerasnas.search(x, y, time_budget=1e-3, directory=tmp_path / "off",
                        baseline_fallback=False, **FAST)
