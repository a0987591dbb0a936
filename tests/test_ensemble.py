"""Ensembles of refit models: one Keras model that averages its members, exported like one model."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kerasnas.data import TaskSpec
from kerasnas.deploy.ensemble import build_ensemble, ensemble_members
from kerasnas.deploy.export import deployment_model, export_model, is_classifier
from kerasnas.deploy.result import SearchResult
from kerasnas.spaces import CellSpace, DenseSpace

CLASSES = ("cat", "dog", "eel")
TASK = TaskSpec("image", "classification", (8, 8, 1), 3, CLASSES, None, None,
                raw_shape=(8, 8), raw_dtype="uint8")


def _cell_members(k=3):
    """`k` tiny CellSpace classifiers (different architectures and seeds) on 8x8 images,
    sharing one adapted `Normalization` layer as models built by one search do."""
    norm = keras.layers.Normalization(axis=-1, name="normalize")
    norm.adapt(np.random.default_rng(5).integers(0, 17, size=(64, 8, 8, 1)).astype("float32"))
    space = CellSpace((8, 8, 1), 3, num_cells=1, num_blocks=1, channels=4, preprocessing=[norm])
    rng = np.random.default_rng(0)
    members = []
    for seed in range(k):
        keras.utils.set_random_seed(seed)
        members.append(space.build_architecture(space.encoding.sample(rng)))
    return members


@pytest.fixture(scope="module")
def members():
    return _cell_members()


@pytest.fixture(scope="module")
def images():
    """32 user-shaped `(8, 8)` uint8 images, as digits come."""
    return np.random.default_rng(1).integers(0, 17, size=(32, 8, 8)).astype("uint8")


def _mean_of(members, x):
    return np.mean([m.predict(x, verbose=0) for m in members], axis=0)


def test_ensemble_output_is_the_mean_of_its_members(members, images):
    ensemble = build_ensemble(members, name="top3")
    x = images.reshape(-1, 8, 8, 1).astype("float32")
    outputs = [m.predict(x, verbose=0) for m in members]
    # The members must disagree, or "equals the mean" would not tell a mean from member 0.
    assert np.abs(outputs[0] - outputs[1]).max() > 1e-3
    got = ensemble.predict(x, verbose=0)
    np.testing.assert_allclose(got, np.mean(outputs, axis=0), atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)  # still probabilities
    assert ensemble.name == "top3" and len(ensemble.inputs) == 1
    assert [m.name for m in ensemble_members(ensemble)] == ["member_0", "member_1", "member_2"]
    assert is_classifier(ensemble)
    assert is_classifier(deployment_model(ensemble, (8, 8), "uint8"))


def test_ensemble_exports_one_savedmodel_and_one_tflite_serving_the_mean(members, images,
                                                                          tmp_path):
    import tensorflow as tf

    ensemble = build_ensemble(members)
    expected = _mean_of(members, images.reshape(-1, 8, 8, 1).astype("float32"))
    result = SearchResult(model=ensemble, architecture=None, task=TASK,
                          objective={"name": "val_accuracy", "direction": "max"}, history=[])
    paths = result.export(tmp_path / "export", name="top3")
    serve = tf.saved_model.load(paths["savedmodel"]).signatures["serving_default"]
    for n in (1, 5, 32):
        out = serve(inputs=tf.constant(images[:n]))
        np.testing.assert_allclose(out["probabilities"].numpy(), expected[:n], atol=1e-5)
        labels = out["label"].numpy().astype(str)
        np.testing.assert_array_equal(labels, np.asarray(CLASSES)[expected[:n].argmax(axis=1)])

    interpreter = tf.lite.Interpreter(model_path=paths["tflite"])
    detail = interpreter.get_input_details()[0]
    assert tuple(detail["shape_signature"][1:]) == (8, 8) and detail["dtype"] == np.uint8
    interpreter.resize_tensor_input(detail["index"], (32, 8, 8))
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], images)
    interpreter.invoke()
    tflite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(tflite, expected, atol=1e-5)


def test_saved_ensemble_reloads_in_a_fresh_process(members, images, tmp_path):
    """A `.keras` ensemble inside a saved SearchResult reloads with only what `load` imports."""
    ensemble = build_ensemble(members)
    expected = _mean_of(members, images.reshape(-1, 8, 8, 1).astype("float32"))
    SearchResult(model=ensemble, architecture=None, task=TASK,
                 objective={"name": "val_accuracy", "direction": "max"},
                 history=[]).save(tmp_path / "result")
    np.save(tmp_path / "x.npy", images)
    script = textwrap.dedent(f"""
        import numpy as np
        from kerasnas.deploy.result import SearchResult
        result = SearchResult.load({str(tmp_path / "result")!r})
        np.save({str(tmp_path / "proba.npy")!r}, result.predict_proba(np.load({str(tmp_path / "x.npy")!r})))
        print(list(result.predict(np.load({str(tmp_path / "x.npy")!r})[:3])))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), expected, atol=1e-5)
    assert str([CLASSES[i] for i in expected[:3].argmax(axis=1)]) in run.stdout.replace(
        "np.str_(", "").replace(")", "")


def test_regressor_ensemble_averages_predictions(tmp_path):
    import tensorflow as tf

    space = DenseSpace((5,), None, max_layers=1, units=(4,))
    members = []
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        members.append(space.build_architecture(space.encoding.sample(np.random.default_rng(seed))))
    x = np.random.default_rng(2).normal(size=(16, 5)).astype("float32")
    expected = _mean_of(members, x)
    ensemble = build_ensemble(members)
    assert not is_classifier(ensemble)
    path = export_model(ensemble, tmp_path, formats=("savedmodel",))["savedmodel"]
    out = tf.saved_model.load(path).signatures["serving_default"](inputs=tf.constant(x))
    assert set(out) == {"predictions"}
    np.testing.assert_allclose(out["predictions"].numpy(), expected, atol=1e-5)


def test_single_model_is_returned_unchanged(members):
    assert build_ensemble(members[:1]) is members[0]


def _regressor(shape=(8, 8, 1), outputs=3):
    inputs = keras.Input(shape)
    return keras.Model(inputs, keras.layers.Dense(outputs)(keras.layers.Flatten()(inputs)))


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m[0], TypeError, "a list of Keras models"),
    (lambda m: [], TypeError, "at least one model"),
    (lambda m: [m[0], "model"], TypeError, "member 1 is a str"),
    (lambda m: [m[0], m[0]], ValueError, "appears twice"),
    (lambda m: [m[0], _regressor((6, 6, 1))], ValueError, r"same input shape.*\(6, 6, 1\)"),
    (lambda m: [m[0], _regressor(outputs=2)], ValueError, r"same output shape.*\(2,\)"),
    (lambda m: [m[0], _regressor()], ValueError, "member 0 is a classifier, member 1 a regressor"),
])
def test_bad_members_are_rejected_with_the_reason(members, make, error, message):
    with pytest.raises(error, match=message):
        build_ensemble(make(members))


@pytest.mark.slow
def test_search_with_ensemble_returns_one_model_serving_the_top_k(tmp_path):
    """`kerasnas.search(ensemble=2)` end to end: the refit top-2 as one model, saved, exported."""
    import tensorflow as tf
    from sklearn.datasets import load_breast_cancer

    import kerasnas

    x, y = load_breast_cancer(return_X_y=True)
    result = kerasnas.search(x[:320], y[:320], space="dense", strategy="random", max_trials=3,
                             epochs=1, min_steps=0, ensemble=2, seed=1, verbose=0,
                             directory=str(tmp_path / "run"), max_layers=1, units=(8,),
                             baseline_fallback=False)  # the ensemble, even if a baseline wins
    members = ensemble_members(result.model)
    assert [m.name for m in members] == ["member_0", "member_1"]
    x_new = x[320:340]
    np.testing.assert_allclose(result.predict_proba(x_new),
                               _mean_of(members, x_new.astype("float32")), atol=1e-6)
    reloaded = SearchResult.load(tmp_path / "run" / "result")
    assert len(ensemble_members(reloaded.model)) == 2
    path = reloaded.export(tmp_path / "export", formats=("savedmodel",))["savedmodel"]
    out = tf.saved_model.load(path).signatures["serving_default"](inputs=tf.constant(x_new))
    np.testing.assert_allclose(out["probabilities"].numpy(), result.predict_proba(x_new),
                               atol=1e-5)
    np.testing.assert_array_equal(out["label"].numpy(), result.predict(x_new))
