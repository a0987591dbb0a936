"""Quantization-aware training (QAT) of a trained kerasnas model, through tf_keras and tfmot.

tensorflow-model-optimization (tfmot) 0.8.1 rejects Keras 3 models
(`to_quantize can only either be a keras Sequential or Functional model`) and
works only on `tf_keras` models with `TF_USE_LEGACY_KERAS=1` set before
TensorFlow loads, which cannot change inside a process that already runs
Keras 3. The route here:

1. write the Keras 3 model's graph (layers in topological order, their
   configurations and inputs) and its trained weights to a work folder;
2. run `kerasnas.hardware.qat_worker` in a separate Python process (`python`
   argument: an interpreter with `tf_keras` and tfmot, e.g. a virtualenv made
   with `pip install kerasnas[qat]`) with `TF_USE_LEGACY_KERAS=1`: it rebuilds
   the model with `tf_keras` layers, copies the weights, wraps every layer
   tfmot quantizes, fine-tunes with fake quantization and converts to
   full-integer int8;
3. read back the int8 flatbuffer and score it with the LiteRT interpreter here.

Example:

>>> from kerasnas.hardware.qat import quantization_aware_training
>>> out = quantization_aware_training(model, x_train, y_train, x_val, y_val,
...                                   python=".venv-qat/bin/python")   # doctest: +SKIP
>>> out["qat_int8_accuracy"], out["ptq_int8_accuracy"]                # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

#: QAT fine-tuning epochs: a short fine-tune of an already trained model, as the tfmot guide does.
QAT_EPOCHS = 3
#: QAT learning rate: a tenth of kerasnas's default Adam rate, for fine-tuning.
QAT_LEARNING_RATE = 1e-4


def _graph(model):
    config = model.get_config()
    layers = []
    for spec in config["layers"]:
        inputs, multi = [], False
        for node in spec.get("inbound_nodes", [])[:1]:
            args = node["args"]
            first = args[0] if args else None
            if isinstance(first, list):
                multi = True
                items = first
            else:
                items = [first]
            inputs = [t["config"]["keras_history"][0] for t in items]
        layers.append({"name": spec["name"], "class_name": spec["class_name"],
                       "config": spec["config"], "inputs": inputs, "multi_input": multi})
    def single(spec):  # Keras 3 writes ["name", 0, 0] for one tensor, a list of those for many
        if isinstance(spec[0], list):
            if len(spec) != 1:
                raise ValueError("QAT supports models with one input and one output.")
            spec = spec[0]
        return spec[0]

    return {"layers": layers, "input": single(config["input_layers"]),
            "output": single(config["output_layers"])}


def quantization_aware_training(model, x_train, y_train, x_val, y_val, *, python=None,
                                epochs=QAT_EPOCHS, learning_rate=QAT_LEARNING_RATE,
                                batch_size=32, seed=0, workdir=None, timeout=1800) -> dict:
    """Fine-tunes `model` with QAT in a tf_keras process; returns PTQ and QAT int8 accuracies.

    Args:
        model: A trained single-input Keras 3 classifier (a kerasnas space's model).
        x_train, y_train: Fine-tuning and calibration data (class indices).
        x_val, y_val: Validation data for the accuracies.
        python: Interpreter with `tf_keras` and `tensorflow-model-optimization`
            installed (default None: this one).
        epochs: QAT fine-tuning epochs (default `QAT_EPOCHS`).
        learning_rate: Fine-tuning learning rate (default `QAT_LEARNING_RATE`).
        batch_size: Default 32.
        seed: Seed of the fine-tuning (default 0).
        workdir: Folder for the exchange files (default: a temporary folder).
        timeout: Seconds the worker may take (default 1800).

    Returns:
        `{"float_accuracy", "ptq_int8_accuracy", "qat_int8_accuracy",
        "qat_flatbuffer", "rebuilt_float_accuracy", ...}`.

    Raises:
        RuntimeError: with the worker's error output when the QAT process fails
            (e.g. tfmot or tf_keras missing: install `kerasnas[qat]`).
    """
    from kerasnas.hardware.conversion import convert
    from kerasnas.hardware.runtime import tflite_accuracy

    x_val = np.asarray(x_val, np.float32)
    y_val = np.asarray(y_val).reshape(-1)
    float_accuracy = float(np.mean(model.predict(x_val, verbose=0).argmax(1) == y_val))
    ptq = convert(model, "int8", representative_data=x_train)
    ptq_accuracy = tflite_accuracy(ptq.flatbuffer, x_val, y_val)
    folder = Path(workdir or tempfile.mkdtemp(prefix="kerasnas_qat_"))
    folder.mkdir(parents=True, exist_ok=True)
    graph = _graph(model)
    graph["settings"] = {"epochs": int(epochs), "learning_rate": float(learning_rate),
                         "batch_size": int(batch_size), "seed": int(seed)}
    weights, counts = {}, {}
    for layer in model.layers:
        values = layer.get_weights()
        counts[layer.name] = len(values)
        weights.update({f"{layer.name}/{i}": w for i, w in enumerate(values)})
    graph["weight_counts"] = counts
    (folder / "graph.json").write_text(json.dumps(graph))
    np.savez(folder / "weights.npz", **weights)
    np.savez(folder / "data.npz", x_train=np.asarray(x_train, np.float32),
             y_train=np.asarray(y_train).reshape(-1), x_val=x_val, y_val=y_val)
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([python or sys.executable, "-m", "kerasnas.hardware.qat_worker",
                           str(folder)], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(Path(__file__).resolve().parents[2]))
    if done.returncode != 0:
        raise RuntimeError(f"The QAT process failed (exit {done.returncode}). Its error output "
                           f"ends with:\n{done.stderr[-3000:]}\nInstall kerasnas[qat] "
                           "(tf_keras, tensorflow-model-optimization) into the interpreter "
                           "passed as python=.")
    result = json.loads((folder / "result.json").read_text())
    flatbuffer = Path(result["tflite"]).read_bytes()
    result.update(float_accuracy=float_accuracy, ptq_int8_accuracy=ptq_accuracy,
                  qat_int8_accuracy=tflite_accuracy(flatbuffer, x_val, y_val),
                  qat_flatbuffer=flatbuffer, workdir=str(folder))
    return result
