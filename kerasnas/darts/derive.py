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


def deepen(arch: Architecture, num_cells: int) -> Architecture:
    """D-DARTS's deeper network from a few searched cells (Heuillet et al., 2021).

    `arch` holds one genotype per cell (`CellEncoding(macro=True)`, searched by
    `strategy="ddarts"`: an α per cell, not one shared by all cells). The network
    of `num_cells` cells keeps the stage layout (reductions at `num_cells // 3`
    and `2 * num_cells // 3`, `CellSpace`'s rule): its reduction cells take the
    searched reduction cells' genotypes, in order, and the normal cells of each
    stage cycle through the searched normal cells of the same stage (through all
    searched normal cells when that stage had none).

    Args:
        arch: An architecture of a `CellEncoding` with `macro=True`.
        num_cells: Cells of the deeper network (at least the searched number).

    Returns:
        An architecture of `CellEncoding(..., macro=True, num_cells=num_cells)`, to
        build with `CellSpace(..., macro=True, num_cells=num_cells)`.

    Example:

    >>> enc = CellEncoding(num_blocks=2, ops=("skip_connect", "sep_conv_3x3"), macro=True,
    ...                    num_cells=3)
    >>> deep = deepen(enc.default(), 9)
    >>> deep.encoding.num_cells
    9
    """
    encoding = arch.encoding
    if not isinstance(encoding, CellEncoding) or not encoding.macro:
        raise ValueError("deepen() takes an architecture with one genotype per cell "
                         "(CellSpace(..., macro=True), what strategy='ddarts' searches).")
    searched = encoding.num_cells
    if isinstance(num_cells, bool) or int(num_cells) != num_cells or num_cells < searched:
        raise ValueError(f"num_cells must be an int >= the {searched} searched cells; got "
                         f"{num_cells!r}.")
    num_cells = int(num_cells)

    def layout(n):
        reductions = sorted({n // 3, 2 * n // 3})
        stages = [[i for i in range(n) if i not in reductions and
                   sum(i > r for r in reductions) == stage] for stage in range(3)]
        return reductions, stages

    old_reductions, old_stages = layout(searched)
    new_reductions, new_stages = layout(num_cells)
    all_normal = [i for stage in old_stages for i in stage] or list(old_reductions)
    source = {}
    for k, cell in enumerate(new_reductions):
        source[cell] = old_reductions[min(k, len(old_reductions) - 1)]
    for stage, cells in enumerate(new_stages):
        pool = old_stages[stage] or all_normal
        for k, cell in enumerate(cells):
            source[cell] = pool[k % len(pool)]
    deeper = CellEncoding(num_blocks=encoding.num_blocks, ops=encoding.ops,
                          combinations=encoding.combinations, macro=True, num_cells=num_cells)
    values = {}
    for cell in range(num_cells):
        for name in (d.name for d in encoding.decisions
                     if d.name.startswith(f"cell{source[cell]}_")):
            values[f"cell{cell}_" + name.split("_", 1)[1]] = arch[name]
    return deeper.architecture(values)
