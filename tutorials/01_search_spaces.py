"""Tutorial 1: the four search spaces.

A kerasnas search space is a Keras Tuner `HyperModel` plus a Keras-free
`Encoding` of its architectures. This tutorial samples an architecture from
each space, prints its string form, parameters and FLOPs (multiply-adds),
builds the Keras model and, unless `KERASNAS_FAST=1`, trains it briefly on
scikit-learn's 8x8 digits: as images (MacroSpace, CellSpace, NB201Space), as
sequences of 8 rows (CellSpace in 1D) and as 64 tabular features (DenseSpace).

Run: `python tutorials/01_search_spaces.py` (about a minute on 2 CPU cores;
`KERASNAS_FAST=1` only builds the models).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from kerasnas.spaces import CellSpace, DenseSpace, MacroSpace, NB201Space  # noqa: E402
from kerasnas.spaces.ops import register_op, relu_conv_bn  # noqa: E402

FAST = os.environ.get("KERASNAS_FAST") == "1"
EPOCHS = 0 if FAST else 3
rng = np.random.default_rng(0)

# ---------------------------------------------------------------- the data
digits = load_digits()
images = (digits.images / 16.0).astype("float32")[..., None]  # (1797, 8, 8, 1)
labels = digits.target
split = 1400
train, val = slice(0, split), slice(split, None)


def show(title, space, arch, x):
    """Prints an architecture, its cost, and (unless FAST) a short training result."""
    cost = space.cost(arch)
    print(f"\n== {title}\n   {arch}\n   params={cost['params']:,}  FLOPs(MACs)={cost['flops']:,}")
    model = space.build_architecture(arch)
    if EPOCHS:
        model.fit(x[train], labels[train], epochs=EPOCHS, batch_size=64, verbose=0)
        _, accuracy = model.evaluate(x[val], labels[val], verbose=0)
        print(f"   val accuracy after {EPOCHS} epochs: {accuracy:.3f}")
    return model


# ------------------------------------------------------------ MacroSpace
# A chain of 2-6 layers; each picks an op family, kernel size and width, plus
# skip connections from earlier layers. Two layers downsample by 2.
macro = MacroSpace((8, 8, 1), num_classes=10, widths=(16, 32), stem_channels=16)
arch = macro.sample(rng)
show("MacroSpace (a random chain)", macro, arch, images)
# Strings parse back into architectures, so you can write one by hand:
hand = macro.encoding.from_string("conv_3x3:16 > sep_conv_5x5:32 > max_pool_3x3:32+0")
show("MacroSpace (hand-written, layer 2 also reads layer 0)", macro, hand, images)

# ------------------------------------------------------------- CellSpace
# DARTS-style: one normal and one reduction cell, repeated. Every block adds
# or concatenates two ops applied to earlier states.
cells = CellSpace((8, 8, 1), num_classes=10, channels=8, num_cells=3, num_blocks=3)
arch = cells.sample(rng)
show("CellSpace (2D)", cells, arch, images)

# The same space over sequences: each digit becomes 8 steps of 8 pixels.
sequences = images[..., 0]  # (1797, 8, 8) = (N, length, channels)
cells_1d = CellSpace((8, 8), num_classes=10, channels=8, num_cells=3, num_blocks=3)
show("CellSpace (1D, same genotype)", cells_1d, str(arch), sequences)

# Local moves used by evolution and local search:
child = arch.mutate(rng)
print(f"\n   one mutation of it:  {child}\n   it has {len(arch.neighbors())} neighbours")

# ------------------------------------------------------------ NB201Space
# The NAS-Bench-201 network; its 15,625 cells are tabulated in the benchmark,
# so strings like this one can be looked up instead of trained.
nb201 = NB201Space((8, 8, 1), num_classes=10, channels=8, cells_per_stage=1)
arch = nb201.encoding.from_string(
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
show("NB201Space", nb201, arch, images)

# ------------------------------------------------------------ DenseSpace
tabular = images.reshape(len(images), -1)  # (N, 64)
norm = keras.layers.Normalization()
norm.adapt(tabular[train])  # preprocessing lives inside every model the space builds
dense = DenseSpace((64,), num_classes=10, units=(32, 64, 128), preprocessing=[norm])
arch = dense.sample(rng)
show("DenseSpace", dense, arch, tabular)


# --------------------------------------------------------- your own op
# Register an op by name and use it in any space. It receives the input
# tensor, the wanted channels and the stride, and must honour both.
@register_op("conv_7x7", overwrite=True)
def conv_7x7(x, filters, stride):
    return relu_conv_bn(x, filters, kernel_size=7, stride=stride)


custom = MacroSpace((8, 8, 1), num_classes=10, ops=("conv",), kernels=(3, 7), widths=(16,))
arch = custom.encoding.from_string("conv_7x7:16 > conv_3x3:16")
show("MacroSpace with a registered conv_7x7", custom, arch, images)

# Every space is a keras_tuner.HyperModel, so any Keras Tuner tuner can search it:
#     tuner = keras_tuner.RandomSearch(cells, objective="val_accuracy", max_trials=10)
#     tuner.search(images[train], labels[train], validation_data=(images[val], labels[val]))
print("\nDone.")
