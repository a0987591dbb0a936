"""DARTS: differentiable architecture search (Liu et al., ICLR 2019) as a Keras `train_step`.

The one one-shot strategy of kerasnas: instead of an oracle proposing
architectures, one supernet holds every candidate op on every edge, mixed by
softmax(α); `DartsModel.train_step` alternates an α step on a validation batch
and a w step on a training batch (first or second order), and `derive()` turns
α into an `Architecture` of the same space, built and trained like any trial.

Files, in the paper's order: `supernet.py` (mixed op, search cells),
`model.py` (the bilevel `train_step`), `derive.py` (α -> architecture),
`search.py` (the entry point, α trajectory, DARTS+ early stopping). PC-DARTS
(partial channels, edge normalisation) is `search(..., partial_channels=K,
edge_normalisation=True)`; D-DARTS is DARTS on a `CellSpace(macro=True)` (one α
per cell) and `deepen()` (a deeper network from the searched cells);
`one_liner.py` and `oracle.py` plug it into `kerasnas.search(strategy="darts")`.

Example:

>>> from kerasnas import darts
>>> from kerasnas.spaces import CellSpace
>>> space = CellSpace((8, 8, 1), 10, channels=4, num_cells=2, num_blocks=2)
>>> result = darts.search(space, x, y, epochs=5, order=2, seed=0)   # doctest: +SKIP
>>> model = space.build_architecture(result.architecture)           # doctest: +SKIP
"""

from kerasnas.darts.derive import count_op, deepen, derive
from kerasnas.darts.model import DartsModel
from kerasnas.darts.search import DartsResult, paired_dataset, search
from kerasnas.darts.supernet import MixedOp, Supernet, build_supernet

__all__ = ["DartsModel", "DartsResult", "MixedOp", "Supernet", "build_supernet", "count_op",
           "deepen", "derive", "paired_dataset", "search"]
