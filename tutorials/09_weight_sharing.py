"""Tutorial 9: weight sharing. Train a supernet, rank candidates, train the best.

Training every candidate from scratch is what makes architecture search
expensive. A supernet holds every architecture of a space in one set of shared
weights: each architecture is a sub-network (its depth, its widths as the first
channels of each kernel, its kernel size as the centre of the largest kernel).
Training samples one sub-network per step; afterwards any architecture is scored
in milliseconds with the weights it inherits, after recalibrating its
BatchNorm statistics on a few training batches.

This walk-through, on digits with `ResidualSpace`:

1. trains a `ResidualSupernet` for a number of steps;
2. ranks random candidates by their one-shot validation accuracy;
3. splits it into few-shot sub-supernets on one decision and ranks again;
4. trains the best candidate stand-alone, once from scratch and once started
   from the supernet's weights (`load_into`);
5. shows the one-liner's switch, `kerasnas.search(..., weight_sharing=True)`.

How well the one-shot ranking agrees with stand-alone training, and when the
one-liner gains from it, is measured in `benchmarks/weight_sharing.py` (see
benchmarks/README.md).

Run: `python tutorials/09_weight_sharing.py` (`KERASNAS_FAST=1`: tiny budgets).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from kerasnas.oneshot import FewShotSupernet, ResidualSupernet, rank_candidates  # noqa: E402
from kerasnas.spaces import ResidualSpace  # noqa: E402

FAST = os.environ.get("KERASNAS_FAST") == "1"

digits = load_digits()
x = digits.images[..., None].astype("float32")
y = digits.target.astype("int32")
x_train, y_train, x_val, y_val = x[:1400], y[:1400], x[1400:], y[1400:]
norm = keras.layers.Normalization()
norm.adapt(x_train)
# A small space in fast mode; the one-liner's full ResidualSpace otherwise.
small = dict(blocks=(1, 2), widths=(8, 16), kernels=(3, 5)) if FAST else {}
space = ResidualSpace((8, 8, 1), num_classes=10, preprocessing=[norm], **small)

# 1. Train the supernet: one uniformly drawn architecture per step.
net = ResidualSupernet(space, seed=0)
net.train(x_train, y_train, steps=20 if FAST else 600)
print(f"supernet: {net.record['steps']} steps in {net.record['seconds']:.0f} s, "
      f"last loss {net.record['loss']:.3f}")

# 2. Rank random candidates with inherited weights.
rng = np.random.default_rng(0)
candidates = [space.sample(rng) for _ in range(20 if FAST else 150)]
ranked = rank_candidates(net, candidates, x_train, x_val, y_val)
print(f"ranked {len(ranked)} candidates; the best three:")
for arch, scores in ranked[:3]:
    print(f"  {arch}: one-shot accuracy {scores['accuracy']:.3f}")

# 3. Few-shot: one sub-supernet per number of blocks, each fine-tuned on its own sub-space.
few = FewShotSupernet(net, "num_blocks")
few.train(x_train, y_train, steps=10 if FAST else 300)
best_few = rank_candidates(few, candidates, x_train, x_val, y_val)[0]
print(f"few-shot best: {best_few[0]} ({best_few[1]['accuracy']:.3f})")

# 4. Train the best stand-alone: from scratch, and from the supernet's weights.
best = ranked[0][0]
epochs = 1 if FAST else 5
for start in ("scratch", "supernet"):
    keras.utils.set_random_seed(0)
    model = space.build_architecture(best)
    if start == "supernet":
        net.load_into(model, best, x_train)  # the sub-network's weights and statistics
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                        batch_size=32, verbose=0)
    print(f"{best} from {start}: val accuracy {max(history.history['val_accuracy']):.3f}")

# 5. The one-liner: the supernet trains for 30 % of the budget, ranks up to 200 candidates,
# and the best three are tried first after the hand designs.
if not FAST:
    import kerasnas

    result = kerasnas.search(x[..., 0], y, time_budget=120, seed=1, weight_sharing=True)
    print(f"ranked {result.estimation['ranked']} candidates; returned {result.architecture}")
