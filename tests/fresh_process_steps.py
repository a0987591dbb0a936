"""Steps of `test_fresh_process.py`, each run in its own Python process as a user would.

    python tests/fresh_process_steps.py search KIND RUN_DIR
    python tests/fresh_process_steps.py serve KIND RUN_DIR

`search` runs a tiny real search on KIND ("image", "sequence", "tabular") data
given in the user's own shape and dtype, and saves the held-out `x`, labels and
`result.predict_proba` to RUN_DIR/expected.npz. `serve` (a fresh process that
imports only `kerasnas.deploy.result`) reloads the result, exports and reports it,
then answers requests of 1, 2, 5 and 32 examples in the user's shape through
the SavedModel's `serving_default` and the TFLite model, and checks a
wrong-shape request fails with an error naming the expected shape. It prints
`SERVE OK` when everything agrees.
"""

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BATCHES = (1, 2, 5, 32)


def user_data(kind):
    """`(x, y, search kwargs)` in the shapes and dtypes a user would pass."""
    rng = np.random.default_rng(0)
    if kind == "image":  # digits as (N, 8, 8) uint8, the channel axis left out
        from sklearn.datasets import load_digits

        data = load_digits()
        return data.images[:300].astype("uint8"), data.target[:300], {}
    if kind == "sequence":  # (N, 40) float64 signals, searched as sequences
        t = np.linspace(0, 1, 40)
        y = rng.integers(0, 2, 300)
        x = np.sin(2 * np.pi * (2 + 3 * y[:, None]) * t) + 0.3 * rng.normal(size=(300, 40))
        return x, np.where(y == 1, "high", "low"), {"kind": "sequence"}
    if kind == "tabular":  # breast cancer, (N, 30) float64
        from sklearn.datasets import load_breast_cancer

        x, y = load_breast_cancer(return_X_y=True)
        return x[:300], y[:300], {}
    raise ValueError(kind)


def search(kind, run):
    import kerasnas

    x, y, kwargs = user_data(kind)
    space_args = {"dense": {"max_layers": 1, "units": (8,)},
                  "cell": {"num_cells": 1, "num_blocks": 1, "channels": 4}}
    space = "dense" if kind == "tabular" else "cell"
    result = kerasnas.search(x[:260], y[:260], space=space, strategy="random", max_trials=1,
                             epochs=1, seed=1, verbose=0, directory=str(Path(run) / "search"),
                             min_steps=0, cv_folds=None,
                             **kwargs, **space_args[space])
    x_test = x[260:] if len(x) >= 292 else x
    x_test = np.concatenate([x_test] * 2)[:32]
    np.savez(Path(run) / "expected.npz", x=x_test, labels=result.predict(x_test),
             proba=result.predict_proba(x_test))
    print("SEARCH OK", result.directory)


def serve(kind, run):
    from kerasnas.deploy.result import SearchResult  # the documented way back: no other import

    run = Path(run)
    expected = np.load(run / "expected.npz")
    x, labels, proba = expected["x"], expected["labels"], expected["proba"]
    result = SearchResult.load(run / "search" / "result")
    np.testing.assert_array_equal(result.predict(x), labels)
    paths = result.export(run / "export", name="m")
    assert Path(result.report(run / "report.html")).stat().st_size > 1000

    import tensorflow as tf

    signature = tf.saved_model.load(paths["savedmodel"]).signatures["serving_default"]
    spec = signature.structured_input_signature[1]["inputs"]
    assert tuple(spec.shape) == (None,) + x.shape[1:], spec
    assert spec.dtype.as_numpy_dtype == x.dtype, (spec.dtype, x.dtype)
    for n in BATCHES:
        out = signature(inputs=tf.constant(x[:n]))
        got = out["label"].numpy()
        got = got.astype(str) if got.dtype == object else got
        np.testing.assert_array_equal(got, labels[:n].astype(got.dtype))
        np.testing.assert_allclose(out["probabilities"].numpy(), proba[:n], atol=1e-5)
    shape_text = ", ".join(str(d) for d in x.shape[1:])
    for wrong in (x[:2, 1:], x[:2, ..., None], x[:32, 1:]):
        try:
            signature(inputs=tf.constant(wrong))
        except tf.errors.InvalidArgumentError as err:
            assert f"must have shape ({shape_text}" in str(err), str(err)[:500]
        else:
            raise AssertionError(f"serving_default accepted a request of shape {wrong.shape}")
    try:
        result.predict(x[:2, 1:])
    except ValueError as err:
        assert str(x.shape[1:])[1:-1] in str(err), err
    else:
        raise AssertionError("result.predict accepted a wrong shape")

    interpreter = tf.lite.Interpreter(model_path=paths["tflite"])
    detail = interpreter.get_input_details()[0]
    assert tuple(detail["shape_signature"][1:]) == x.shape[1:], detail["shape_signature"]
    assert detail["dtype"] == x.dtype, detail["dtype"]
    for n in BATCHES:
        interpreter.resize_tensor_input(detail["index"], (n,) + x.shape[1:])
        interpreter.allocate_tensors()
        interpreter.set_tensor(detail["index"], x[:n])
        interpreter.invoke()
        tflite_proba = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        np.testing.assert_allclose(tflite_proba, proba[:n], atol=1e-5)

    import keras

    reloaded = keras.saving.load_model(paths["keras"])
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), proba, atol=1e-5)
    print("SERVE OK")


if __name__ == "__main__":
    step, kind, run = sys.argv[1:4]
    {"search": search, "serve": serve}[step](kind, run)
