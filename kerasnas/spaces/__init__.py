"""Search spaces: Keras Tuner `HyperModel`s over the shared `Architecture` encoding.

* `MacroSpace`: a chain of conv / separable / dilated / pooling layers with skips.
* `CellSpace`: DARTS / NASNet cells stacked into a network (1D or 2D).
* `NB201Space`: the NAS-Bench-201 network and its 15,625 cells.
* `DenseSpace`: MLPs for tabular data.
* `ResidualSpace`: residual conv stacks (ResNets, dilated TCNs), 1D or 2D.
* `SeriesSpace`: MiniRocket (closed-form head), InceptionTime and TCNs for series.
* `TableSpace`: column transforms, numeric embeddings, MLP / ResNet / TabM-mini for tables.
* `NAGOSpace`: NAGO's hierarchical random-graph generators (stages, cells, operations).
* `MnasSpace`: MnasNet's per-block space (conv / sep_conv / MBConv, kernel, SE, skip, layers,
  width) of mobile networks, 1D or 2D.

Names load lazily, so `import kerasnas.spaces.architecture` (or
`.encodings`) stays free of Keras and TensorFlow; the spaces themselves import
Keras when first used.

Example:

>>> import numpy as np
>>> from kerasnas.spaces import CellSpace
>>> space = CellSpace((8, 8, 1), num_classes=10, channels=4, num_cells=3)
>>> model = space.build_architecture(space.sample(np.random.default_rng(0)))
"""

from kerasnas.infra.lazy import lazy_attributes

_LAZY = {
    "Architecture": "kerasnas.spaces.architecture",
    "Decision": "kerasnas.spaces.architecture",
    "Encoding": "kerasnas.spaces.architecture",
    "MacroEncoding": "kerasnas.spaces.encodings",
    "CellEncoding": "kerasnas.spaces.encodings",
    "NB201Encoding": "kerasnas.spaces.encodings",
    "DenseEncoding": "kerasnas.spaces.encodings",
    "ResidualEncoding": "kerasnas.spaces.encodings",
    "DARTS_OPS": "kerasnas.spaces.encodings",
    "NB201_OPS": "kerasnas.spaces.encodings",
    "MACRO_OPS": "kerasnas.spaces.encodings",
    "NASHyperModel": "kerasnas.spaces.base",
    "MacroSpace": "kerasnas.spaces.macro",
    "CellSpace": "kerasnas.spaces.cell",
    "NB201Space": "kerasnas.spaces.nb201",
    "DenseSpace": "kerasnas.spaces.dense",
    "ResidualSpace": "kerasnas.spaces.residual",
    "SeriesSpace": "kerasnas.spaces.series",
    "SeriesEncoding": "kerasnas.spaces.encodings",
    "TableSpace": "kerasnas.spaces.table",
    "TableEncoding": "kerasnas.spaces.encodings",
    "NAGOSpace": "kerasnas.spaces.nago",
    "NAGOEncoding": "kerasnas.spaces.encodings",
    "MnasSpace": "kerasnas.spaces.mnas",
    "MnasEncoding": "kerasnas.spaces.encodings",
    "MNAS_OPS": "kerasnas.spaces.encodings",
    "RandomKernelFeatures": "kerasnas.spaces.kernels",
    "count_flops": "kerasnas.spaces.cost",
    "count_params": "kerasnas.spaces.cost",
    "OPS": "kerasnas.spaces.ops",
    "apply_op": "kerasnas.spaces.ops",
    "register_op": "kerasnas.spaces.ops",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
