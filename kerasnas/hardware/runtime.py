"""Running `.tflite` models: the interpreter, latency measurement, quantized predictions.

The interpreter is LiteRT's (`pip install kerasnas[hardware]`, package
`ai-edge-litert`), the supported TFLite runtime; without it TensorFlow's
deprecated `tf.lite.Interpreter` runs the same flatbuffers.

`measure_latency` times `invoke()` the way on-device benchmarks do: a few
untimed warm-up calls (the first call allocates and packs weights and is often
many times slower), then `repeats` timed calls, summarised by their median (a
robust centre: one slow call, e.g. a context switch on a busy CPU, does not
move it) and spread (interquartile range and coefficient of variation).

Example:

>>> from kerasnas.hardware import convert, measure_latency
>>> conv = convert(model, "int8", representative_data=x_train)    # doctest: +SKIP
>>> stats = measure_latency(conv.flatbuffer, threads=1)            # doctest: +SKIP
>>> stats.median_ms, stats.cv                                      # doctest: +SKIP
(0.041, 0.03)
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

#: Untimed calls before timing: the first invoke allocates and packs weights (XNNPACK),
#: a couple more settle caches.
WARMUP = 5

#: Timed calls: enough for a stable median of sub-millisecond models (the benchmark's
#: coefficient of variation over repeated measurements is in benchmarks/README.md).
REPEATS = 50


def litert_available() -> bool:
    """True if LiteRT (`ai-edge-litert`) is installed."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def make_interpreter(flatbuffer, *, threads=1, delegates=True, batch_size=1):
    """A ready (allocated) interpreter for `flatbuffer`.

    Args:
        flatbuffer: `.tflite` bytes.
        threads: CPU threads of the interpreter (default 1: a phone benchmark's
            usual setting, and the one whose timings do not depend on how busy
            the other cores are).
        delegates: Use the runtime's default delegate (XNNPACK on CPU), as a
            deployed model does (default True). False runs TFLite's built-in
            kernels, which shows every operator (used for the op report).
        batch_size: Resize the input's batch axis to this (default 1).
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        import tensorflow as tf

        Interpreter, OpResolverType = tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    resolver = OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(model_content=bytes(flatbuffer), num_threads=threads,
                              experimental_op_resolver_type=resolver)
    if batch_size != 1:
        detail = interpreter.get_input_details()[0]
        shape = [batch_size] + list(detail["shape"][1:])
        interpreter.resize_tensor_input(detail["index"], shape, strict=False)
    interpreter.allocate_tensors()
    return interpreter


@dataclasses.dataclass
class LatencyStats:
    """Timings of repeated `invoke()` calls, in milliseconds.

    Attributes:
        samples_ms: Every timed call (warm-up excluded), in order.
        threads: Interpreter threads.
        batch_size: Examples per call.
    """

    samples_ms: list
    threads: int
    batch_size: int

    @property
    def median_ms(self) -> float:
        """Median time of one call: the figure kerasnas reports as `latency_ms`."""
        return float(np.median(self.samples_ms))

    @property
    def iqr_ms(self) -> float:
        """Interquartile range (75th minus 25th percentile)."""
        q25, q75 = np.percentile(self.samples_ms, [25, 75])
        return float(q75 - q25)

    @property
    def cv(self) -> float:
        """Robust coefficient of variation: IQR / 1.349 / median (1.349 turns an IQR into a
        normal distribution's standard deviation, so the figure reads like std / mean)."""
        return float(self.iqr_ms / 1.349 / self.median_ms) if self.median_ms > 0 else 0.0

    @property
    def per_example_ms(self) -> float:
        """Median time per example (median / batch size)."""
        return self.median_ms / self.batch_size

    def as_dict(self) -> dict:
        return {"median_ms": self.median_ms, "iqr_ms": self.iqr_ms, "cv": self.cv,
                "threads": self.threads, "batch_size": self.batch_size,
                "repeats": len(self.samples_ms)}


def measure_latency(flatbuffer, *, threads=1, batch_size=1, warmup=WARMUP, repeats=REPEATS,
                    seed=0, delegates=True) -> LatencyStats:
    """Times `repeats` invocations of a `.tflite` model after `warmup` untimed ones.

    The input is random data of the input tensor's dtype (latency does not
    depend on the values of a model without data-dependent control flow).

    Args:
        flatbuffer: `.tflite` bytes (e.g. `Conversion.flatbuffer`).
        threads: Interpreter threads (default 1; see `make_interpreter`).
        batch_size: Examples per call (default 1: one request on a phone).
        warmup: Untimed calls first (default `WARMUP`).
        repeats: Timed calls (default `REPEATS`).
        seed: Seed of the random input (default 0).
        delegates: Run with the default delegate, XNNPACK, as LiteRT does on
            CPU (default True). False times TFLite's built-in kernels, the
            closer stand-in for runtimes without XNNPACK (TFLite Micro); their
            latency is a sum over operators, which per-layer tables predict
            better (benchmarks/README.md).

    Returns:
        `LatencyStats`.
    """
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, got {warmup!r}.")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}.")
    interpreter = make_interpreter(flatbuffer, threads=threads, batch_size=batch_size,
                                   delegates=delegates)
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], _random_input(detail, seed))
    for _ in range(warmup):
        interpreter.invoke()
    samples = []
    clock = time.perf_counter
    for _ in range(repeats):
        start = clock()
        interpreter.invoke()
        samples.append((clock() - start) * 1e3)
    return LatencyStats(samples_ms=samples, threads=threads, batch_size=batch_size)


def _random_input(detail, seed):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(detail["dtype"])
    shape = tuple(int(d) for d in detail["shape"])
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def tflite_predict(flatbuffer, x, *, batch_size=64, threads=1) -> np.ndarray:
    """The model's float outputs for inputs `x`, quantizing and dequantizing as its tensors need.

    Args:
        flatbuffer: `.tflite` bytes.
        x: Raw inputs `(N, ...)` (the model holds its own preprocessing).
        batch_size: Examples per `invoke()` (default 64).
        threads: Interpreter threads (default 1).

    Returns:
        Float32 outputs `(N, outputs)`.
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        raise ValueError("x is empty: pass at least one example.")
    batch_size = int(min(batch_size, len(x)))
    interpreter = make_interpreter(flatbuffer, threads=threads, batch_size=batch_size)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    expected = tuple(int(d) for d in inp["shape"][1:])
    if tuple(x.shape[1:]) != expected:
        raise ValueError(f"x has examples of shape {x.shape[1:]}, the model takes {expected}.")
    outputs = []
    for start in range(0, len(x), batch_size):
        chunk = x[start:start + batch_size]
        n = len(chunk)
        if n < batch_size:  # pad the last batch to the allocated size
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch_size - n, axis=0)])
        interpreter.set_tensor(inp["index"], _quantize(chunk, inp))
        interpreter.invoke()
        outputs.append(_dequantize(interpreter.get_tensor(out["index"]), out)[:n])
    return np.concatenate(outputs)


def _quantize(x, detail):
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return x.astype(dtype)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)


def _dequantize(y, detail):
    if np.dtype(detail["dtype"]).kind == "f":
        return y.astype(np.float32)
    scale, zero_point = detail["quantization"]
    return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)


def tflite_accuracy(flatbuffer, x, y, **kwargs) -> float:
    """Classification accuracy of a `.tflite` classifier on `(x, y)` (`y`: class indices)."""
    y = np.asarray(y).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}.")
    predictions = tflite_predict(flatbuffer, x, **kwargs)
    return float(np.mean(np.argmax(predictions, axis=-1) == y))
