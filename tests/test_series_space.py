"""MiniRocket's layer, the closed-form ridge head and `SeriesSpace` (issue 23)."""

import numpy as np
import pytest

from kerasnas.spaces import closed_form, kernels
from kerasnas.spaces.encodings import SeriesEncoding


def _series(shape, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=shape), axis=1).astype("float32")


def _weights(layer):
    return ([np.asarray(m.numpy()) for m in layer.masks],
            [np.asarray(b.numpy()) for b in layer.biases])


@pytest.mark.parametrize("shape,pooling", [((12, 60, 1), "ppv"), ((8, 90, 3), "ppv+max"),
                                           ((6, 10, 2), "ppv")])
def test_layer_features_equal_a_direct_numpy_computation(shape, pooling):
    x = _series(shape)
    layer = kernels.RandomKernelFeatures(num_features=840, seed=3, pooling=pooling)
    layer.adapt(x)
    masks, biases = _weights(layer)
    ppv_count = kernels.NUM_KERNELS * sum(layer.shares)
    reference = kernels.transform(x, layer.dilations, layer.shares, masks, biases, pooling)
    features = np.asarray(layer(x))
    assert features.shape == reference.shape == (len(x), layer.output_dim)
    # PPVs are counts: equal but for a convolution value tying a bias within float rounding.
    assert np.mean(features[:, :ppv_count] != reference[:, :ppv_count]) < 1e-3
    np.testing.assert_allclose(features[:, ppv_count:], reference[:, ppv_count:], atol=1e-4)
    fast = kernels.fast_transform(x, layer.dilations, layer.shares, masks, biases, pooling)
    assert fast is not None, "numba is a dependency: the compiled transform must be available"
    assert np.mean(fast[:, :ppv_count] != reference[:, :ppv_count]) < 1e-3
    np.testing.assert_allclose(fast[:, ppv_count:], reference[:, ppv_count:], atol=1e-4)
    # Not trivially equal: the features vary across series and kernels.
    assert reference[:, :ppv_count].std(axis=0).mean() > 0.05


def test_biases_are_quantiles_of_one_drawn_series_convolution():
    x = _series((10, 70, 2), seed=1)
    layer = kernels.RandomKernelFeatures(num_features=252, seed=5)
    layer.adapt(x)
    masks, biases = _weights(layer)
    rng = np.random.default_rng(5)
    q = kernels.quantiles(kernels.NUM_KERNELS * sum(layer.shares))
    picks = rng.integers(len(x), size=kernels.NUM_KERNELS)   # the first dilation's draws
    share = layer.shares[0]
    for k in (0, 41, 83):
        conv = kernels.convolve(x[picks[k]:picks[k] + 1], layer.dilations[0], masks[0])[0, :, k]
        expected = np.quantile(conv, q[k * share:(k + 1) * share])
        np.testing.assert_allclose(biases[0][k], expected, rtol=1e-5, atol=1e-5)


def test_kernels_and_dilations_follow_the_paper():
    weights = kernels.kernel_weights()
    assert weights.shape == (9, 84)
    assert np.all(weights.sum(axis=0) == 0)                  # three 2s and six -1s
    assert len({tuple(c) for c in weights.T}) == 84
    dilations, shares = kernels.plan_dilations(1000, 10_000, 32)
    assert sum(shares) == 10_000 // 84
    assert dilations[0] == 1 and max(dilations) <= (1000 - 1) / 8
    assert dilations == sorted(set(dilations))
    assert kernels.plan_dilations(9, 1000)[0] == [1]


def test_ridge_loo_is_the_closed_form_with_exact_leave_one_out():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 40)) * rng.uniform(0.5, 5, size=40)
    x[:, 3] = 2.0                                           # a constant feature gets weight 0
    y = x[:, :2] @ np.array([[1.0], [-2.0]]) + 0.3 * rng.normal(size=(25, 1))
    fit = closed_form.ridge_loo(x, y)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    keep = scale > 0
    z = np.zeros_like(x)
    z[:, keep] = (x[:, keep] - mean[keep]) / scale[keep]
    coef_z = np.linalg.solve(z.T @ z + fit.alpha * np.eye(40), z.T @ (y - y.mean()))
    np.testing.assert_allclose(fit.coef[keep], coef_z[keep] / scale[keep, None], rtol=1e-6,
                               atol=1e-9)
    assert fit.coef[3, 0] == 0.0
    np.testing.assert_allclose(x @ fit.coef + fit.intercept,
                               z @ coef_z + y.mean(), rtol=1e-6, atol=1e-9)
    # Leave-one-out predictions: refit without example i (same standardisation, intercept free).
    for i in (0, 7, 24):
        rest = np.delete(np.arange(25), i)
        zi, yi = z[rest], y[rest]
        zc, yc = zi - zi.mean(axis=0), yi - yi.mean()
        w = np.linalg.solve(zc.T @ zc + fit.alpha * np.eye(40), zc.T @ yc)
        predicted = (z[i] - zi.mean(axis=0)) @ w + yi.mean()
        np.testing.assert_allclose(fit.loo_predictions[i], predicted, rtol=1e-6, atol=1e-8)
    assert fit.loo_errors[closed_form.ALPHAS.index(fit.alpha)] == min(fit.loo_errors)
    # Both the dual (n < d) and the primal (n > d) solve give the same answer.
    tall = closed_form.ridge_loo(x[:, :10], y, alphas=(1.0,))
    zt = z[:, :10][:, keep[:10]]
    direct = np.linalg.solve(zt.T @ zt + np.eye(zt.shape[1]), zt.T @ (y - y.mean()))
    np.testing.assert_allclose(tall.coef[keep[:10]], direct / scale[:10][keep[:10], None],
                               rtol=1e-6, atol=1e-9)


def test_temperature_minimises_the_log_loss():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 200)
    scores = rng.normal(size=(200, 3)) * 0.3
    scores[np.arange(200), labels] += 0.4                    # informative but noisy scores
    t = closed_form.fit_temperature(scores, labels)

    def loss(temperature):
        logits = temperature * scores
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return -logp[np.arange(200), labels].mean()

    assert all(loss(t) <= loss(other) + 1e-12 for other in closed_form.TEMPERATURES)
    assert 0.5 < t < 100


def test_series_encoding_round_trips_and_keeps_only_the_family_active():
    enc = SeriesEncoding()
    for text in ("rocket features=5000 pooling=ppv+max dilations=16",
                 "inception depth=3 filters=16 kernel=20",
                 "residual 4x32 k5 dilation=exponential downsample=by_size dropout=0.1"):
        arch = enc.from_string(text)
        assert str(arch) == text and enc.from_string(str(arch)) == arch
    rocket = enc.from_string("rocket features=5000 pooling=ppv dilations=32")
    assert rocket["num_blocks"] == enc.decision("num_blocks").default
    assert enc.active(rocket.as_dict()) == {"family", "rocket_features", "rocket_pooling",
                                            "rocket_dilations"}
    rng = np.random.default_rng(0)
    seen = {enc.sample(rng)["family"] for _ in range(60)}
    assert seen == {"rocket", "inception", "residual"}
    with pytest.raises(ValueError, match="unknown option"):
        enc.from_string("rocket depth=3")
    with pytest.raises(ValueError, match="families must be"):
        SeriesEncoding(families=("lstm",))


def _toy(n=60, length=48, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.arange(length)
    x = np.sin(2 * np.pi * (y[:, None] + 1) * t / 24 + rng.uniform(0, 6, (n, 1)))
    return (x + 0.3 * rng.normal(size=(n, length)))[..., None].astype("float32"), y


def test_rocket_model_is_solved_in_closed_form_and_saves(tmp_path):
    import keras

    from kerasnas.spaces import SeriesSpace
    from kerasnas.spaces.series import featurize, kernel_layer

    x, y = _toy()
    space = SeriesSpace((48, 1), num_classes=3, rocket_features=(840,))
    arch = space.encoding.from_string("rocket features=840 pooling=ppv dilations=32")
    model = space.build_architecture(arch)
    history = space.fit(None, model, x[:40], y[:40], validation_data=(x[40:], y[40:]),
                        epochs=50, callbacks=[])
    assert history.epoch == [0]                          # one solve, not 50 epochs
    logs = {k: v[0] for k, v in history.history.items()}
    assert logs["closed_form"] == 1.0 and logs["ridge_alpha"] in closed_form.ALPHAS
    assert logs["val_accuracy"] > 0.8
    # The reported metrics are the compiled model's own.
    evaluated = model.evaluate(x[40:], y[40:], return_dict=True, verbose=0)
    assert abs(evaluated["accuracy"] - logs["val_accuracy"]) < 1e-6
    assert abs(evaluated["loss"] - logs["val_loss"]) < 1e-3
    # The head is the ridge solution on the training features (scaled by the temperature).
    features = featurize(model, kernel_layer(model), x[:40])
    fit = closed_form.ridge_loo(features, closed_form.one_vs_rest(y[:40], 3),
                                alphas=(logs["ridge_alpha"],))
    kernel, bias = model.get_layer("head").get_weights()
    np.testing.assert_allclose(kernel, logs["temperature"] * fit.coef, rtol=1e-3, atol=1e-5)
    path = tmp_path / "rocket.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x[40:], verbose=0), model.predict(x[40:], verbose=0),
                               atol=1e-5)


def test_rocket_regression_head_predicts_in_the_users_units():
    from kerasnas.spaces import SeriesSpace

    x, labels = _toy(seed=2)
    y = (100.0 + 30.0 * labels + np.random.default_rng(0).normal(size=len(labels))).astype(
        "float32")
    space = SeriesSpace((48, 1), rocket_features=(840,), target_scale=([float(y.mean())], [float(y.var())]))
    model = space.build_architecture("rocket features=840 pooling=ppv dilations=32")
    history = space.fit(None, model, x[:45], y[:45], validation_data=(x[45:], y[45:]))
    predicted = model.predict(x[45:], verbose=0).reshape(-1)
    mse = float(np.mean((predicted - y[45:]) ** 2))
    assert abs(mse - history.history["val_loss"][0]) < 1e-2 * max(mse, 1.0)
    assert mse < 0.5 * float(np.var(y[45:]))


def test_every_hand_design_builds():
    from kerasnas.spaces import SeriesSpace

    space = SeriesSpace((64, 3), num_classes=4)
    families = []
    for arch in space.hand_designs():
        model = space.build_architecture(arch)
        assert model.output_shape == (None, 4)
        families.append(arch["family"])
    assert families == ["rocket", "inception", "residual", "residual"]
    # FLOPs count the random-kernel convolutions, so cheapest-first ordering sees them.
    assert space.cost(space.hand_designs()[0])["flops"] > 64 * 9 * 84


def test_a_tuner_trial_of_a_rocket_model_is_one_solve(tmp_path):
    import keras_tuner

    from kerasnas.oracles import RandomSearch
    from kerasnas.spaces import SeriesSpace
    from kerasnas.tuner import NASTuner

    x, y = _toy(n=50)
    space = SeriesSpace((48, 1), num_classes=3, families=("rocket",), rocket_features=(840,),
                        rocket_poolings=("ppv",), rocket_dilations=(32,))
    oracle = RandomSearch(objective=keras_tuner.Objective("val_accuracy", "max"),
                                max_trials=1, seed=0)
    tuner = NASTuner(oracle, space, epochs=30, directory=str(tmp_path), project_name="p",
                     verbose=0)
    tuner.search(x[:40], y[:40], validation_data=(x[40:], y[40:]))
    trial = oracle.get_best_trials(1)[0]
    assert trial.metrics.get_last_value("epochs") == 1.0
    assert trial.metrics.get_last_value("closed_form") == 1.0
    best = tuner.load_model(trial)                       # the checkpoint holds the solved head
    assert np.mean(np.argmax(best.predict(x[40:], verbose=0), axis=1) == y[40:]) == \
        trial.metrics.get_last_value("val_accuracy")


def test_overlapping_windows_of_one_series_validate_in_time_order():
    from kerasnas.data import prepare_data
    from kerasnas.data.splits import sliding_windows
    from kerasnas.tuner.crossval import folds_of

    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=400))
    x = np.stack([series[i:i + 30] for i in range(0, 300, 2)])      # stride 2
    y = np.array([series[i + 33] for i in range(0, 300, 2)])
    assert sliding_windows(x) and sliding_windows(x[..., None])
    assert not sliding_windows(x[rng.permutation(len(x))])
    assert not sliding_windows(rng.normal(size=(150, 30)))
    data = prepare_data(x, y, seed=0, kind="sequence")
    np.testing.assert_allclose(data.x_val[..., 0], x[-len(data.x_val):], rtol=1e-6)  # last 20 %
    folds = folds_of(x[..., None], y, 5, seed=3)
    for train, val in folds:
        assert np.all(np.diff(val) == 1)                                     # one block each
        assert len(set(train) & set(val)) == 0
    # Classification and shuffled data keep the usual random, stratified splits.
    shuffled = prepare_data(x[rng.permutation(len(x))], y, seed=0, kind="sequence")
    assert not np.array_equal(np.sort(shuffled.y_val), np.sort(y[-len(shuffled.y_val):]))
