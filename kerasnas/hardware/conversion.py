"""TFLite conversion of kerasnas models: float32, float16, dynamic-range int8, full-integer int8.

`convert(model, mode, representative_data=...)` returns a `Conversion`: the
flatbuffer bytes plus an op report read back from the converted model, which
lists every operator and flags any that still computes in float where the mode
asked for integers (an *op fallback*), with the reason.

Modes (the names TFLite's documentation uses):

* `"float32"`: no quantization.
* `"float16"`: weights stored as float16, computed in float32.
* `"dynamic"`: dynamic-range quantization: int8 weights, float activations
  quantized on the fly. Needs no data.
* `"int8"`: full-integer quantization: int8 weights and activations, int8
  input and output tensors, calibrated on a representative dataset drawn from
  the training data. Every operator of every kerasnas space converts to
  integer kernels (tested in `tests/test_hardware.py`).

Preprocessing stays inside the model: a space's `Normalization` layer is part
of the graph, so the int8 model takes raw features quantized with the input
tensor's scale and zero point (`Conversion.input_quantization`).

Example:

>>> from kerasnas.hardware import convert
>>> conv = convert(model, "int8", representative_data=x_train)    # doctest: +SKIP
>>> conv.model_bytes, conv.float_ops                               # doctest: +SKIP
(23816, [])
>>> conv.save("model_int8.tflite")                                 # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

import numpy as np

#: The conversion modes, in order of decreasing size.
MODES = ("float32", "float16", "dynamic", "int8")

#: Default number of representative examples for int8 calibration. TFLite's guide
#: suggests about 100 to 500; 100 keeps conversion fast and calibrates kerasnas's
#: small models as well as 500 did on digits.
CALIBRATION_EXAMPLES = 100

#: Operators that only convert between float and integer at the model's edges;
#: in a full-integer model with int8 inputs and outputs there should be none.
_BOUNDARY_OPS = ("QUANTIZE", "DEQUANTIZE")


@dataclasses.dataclass
class OpInfo:
    """One operator of a converted model.

    Attributes:
        name: TFLite's operator name, e.g. `"CONV_2D"`.
        input_dtypes: dtype names of its tensor inputs (weights included).
        output_dtypes: dtype names of its outputs.
    """

    name: str
    input_dtypes: tuple
    output_dtypes: tuple

    @property
    def computes_in_float(self) -> bool:
        """True if any activation or weight of this op is float32 or float16."""
        return any(d.startswith("float") for d in self.input_dtypes + self.output_dtypes)


@dataclasses.dataclass
class Conversion:
    """A converted model and what the conversion did.

    Attributes:
        mode: One of `MODES`.
        flatbuffer: The `.tflite` bytes.
        ops: Every operator (`OpInfo`) in execution order, read without delegates.
        fallbacks: For `"int8"`: `{op name: reason}` of every operator that
            still computes in float; empty when the model is fully integer.
    """

    mode: str
    flatbuffer: bytes
    ops: list
    fallbacks: dict

    @property
    def model_bytes(self) -> int:
        """Size of the flatbuffer in bytes (what ships to the device)."""
        return len(self.flatbuffer)

    @property
    def float_ops(self) -> list:
        """Names of the operators that compute in float (sorted, each once)."""
        return sorted({op.name for op in self.ops if op.computes_in_float})

    @property
    def op_counts(self) -> dict:
        """`{op name: count}` over the model."""
        counts: dict = {}
        for op in self.ops:
            counts[op.name] = counts.get(op.name, 0) + 1
        return counts

    @property
    def input_quantization(self) -> tuple:
        """`(scale, zero_point)` of the input tensor ((0.0, 0) for a float input)."""
        return _io_quantization(self.flatbuffer, "input")

    @property
    def output_quantization(self) -> tuple:
        """`(scale, zero_point)` of the output tensor ((0.0, 0) for a float output)."""
        return _io_quantization(self.flatbuffer, "output")

    def save(self, path) -> str:
        """Writes the flatbuffer to `path` (a `.tflite` file) and returns the path."""
        path = Path(path)
        if path.suffix != ".tflite":
            raise ValueError(f"A TFLite model file must end in '.tflite', got {str(path)!r}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.flatbuffer)
        return str(path)

    def report(self) -> str:
        """A short text report: mode, size, op counts and any float fallbacks."""
        counts = ", ".join(f"{k} x{v}" for k, v in sorted(self.op_counts.items()))
        lines = [f"{self.mode}: {self.model_bytes} bytes; ops: {counts}"]
        if self.mode == "int8":
            if self.fallbacks:
                lines += [f"  float fallback {name}: {why}" for name, why in
                          sorted(self.fallbacks.items())]
            else:
                lines.append("  fully integer: no op falls back to float")
        return "\n".join(lines)


def check_mode(mode) -> str:
    """`mode` if it is one of `MODES`, else a `ValueError` naming the choices."""
    if mode not in MODES:
        raise ValueError(f"Unknown quantization mode {mode!r}; choose one of {MODES}.")
    return mode


def representative_sample(x, num_examples=CALIBRATION_EXAMPLES, seed=0) -> np.ndarray:
    """`num_examples` rows of `x` drawn without replacement (all rows if fewer), as float32.

    Args:
        x: Training inputs, an array of shape `(N, ...)`.
        num_examples: How many to draw (default `CALIBRATION_EXAMPLES`).
        seed: Seed of the draw (default 0), so conversions are repeatable.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"representative_data must be a non-empty batch of examples (N, ...); "
                         f"got shape {x.shape}.")
    if len(x) <= num_examples:
        return x
    index = np.random.default_rng(seed).choice(len(x), size=int(num_examples), replace=False)
    return x[np.sort(index)]


def convert(model, mode="int8", *, representative_data=None,
            num_examples=CALIBRATION_EXAMPLES, seed=0) -> Conversion:
    """Converts a Keras model to TFLite in `mode`.

    Args:
        model: A built single-input Keras model (preprocessing inside).
        mode: One of `MODES` (default `"int8"`, full-integer).
        representative_data: Training inputs `(N, ...)` for int8 calibration;
            required for `"int8"`, ignored otherwise. `num_examples` rows are
            drawn from it.
        num_examples: Calibration examples (default `CALIBRATION_EXAMPLES`).
        seed: Seed of the calibration draw (default 0).

    Returns:
        A `Conversion`.

    Raises:
        ValueError: On an unknown mode, or `"int8"` without data or with data
            of the wrong shape (checked before converting).
    """
    check_mode(mode)
    sample = None
    if mode == "int8":
        if representative_data is None:
            raise ValueError("Full-integer int8 conversion needs representative_data: pass some "
                             "training inputs (about 100 examples) to calibrate activation "
                             "ranges, or use mode='dynamic', which needs no data.")
        sample = representative_sample(representative_data, num_examples, seed)
        expected = tuple(model.inputs[0].shape[1:])
        if tuple(sample.shape[1:]) != expected:
            raise ValueError(f"representative_data has examples of shape {sample.shape[1:]}, but "
                             f"the model takes {expected}: pass the model's training inputs.")
    flatbuffer = _run_converter(model, mode, sample)
    ops = read_ops(flatbuffer)
    fallbacks = _fallbacks(ops) if mode == "int8" else {}
    return Conversion(mode=mode, flatbuffer=flatbuffer, ops=ops, fallbacks=fallbacks)


def convert_multi_input(model, samples) -> bytes:
    """Full-integer int8 flatbuffer of a model with several inputs (one sample array each).

    Used for the one-layer `Add` / `Concatenate` models of the latency table;
    kerasnas's searched models have one input and go through `convert`.
    """
    samples = [np.asarray(s, np.float32) for s in samples]
    return _run_converter(model, "int8", samples)


def _run_converter(model, mode, sample):
    import tensorflow as tf

    # The converter saves a temporary SavedModel and prints its signature: keep stdout clean.
    with contextlib.redirect_stdout(io.StringIO()), _quiet_tf():
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if mode == "int8":
            if isinstance(sample, list):  # one array per input
                converter.representative_dataset = lambda: (
                    [s[i:i + 1] for s in sample] for i in range(len(sample[0])))
            else:
                converter.representative_dataset = lambda: ([row[None]] for row in sample)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        try:
            return converter.convert()
        except Exception as err:  # noqa: BLE001 - re-raised with the op that failed
            if mode == "int8":
                raise ValueError(
                    f"Full-integer int8 conversion failed: {err}. Some op of this model has no "
                    "int8 kernel; convert with mode='dynamic' (float activations) or replace the "
                    "op.") from err
            raise


@contextlib.contextmanager
def _quiet_tf():
    """Silences the converter's Python warnings (its C++ logs follow TF_CPP_MIN_LOG_LEVEL)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        yield


def read_ops(flatbuffer) -> list:
    """Every operator of a `.tflite` flatbuffer, as `OpInfo`s, without delegates."""
    from kerasnas.hardware.runtime import make_interpreter

    interpreter = make_interpreter(flatbuffer, delegates=False)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}

    def dtypes(indices):
        return tuple(np.dtype(tensors[i]["dtype"]).name for i in indices if i >= 0 and i in tensors)

    return [OpInfo(op["op_name"], dtypes(op["inputs"]), dtypes(op["outputs"]))
            for op in interpreter._get_ops_details()]


def _fallbacks(ops) -> dict:
    reasons = {}
    for op in ops:
        if not op.computes_in_float:
            continue
        if op.name in _BOUNDARY_OPS:
            reasons[op.name] = ("converts between float and int8 inside the model, next to an "
                                "op with no int8 kernel")
        else:
            reasons[op.name] = ("no int8 kernel for this op as used here: it runs in float "
                                f"(inputs {op.input_dtypes}, outputs {op.output_dtypes})")
    return reasons


def _io_quantization(flatbuffer, which):
    from kerasnas.hardware.runtime import make_interpreter

    interpreter = make_interpreter(flatbuffer, delegates=False)
    details = (interpreter.get_input_details() if which == "input"
               else interpreter.get_output_details())[0]
    scale, zero_point = details["quantization"]
    return float(scale), int(zero_point)

