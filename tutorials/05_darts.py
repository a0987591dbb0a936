"""Tutorial 5: DARTS, differentiable architecture search (Liu et al., ICLR 2019).

Instead of training many architectures, DARTS trains one *supernet*: every
edge of a cell holds every candidate op, mixed by softmax(α). Each step moves α
down the validation loss and the weights w down the training loss (the bilevel
`train_step` of `kerasnas.darts.DartsModel`); afterwards the strongest ops are
kept (`derive`) and that discrete architecture is trained from scratch.

This tutorial walks the steps by hand on scikit-learn's digits:

1. the supernet of a `CellSpace` (what it holds, what it costs);
2. the search (first order, with DARTS+ early stopping against the collapse
   towards `skip_connect`) and its α trajectory, drawn as SVG;
3. derive: α -> a discrete `Architecture`, checked by hand;
4. retrain the derived network and test it;
5. export it (.keras, TFLite);
6. the one-liner that does all of it: `kerasnas.search(x, y, strategy="darts")`.

Run: `python tutorials/05_darts.py` (several minutes on 2 CPU cores;
`KERASNAS_FAST=1` shrinks everything to a smoke test of the same steps).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import kerasnas  # noqa: E402
from kerasnas import darts  # noqa: E402
from kerasnas.deploy.export import export_model  # noqa: E402
from kerasnas.spaces import CellSpace  # noqa: E402
from kerasnas.viz.alpha import alpha_plot  # noqa: E402

FAST = os.environ.get("KERASNAS_FAST") == "1"

x, y = load_digits(return_X_y=True)
x = (x / 16.0).reshape(-1, 8, 8, 1).astype("float32")
if FAST:
    x, y = x[:240], y[:240]
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y,
                                                    random_state=0)

# --- 1. the supernet -----------------------------------------------------------------
# A CellSpace of 3 cells (normal, reduction, normal... placed by the space), each of
# `num_blocks` blocks; every block reads every earlier node through a mixed op.
size = dict(channels=2, num_cells=3, num_blocks=1) if FAST else \
    dict(channels=8, num_cells=3, num_blocks=3)
space = CellSpace((8, 8, 1), 10, **size)
supernet = darts.build_supernet(space)
print("cell types and their edges (alpha rows):", supernet.edges)
print("candidate ops (alpha columns):", supernet.ops)
print(f"supernet weights: {supernet.network.count_params():,}")

# --- 2. search: alpha on one half of the training data, w on the other -------------
# order=1 is first-order DARTS (xi = 0); order=2 unrolls one virtual w step (slower).
# max_skips=2 is DARTS+: stop once the normal cell holds 2 skip_connect edges.
epochs = 2 if FAST else 15
result = darts.search(space, x_train, y_train, epochs=epochs, order=1, max_skips=2, seed=0,
                      batch_size=60 if FAST else 64, run_eagerly=FAST)
print(f"searched {len(result.alpha_trajectory)} epoch(s) in {result.search_seconds:.0f} s; "
      f"DARTS+ stopped at epoch: {result.stopped_early}")
print("skip_connect edges of the derived cell after each epoch:", result.skip_counts())
print("alpha plot:", alpha_plot(result.record()).save("darts_alpha.svg"))

# --- 3. derive: the strongest two non-`none` inputs per block, their best op ----------
print("derived architecture:", result.architecture)
by_hand = darts.derive(space.encoding, result.model.alpha_values(), result.ops)
if result.stopped_early is None:  # DARTS+ keeps the epoch before the one that collapsed
    assert by_hand == result.architecture
normal = np.array(result.alpha_trajectory[-1]["normal"])
print("normal cell, softmax(alpha) of block 0's first input:",
      {op: round(float(w), 4) for op, w in zip(result.ops, normal[0], strict=True)})

# --- 4. retrain the derived network from scratch, test it -----------------------------
model = space.build_architecture(result.architecture)
model.fit(x_train, y_train, epochs=1 if FAST else 20, batch_size=64, verbose=0)
print(f"derived network: {model.count_params():,} weights, test accuracy "
      f"{model.evaluate(x_test, y_test, verbose=0)[1]:.3f}")

# --- 5. export ------------------------------------------------------------------------
paths = export_model(model, "darts_export", formats=("keras", "tflite"), classes=list(range(10)))
print("exported:", paths)

# --- 6. the one-liner: search, train the derived cell as a trial, refit, report --------
# strategy="darts2" runs the second order; space="auto" with DARTS is a CellSpace.
raw_x, raw_y = load_digits(return_X_y=True)
raw_x = raw_x.reshape(-1, 8, 8)
one_line = dict(channels=2, num_blocks=1, epochs=1, min_steps=0, cv_folds=None,
                refit_epochs=1, strategy_args={"epochs": 1, "run_eagerly": True}) if FAST \
    else dict(channels=8, time_budget=600, strategy_args={"epochs": 10, "max_skips": 2})
found = kerasnas.search(raw_x[:240] if FAST else raw_x, raw_y[:240] if FAST else raw_y,
                        strategy="darts", seed=0, verbose=1, **one_line)
print(found.summary())
print("alpha trajectory epochs kept in the result:", found.darts["epochs"])
print("report with the alpha plot:", found.report("darts_report.html"))
