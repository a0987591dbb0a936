"""Argument checks shared by `kerasnas.search`, the CLI and `kerasnas.data`.

Each check raises a `ValueError` or `TypeError` that names the argument, the
bad value and what to pass instead, so a mistake surfaces before any training.

Example:

>>> from kerasnas.infra.validation import validate_budget, validate_choice
>>> validate_choice("strategy", "Evolution", ("random", "evolution"))
'evolution'
>>> validate_budget(max_trials=10, time_budget=60, epochs=5)
(10, 60.0, 5)
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable


def validate_choice(name: str, value, allowed: Iterable[str]) -> str:
    """Checks that `value` is one of the names in `allowed`.

    The match ignores case, so `"Evolution"` matches `"evolution"`; the
    returned name is spelled as in `allowed`.

    Args:
        name: What the value is, for the message, e.g. `"strategy"`.
        value: The value given by the user.
        allowed: The accepted names.

    Returns:
        The accepted name, spelled as in `allowed`.

    Raises:
        TypeError: if `value` is not a string.
        ValueError: if `value` is not in `allowed`; the message lists the
            choices and suggests the closest one.

    Example:

    >>> validate_choice("space", "cel", ("cell", "macro"))
    Traceback (most recent call last):
    ...
    ValueError: Unknown space 'cel'; did you mean 'cell'? Choose one of: 'cell', 'macro'.
    """
    allowed = tuple(allowed)
    choices = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of: {choices}; got {value!r} "
                        f"({type(value).__name__}).")
    by_lower = {a.lower(): a for a in allowed}
    if value.lower() in by_lower:
        return by_lower[value.lower()]
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.5)
    hint = f"; did you mean {by_lower[close[0]]!r}?" if close else "."
    raise ValueError(f"Unknown {name} {value!r}{hint} Choose one of: {choices}.")


def validate_budget(max_trials=None, time_budget=None, epochs=None):
    """Checks the search budget: each given part must be a positive number.

    Args:
        max_trials: Most trials, a positive int, or None (default: no limit).
        time_budget: Wall-clock seconds, a positive finite number, or None
            (default: no limit).
        epochs: Training epochs per trial, a positive int, or None (default:
            not checked).

    Returns:
        `(max_trials, time_budget, epochs)` as Python `int`, `float`, `int`
        (None stays None).

    Raises:
        TypeError: if a value has the wrong type (bools are rejected).
        ValueError: if a value is <= 0, or not finite, or both `max_trials`
            and `time_budget` are None (the search would never stop).

    Example:

    >>> validate_budget(max_trials=0)
    Traceback (most recent call last):
    ...
    ValueError: max_trials must be > 0; got 0. Pass a positive int, e.g. max_trials=10.
    """
    if max_trials is None and time_budget is None:
        raise ValueError("The search needs a budget: pass max_trials, time_budget (seconds) "
                         "or both; both are None.")
    max_trials = _positive_int("max_trials", max_trials, example=10)
    epochs = _positive_int("epochs", epochs, example=10)
    if time_budget is not None:
        if isinstance(time_budget, bool) or not isinstance(time_budget, numbers.Real):
            raise TypeError(f"time_budget must be a number of seconds or None; got "
                            f"{time_budget!r} ({type(time_budget).__name__}).")
        if not math.isfinite(time_budget) or time_budget <= 0:
            raise ValueError(f"time_budget must be a finite number of seconds > 0; got "
                             f"{time_budget!r}. Pass e.g. time_budget=600, or None for no "
                             "time limit.")
        time_budget = float(time_budget)
    return max_trials, time_budget, epochs


def _positive_int(name, value, *, example):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int or None; got {value!r} "
                        f"({type(value).__name__}).")
    if value <= 0:
        raise ValueError(f"{name} must be > 0; got {value!r}. Pass a positive int, "
                         f"e.g. {name}={example}.")
    return int(value)
