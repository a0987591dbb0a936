"""Tutorial 6: Net2Net, grow a trained network without losing what it learned.

Net2Wider and Net2Deeper (Chen et al., ICLR 2016) turn a trained network into
a wider or deeper one that computes exactly the same function, so training
continues instead of starting over. In kerasnas each move maps a parent
`Architecture` to a child of the same space, so the child is an ordinary
architecture: it rebuilds from its string, trains, exports.

1. Train a small MacroSpace network on digits, widen one layer and insert a
   layer by hand; check the outputs are unchanged; keep training.
2. Let `Net2NetSearch` grow networks by itself in a real Keras Tuner loop,
   each child starting from its parent's weights.

Run: `python tutorials/06_net2net.py` (about two minutes on 2 CPU cores;
`KERASNAS_FAST=1` trains for one epoch and searches two trials).
"""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from kerasnas.net2net import deepen, legal_actions, widen  # noqa: E402
from kerasnas.net2net.inherit import read_record  # noqa: E402
from kerasnas.oracles import Net2NetSearch  # noqa: E402
from kerasnas.spaces import MacroSpace  # noqa: E402
from kerasnas.tuner import NASTuner  # noqa: E402

FAST = os.environ.get("KERASNAS_FAST") == "1"
EPOCHS = 1 if FAST else 5

x, y = load_digits(return_X_y=True)
x = (x / 16.0).reshape(-1, 8, 8, 1).astype("float32")
x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, stratify=y,
                                                  random_state=0)

# --- 1. by hand ---------------------------------------------------------------
space = MacroSpace((8, 8, 1), num_classes=10, widths=(8, 16, 32), max_layers=5)
arch = space.encoding.from_string("conv_3x3:8 > sep_conv_3x3:8 > conv_3x3:8")
model = space.build_architecture(arch)
model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, verbose=0)
print("parent:", arch, "val accuracy", model.evaluate(x_val, y_val, verbose=0)[1])

# Which moves keep the function? (widen:i = layer i one width up; deepen:j = insert after j)
print("legal moves:", [str(a) for a in legal_actions(arch)])

# Widen layer 1 (8 -> 16 channels): its filters are copied at random, the next layer's
# incoming weights divided by the copy counts. Then insert an identity layer after layer 2;
# `x_sample` gives its BatchNorm the real statistics of its input.
wide_arch, wide_model, report = widen(space, model, arch, layer=1, seed=0)
deep_arch, deep_model, _ = deepen(space, wide_model, wide_arch, after=2, x_sample=x_train[:256])
print("child:", deep_arch, "| widened layers:", report.widened)

before = model.predict(x_val, verbose=0)
after = deep_model.predict(x_val, verbose=0)
print(f"largest output change: {np.abs(after - before).max():.2e}")  # ~1e-7: same function
assert np.abs(after - before).max() < 1e-4

# The child is an ordinary architecture of the space: its string rebuilds it.
assert space.encoding.from_string(str(deep_arch)) == deep_arch
deep_model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, verbose=0)
print("child after more training: val accuracy",
      deep_model.evaluate(x_val, y_val, verbose=0)[1])

# --- 2. Net2Net search ----------------------------------------------------------
# Starts from the space's smallest network; each child is a Net2Net move of one of the best
# finished trials, chosen by a REINFORCE policy rewarded by the child's improvement, and is
# fine-tuned from its parent's transformed weights (NASTuner does this: inherit_weights="auto").
oracle = Net2NetSearch(objective="val_accuracy", max_trials=2 if FAST else 10, seed=1,
                       space=space)
tuner = NASTuner(oracle, space, epochs=EPOCHS, directory=tempfile.mkdtemp(),
                 project_name="net2net")
tuner.search(x_train, y_train, validation_data=(x_val, y_val))
for trial_id in oracle.start_order:
    trial = oracle.trials[trial_id]
    record = read_record(tuner, trial_id) or {"mode": "seed"}
    print(trial_id, f"{trial.score:.3f}", space.encoding.from_hp_values(trial.hyperparameters.values),
          "| from trial", record.get("parent_trial"), record["mode"], record.get("action", ""))
# The same from the one-liner: kerasnas.search(x, y, strategy="net2net", space="macro")
