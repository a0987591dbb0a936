"""Hardware-aware search: TFLite conversion and quantization, latency measurement and
prediction, hard limits, MnasNet's soft reward and Pareto fronts.

* `convert(model, mode, representative_data=...)` -> `Conversion` (`conversion.py`):
  float32 / float16 / dynamic-range / full-integer int8, with an op fallback report.
* `measure_latency(flatbuffer, threads=1, batch_size=1)` -> `LatencyStats`,
  `tflite_predict`, `tflite_accuracy` (`runtime.py`), on LiteRT (`ai-edge-litert`,
  `pip install kerasnas[hardware]`) or `tf.lite.Interpreter` without it.
* `LatencyTable` (per-layer lookup table) and `LatencyRegressor` (regression on
  model features) predict latency without converting (`predict.py`).
* `HardLimits`, `soft_reward`, `pareto_front`, `non_dominated_sort`,
  `crowding_distance` (`objectives.py`, pure numpy).
* `HardwareObjective`: the settings `NASTuner(hardware=...)` uses to record
  `latency_ms`, `model_bytes`, `quantized_accuracy` and `mnas_reward` per trial
  and to reject candidates over a limit (`trial.py`).
* `CodesignEncoding` (`codesign.py`) and `CodesignSpace` (`codesign_space.py`):
  the quantization mode, an input downscale and the interpreter threads
  searched with the network (`HardwareObjective(codesign=True)`).

Names load lazily: importing this package loads no TensorFlow.

Example:

>>> from kerasnas.hardware import convert, measure_latency, tflite_accuracy
>>> conv = convert(model, "int8", representative_data=x_train)           # doctest: +SKIP
>>> measure_latency(conv.flatbuffer).median_ms, conv.model_bytes         # doctest: +SKIP
>>> tflite_accuracy(conv.flatbuffer, x_val, y_val)                       # doctest: +SKIP
"""

from kerasnas.infra.lazy import lazy_attributes

_LAZY = {
    "MODES": "kerasnas.hardware.conversion",
    "Conversion": "kerasnas.hardware.conversion",
    "convert": "kerasnas.hardware.conversion",
    "representative_sample": "kerasnas.hardware.conversion",
    "LatencyStats": "kerasnas.hardware.runtime",
    "measure_latency": "kerasnas.hardware.runtime",
    "make_interpreter": "kerasnas.hardware.runtime",
    "litert_available": "kerasnas.hardware.runtime",
    "tflite_predict": "kerasnas.hardware.runtime",
    "tflite_accuracy": "kerasnas.hardware.runtime",
    "LatencyTable": "kerasnas.hardware.predict",
    "LatencyRegressor": "kerasnas.hardware.predict",
    "model_features": "kerasnas.hardware.predict",
    "spearman": "kerasnas.hardware.predict",
    "best_of_medians": "kerasnas.hardware.predict",
    "MNAS_W": "kerasnas.hardware.objectives",
    "HardLimits": "kerasnas.hardware.objectives",
    "soft_reward": "kerasnas.hardware.objectives",
    "dominates": "kerasnas.hardware.objectives",
    "pareto_front": "kerasnas.hardware.objectives",
    "non_dominated_sort": "kerasnas.hardware.objectives",
    "crowding_distance": "kerasnas.hardware.objectives",
    "nsga2_rank": "kerasnas.hardware.objectives",
    "HardwareObjective": "kerasnas.hardware.trial",
    "CodesignEncoding": "kerasnas.hardware.codesign",
    "CodesignSpace": "kerasnas.hardware.codesign_space",
    "LimitExceeded": "kerasnas.hardware.trial",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
