"""Tutorial 7: hardware-aware search: quantize, measure, search under a latency budget, Pareto front.

Models found by NAS ship to phones and microcontrollers, where latency and size
matter as much as accuracy. kerasnas converts candidates to TFLite, quantizes
them to full-integer int8, times them with the LiteRT interpreter and searches
under a budget:

1. quantize one model four ways and compare size, accuracy and latency;
2. `kerasnas.search(x, y, latency_budget_ms=..., quantize="int8")`: candidates
   slower than the budget are rejected before training and never win;
3. a Pareto-aware evolution (`ParetoEvolution`) that keeps the whole
   accuracy-latency front, plotted in the HTML report, and any point exported.

Run: `python tutorials/07_hardware_aware.py` (`KERASNAS_FAST=1`: tiny budgets).
Needs `pip install kerasnas[hardware]` for LiteRT (otherwise tf.lite.Interpreter runs).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.datasets import load_digits  # noqa: E402

import kerasnas  # noqa: E402
from kerasnas.hardware import (  # noqa: E402
    HardwareObjective,
    convert,
    measure_latency,
    tflite_accuracy,
)

FAST = os.environ.get("KERASNAS_FAST") == "1"
digits = load_digits()
x = (digits.images[..., None] / 16.0).astype("float32")  # (1797, 8, 8, 1)
y = digits.target
x_train, y_train, x_val, y_val = x[:1400], y[:1400], x[1400:], y[1400:]

# 1. Quantize one trained model four ways. The space's model carries its own Normalization,
#    so every .tflite takes raw pixels; int8 calibrates on 100 training images.
from kerasnas.spaces import MacroSpace  # noqa: E402

space = MacroSpace((8, 8, 1), 10, widths=(16, 32), max_layers=3)
model = space.build_architecture("conv_3x3:16 > sep_conv_3x3:32 > conv_3x3:32")
model.fit(x_train, y_train, epochs=2 if FAST else 10, batch_size=32, verbose=0)
float_accuracy = model.evaluate(x_val, y_val, verbose=0)[1]
print(f"Keras float32 accuracy {float_accuracy:.4f}")
for mode in ("float32", "float16", "dynamic", "int8"):
    conversion = convert(model, mode, representative_data=x_train)
    latency = measure_latency(conversion.flatbuffer, threads=1, batch_size=1)
    accuracy = tflite_accuracy(conversion.flatbuffer, x_val, y_val)
    print(f"{mode:>8}: {conversion.model_bytes:>6} bytes, accuracy {accuracy:.4f}, "
          f"latency {latency.median_ms:.4f} ms (robust CV {latency.cv:.2f})")
print(conversion.report())  # the int8 op report: every op, and any that falls back to float

# 2. The one-liner under hard limits: candidates slower than 0.5 ms or larger than 16 kB (int8)
#    are rejected before training. (refit=False keeps the search's trained winner: quicker.)
budget = dict(max_trials=3, epochs=1, refit=False, min_steps=0, cv_folds=None) if FAST else \
    dict(max_trials=12, epochs=6)
space_args = dict(widths=(8, 16), max_layers=3)  # a small macro space: quick trials
result = kerasnas.search(x_train, y_train, validation_data=(x_val, y_val), space="macro",
                         latency_budget_ms=0.5, size_budget_bytes=16_000, quantize="int8",
                         seed=1, verbose=0,
                         overwrite=True, directory="runs/budgeted", **budget, **space_args)
for record in result.history:
    m = record.metrics
    if record.status != "COMPLETED":
        print(f"trial {record.trial_id} rejected: latency {m.get('latency_ms', 0):.4f} ms, "
              f"{int(m.get('model_bytes', 0))} bytes")
        continue
    print(f"trial {record.trial_id} {record.status:>9}: latency {m.get('latency_ms', 0):.4f} ms, "
          f"{int(m.get('model_bytes', 0))} bytes, val acc {m.get('val_accuracy', float('nan')):.4f}"
          f", int8 acc {m.get('quantized_accuracy', float('nan')):.4f}")
print("winner:", result.architecture)

# 3. Pareto-aware evolution: accuracy up, latency down, the front plotted in the report.
from kerasnas.oracles import ParetoEvolution  # noqa: E402

# An oracle instance is used as given, so it carries its own max_trials.
evolution = ParetoEvolution(max_trials=budget["max_trials"], population_size=2 if FAST else 6,
                            sample_size=2 if FAST else 3, seed=2)
result = kerasnas.search(x_train, y_train, validation_data=(x_val, y_val), space="macro",
                         strategy=evolution, hardware=HardwareObjective("int8", target_ms=0.02),
                         seed=2, verbose=0, overwrite=True, directory="runs/pareto", **budget, **space_args)
front = result.pareto_front("latency_ms")
print("Pareto front (fastest first):")
for record in front:
    print(f"  trial {record.trial_id}: val acc {record.score:.4f}, latency "
          f"{record.metrics['latency_ms']:.4f} ms, MnasNet reward {record.metrics['mnas_reward']:.4f}"
          f"  {record.architecture}")
print("report:", result.report("pareto_report.html"))

# Any point of the front deploys: rebuild its architecture string in the same space, train it
# and convert it to int8.
fastest = front[0]
model = MacroSpace((8, 8, 1), 10, **space_args).build_architecture(fastest.architecture)
model.fit(x_train, y_train, epochs=1 if FAST else 10, verbose=0)
path = convert(model, "int8", representative_data=x_train).save("fastest_int8.tflite")
print("exported", path, f"({os.path.getsize(path)} bytes)")
