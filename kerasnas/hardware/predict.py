"""Latency prediction without converting: a per-layer lookup table and a regression.

MnasNet measures every candidate on the phone; FBNet and ProxylessNAS instead
measure each *operator* once on the target and sum a lookup table. Both are
here, so a search can screen candidates cheaply (`HardwareObjective(latency=
"predicted"` or `"verified")`):

* `LatencyTable`: every layer call of a model is keyed by (layer class, its
  configuration, input and output shapes); each new key is measured once as a
  one-layer TFLite model on this machine, and a model's prediction is the
  interpreter's fixed per-call overhead plus the sum of its layers' own times.
  The table saves to and loads from JSON, so it is measured once per target.
* `LatencyRegressor`: non-negative least squares on `model_features` (MACs of
  dense convolutions, of depthwise convolutions and of fully connected layers,
  activation elements written, layer count, parameters) fitted on measured
  models. Non-negative weights keep every unit of work costing time.

`spearman(predicted, measured)` is the rank correlation each reports; the
benchmark (`benchmarks/hardware.py`) measures it against FLOPs on two spaces.

Example:

>>> table = LatencyTable(mode="int8").fit(models)                  # doctest: +SKIP
>>> table.predict_model(model)                                      # doctest: +SKIP
0.231
>>> reg = LatencyRegressor().fit(models, measured_ms)                # doctest: +SKIP
>>> spearman(reg.predict(models), measured_ms)                       # doctest: +SKIP
0.95
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from kerasnas.hardware.conversion import check_mode, convert
from kerasnas.hardware.runtime import measure_latency

#: Timed calls per one-layer model: single layers take microseconds, so more repeats
#: than for whole models keep their medians steady.
TABLE_REPEATS = 100


#: Measurements of which `best_of_medians` keeps the lowest median.
BEST_OF = 3


def best_of_medians(flatbuffer, best_of=BEST_OF, **kwargs) -> float:
    """The lowest of `best_of` median latencies (ms), as Python's `timeit` advises.

    Other processes only ever add time to a call, so on a shared CPU the
    lowest of a few medians is the steadier estimate of the model's own cost
    (one median alone moved by up to 2x under a load average of 4 on 2 cores).
    `kwargs` go to `measure_latency`.
    """
    return min(measure_latency(flatbuffer, **kwargs).median_ms for _ in range(int(best_of)))


def spearman(predicted, measured) -> float:
    """Spearman's rank correlation between two sequences of equal length (>= 3)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(predicted, float), np.asarray(measured, float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 3:
        raise ValueError(f"Need two 1D sequences of the same length >= 3; got shapes {a.shape} "
                         f"and {b.shape}.")
    return float(spearmanr(a, b).statistic)


def layer_calls(model):
    """`(layer, input shapes, output shape)` of every layer call in a functional model.

    Nested models are walked into; `InputLayer`s are skipped.
    """
    import keras

    graph = model if hasattr(model, "_nodes_by_depth") else getattr(model, "_functional", None)
    if graph is None:
        raise ValueError("Latency prediction needs a functional or sequential Keras model.")
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            op, inputs, outputs = node.operation, node.input_tensors, node.output_tensors
            if op is None or not inputs or not outputs or isinstance(op, keras.layers.InputLayer):
                continue
            if isinstance(op, keras.Model):
                yield from layer_calls(op)
                continue
            yield (op, tuple(tuple(t.shape) for t in inputs), tuple(outputs[0].shape))


def _folded(layer) -> bool:
    """True for a BatchNormalization right after a convolution or dense layer: the TFLite
    converter folds it into that layer's weights, so it costs nothing on the device."""
    import keras

    if not isinstance(layer, keras.layers.BatchNormalization):
        return False
    node = layer._inbound_nodes[0] if layer._inbound_nodes else None
    history = getattr(node.input_tensors[0], "_keras_history", None) if node else None
    producer = getattr(history, "operation", None)
    return isinstance(producer, (keras.layers.Conv1D, keras.layers.Conv2D,
                                 keras.layers.SeparableConv1D, keras.layers.SeparableConv2D,
                                 keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D,
                                 keras.layers.Dense))


def device_calls(model):
    """`layer_calls` less the batch normalisations the converter folds away."""
    for call in layer_calls(model):
        if not _folded(call[0]):
            yield call


def _config_key(layer, in_shapes, out_shape):
    config = {k: v for k, v in layer.get_config().items()
              if k not in ("name", "trainable", "dtype") and "initializer" not in k
              and "regularizer" not in k and "constraint" not in k}
    shapes = [[None if d is None else int(d) for d in s[1:]] for s in in_shapes]
    return json.dumps([type(layer).__name__, config, shapes,
                       [int(d) for d in out_shape[1:]]], sort_keys=True, default=str)


class LatencyTable:
    """A per-layer latency lookup table measured on this machine.

    Args:
        mode: Conversion mode of the one-layer models (default `"int8"`; use
            the mode the search deploys).
        threads: Interpreter threads (default 1).
        repeats: Timed calls per one-layer model (default `TABLE_REPEATS`).
        best_of: Measurements per entry, of which the lowest median is kept
            (default `BEST_OF`; see `best_of_medians`).
        delegates: Time with the XNNPACK delegate (default True, as the
            models it predicts are timed); see `measure_latency`.

    Attributes:
        entries: `{key: ms}`: each layer's own time (overhead removed, >= 0).
        overhead_ms: Time of a call of a model that does nothing (an identity
            layer): the interpreter's fixed per-call cost.
    """

    def __init__(self, mode="int8", *, threads=1, repeats=TABLE_REPEATS, best_of=BEST_OF,
                 delegates=True):
        self.mode = check_mode(mode)
        self.threads, self.repeats, self.best_of = int(threads), int(repeats), int(best_of)
        self.delegates = bool(delegates)
        self.entries: dict = {}
        self.overhead_ms = None

    def __len__(self):
        return len(self.entries)

    def _time(self, model, input_shapes) -> float:
        data = None
        if self.mode == "int8":
            rng = np.random.default_rng(0)
            data = rng.standard_normal((16, *input_shapes[0])).astype(np.float32)
        conversion = convert(model, self.mode, representative_data=data)
        return best_of_medians(conversion.flatbuffer, self.best_of, threads=self.threads,
                               repeats=self.repeats, delegates=self.delegates)

    def _one_layer_model(self, layer, in_shapes):
        import keras

        clone = type(layer).from_config({**layer.get_config(),
                                         "name": f"lut_{type(layer).__name__.lower()}"})
        inputs = [keras.Input(tuple(int(d) for d in s[1:])) for s in in_shapes]
        outputs = clone(inputs if len(inputs) > 1 else inputs[0])
        weights = layer.get_weights()
        if weights and [w.shape for w in clone.get_weights()] == [w.shape for w in weights]:
            clone.set_weights(weights)
        return keras.Model(inputs, outputs), [tuple(int(d) for d in s[1:]) for s in in_shapes]

    def _measure_overhead(self, input_shape):
        import keras

        inputs = keras.Input(input_shape)
        model = keras.Model(inputs, keras.layers.Activation("relu")(inputs))
        return self._time(model, [input_shape])

    def fit(self, models):
        """Measures every layer call of `models` not yet in the table; returns self."""
        for model in models:
            for layer, in_shapes, out_shape in device_calls(model):
                key = _config_key(layer, in_shapes, out_shape)
                if key in self.entries:
                    continue
                micro, shapes = self._one_layer_model(layer, in_shapes)
                if self.overhead_ms is None:
                    self.overhead_ms = self._measure_overhead(shapes[0])
                self.entries[key] = max(0.0, self._time_multi(micro, shapes) - self.overhead_ms)
        return self

    def _time_multi(self, model, shapes):
        """Like `_time`, for one-layer models with several inputs (`Add`, `Concatenate`)."""
        if len(shapes) == 1 or self.mode != "int8":
            return self._time(model, shapes)
        from kerasnas.hardware.conversion import convert_multi_input

        rng = np.random.default_rng(0)
        data = [rng.standard_normal((16, *s)).astype(np.float32) for s in shapes]
        flatbuffer = convert_multi_input(model, data)
        return best_of_medians(flatbuffer, self.best_of, threads=self.threads,
                               repeats=self.repeats, delegates=self.delegates)

    def missing(self, model) -> int:
        """How many of `model`'s layer calls the table has not measured."""
        return sum(_config_key(*call) not in self.entries for call in device_calls(model))

    def predict_model(self, model, *, measure_missing=True) -> float:
        """Predicted latency (ms) of `model`: overhead plus its layers' table entries.

        Args:
            model: A functional Keras model.
            measure_missing: Measure layers not in the table first (default
                True); with False, a missing layer raises `KeyError`.
        """
        if measure_missing:
            self.fit([model])
        total = self.overhead_ms or 0.0
        for call in device_calls(model):
            key = _config_key(*call)
            if key not in self.entries:
                raise KeyError(f"Layer {call[0].name} ({type(call[0]).__name__}, input "
                               f"{call[1]}) is not in the table; fit the table on this model.")
            total += self.entries[key]
        return float(total)

    def predict(self, models) -> np.ndarray:
        """`predict_model` of each model."""
        return np.array([self.predict_model(m) for m in models])

    def save(self, path) -> str:
        """Writes the table as JSON (measured once per target, reused by later searches)."""
        Path(path).write_text(json.dumps({"mode": self.mode, "threads": self.threads,
                                          "delegates": self.delegates,
                                          "overhead_ms": self.overhead_ms,
                                          "entries": self.entries}, indent=1))
        return str(path)

    @classmethod
    def load(cls, path) -> "LatencyTable":
        """The table `save` wrote."""
        data = json.loads(Path(path).read_text())
        table = cls(data["mode"], threads=data["threads"], delegates=data.get("delegates", True))
        table.overhead_ms, table.entries = data["overhead_ms"], dict(data["entries"])
        return table


#: Names of `model_features`' columns, in order.
FEATURE_NAMES = ("conv_macs", "depthwise_macs", "dense_macs", "merge_elements", "pool_elements",
                 "other_elements", "merge_inputs", "layers", "params")


def model_features(model) -> np.ndarray:
    """The regression's features of a model (see `FEATURE_NAMES`), at batch size 1.

    Convolution MACs are split into dense (`Conv`, the pointwise half of
    separable ones) and depthwise, which run at different speeds per MAC.
    Output values are counted separately for merges (`Add`, `Concatenate`:
    int8 additions rescale every input), pooling layers and everything else
    (memory traffic); `merge_inputs` counts the tensors merged beyond the first
    of each merge; `layers` stands for the per-operator overhead.
    """
    import keras

    from kerasnas.spaces.cost import layer_flops

    conv = depthwise = dense = merge = pool = other = merge_inputs = layers = 0.0
    pools = (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.AveragePooling1D,
             keras.layers.AveragePooling2D)
    for layer, in_shapes, out_shape in device_calls(model):
        layers += 1
        elements = math.prod(int(d) for d in out_shape[1:])
        macs = layer_flops(layer, in_shapes[0], out_shape)
        if isinstance(layer, (keras.layers.Add, keras.layers.Concatenate)):
            merge += elements
            merge_inputs += len(in_shapes) - 1
        elif isinstance(layer, pools):
            pool += elements
        elif not macs:
            other += elements
        if isinstance(layer, (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)):
            positions = math.prod(int(d) for d in out_shape[1:-1])
            mid = in_shapes[0][-1] * layer.depth_multiplier
            point = positions * mid * layer.filters
            conv += point
            depthwise += macs - point
        elif isinstance(layer, (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)):
            depthwise += macs
        elif isinstance(layer, keras.layers.Dense):
            dense += macs
        else:
            conv += macs
    return np.array([conv, depthwise, dense, merge, pool, other, merge_inputs, layers,
                     float(model.count_params())])


class LatencyRegressor:
    """Latency from `model_features` by non-negative least squares (with an intercept).

    Example:

    >>> reg = LatencyRegressor().fit(models, measured_ms)      # doctest: +SKIP
    >>> reg.predict_model(model)                                # doctest: +SKIP
    """

    def __init__(self):
        self.coef_ = None
        self.intercept_ = None
        self._scale = None

    def fit(self, models_or_features, latencies_ms):
        """Fits on models (or a precomputed feature matrix) and their measured latencies."""
        from scipy.optimize import nnls

        features = self._features(models_or_features)
        y = np.asarray(latencies_ms, float)
        if len(features) != len(y) or len(y) < 3:
            raise ValueError(f"Need as many latencies as models, at least 3; got {len(y)} "
                             f"latencies for {len(features)} models.")
        self._scale = np.maximum(features.max(axis=0), 1e-12)
        design = np.hstack([np.ones((len(y), 1)), features / self._scale])
        solution, _ = nnls(design, y)
        self.intercept_, self.coef_ = float(solution[0]), solution[1:] / self._scale
        return self

    @staticmethod
    def _features(models_or_features):
        if isinstance(models_or_features, np.ndarray):
            return np.asarray(models_or_features, float)
        return np.array([model_features(m) for m in models_or_features])

    def predict(self, models_or_features) -> np.ndarray:
        """Predicted latencies (ms)."""
        if self.coef_ is None:
            raise ValueError("The regressor is not fitted: call fit(models, latencies_ms) first.")
        return self.intercept_ + self._features(models_or_features) @ self.coef_

    def predict_model(self, model) -> float:
        """Predicted latency (ms) of one model."""
        return float(self.predict([model])[0])
