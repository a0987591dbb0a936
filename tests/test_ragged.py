"""Unequal-length series: a list of `(L_i, C)` arrays through prepare_data, search, predict, export."""

import warnings

import keras
import numpy as np
import pytest

from kerasnas.data import TaskSpec, prepare_data, ragged
from kerasnas.spaces.layers import PadSeries, ResampleSeries, series_lengths


def _series(n, low, high, channels=2, seed=0, one_d=False):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(low, high + 1, size=n)
    if one_d:
        return [rng.normal(size=int(n_)).astype("float32") for n_ in lengths]
    return [rng.normal(size=(int(n_), channels)).astype("float32") for n_ in lengths]


def _waves(n, seed=0):
    """Two classes of 2-channel series of 30-60 steps: a slow or a fast sine (learnable)."""
    rng = np.random.default_rng(seed)
    x, y = [], []
    for i in range(n):
        t = np.linspace(0, 1, int(rng.integers(30, 61)))
        label = i % 2
        wave = np.stack([np.sin(2 * np.pi * (1 + 3 * label) * t), np.cos(2 * np.pi * t)], -1)
        x.append((wave + 0.1 * rng.normal(size=wave.shape)).astype("float32"))
        y.append(("slow", "fast")[label])
    return x, np.array(y)


def _task(method="resample", length=12, channels=2, values=None):
    return TaskSpec("sequence", "classification", (length, channels), 2, (0, 1),
                    raw_shape=(None, channels), raw_dtype="float32", max_length=length,
                    min_length=2, ragged_method=method, pad_values=values)


# ------------------------------------------------------------------ the layers vs numpy
@pytest.mark.parametrize("length", [12, 1])
def test_resample_layer_equals_the_numpy_transform(length):
    series = _series(7, 2, 20, channels=3)            # shorter and longer than 12 steps
    series.append(np.arange(12, dtype="float32")[:, None].repeat(3, 1))  # exactly 12: unchanged
    batch = ragged.nan_padded(series)
    np.testing.assert_array_equal(ragged.lengths_of(batch), [len(s) for s in series])
    expected = ragged.resample(series, length)
    got = np.asarray(ResampleSeries(length)(batch))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    if length == 12:
        np.testing.assert_allclose(got[-1], series[-1], atol=1e-5)
    # The first and last steps of each series are kept.
    np.testing.assert_allclose(expected[:, 0], [s[0] for s in series], atol=1e-6)
    if length > 1:
        np.testing.assert_allclose(expected[:, -1], [s[-1] for s in series], atol=1e-6)


def test_pad_layer_equals_the_numpy_transform_and_crops_longer_series():
    series = _series(8, 2, 20, channels=3, seed=1)
    values = [0.5, -1.0, 2.0]
    batch = ragged.nan_padded(series, length=25)       # more NaN than any series needs
    expected = ragged.pad(series, 12, values)
    got = np.asarray(PadSeries(12, values=values)(batch))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    long = next(s for s in series if len(s) > 12)
    row = [i for i, s in enumerate(series) if s is long][0]
    np.testing.assert_allclose(got[row], long[:12], atol=1e-6)          # cropped
    short = next(i for i, s in enumerate(series) if len(s) < 12)
    np.testing.assert_allclose(got[short, len(series[short]):], np.broadcast_to(
        values, (12 - len(series[short]), 3)))                            # padded with values


def test_a_series_length_ends_at_its_last_value_not_at_the_first_nan():
    batch = np.array([[[1.0], [np.nan], [3.0], [np.nan]], [[np.nan]] * 4], "float32")
    assert np.asarray(series_lengths(batch)).tolist() == [3, 0]
    assert ragged.lengths_of(batch).tolist() == [3, 0]


def test_wrapped_model_round_trips_through_a_keras_file(tmp_path):
    inner_in = keras.Input((12, 2))
    inner = keras.Model(inner_in, keras.layers.Dense(2, activation="softmax")(
        keras.layers.Flatten()(inner_in)))
    for task in (_task("resample"), _task("pad", values=(0.1, 0.2))):
        model = ragged.with_series_input(inner, task)
        assert model.input_shape == (None, None, 2) and ragged.takes_series(model)
        path = tmp_path / f"{task.ragged_method}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        for batch in (ragged.nan_padded(_series(4, 5, 9)), ragged.nan_padded(_series(3, 14, 20))):
            np.testing.assert_allclose(loaded.predict(batch, verbose=0),
                                       model.predict(batch, verbose=0), atol=1e-6)
        layer = loaded.layers[1]
        assert type(layer) is type(model.layers[1]) and layer.length == 12


# ------------------------------------------------------------------ prepare_data
@pytest.mark.parametrize("method", ["resample", "pad"])
def test_prepare_data_brings_a_ragged_list_to_the_longest_length(method):
    x = _series(40, 20, 40, channels=3)
    data = prepare_data(x, [0, 1] * 20, seed=0, ragged=method)
    task = data.task
    assert task.kind == "sequence" and task.input_shape == (40, 3)
    assert (task.max_length, task.min_length, task.ragged_method) == (
        max(map(len, x)), min(map(len, x)), method)
    assert task.raw_shape == (None, 3) and task.raw_dtype == "float32"
    assert data.x_train.shape == (32, 40, 3) and data.x_val.shape == (8, 40, 3)
    assert np.isfinite(data.x_train).all()
    assert "unequal-length" in data.note and f"ragged={method!r}" in data.note
    assert "series of" in task.describe()
    if method == "pad":
        # The padding is each channel's training mean: after standardisation it is 0.
        normalized = keras.layers.Normalization(axis=-1)
        normalized.adapt(data.x_train)
        tail = np.asarray(normalized(data.x_train))[:, -1]
        rows = np.isclose(data.x_train[:, -1], task.pad_values).all(-1)  # the padded series
        assert rows.any()
        np.testing.assert_allclose(tail[rows], 0.0, atol=1e-5)
    else:
        assert task.pad_values is None


def test_one_dimensional_series_have_one_channel_and_validation_data_can_be_ragged():
    x = _series(30, 10, 20, one_d=True)
    x_val = _series(10, 8, 25, one_d=True, seed=3)       # one longer than any training series
    data = prepare_data(x, [0, 1] * 15, validation_data=(x_val, [0, 1] * 5))
    assert data.task.input_shape == (20, 1) and data.task.raw_shape == (None,)
    assert data.x_train.shape == (30, 20, 1) and data.x_val.shape == (10, 20, 1)


def test_equal_length_lists_are_stacked_as_before():
    series = _series(20, 30, 30)
    for x in (series, _object_array(series)):
        data = prepare_data(x, [0, 1] * 10, seed=0)
        assert data.task.max_length is None and data.task.input_shape == (30, 2)
    np.testing.assert_array_equal(prepare_data(series, [0, 1] * 10, seed=0).x_train,
                                  prepare_data(np.stack(series), [0, 1] * 10, seed=0).x_train)


def _object_array(items):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _with(i, value):
    x = _series(6, 10, 20, channels=3)
    x[i] = value
    return x


@pytest.mark.parametrize("x, error, message", [
    (_with(2, np.zeros((15, 2))), ValueError, r"x\[2\] has 2 channel\(s\).*same channels"),
    ([np.zeros((3, 10)), np.zeros((3, 14))], ValueError, r"aeon's.*\[s\.T for s in x\]"),
    (_with(1, np.zeros((0, 3))), ValueError, r"x\[1\] is empty.*drop empty series"),
    (_with(4, np.zeros((1, 3))), ValueError, r"x\[4\] has 1 time step.*at least 2"),
    (_with(3, np.array([[1.0, np.nan, 0.0]] * 12)), ValueError,
     r"x\[3\] has 12 NaN or infinite.*time step 0, channel 1; impute"),
    (_with(0, np.full((12, 3), np.inf)), ValueError, r"x\[0\] has 36 NaN or infinite"),
    (_with(5, np.array([["a", "b", "c"]] * 12)), TypeError, r"x\[5\] has non-numeric"),
    (_with(5, [[1.0, 2.0, 3.0], [4.0, 5.0]]), ValueError, r"x\[5\] is itself ragged"),
    (_with(2, np.zeros((12, 3, 2))), ValueError, r"x\[2\] has shape \(12, 3, 2\)"),
])
def test_bad_ragged_inputs_fail_before_training_with_the_fix(x, error, message):
    with pytest.raises(error, match=message):
        prepare_data(x, [0, 1] * (len(x) // 2))


def test_ragged_input_rejects_other_kinds_and_mismatched_validation():
    x = _series(10, 10, 20)
    with pytest.raises(ValueError, match="kind='image' does not fit"):
        prepare_data(x, [0, 1] * 5, kind="image")
    with pytest.raises(ValueError, match=r"validation x\[0\] has 3 channel.*x's series have 2"):
        prepare_data(x, [0, 1] * 5, validation_data=(_series(4, 10, 20, channels=3), [0, 1] * 2))
    with pytest.raises(ValueError, match="ragged"):
        prepare_data(x, [0, 1] * 5, ragged="stretch")


def test_model_input_takes_lists_and_nan_tailed_arrays_and_names_bad_ones():
    task = _task("resample", length=12)
    series = _series(3, 5, 15)
    batch = ragged.model_input(series, task)
    assert batch.shape == (3, max(map(len, series)), 2)
    np.testing.assert_array_equal(ragged.model_input(batch, task), batch)
    with pytest.raises(ValueError, match="trained on have 2"):
        ragged.model_input(_series(2, 5, 9, channels=3), task)
    broken = batch.copy()
    broken[0, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"x\[0\] has a NaN.*before its end"):
        ragged.model_input(broken, task)
    with pytest.warns(UserWarning, match="longer than the longest training series"):
        ragged.model_input(_series(2, 20, 25), _task("pad", 12, values=(0.0, 0.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ragged.model_input(_series(2, 20, 25), task)  # resample: longer is fine


# ------------------------------------------------------------------ export
def test_exported_one_dimensional_series_model_serves_any_length_and_tflite_takes_l_max(tmp_path):
    import tensorflow as tf

    from kerasnas.deploy.export import export_model
    from kerasnas.hardware.runtime import tflite_predict

    inner_in = keras.Input((16, 1))
    inner = keras.Model(inner_in, keras.layers.Dense(3, activation="softmax")(
        keras.layers.Flatten()(inner_in)))
    task = TaskSpec("sequence", "classification", (16, 1), 3, ("a", "b", "c"), raw_shape=(None,),
                    max_length=16, min_length=4, ragged_method="resample")
    model = ragged.with_series_input(inner, task)
    with pytest.warns(UserWarning, match="TFLite takes a fixed shape.*exactly 16 steps"):
        paths = export_model(model, tmp_path, formats=("savedmodel", "tflite"),
                             classes=task.classes, input_shape=(None,))
    serve = tf.saved_model.load(paths["savedmodel"]).signatures["serving_default"]
    assert serve.structured_input_signature[1]["inputs"].shape.as_list() == [None, None]
    series = _series(4, 4, 30, one_d=True)
    for batch in (ragged.nan_padded(series)[..., 0], ragged.nan_padded(series[:2], 7)[..., 0]):
        out = serve(inputs=tf.constant(batch))["probabilities"].numpy()
        np.testing.assert_allclose(out, model.predict(batch[..., None], verbose=0), atol=1e-5)
    flatbuffer = open(paths["tflite"], "rb").read()
    short = ragged.nan_padded([s for s in series if len(s) < 16], 16)[..., 0]  # NaN to L_max
    assert len(short) and np.isnan(short).any()
    np.testing.assert_allclose(tflite_predict(flatbuffer, short),
                               model.predict(short[..., None], verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match=r"the model takes \(16,\)"):
        tflite_predict(flatbuffer, ragged.nan_padded(series, 30)[..., 0])


# ------------------------------------------------------------------ end to end
def test_search_on_a_ragged_list_trains_predicts_saves_and_serves_two_lengths(tmp_path):
    import tensorflow as tf

    import kerasnas

    x, y = _waves(40)
    result = kerasnas.search(x, y, max_trials=1, epochs=1, min_steps=0, seed=0, verbose=0,
                             strategy="random", space="residual", blocks=(1,), widths=(4,),
                             kernels=(3,), dilations=("none",), downsamples=("none",),
                             dropouts=(0.0,), cv_folds=None, baseline_fallback=False, refit=False,
                             directory=tmp_path / "run")
    task = result.task
    assert (task.max_length, task.ragged_method) == (max(map(len, x)), "pad")  # the default
    assert task.pad_values is not None and len(task.pad_values) == 2
    assert result.model.input_shape == (None, None, 2)
    x_new, y_new = _waves(6, seed=1)
    predicted = result.predict(x_new)
    assert predicted.shape == (6,) and set(predicted) <= {"slow", "fast"}
    assert set(result.evaluate(x_new, y_new)) == {"accuracy"}
    proba = result.predict_proba(x_new)

    reloaded = kerasnas.SearchResult.load(tmp_path / "run" / "result")
    assert reloaded.task == task
    np.testing.assert_allclose(reloaded.predict_proba(x_new), proba, atol=1e-6)

    path = reloaded.export(tmp_path / "export", formats=("savedmodel",))["savedmodel"]
    serve = tf.saved_model.load(path).signatures["serving_default"]
    assert serve.structured_input_signature[1]["inputs"].shape.as_list() == [None, None, 2]
    short = [s for s in x_new if len(s) < 45][:2]
    long = [s for s in x_new if len(s) >= 45][:2]
    assert short and long
    for group in (short, long):   # two requests of different lengths
        out = serve(inputs=tf.constant(ragged.nan_padded(group)))
        np.testing.assert_allclose(out["probabilities"].numpy(), result.predict_proba(group),
                                   atol=1e-5)
        np.testing.assert_array_equal(out["label"].numpy().astype(str), result.predict(group))
    with pytest.raises(tf.errors.InvalidArgumentError, match="any length"):
        serve(inputs=tf.zeros((1, 30, 3)))
