"""Tutorial 4: deploy a searched model with TF Serving (and TFLite).

`result.export(DIR)` writes three artifacts, each with the normalisation inside
so clients send raw feature values:

* `DIR/NAME.keras`: reload with `keras.saving.load_model`;
* `DIR/NAME/VERSION/`: a SavedModel in TF Serving's layout, whose
  `serving_default` signature takes `inputs` (the shape and dtype of the `x`
  you searched with, here `(N, 8, 8)` float64) and returns `probabilities` and
  `label` (the class in your own label values);
* `DIR/NAME.tflite`: float32 TFLite for mobile and edge devices.

This script searches briefly, exports, checks the SavedModel's signature the
way TF Serving will call it, and prints the REST request a client would send:

    docker run -p 8501:8501 -v "$PWD/exports/digits:/models/digits" \\
        -e MODEL_NAME=digits tensorflow/serving
    curl -d @request.json http://localhost:8501/v1/models/digits:predict

Run: `python tutorials/04_deploy_tf_serving.py` (`KERASNAS_FAST=1`: a tiny search).
The same export from the shell: `kerasnas export <search folder> --output exports --name digits`.
"""

import json
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import kerasnas  # noqa: E402

FAST = os.environ.get("KERASNAS_FAST") == "1"

digits = load_digits()
x = digits.images  # raw pixels 0..16, shape (1797, 8, 8)
names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                  "nine"])
y = names[digits.target]  # string labels: the SavedModel returns them as they are

# FAST: two one-epoch trials of tiny residual stacks, exactly one epoch each, one split.
budget = dict(max_trials=2, epochs=1, blocks=(1,), widths=(8,), min_steps=0,
              cv_folds=None) if FAST else dict(max_trials=6, epochs=6)
result = kerasnas.search(x[:1500], y[:1500], seed=0, verbose=0, **budget)
print("searched:", result)

# 1. Export. A new version folder is added each time (TF Serving serves the highest).
from kerasnas.deploy.export import next_version  # noqa: E402

paths = result.export("exports", name="digits", version=next_version("exports", "digits"))
for fmt, path in paths.items():
    print(f"{fmt:>10}: {path}")

# 2. Load the SavedModel as TF Serving does and call its serving_default signature.
import tensorflow as tf  # noqa: E402

serve = tf.saved_model.load(paths["savedmodel"]).signatures["serving_default"]
print("signature inputs:", serve.structured_input_signature[1])
print("signature outputs:", serve.structured_outputs)
batch = x[1500:1503]  # (3, 8, 8) float64: the shape and dtype search() was given
outputs = serve(inputs=tf.constant(batch))
print("labels:", [v.decode() for v in outputs["label"].numpy()], "true:", y[1500:1503].tolist())
np.testing.assert_allclose(outputs["probabilities"].numpy(), result.predict_proba(batch),
                           atol=1e-5)

# 3. The REST request body for POST /v1/models/digits:predict ("instances" = row format).
request = {"signature_name": "serving_default", "instances": batch.tolist()}
with open("request.json", "w") as f:
    json.dump(request, f)
print("request.json:", json.dumps(request)[:120], "...")
print("TF Serving answers {'predictions': [{'probabilities': [...], 'label': 'zero'}, ...]}")

# 4. TFLite: the same predictions from the flatbuffer. (tf.lite.Interpreter still works in
# TF 2.21 but warns that it moves to the ai-edge-litert package.)
warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
interpreter = tf.lite.Interpreter(model_path=paths["tflite"])
interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], batch.shape)
interpreter.allocate_tensors()
interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch)
interpreter.invoke()
lite = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
print("TFLite labels:", names[lite.argmax(axis=1)].tolist())
