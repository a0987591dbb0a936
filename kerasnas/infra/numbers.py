"""Small number checks shared by the result, report, plots and Pareto front (no TensorFlow).

Example:

>>> from kerasnas.infra.numbers import is_finite_number
>>> is_finite_number(0.93), is_finite_number(float("nan")), is_finite_number(None)
(True, False, False)
"""

from __future__ import annotations

import math


def is_finite_number(value) -> bool:
    """Whether `value` is a finite Python int or float (not None, NaN, inf, a bool or a string).

    Scores, metrics and curve values of trial records pass this test when
    they can be ranked, plotted or printed as numbers.
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)
