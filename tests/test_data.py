"""Input validation, task inference, splits and loading in kerasnas.data."""

import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from kerasnas.data import (
    TaskSpec,
    decode_labels,
    encode_labels,
    load_dataset,
    normalization_layers,
    prepare_data,
)
from kerasnas.infra.validation import validate_budget, validate_choice


def _blobs(n=60, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, d)) + y[:, None] * 2.0
    return x, y


# ------------------------------------------------------------ task inference
def test_digits_images_get_a_channel_axis():
    x, y = load_dataset("digits")
    data = prepare_data(x, y, seed=0)
    assert data.task.kind == "image"
    assert data.task.problem == "classification"
    assert data.task.input_shape == (8, 8, 1)
    assert data.task.num_classes == 10 and data.task.classes == tuple(range(10))
    assert data.x_train.shape[1:] == (8, 8, 1) and data.x_train.dtype == np.float32
    assert data.y_train.dtype == np.int32
    assert len(data.x_train) + len(data.x_val) == len(x)


def test_4d_images_keep_their_channels():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(20, 6, 6, 3)).astype(np.uint8)
    data = prepare_data(x, np.arange(20) % 2, seed=0)
    assert (data.task.kind, data.task.input_shape) == ("image", (6, 6, 3))


def test_2d_array_is_tabular_unless_kind_says_sequence():
    x, y = _blobs(d=12)
    tabular = prepare_data(x, y, seed=0)
    assert (tabular.task.kind, tabular.task.input_shape) == ("tabular", (12,))
    sequence = prepare_data(x, y, seed=0, kind="sequence")
    assert (sequence.task.kind, sequence.task.input_shape) == ("sequence", (12, 1))
    assert sequence.x_train.shape[1:] == (12, 1)


def test_3d_array_kind_follows_its_sides_with_override():
    x = np.random.default_rng(0).normal(size=(30, 50, 2))
    y = np.arange(30) % 3
    data = prepare_data(x, y, seed=0)
    assert (data.task.kind, data.task.input_shape) == ("sequence", (50, 2))
    assert "kind='image'" in data.note  # the note says how to override
    image = prepare_data(x, y, seed=0, kind="Image")
    assert (image.task.kind, image.task.input_shape) == ("image", (50, 2, 1))
    assert image.note == ""


def _signals(n, length, rng):
    """Noisy sines with a random phase: class 1 has three times the frequency of class 0."""
    y = np.arange(n) % 2
    t = np.linspace(0, 1, length)
    x = np.sin(2 * np.pi * (1 + 2 * y[:, None]) * t + rng.uniform(0, 6, (n, 1)))
    return x + 0.3 * rng.normal(size=(n, length)), y


@pytest.mark.parametrize("shape, kind, input_shape", [
    ((40,), "sequence", (40, 1)),          # a signal passed flat
    ((40, 1), "sequence", (40, 1)),        # a width-1 "image" is a sequence
    ((100, 6), "sequence", (100, 6)),      # six channels
    ((8, 8), "image", (8, 8, 1)),
    ((28, 28), "image", (28, 28, 1)),
    ((32, 32, 3), "image", (32, 32, 3)),
])
def test_inferred_kind_of_tricky_shapes(shape, kind, input_shape):
    rng = np.random.default_rng(0)
    x, y = _signals(60, shape[0], rng)
    if len(shape) > 1:  # the signal along the first axis, smooth copies along the others
        x = np.repeat(x.reshape(60, shape[0], *([1] * (len(shape) - 1))), 1, axis=1)
        x = np.broadcast_to(x, (60,) + shape) + 0.01 * rng.normal(size=(60,) + shape)
    data = prepare_data(x, y, seed=0)
    assert (data.task.kind, data.task.input_shape) == (kind, input_shape), data.note
    assert data.note.startswith(f"(N, {shape[0]}")


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "digits_flat", "iid"])
def test_tables_stay_tables(name):
    from sklearn import datasets

    rng = np.random.default_rng(0)
    x, y = {"breast_cancer": lambda: datasets.load_breast_cancer(return_X_y=True),
            "wine": lambda: datasets.load_wine(return_X_y=True),
            "digits_flat": lambda: datasets.load_digits(return_X_y=True),
            "iid": lambda: (rng.normal(size=(200, 30)), np.arange(200) % 2)}[name]()
    for features in (x, (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1)):
        data = prepare_data(features, y, seed=0)
        assert data.task.kind == "tabular", (name, data.note)


def test_signal_columns_are_a_sequence_unless_overridden():
    x, y = _signals(80, 64, np.random.default_rng(1))
    data = prepare_data(x, y, seed=0)
    assert (data.task.kind, data.task.input_shape) == ("sequence", (64, 1))
    assert "kind='tabular'" in data.note
    assert prepare_data(x, y, seed=0, kind="tabular").task.kind == "tabular"
    frame = pd.DataFrame(x)  # named columns are features, never a signal
    assert prepare_data(frame, y, seed=0).task.kind == "tabular"


def test_dataframe_with_string_series_labels():
    x, y = _blobs()
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["flag"] = np.arange(len(frame)) % 2 == 0  # bool columns count as numbers
    labels = pd.Series(np.array(["cat", "dog", "eel"])[y])
    data = prepare_data(frame, labels, seed=0)
    assert data.task.kind == "tabular" and data.task.input_shape == (5,)
    assert data.task.feature_names == ("a", "b", "c", "d", "flag")
    assert data.task.classes == ("cat", "dog", "eel")
    # The target may also be named as one of the DataFrame's columns.
    frame["animal"] = labels
    by_name = prepare_data(frame, "animal", seed=0)
    assert by_name.task.feature_names == ("a", "b", "c", "d", "flag")
    np.testing.assert_array_equal(by_name.x_train, data.x_train)
    np.testing.assert_array_equal(by_name.y_train, data.y_train)


def test_tf_dataset_batched_or_not_gives_the_same_data():
    x, y = _blobs(n=30)
    pairs = tf.data.Dataset.from_tensor_slices((x.astype(np.float32), y))
    flat = prepare_data(pairs, seed=3)
    batched = prepare_data(pairs.batch(7), seed=3)
    assert flat.task == batched.task
    assert flat.task.input_shape == (4,) and flat.task.num_classes == 3
    np.testing.assert_array_equal(flat.x_train, batched.x_train)
    np.testing.assert_array_equal(flat.y_val, batched.y_val)


def test_tf_dataset_with_string_labels_decodes_bytes():
    x, _ = _blobs(n=20, classes=2)
    labels = np.array(["no", "yes"] * 10)
    data = prepare_data(tf.data.Dataset.from_tensor_slices((x, labels)), seed=0)
    assert data.task.classes == ("no", "yes")


def test_bool_labels_are_classification():
    x, y = _blobs(classes=2)
    data = prepare_data(x, y.astype(bool), seed=0)
    assert data.task.problem == "classification"
    assert data.task.classes == (False, True)


def test_one_hot_labels_are_converted_to_indices():
    x, y = _blobs()
    data = prepare_data(x, np.eye(3)[y], validation_data=(x[:6], np.eye(3)[y[:6]]))
    assert data.task.num_classes == 3 and data.task.classes == (0, 1, 2)
    np.testing.assert_array_equal(data.y_train, y)
    np.testing.assert_array_equal(data.y_val, y[:6])


def test_float_targets_are_regression():
    x, _ = _blobs()
    target = x @ np.array([1.0, -2.0, 0.5, 0.0])
    data = prepare_data(x, target, seed=0)
    assert data.task.problem == "regression" and data.task.output_dim == 1
    assert data.task.num_classes is None and data.task.classes is None
    assert data.y_train.dtype == np.float32 and data.y_train.ndim == 1
    assert (data.task.loss, data.task.metrics, data.task.objective_direction) == (
        "mean_squared_error", ("mae",), "min")


def test_whole_float_labels_warn_and_classify_on_request():
    x, y = _blobs(classes=2)
    with pytest.warns(UserWarning, match="problem='classification'"):
        assert prepare_data(x, y.astype(float), seed=0).task.problem == "regression"
    data = prepare_data(x, y.astype(float), seed=0, problem="classification")
    assert data.task.classes == (0.0, 1.0)
    assert data.task.loss == "sparse_categorical_crossentropy"


def test_integer_amounts_are_regression_and_integer_labels_stay_classes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    prices = (1000 + 800 * x[:, 0] ** 2).astype(np.int64)  # a price column read from a CSV
    with pytest.warns(UserWarning, match="amounts .regression.*problem='classification'"):
        assert prepare_data(x, prices, seed=0).task.problem == "regression"
    assert prepare_data(x, prices, seed=0, problem="classification").task.problem == \
        "classification"
    labels = np.arange(300) % 30  # 30 classes of 10 examples: labels, however many
    assert prepare_data(x, labels, seed=0).task.problem == "classification"
    assert prepare_data(x, np.arange(300) % 20 * 50, seed=0).task.problem == "classification"


def test_2d_float_targets_are_multi_output_regression():
    x, _ = _blobs()
    targets = np.stack([x[:, 0] * 0.3, x[:, 1] - x[:, 2]], axis=1)
    data = prepare_data(x, targets, seed=0)
    assert (data.task.problem, data.task.output_dim, data.task.output_units) == (
        "regression", 2, 2)
    assert data.y_train.shape[1:] == (2,)


# --------------------------------------------------------------- bad inputs
X_OK, Y_OK = _blobs(n=20)


def _with(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


@pytest.mark.parametrize("x, y, kwargs, error, match", [
    (_with(X_OK, (3, 1), np.nan), Y_OK, {}, ValueError, r"NaN or infinite.*index \(3, 1\)"),
    (_with(X_OK, (0, 0), np.inf), Y_OK, {}, ValueError, "NaN or infinite"),
    (X_OK * 1e39, Y_OK, {}, ValueError, "float32's range"),
    (X_OK, _with(Y_OK, 5, np.nan), {}, ValueError, r"y has 1 NaN"),
    (X_OK, Y_OK[:-1], {}, ValueError, "x has 20 examples but y has 19"),
    (np.zeros((0, 4)), np.zeros(0), {}, ValueError, "x is empty"),
    (np.zeros((20, 0)), Y_OK, {}, ValueError, "without any values"),
    (X_OK[:1], Y_OK[:1], {}, ValueError, "only 1 example"),
    (X_OK, np.full(20, "only"), {}, ValueError, "single class .'only'."),
    (X_OK, np.eye(3)[np.zeros(20, int)], {}, ValueError, "single class .column 0"),
    (X_OK[:, 0], Y_OK, {}, ValueError, r"one value per example.*reshape\(-1, 1\)"),
    (np.zeros((20, 2, 2, 2, 2)), Y_OK, {}, ValueError, "rank 5"),
    (X_OK, Y_OK, {"kind": "image"}, ValueError, "kind='image' needs"),
    (np.zeros((20, 4, 4, 1)), Y_OK, {"kind": "tabular"}, ValueError, "Flatten it"),
    (np.zeros((20, 4, 4, 1)), Y_OK, {"kind": "sequence"}, ValueError, "kind='sequence' needs"),
    (X_OK.astype(str), Y_OK, {}, TypeError, "non-numeric values"),
    (np.array([["a", 1]] * 20, dtype=object), Y_OK, {}, TypeError, "non-numeric"),
    (X_OK, None, {}, ValueError, "y is required"),
    (X_OK, np.zeros((20, 2, 2)), {}, ValueError, "y has rank 3"),
    (X_OK, np.ones((20, 3), dtype=int), {}, ValueError, "multi-label"),
    (X_OK, np.array(["a", 1] * 10, dtype=object), {}, TypeError, "mixes label types"),
    (X_OK, np.array(["a", None] * 10, dtype=object), {}, ValueError, "missing value"),
    (X_OK, np.array(["a", "b"] * 10), {"problem": "regression"}, TypeError, "must be numbers"),
    (X_OK, Y_OK, {"kind": "video"}, ValueError, "Unknown kind 'video'"),
    (X_OK, Y_OK, {"problem": "clasification"}, ValueError, "did you mean 'classification'"),
    (X_OK, Y_OK, {"validation_split": 0}, ValueError, "strictly between 0 and 1"),
    (X_OK, Y_OK, {"validation_split": 1.5}, ValueError, "strictly between 0 and 1"),
    (X_OK, Y_OK, {"seed": 1.5}, TypeError, "seed must be an int"),
    (X_OK, Y_OK, {"validation_data": X_OK}, TypeError, r"\(x_val, y_val\)"),
    (X_OK, Y_OK, {"validation_data": (X_OK[:, :3], Y_OK)}, ValueError, "per-example shape"),
    (X_OK, Y_OK, {"validation_data": (X_OK, Y_OK + 7)}, ValueError, "not seen in training"),
    (X_OK, Y_OK, {"validation_data": (X_OK, Y_OK[:5])}, ValueError, "validation y has 5"),
])
def test_bad_inputs_are_rejected_with_a_clear_message(x, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        prepare_data(x, y, **kwargs)


def test_bad_dataframes_are_rejected():
    # Text columns and NaN in a DataFrame are typed and encoded now: tests/test_tables.py.
    with pytest.raises(ValueError, match="missing value"):
        prepare_data(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}), pd.Series(["x", None, "y", "x"]))
    with pytest.raises(ValueError, match="no column 'label'"):
        prepare_data(pd.DataFrame({"a": [1.0, 2.0]}), "label")
    with pytest.raises(ValueError, match="a pandas Series"):
        prepare_data(pd.Series([1.0, 2.0, 3.0, 4.0]), [0, 1, 0, 1])


def test_bad_datasets_are_rejected():
    x, y = _blobs(n=10)
    pairs = tf.data.Dataset.from_tensor_slices((x, y))
    with pytest.raises(ValueError, match="infinite"):
        prepare_data(pairs.repeat())
    with pytest.raises(ValueError, match="empty"):
        prepare_data(pairs.take(0))
    with pytest.raises(TypeError, match=r"\(x, y\) pairs"):
        prepare_data(tf.data.Dataset.from_tensor_slices(x))
    with pytest.raises(ValueError, match="y must be None"):
        prepare_data(pairs, y)


# ------------------------------------------------------- argument validation
def test_validate_choice_names_unknown_strategy_and_space():
    strategies = ("random", "evolution", "bayesian")
    assert validate_choice("strategy", "Evolution", strategies) == "evolution"
    with pytest.raises(ValueError, match=r"Unknown strategy 'evolve'; did you mean 'evolution'"):
        validate_choice("strategy", "evolve", strategies)
    with pytest.raises(ValueError, match=r"Unknown space 'xyz'\. Choose one of: 'cell', 'macro'"):
        validate_choice("space", "xyz", ("cell", "macro"))
    with pytest.raises(TypeError, match="space must be a string"):
        validate_choice("space", 3, ("cell",))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"max_trials": 0}, ValueError, "max_trials must be > 0; got 0"),
    ({"max_trials": -3, "time_budget": 10}, ValueError, "max_trials must be > 0"),
    ({"time_budget": 0}, ValueError, "time_budget must be a finite number of seconds > 0"),
    ({"time_budget": float("inf")}, ValueError, "time_budget must be a finite"),
    ({"max_trials": 5, "epochs": 0}, ValueError, "epochs must be > 0"),
    ({"max_trials": 2.5}, TypeError, "max_trials must be an int"),
    ({"max_trials": True}, TypeError, "max_trials must be an int"),
    ({"time_budget": "60"}, TypeError, "time_budget must be a number"),
    ({}, ValueError, "needs a budget"),
])
def test_validate_budget_rejects_non_positive_budgets(kwargs, error, match):
    with pytest.raises(error, match=match):
        validate_budget(**kwargs)


def test_validate_budget_returns_python_numbers():
    assert validate_budget(np.int64(4), 30, np.int32(2)) == (4, 30.0, 2)
    assert type(validate_budget(np.int64(4))[0]) is int
    assert validate_budget(time_budget=1.5) == (None, 1.5, None)


# -------------------------------------------------------- labels and model
def test_string_labels_round_trip():
    x, y = _blobs()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    data = prepare_data(x, names, seed=0)
    encoded = encode_labels(names, data.task)
    assert encoded.dtype == np.int32 and set(encoded.tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(decode_labels(encoded, data.task), names)
    np.testing.assert_array_equal(encode_labels(pd.Series(names), data.task), encoded)
    with pytest.raises(ValueError, match="'rose' not seen in training"):
        encode_labels(["setosa", "rose"], data.task)
    with pytest.raises(ValueError, match=r"Class indices must lie in \[0, 2\]"):
        decode_labels([3], data.task)


def test_labels_are_refused_for_regression():
    task = TaskSpec("tabular", "regression", (3,), output_dim=1)
    with pytest.raises(ValueError, match="only for classification"):
        encode_labels([1, 2], task)


def test_normalization_layer_standardises_x_train_per_channel():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(5, 3, size=(40, 6, 6, 1)),
                        rng.normal(-2, 0.5, size=(40, 6, 6, 1))], axis=-1)
    data = prepare_data(x, np.arange(40) % 2, seed=0)
    [layer] = normalization_layers(data)
    out = np.asarray(layer(data.x_train))
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), [0.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), [1.0, 1.0], atol=1e-3)
    assert tuple(layer.mean.shape) == (1, 1, 1, 2)


def test_normalization_layer_standardises_tabular_features():
    x = np.random.default_rng(1).normal([100.0, 0.0, -7.0], [20.0, 1e-3, 4.0], size=(50, 3))
    data = prepare_data(x, np.arange(50) % 2, seed=0)
    out = np.asarray(normalization_layers(data)[0](data.x_train))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-2)


# --------------------------------------------------------------- splitting
def test_stratified_split_keeps_every_class_in_train_and_val():
    x, y = _blobs(n=100, classes=7)
    data = prepare_data(x, y, validation_split=0.1, seed=0)
    assert set(data.y_train.tolist()) == set(range(7))
    assert set(data.y_val.tolist()) == set(range(7))
    assert len(data.y_train) + len(data.y_val) == 100
    # Rows stay paired with their labels through the split.
    for xs, ys in ((data.x_train, data.y_train), (data.x_val, data.y_val)):
        rows = [np.flatnonzero((x.astype(np.float32) == row).all(axis=1))[0] for row in xs]
        np.testing.assert_array_equal(y[rows], ys)


def test_a_class_with_one_example_stays_in_training_with_a_warning():
    x, _ = _blobs(n=21)
    y = np.array([0, 1] * 10 + [2])
    with pytest.warns(UserWarning, match="single example"):
        data = prepare_data(x, y, seed=0)
    assert 2 in data.y_train and 2 not in data.y_val


def test_seed_makes_the_split_repeatable():
    x, y = _blobs(n=80)
    a = prepare_data(x, y, seed=7)
    b = prepare_data(x, y, seed=7)
    c = prepare_data(x, y, seed=8)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.x_train, c.x_train)
    target = x[:, 0] * 2.0
    np.testing.assert_array_equal(prepare_data(x, target, seed=7).y_val,
                                  prepare_data(x, target, seed=7).y_val)


# ----------------------------------------------------------------- loading
def test_load_digits():
    x, y = load_dataset("digits")
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 16
    assert sorted(set(y.tolist())) == list(range(10))


def test_load_npz(tmp_path):
    x, y = _blobs(n=12)
    np.savez(tmp_path / "plain.npz", x=x, y=y)
    np.savez(tmp_path / "split.npz", x_train=x, y_train=y, x_test=x[:2])
    np.savez(tmp_path / "bad.npz", features=x)
    for name in ("plain.npz", "split.npz"):
        xl, yl = load_dataset(tmp_path / name)
        np.testing.assert_array_equal(xl, x)
        np.testing.assert_array_equal(yl, y)
    assert prepare_data(str(tmp_path / "plain.npz"), seed=0).task.num_classes == 3
    with pytest.raises(ValueError, match=r"\['features'\]; it needs 'x' and 'y'"):
        load_dataset(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="No data file"):
        load_dataset(tmp_path / "missing.npz")


def test_load_csv(tmp_path):
    x, y = _blobs(n=12)
    frame = pd.DataFrame(x, columns=["w", "x", "y", "z"])
    frame.insert(0, "kind", np.array(["ant", "bee", "cow"])[y])
    frame.to_csv(tmp_path / "animals.csv", index=False)
    features, target = load_dataset(tmp_path / "animals.csv", target="kind")
    assert list(features.columns) == ["w", "x", "y", "z"]
    assert target.tolist() == frame["kind"].tolist()
    # By default the last column is the target.
    features, target = load_dataset(str(tmp_path / "animals.csv"))
    assert list(features.columns) == ["kind", "w", "x", "y"]
    np.testing.assert_allclose(target.to_numpy(), x[:, 3])
    with pytest.raises(ValueError, match="no column 'label'"):
        load_dataset(tmp_path / "animals.csv", target="label")


def test_unknown_data_set_name():
    with pytest.raises(ValueError, match="Unknown data set 'mnist'.*'tfds:NAME'"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="y must be None"):
        prepare_data("digits", np.zeros(3))


def test_tfds_without_the_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    with pytest.raises(ImportError, match="pip install tensorflow-datasets"):
        load_dataset("tfds:mnist")


def test_tfds_offline_fails_fast_with_a_clear_message(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_datasets")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    try:  # this test is about machines without internet
        import socket

        socket.create_connection(("storage.googleapis.com", 443), timeout=3).close()
        pytest.skip("internet is reachable; the offline message cannot be checked")
    except OSError:
        pass
    with pytest.raises(RuntimeError, match="'tfds:mnist' is not stored in .* needs internet"):
        prepare_data("tfds:mnist")
    with pytest.raises(ValueError, match="has no data set 'no_such_set_xyz'"):
        load_dataset("tfds:no_such_set_xyz")
