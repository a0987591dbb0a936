"""Quantization-aware training in a `tf_keras` process (run by `kerasnas.hardware.qat`).

tensorflow-model-optimization 0.8.1 accepts only `tf_keras` models, and only
with `TF_USE_LEGACY_KERAS=1` set before TensorFlow is imported; kerasnas's
models are Keras 3. This script runs in its own process with that variable
set: it rebuilds the Keras 3 model layer by layer as a `tf_keras` functional
model from the graph `qat.py` wrote, copies the trained weights, wraps every
layer tfmot can quantize (`quantize_annotate_layer` + `quantize_apply`),
fine-tunes, converts to full-integer int8 and reports the accuracy.

Usage (internal): `python -m kerasnas.hardware.qat_worker WORKDIR`, where
WORKDIR holds `graph.json`, `weights.npz` and `data.npz`; it writes
`model_qat_int8.tflite` and `result.json` there.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np  # noqa: E402


def _clean(value):
    """A Keras 3 config value in the form tf_keras reads (dtype policies become names)."""
    if isinstance(value, dict):
        if value.get("class_name") == "DTypePolicy":
            return value["config"]["name"]
        if "class_name" in value and "config" in value:
            return {"class_name": value["class_name"], "config": _clean(value["config"])}
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _custom_layers(tf_keras, tf):
    class Subsample(tf_keras.layers.Layer):
        def __init__(self, stride=2, **kwargs):
            super().__init__(**kwargs)
            self.stride = stride

        def call(self, x):
            s = self.stride
            return x[:, ::s, :] if len(x.shape) == 3 else x[:, ::s, ::s, :]

        def get_config(self):
            return {**super().get_config(), "stride": self.stride}

    class Zero(tf_keras.layers.Layer):
        def __init__(self, filters=None, stride=1, **kwargs):
            super().__init__(**kwargs)
            self.filters, self.stride = filters, stride

        def call(self, x):
            s = self.stride
            x = x if s == 1 else (x[:, ::s, :] if len(x.shape) == 3 else x[:, ::s, ::s, :])
            zeros = x * 0.0
            if self.filters is None or self.filters == x.shape[-1]:
                return zeros
            return zeros[..., :1] * tf.ones((self.filters,), dtype=zeros.dtype)

        def get_config(self):
            return {**super().get_config(), "filters": self.filters, "stride": self.stride}

    return {"Subsample": Subsample, "Zero": Zero}


def _make_layer(tf_keras, cls, config):
    """The tf_keras layer `cls` with the Keras 3 `config`.

    Initializers, regularizers and constraints are dropped (the trained weights
    are copied afterwards and fine-tuning adds no penalties), and so is every
    argument the tf_keras class does not take (Keras 3 added a few).
    """
    import inspect

    layer_cls = getattr(tf_keras.layers, cls)
    accepted = set(inspect.signature(layer_cls.__init__).parameters) | {"name", "trainable",
                                                                        "dtype"}
    kwargs = {k: v for k, v in config.items() if k in accepted
              and not k.endswith(("_initializer", "_regularizer", "_constraint"))}
    return layer_cls(**kwargs)


def rebuild(graph, tf_keras, tf):
    """The tf_keras functional model of `graph` (layers in topological order)."""
    custom = _custom_layers(tf_keras, tf)
    tensors, layers = {}, {}
    for spec in graph["layers"]:
        name, cls = spec["name"], spec["class_name"]
        config = _clean(spec["config"])
        if cls == "InputLayer":
            shape = config.get("batch_shape") or config.get("batch_input_shape")
            tensors[name] = tf_keras.Input(shape=tuple(shape[1:]), name=name)
            continue
        config.pop("build_config", None)
        # A prefix keeps our names apart from the ones tf_keras gives the layers tfmot's
        # transforms create ("conv2d", ...): tfmot matches weights by variable name.
        config["name"] = f"k3_{name}"
        if cls in custom:
            config.pop("dtype", None)
            layer = custom[cls](**{k: v for k, v in config.items() if k != "trainable"})
        else:
            layer = _make_layer(tf_keras, cls, config)
        inputs = [tensors[i] for i in spec["inputs"]]
        tensors[name] = layer(inputs if spec["multi_input"] else inputs[0])
        layers[name] = layer
    model = tf_keras.Model(tensors[graph["input"]], tensors[graph["output"]])
    return model, layers


def main(workdir):
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras

    with open(os.path.join(workdir, "graph.json")) as f:
        graph = json.load(f)
    weights = np.load(os.path.join(workdir, "weights.npz"))
    data = np.load(os.path.join(workdir, "data.npz"))
    settings = graph["settings"]
    tf_keras.utils.set_random_seed(int(settings["seed"]))
    model, layers = rebuild(graph, tf_keras, tf)
    for name, layer in layers.items():
        count = graph["weight_counts"].get(name, 0)
        if count:
            layer.set_weights([weights[f"{name}/{i}"] for i in range(count)])
    x_val, y_val = data["x_val"], data["y_val"]
    float_acc = float(np.mean(model.predict(x_val, verbose=0).argmax(1) == y_val))

    quantize = tfmot.quantization.keras
    supported = (tf_keras.layers.Conv1D, tf_keras.layers.Conv2D, tf_keras.layers.Dense,
                 tf_keras.layers.SeparableConv1D, tf_keras.layers.SeparableConv2D,
                 tf_keras.layers.DepthwiseConv2D, tf_keras.layers.MaxPooling2D,
                 tf_keras.layers.AveragePooling2D, tf_keras.layers.GlobalAveragePooling2D,
                 tf_keras.layers.BatchNormalization, tf_keras.layers.Activation,
                 tf_keras.layers.Concatenate, tf_keras.layers.Add, tf_keras.layers.ReLU,
                 tf_keras.layers.ZeroPadding2D, tf_keras.layers.Cropping2D)
    # tfmot quantizes a BatchNormalization only when it folds into the convolution or dense
    # layer feeding it; any other (after a concatenation, a Subsample, ...) stays float while
    # fine-tuning (the converter still quantizes it, calibrated, as in post-training quantization).
    producer = {f"k3_{spec['name']}": spec["inputs"][0] for spec in graph["layers"]
                if spec["inputs"]}
    kinds = {spec["name"]: spec["class_name"] for spec in graph["layers"]}
    folding = ("Conv1D", "Conv2D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv2D", "Dense")

    def quantizable(layer):
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            return kinds.get(producer.get(layer.name)) in folding
        return isinstance(layer, supported)

    skipped = sorted({type(layer).__name__ for layer in model.layers
                      if not quantizable(layer) and not isinstance(layer,
                                                                   tf_keras.layers.InputLayer)})

    def annotate(layer):
        return quantize.quantize_annotate_layer(layer) if quantizable(layer) else layer

    annotated = tf_keras.models.clone_model(model, clone_function=annotate)
    annotated.set_weights(model.get_weights())
    with quantize.quantize_scope(_custom_layers(tf_keras, tf)):
        qat_model = quantize.quantize_apply(annotated)
    qat_model.compile(optimizer=tf_keras.optimizers.Adam(float(settings["learning_rate"])),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    qat_model.fit(data["x_train"], data["y_train"], epochs=int(settings["epochs"]),
                  batch_size=int(settings["batch_size"]), verbose=0)
    qat_keras_acc = float(np.mean(qat_model.predict(x_val, verbose=0).argmax(1) == y_val))

    converter = tf.lite.TFLiteConverter.from_keras_model(qat_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    calib = data["x_train"][:100]
    converter.representative_dataset = lambda: ([row[None]] for row in calib)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    flatbuffer = converter.convert()
    path = os.path.join(workdir, "model_qat_int8.tflite")
    with open(path, "wb") as f:
        f.write(flatbuffer)
    result = {"rebuilt_float_accuracy": float_acc, "qat_keras_accuracy": qat_keras_acc,
              "tflite": path, "layers_left_unquantized_in_training": skipped}
    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1])
