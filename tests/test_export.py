"""Deployment artifacts: .keras, TF Serving SavedModel (checked with saved_model_cli), TFLite."""

import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_digits

from kerasnas.deploy.export import export_model, export_saved_model, next_version
from kerasnas.spaces import CellSpace

CLASSES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.fixture(scope="module")
def digits_model():
    """A small trained CellSpace model with normalisation inside, as search() builds them."""
    digits = load_digits()
    x = digits.images[:400, ..., None].astype("float32")
    y = digits.target[:400]
    norm = keras.layers.Normalization(axis=-1)
    norm.adapt(x)
    space = CellSpace((8, 8, 1), 10, num_cells=2, num_blocks=1, channels=4, preprocessing=[norm])
    model = space.build_architecture(space.sample(0))
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    return model, x[:16]


@pytest.fixture(scope="module")
def exported(digits_model, tmp_path_factory):
    model, _ = digits_model
    directory = tmp_path_factory.mktemp("exports")
    return export_model(model, directory, name="digits", version=3, classes=CLASSES), directory


def _saved_model_cli():
    path = Path(sys.executable).parent / "saved_model_cli"
    return str(path) if path.exists() else shutil.which("saved_model_cli")


def test_export_writes_every_format_in_tf_serving_layout(exported):
    paths, directory = exported
    assert paths["keras"] == str(directory / "digits.keras")
    assert paths["savedmodel"] == str(directory / "digits" / "3")
    assert (directory / "digits" / "3" / "saved_model.pb").is_file()
    assert paths["tflite"] == str(directory / "digits.tflite")


def test_saved_model_signature_matches_saved_model_cli(exported):
    paths, _ = exported
    cli = _saved_model_cli()
    assert cli, "saved_model_cli (shipped with TensorFlow) is not on PATH"
    shown = subprocess.run([cli, "show", "--dir", paths["savedmodel"], "--tag_set", "serve",
                            "--signature_def", "serving_default"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    text = shown.stdout
    assert "inputs['inputs'] tensor_info:" in text
    assert "shape: (-1, 8, 8, 1)" in text
    assert "outputs['probabilities'] tensor_info:" in text
    assert "shape: (-1, 10)" in text
    assert "outputs['label'] tensor_info:" in text and "DT_STRING" in text
    assert "tensorflow/serving/predict" in text


def test_saved_model_predictions_match_the_in_memory_model(digits_model, exported):
    model, x = digits_model
    paths, _ = exported
    serve = tf.saved_model.load(paths["savedmodel"]).signatures["serving_default"]
    outputs = serve(inputs=tf.constant(x))
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
    labels = [v.decode() for v in outputs["label"].numpy()]
    assert labels == [CLASSES[i] for i in expected.argmax(axis=1)]


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_keras_and_tflite_files_predict_like_the_model(digits_model, exported):
    model, x = digits_model
    paths, _ = exported
    expected = model.predict(x, verbose=0)
    reloaded = keras.saving.load_model(paths["keras"])
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, atol=1e-5)

    interpreter = tf.lite.Interpreter(model_path=paths["tflite"])
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    lite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    np.testing.assert_allclose(lite, expected, atol=1e-4)


def test_regression_signature_returns_predictions(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    path = export_saved_model(model, tmp_path / "reg" / "1")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    x = np.arange(6, dtype="float32").reshape(2, 3)
    out = serve(inputs=tf.constant(x))
    assert set(out) == {"predictions"}
    np.testing.assert_allclose(out["predictions"].numpy(), model.predict(x, verbose=0), atol=1e-5)


def test_existing_version_is_never_overwritten_and_next_version_counts_up(digits_model, exported):
    model, _ = digits_model
    paths, directory = exported
    with pytest.raises(ValueError, match="already exists"):
        export_saved_model(model, paths["savedmodel"])
    assert next_version(directory, "digits") == 4
    assert next_version(directory, "never_exported") == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"formats": ("onnx",)}, "Unknown export format"),
    ({"formats": ()}, "Unknown export format"),
    ({"version": 0}, "version must be a positive int"),
    ({"version": "1"}, "version must be a positive int"),
    ({"name": "a/b"}, "plain folder/file name"),
])
def test_bad_export_arguments_are_rejected(digits_model, tmp_path, kwargs, message):
    model, _ = digits_model
    with pytest.raises(ValueError, match=message):
        export_model(model, tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_classes_must_match_the_output_width(digits_model, tmp_path):
    model, _ = digits_model
    with pytest.raises(ValueError, match="classes has 3 values but the model outputs 10"):
        export_saved_model(model, tmp_path / "m" / "1", classes=("a", "b", "c"))
