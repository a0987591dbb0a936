"""Rank agreement between an estimate and the truth: Kendall tau and Spearman rho.

Pure numpy/scipy (no TensorFlow). Both ignore pairs with a NaN on either side.

Example:

>>> kendall_tau([1, 2, 3, 4], [10, 20, 40, 30])
0.6666666666666666
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _clean(estimate, truth):
    a = np.asarray(estimate, dtype=np.float64)
    b = np.asarray(truth, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"estimate and truth must be 1-D and of equal length; got shapes "
                         f"{a.shape} and {b.shape}.")
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def kendall_tau(estimate, truth) -> float:
    """Kendall's tau-b between two score lists (NaN with fewer than 3 finite pairs)."""
    a, b = _clean(estimate, truth)
    if len(a) < 3:
        return float("nan")
    return float(stats.kendalltau(a, b).statistic)


def spearman_rho(estimate, truth) -> float:
    """Spearman's rank correlation between two score lists (NaN with fewer than 3 pairs)."""
    a, b = _clean(estimate, truth)
    if len(a) < 3:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)
