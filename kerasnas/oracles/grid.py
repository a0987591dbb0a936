"""Grid search: every architecture of a small space exactly once, in a fixed order.

`GridSearch` walks the product of the space's decisions like an odometer,
the last decision turning fastest and each decision's default first. A
decision that is inactive (a layer past `num_layers`, an option of another
family) stays at its default, so the walk never visits the many assignments
that name the same network; an assignment is proposed only when it is
already canonical (`Encoding.architecture` leaves it unchanged), so what a
space's own normalisation merges (a cell block's two branches, stored
sorted) is proposed once, without a set of what was seen. The walk's
position is a list of one index per decision, saved in the oracle state, so
a search resumed with `overwrite=False` continues where it stopped.

Spaces too large to enumerate are refused before any trial, naming the size
(`Encoding.size()` where the space knows it, else the product of the
decisions' choice counts, an upper bound) and the fix.

Example:

>>> from kerasnas.oracles import GridSearch
>>> from kerasnas.spaces.encodings import NB201Encoding
>>> oracle = GridSearch(objective="accuracy", space=NB201Encoding(ops=("none", "skip_connect")))
>>> oracle.grid_size
64
>>> # keras_tuner.Tuner(oracle=oracle, hypermodel=...).search(...) runs all 64 once, then stops.
"""

from __future__ import annotations

import math

import keras_tuner

from kerasnas.oracles.base import ArchitectureOracle
from kerasnas.spaces.architecture import Encoding

#: Largest number of architectures `GridSearch` agrees to enumerate by default.
#: 100,000 trials is more than any search trains; the walk itself costs about
#: 0.1 ms per assignment, so the bound also keeps every proposal quick.
DEFAULT_MAX_SIZE = 100_000


class GridTooLargeError(keras_tuner.errors.FatalValueError):
    """The space has more architectures than `GridSearch(max_size=...)` enumerates."""


def grid_size(encoding: Encoding) -> tuple[int, bool]:
    """`(size, exact)`: how many architectures a grid over `encoding` walks through.

    `exact` is True when the encoding counts its own architectures
    (`Encoding.size()`); otherwise `size` is the product of the decisions'
    choice counts, an upper bound (inactive decisions and canonical forms
    make the real number smaller).
    """
    size = encoding.size()
    if size is not None:
        return int(size), True
    return math.prod(len(d.choices) for d in encoding.decisions), False


class GridSearch(ArchitectureOracle):
    """Exhaustive search: each distinct architecture of the space once, in a fixed order.

    The order is the odometer over the decisions in the encoding's order
    (the last decision changes fastest), each decision's choices in their
    order with its default first, so the first trial is the space's default
    architecture. Inactive decisions keep their default, and an assignment
    is proposed only if it is canonical, so each architecture comes up once.
    Architectures already evaluated, failed or running (a `warm_start`, or
    results answered from before a resume) are passed over. When the walk
    is done the search stops, even before `max_trials`.

    The walk assumes what all kerasnas encodings (and Keras Tuner's
    conditional hyperparameters) guarantee: whether a decision is active
    depends only on earlier decisions. An encoding that breaks it is
    reported with a `ValueError` as soon as the walk notices.

    A Keras Tuner `build(hp)` searched through `HPEncoding` may declare new
    hyperparameters as trials build it (e.g. one `units_{i}` per layer of
    a `layers` choice). When the space grows, the walk starts again over the
    grown space and passes over what was already evaluated (those trials ran
    with the new hyperparameters at their defaults, which is where the new
    walk visits them), so every configuration still runs once; the grown
    space's size is checked again.

    Args:
        objective: As in Keras Tuner (default None: set by the tuner).
        max_trials: Most trials to run (default None: the whole grid).
        max_size: Largest grid accepted (default 100,000,
            `DEFAULT_MAX_SIZE`); the size is `Encoding.size()` where the
            space defines it, else the product of the decisions' choice
            counts. A larger space raises `GridTooLargeError` before any
            trial: construction when `space=` is given, else the first
            trial's request.
        **kwargs: `space`, `seed` (unused by the walk), `warm_start` and the
            rest of `ArchitectureOracle`'s arguments.

    Raises:
        ValueError: `max_size` is not a positive int.
        GridTooLargeError: the space is larger than `max_size`.

    Example:

    >>> from kerasnas.oracles import GridSearch
    >>> from kerasnas.spaces.encodings import DenseEncoding
    >>> oracle = GridSearch(objective="val_accuracy",
    ...                     space=DenseEncoding(max_layers=2, units=(32, 64)))
    >>> oracle.grid_size  # 2 + 4 widths, x 4 activations x 4 dropouts x skip or not
    192
    >>> GridSearch(objective="val_accuracy", space=DenseEncoding()).grid_size
    10880
    >>> GridSearch(objective="val_accuracy", space=DenseEncoding(), max_size=1000)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kerasnas.oracles.grid.GridTooLargeError: GridSearch would enumerate 10,880 ...
    """

    def __init__(self, objective=None, max_trials=None, max_size=DEFAULT_MAX_SIZE, **kwargs):
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"max_size must be a positive int (the most architectures the grid "
                             f"may hold), got {max_size!r}; e.g. max_size={DEFAULT_MAX_SIZE}.")
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.max_size = int(max_size)
        self._walk_space = None  # key of the encoding the cursor walks
        self._cursor: list[int] = []  # rank (default first) of each decision's value, next to see
        self._done = False
        self._walk = None  # per-encoding tables, rebuilt on demand (not state)
        if self._space is not None:
            self._check_size(self.encoding)

    # ---------------------------------------------------------------- size
    @property
    def grid_size(self) -> int:
        """Architectures the grid walks through (an upper bound without `Encoding.size()`)."""
        return grid_size(self.encoding)[0]

    def _check_size(self, encoding: Encoding) -> None:
        size, exact = grid_size(encoding)
        if size > self.max_size:
            bound = "" if exact else (" (an upper bound: the product of the decisions' choice "
                                      "counts)")
            raise GridTooLargeError(
                f"GridSearch would enumerate {size:,} architectures{bound}, more than "
                f"max_size={self.max_size:,}. Shrink the space (fewer choices per decision, "
                f"e.g. NB201Encoding(ops=...) or fewer layers), pass a larger max_size= "
                f"(strategy_args={{'max_size': ...}} in kerasnas.search) if you mean to walk "
                f"it all, or use a sampling strategy (strategy='random', 'evolution', "
                f"'bayesian').")

    # ---------------------------------------------------------------- walk
    def _tables(self, encoding: Encoding):
        """`(names, orders)`: each decision's name and its choice indices, default first."""
        if self._walk is None or self._walk[0] is not encoding:
            names = [d.name for d in encoding.decisions]
            orders = []
            for d in encoding.decisions:
                first = d.index(d.default)
                orders.append([first] + [i for i in range(len(d.choices)) if i != first])
            self._walk = (encoding, names, orders)
        return self._walk[1], self._walk[2]

    def _values(self, encoding: Encoding) -> dict:
        names, orders = self._tables(encoding)
        return {name: d.choices[order[rank]] for name, d, order, rank
                in zip(names, encoding.decisions, orders, self._cursor, strict=True)}

    def _start(self, encoding: Encoding) -> None:
        """Puts the cursor at the first assignment of `encoding` (all defaults)."""
        self._check_size(encoding)
        self._walk_space = encoding.key
        self._cursor = [0] * len(encoding.decisions)
        self._done = False

    def _advance(self, encoding: Encoding, values: dict, active: set) -> tuple[dict, set]:
        """Moves the cursor to the next assignment whose inactive decisions hold their default.

        The last active decision that has a next choice takes it; every later
        decision goes back to its default. Returns the new values and active set.
        """
        names, orders = self._tables(encoding)
        cursor = self._cursor
        for k in range(len(cursor) - 1, -1, -1):
            if names[k] in active and cursor[k] + 1 < len(orders[k]):
                cursor[k] += 1
                cursor[k + 1:] = [0] * (len(cursor) - k - 1)
                new_values = self._values(encoding)
                new_active = encoding.active(new_values)
                changed = [n for n in names[:k + 1] if (n in active) != (n in new_active)]
                if changed:
                    raise ValueError(
                        f"GridSearch walks the decisions in order and needs each one's activity "
                        f"to depend only on earlier decisions, but {changed[0]!r} of "
                        f"{type(encoding).__name__} changed activity when later decisions did. "
                        "Declare the decisions that switch others on before them.")
                return new_values, new_active
        self._done = True
        return values, active

    def propose(self):
        encoding = self.encoding
        if self._walk_space != encoding.key:  # the first proposal, or the space grew
            self._start(encoding)
        if self._done:
            return None
        values = self._values(encoding)
        active = encoding.active(values)
        while not self._done:
            arch = encoding.architecture(values)
            canonical = all(a == values[d.name] and type(a) is type(values[d.name])
                            for d, a in zip(encoding.decisions, arch.values, strict=True))
            values, active = self._advance(encoding, values, active)
            if canonical and not self.is_known(arch):
                return arch
        return None

    def _random_unseen(self, tries=1000):
        """Never a random architecture: a finished grid stops the search."""
        return None

    # --------------------------------------------------------------- state
    def get_algorithm_state(self):
        return {"max_size": self.max_size, "space": self._walk_space,
                "cursor": list(self._cursor), "done": self._done}

    def set_algorithm_state(self, state):
        self.max_size = int(state["max_size"])
        self._walk_space = state["space"]
        self._cursor = [int(rank) for rank in state["cursor"]]
        self._done = bool(state["done"])
        self._walk = None
