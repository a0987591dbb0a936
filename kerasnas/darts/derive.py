"""From α to a discrete `Architecture` of the searched space (DARTS, section 2.4).

* `CellEncoding`: for each block keep the two strongest incoming edges, an
  edge's strength being its largest non-`none` softmax weight, and place on
  each its argmax non-`none` op; the block adds the two (the search cell sums
  its inputs), so `comb` is `"add"` when the space offers it.
* `NB201Encoding`: the argmax op of each edge, `none` allowed (NB201's rule).

With PC-DARTS's edge normalisation (`edge_weights`), an edge's strength is its
op weights times its normalised edge weight, as in the paper's derivation.

Example:

>>> import numpy as np
>>> from kerasnas.spaces.encodings import NB201Encoding
>>> enc = NB201Encoding()
>>> alpha = np.zeros((6, 5)); alpha[:, 3] = 1.0          # nor_conv_3x3 everywhere
>>> str(derive(enc, {"cell": alpha}, enc.ops))
'|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'
"""

from __future__ import annotations

import numpy as np

from kerasnas.spaces.architecture import Architecture
from kerasnas.spaces.encodings import CellEncoding, NB201Encoding


def softmax(alpha) -> np.ndarray:
    """Row-wise softmax of an `(E, K)` α matrix."""
    alpha = np.asarray(alpha, dtype=np.float64)
    e = np.exp(alpha - alpha.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def derive(encoding, alphas: dict, ops, edge_weights=None) -> Architecture:
    """The discrete architecture that α prefers.

    Args:
        encoding: The space's `CellEncoding` or `NB201Encoding`.
        alphas: Cell type -> α `(E, K)` (raw, before softmax), as `DartsModel.alpha_values()`.
        ops: The α columns (`Supernet.ops`).
        edge_weights: PC-DARTS: cell type -> normalised edge weights `(E,)`
            (`DartsModel.edge_values()`), multiplying each edge's op weights; default
            None (DARTS).

    Returns:
        An `Architecture` of `encoding`.
    """
    ops = tuple(ops)
    if isinstance(encoding, NB201Encoding):
        (alpha,) = alphas.values()
        weights = softmax(alpha)
        allowed = [k for k, op in enumerate(ops) if op in encoding.ops]
        values = {f"edge_{j}_{i}": ops[allowed[int(np.argmax(weights[e, allowed]))]]
                  for e, (j, i) in enumerate(encoding.edges)}
        return encoding.architecture(values)
    if isinstance(encoding, CellEncoding):
        values = {}
        rows = sum(b + 2 for b in range(encoding.num_blocks))
        for cell in encoding.cell_names:
            # A cell type the network never uses (e.g. no normal cell in a 2-cell network)
            # has no α; uniform weights give it a valid, irrelevant value.
            alpha = alphas.get(cell, np.zeros((rows, len(ops))))
            weights = softmax(alpha)
            if edge_weights is not None and cell in edge_weights:
                weights = weights * np.asarray(edge_weights[cell], np.float64)[:, None]
            values.update(derive_cell(encoding, cell, weights, ops))
        return encoding.architecture(values)
    raise TypeError(f"derive() handles CellEncoding and NB201Encoding, got {type(encoding).__name__}.")


def derive_cell(encoding: CellEncoding, cell: str, weights: np.ndarray, ops) -> dict:
    """Decision values of one cell type from its softmax weights `(E, K)`."""
    allowed = [k for k, op in enumerate(ops) if op != "none" and op in encoding.ops]
    comb = "add" if "add" in encoding.combinations else encoding.combinations[0]
    values, row = {}, 0
    for b in range(encoding.num_blocks):
        block = weights[row:row + b + 2][:, allowed]            # inputs 0 .. b+1
        row += b + 2
        strength = block.max(axis=1)
        best_inputs = sorted(np.argsort(-strength, kind="stable")[:2])
        p = f"{cell}_b{b}"
        for slot, i in zip((1, 2), best_inputs, strict=True):
            values[f"{p}_in{slot}"] = int(i)
            values[f"{p}_op{slot}"] = ops[allowed[int(np.argmax(block[i]))]]
        values[f"{p}_comb"] = comb
    return values


def count_op(arch: Architecture, op: str = "skip_connect", cell: str | None = None) -> int:
    """How many edges of `arch` carry `op` (in one cell type of a cell space when `cell` is given).

    Used to watch the collapse towards `skip_connect` (DARTS+ stops at 2 in the normal cell).
    """
    names = [n for n in arch.as_dict() if "_op" in n or n.startswith("edge_")]
    if cell is not None:
        names = [n for n in names if n.startswith(f"{cell}_")]
    return sum(arch[n] == op for n in names)
