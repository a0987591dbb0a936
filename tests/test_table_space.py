"""TableSpace (#24): each column layer against a direct numpy computation, the space's decisions
in its architecture strings, the fit hook's statistics, save / load, and a search on a table
whose SavedModel serves raw rows through each numeric embedding."""

import keras
import numpy as np
import pytest
from scipy.special import ndtri

from kerasnas.spaces import TableSpace
from kerasnas.spaces.encodings import TableEncoding
from kerasnas.spaces.table import category_embedding_size, check_layout
from kerasnas.spaces.table_layers import (
    SMOOTH_CLIP,
    EnsembleInputs,
    NumericTransform,
    PerFeatureDense,
    PeriodicFeatures,
    PiecewiseLinearEncoding,
    SelectFeatures,
)


def skewed(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.lognormal(0.0, 1.0, n), rng.normal(5.0, 2.0, n),
                     rng.integers(0, 2, n).astype(float)], axis=1).astype("float32")


def test_standard_and_robust_transforms_match_numpy():
    x = skewed()
    standard = NumericTransform("standard")
    standard.adapt(x)
    np.testing.assert_allclose(standard(x).numpy(), (x - x.mean(0)) / x.std(0), atol=1e-4)
    robust = NumericTransform("robust")
    robust.adapt(x)
    q25, median, q75 = np.quantile(x.astype(np.float64), [0.25, 0.5, 0.75], axis=0)
    scale = (q75 - q25) / 1.349
    z = (x - median) / scale
    np.testing.assert_allclose(robust(x).numpy(), z / np.sqrt(1 + (z / SMOOTH_CLIP) ** 2),
                               atol=1e-4)
    assert np.abs(robust(x * 1000).numpy()).max() <= SMOOTH_CLIP  # heavy tails stay bounded


def test_quantile_transform_is_the_normal_score_of_the_empirical_cdf():
    x = skewed()[:, :2]  # continuous: no ties
    layer = NumericTransform("quantile", num_quantiles=33)
    layer.adapt(x)
    levels = np.linspace(0, 1, 33)
    probe = np.linspace(-1, 12, 50, dtype="float32")[:, None].repeat(2, 1)
    for j in range(2):
        knots = np.quantile(x[:, j].astype(np.float64), levels)
        expected = np.interp(probe[:, j], knots, ndtri(np.clip(levels, 1e-3, 1 - 1e-3)))
        np.testing.assert_allclose(layer(probe).numpy()[:, j], expected, atol=1e-4)
    # A 0/1 column maps to the normal scores of the middles of its two level ranges.
    binary = skewed()[:, 2:]
    layer = NumericTransform("quantile", num_quantiles=33)
    layer.adapt(binary)
    out = layer(np.array([[0.0], [1.0]], "float32")).numpy()[:, 0]
    zero_levels = levels[np.quantile(binary[:, 0], levels) == 0]
    one_levels = levels[np.quantile(binary[:, 0], levels) == 1]
    np.testing.assert_allclose(out, ndtri([zero_levels.mean(), one_levels.mean()]), atol=1e-5)


def test_log_transform_logs_only_skewed_positive_columns():
    x = skewed()
    layer = NumericTransform("log")
    layer.adapt(x)
    np.testing.assert_array_equal(layer.log_mask.numpy(), [1.0, 0.0, 0.0])
    logged = np.log1p(x[:, 0])
    np.testing.assert_allclose(layer(x).numpy()[:, 0], (logged - logged.mean()) / logged.std(),
                               atol=1e-4)
    np.testing.assert_allclose(layer(x).numpy()[:, 1], (x[:, 1] - x[:, 1].mean()) / x[:, 1].std(),
                               atol=1e-4)


def test_piecewise_linear_encoding_matches_the_paper_formula():
    x = skewed()
    layer = PiecewiseLinearEncoding(num_bins=8)
    layer.adapt(x)
    out = layer(x).numpy()
    for j in range(3):
        edges = np.unique(np.quantile(x[:, j].astype(np.float64), np.linspace(0, 1, 9)))
        t = len(edges) - 1
        for b in range(8):
            if b >= t:  # a column with fewer distinct values has fewer bins
                np.testing.assert_array_equal(out[:, j, b], 0.0)
                continue
            ramp = (x[:, j] - edges[b]) / (edges[b + 1] - edges[b])
            low = 0.0 if b > 0 else -np.inf
            high = 1.0 if b < t - 1 else np.inf
            np.testing.assert_allclose(out[:, j, b], np.clip(ramp, low, high), atol=1e-4)
    assert layer.bins.numpy().tolist() == [8.0, 8.0, 1.0]  # the 0/1 column: one bin


def test_periodic_per_feature_dense_and_ensemble_inputs_match_numpy():
    x = skewed()[:16]
    periodic = PeriodicFeatures(frequencies=3, sigma=0.5)
    v = periodic(x).numpy()
    c = periodic.c.numpy()
    angle = 2 * np.pi * c[None] * x[:, :, None]
    np.testing.assert_allclose(v, np.concatenate([np.cos(angle), np.sin(angle)], -1), atol=1e-4)
    dense = PerFeatureDense(4)
    out = dense(v).numpy()
    kernel, bias = dense.kernel.numpy(), dense.bias.numpy()
    for f in range(3):
        np.testing.assert_allclose(out[:, f], v[:, f] @ kernel[f] + bias[f], atol=1e-4)
    members = EnsembleInputs(5, seed=1)
    out = members(x).numpy()
    r = members.r.numpy()
    assert set(np.unique(r)) == {-1.0, 1.0}
    np.testing.assert_allclose(out, x[:, None, :] * r[None], atol=1e-6)
    np.testing.assert_array_equal(SelectFeatures([2, 0])(x).numpy(), x[:, [2, 0]])


def test_the_encoding_records_every_searched_decision_in_its_string():
    enc = TableEncoding()
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        arch = enc.sample(rng)
        again = enc.from_string(str(arch))
        assert again == arch, str(arch)
        seen.update(f"{k}={arch[k]}" for k in ("numeric", "embedding", "categorical"))
        if arch["num_layers"]:
            assert f"ensemble={arch['ensemble']}" in str(arch) and arch["body"] in str(arch)
    assert {"numeric=quantile", "numeric=log", "embedding=ple", "embedding=periodic",
            "categorical=embed"} <= seen
    assert "ensemble" not in str(enc.from_string("linear"))  # inactive without hidden layers
    with pytest.raises(ValueError, match="Cannot parse table architecture"):
        enc.from_string("mlp 3x7 relu")


def test_layout_is_checked_and_categories_are_embedded_by_cardinality():
    with pytest.raises(ValueError, match="covers 5 features but the input has 6"):
        check_layout([("numeric", 2), ("categorical", 3)], 6)
    with pytest.raises(ValueError, match="kind in"):
        check_layout([("text", 6)], 6)
    assert category_embedding_size(2) == 2 and category_embedding_size(1000) == 16
    space = TableSpace((7,), num_classes=2, layout=[("numeric", 3), ("flag", 1),
                                                    ("categorical", 3)])
    model = space.build_architecture("mlp 1x64 relu categorical=embed")
    assert model.get_layer("category0_embedding").kernel.shape == (3, category_embedding_size(3))


def table_rows(n=300, seed=0):
    """Two skewed numbers, a flag and a 3-way one-hot; the label switches at a threshold."""
    rng = np.random.default_rng(seed)
    numbers = np.stack([rng.lognormal(size=n), rng.normal(size=n)], 1)
    flag = (rng.random(n) < 0.3)[:, None]
    category = np.eye(3)[rng.integers(0, 3, n)]
    x = np.concatenate([numbers, flag, category], 1).astype("float32")
    y = ((numbers[:, 0] > 1.5) ^ (category[:, 0] > 0)).astype("int64")
    return x, y


def test_the_fit_hook_fits_the_column_statistics_on_the_training_rows(tmp_path):
    x, y = table_rows()
    space = TableSpace((6,), num_classes=2, layout=[("numeric", 2), ("flag", 1),
                                                    ("categorical", 3)])
    model = space.build_architecture("mlp 2x64 relu numeric=quantile embedding=ple")
    space.fit(None, model, x, y, epochs=40, batch_size=32, verbose=0)
    knots = model.get_layer("numeric_transform").knots.numpy()
    np.testing.assert_allclose(knots[0, [0, -1]], [x[:, 0].min(), x[:, 0].max()], rtol=1e-6)
    edges = model.get_layer("ple").edges.numpy()
    assert edges[0, 0] < -2.5 and edges[0, -1] > 2.5  # bins of the transformed column
    accuracy = float(np.mean(model.predict(x, verbose=0).argmax(1) == y))
    assert accuracy > 0.9, accuracy  # the threshold and the category are learned
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    again = TableSpace.from_config(space.get_config())
    assert again.layout == space.layout and again.encoding == space.encoding


@pytest.mark.parametrize("text", [
    "resnet 1x64 silu dropout=0.1 numeric=robust embedding=periodic categorical=embed ensemble=4",
    "linear numeric=log embedding=none",
])
def test_every_body_builds_trains_and_reloads(tmp_path, text):
    x, y = table_rows(120)
    space = TableSpace((6,), output_dim=1, layout=[("numeric", 2), ("flag", 1),
                                                   ("categorical", 3)],
                       target_scale=([0.5], [0.25]), ensembles=(1, 4))
    model = space.build_architecture(text)
    history = space.fit(None, model, x, y.astype("float32"), epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)


@pytest.mark.parametrize("narrowed", [
    dict(numerics=("quantile",), embeddings=("ple",), categoricals=("embed",), ensembles=(4,),
         bodies=("mlp",)),
    dict(numerics=("log",), embeddings=("periodic",), categoricals=("onehot",), ensembles=(1,),
         bodies=("resnet",)),
], ids=["ple-embed-ensemble", "log-periodic-resnet"])
def test_a_search_on_raw_rows_serves_them_through_the_savedmodel(tmp_path, narrowed):
    pd = pytest.importorskip("pandas")
    import tensorflow as tf

    import kerasnas

    rng = np.random.default_rng(0)
    n = 160
    frame = pd.DataFrame({"spend": rng.lognormal(size=n), "city": rng.choice(["a", "b", "c"], n),
                          "age": rng.normal(40, 10, n)})
    frame.loc[rng.choice(n, 10, replace=False), "age"] = np.nan
    label = np.where((frame["spend"] > 1.0) ^ (frame["city"] == "a"), "yes", "no")
    result = kerasnas.search(frame, label, strategy="random", max_trials=1, epochs=5, seed=0,
                             min_steps=0, cv_folds=None, verbose=0, baseline_fallback=False,
                             directory=tmp_path / "run", layers=(1,), widths=(64,), **narrowed)
    arch = str(result.architecture)
    for value in narrowed.values():
        assert f"={value[0]}" in arch or arch.startswith(str(value[0])), arch
    assert result.task.feature_layout == (("numeric", 1), ("categorical", 4), ("numeric", 1),
                                          ("flag", 1))
    rows = frame.head(12).copy()
    rows.loc[rows.index[0], "city"] = "unseen"
    expected = result.predict_proba(rows)
    path = result.export(tmp_path / "export", formats=("savedmodel",), name="t")["savedmodel"]
    serve = tf.saved_model.load(path).signatures["serving_default"]
    out = serve(spend=tf.constant(rows["spend"].to_numpy(np.float32)),
                city=tf.constant(rows["city"].to_numpy(str)),
                age=tf.constant(rows["age"].to_numpy(np.float32)))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
