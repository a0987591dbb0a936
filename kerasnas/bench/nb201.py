"""Search strategies on NAS-Bench-201 by table lookup, through the real Keras Tuner loop.

NAS-Bench-201 (Dong & Yang, 2020) trained all 15,625 cells of its space; the
table maps each cell's string to its CIFAR-10 test accuracy. `run_search`
drives any `keras_tuner.Oracle` (a kerasnas strategy, or Keras Tuner's own
`RandomSearchOracle` / `BayesianOptimizationOracle`) through an ordinary
`keras_tuner.Tuner` whose trials look the accuracy up instead of training, so a
300-trial search takes about a second and exercises exactly the code path a
real search uses (trial creation, JSON persistence, `end_trial`).

Example:

>>> from kerasnas.bench.nb201 import load_nb201_table, run_search, best_so_far
>>> from kerasnas.oracles import RandomSearch
>>> table = load_nb201_table("../shared/data/nb201_cifar10.csv")  # doctest: +SKIP
>>> runs = run_search(RandomSearch(objective="accuracy", seed=1), table,
...                   max_trials=50)                              # doctest: +SKIP
>>> best_so_far([acc for _, acc in runs])[-1]                    # doctest: +SKIP
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Mapping, Sequence

import keras_tuner
import numpy as np

from kerasnas.spaces.encodings import NB201Encoding

#: Metric name the lookup tuner reports; oracles must maximise it.
OBJECTIVE = "accuracy"

#: Column of the shipped table holding CIFAR-10 test accuracy (percent).
DEFAULT_COLUMN = "cifar10_test_acc"


def load_nb201_table(path, column: str | None = None) -> dict[str, float]:
    """Reads the NAS-Bench-201 table: `{cell string: accuracy}`.

    The file is a CSV with a header: an `arch` column holding NB201 cell
    strings and one accuracy column. Every one of the 15,625 cells must appear
    exactly once, so any proposal of any strategy can be looked up.

    Args:
        path: Path of the CSV file (the project keeps it at
            `../shared/data/nb201_cifar10.csv`; it is not part of the package).
        column: Accuracy column to read. Default None: the file's only column
            besides `arch`.

    Returns:
        Dict from canonical cell string to accuracy (percent).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: The file is not a complete, well-formed NB201 table.

    Example:

    >>> table = load_nb201_table("../shared/data/nb201_cifar10.csv")  # doctest: +SKIP
    >>> max(table.values())                                          # doctest: +SKIP
    94.37
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(
            f"NAS-Bench-201 table not found at {str(path)!r}. Pass the path of the CSV "
            "(columns `arch` and an accuracy column), e.g. ../shared/data/nb201_cifar10.csv "
            "relative to the kerasnas repository root."
        )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or "arch" not in header:
            raise ValueError(
                f"{path} is not a NAS-Bench-201 table: its header must name an `arch` column, "
                f"got {header!r}."
            )
        arch_col = header.index("arch")
        acc_col = _accuracy_column(header, column, path)
        encoding = NB201Encoding()
        table: dict[str, float] = {}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                key = str(encoding.from_string(row[arch_col]))
                accuracy = float(row[acc_col])
            except (IndexError, ValueError) as err:
                raise ValueError(f"{path}, line {line}: malformed row {row!r} ({err}).") from None
            if not math.isfinite(accuracy):
                raise ValueError(f"{path}, line {line}: accuracy {row[acc_col]!r} is not finite.")
            if key in table:
                raise ValueError(f"{path}, line {line}: cell {key} appears twice.")
            table[key] = accuracy
    if len(table) != encoding.size():
        raise ValueError(
            f"{path} holds {len(table)} cells; a NAS-Bench-201 table needs all "
            f"{encoding.size()} so every proposal can be looked up."
        )
    return table


def _accuracy_column(header, column, path) -> int:
    if column is not None:
        if column not in header:
            raise ValueError(f"{path} has no column {column!r}; its columns are {header!r}.")
        return header.index(column)
    others = [i for i, name in enumerate(header) if name != "arch"]
    if len(others) != 1:
        raise ValueError(
            f"{path} has several accuracy columns {[header[i] for i in others]!r}; "
            "pass `column=` to choose one."
        )
    return others[0]


class NB201Lookup:
    """Evaluates NB201 cells by looking their accuracy up in a table.

    Args:
        table: `{cell string: accuracy}`, as returned by `load_nb201_table`.

    Example:

    >>> lookup = NB201Lookup(load_nb201_table(path))        # doctest: +SKIP
    >>> lookup(lookup.encoding.sample(np.random.default_rng(0)))  # doctest: +SKIP
    """

    def __init__(self, table: Mapping[str, float]):
        if not isinstance(table, Mapping) or not table:
            raise TypeError(
                "NB201Lookup needs a non-empty dict {cell string: accuracy}; "
                "load one with load_nb201_table(path)."
            )
        self.table = table
        self.encoding = NB201Encoding()

    @property
    def optimum(self) -> float:
        """The best accuracy in the table."""
        return max(self.table.values())

    def architecture(self, hp_values: Mapping) -> str:
        """Cell string of a trial's hyperparameter values (kerasnas or plain Keras Tuner)."""
        return str(self.encoding.from_hp_values(hp_values))

    def __call__(self, arch) -> float:
        """Accuracy of an `Architecture`, a cell string, or a dict of hp values."""
        if isinstance(arch, Mapping):
            arch = self.architecture(arch)
        key = str(arch)
        try:
            return self.table[key]
        except KeyError:
            raise keras_tuner.errors.FatalValueError(
                f"Cell {key!r} is not in the NAS-Bench-201 table; the table must cover "
                "the whole space (load it with load_nb201_table)."
            ) from None


class NB201HyperModel(keras_tuner.HyperModel):
    """Declares the NB201 cell's hyperparameters and builds nothing.

    Keras Tuner's own oracles sample these hyperparameters directly; kerasnas
    oracles recognise the space through the `kerasnas_space` value.
    """

    def __init__(self):
        super().__init__(name="nb201_lookup")
        self.encoding = NB201Encoding()

    def declare_hyperparameters(self, hp):
        self.encoding.declare(hp)

    def build(self, hp):
        self.encoding.declare(hp)
        return None


def time_oracle_io(tuner) -> None:
    """Wraps `tuner.oracle`'s JSON writes (`save`, `_save_trial`) so that the seconds they
    take add up in `tuner._io_total`: what the lookup tuners subtract to give an oracle's
    own time per trial. Instance attributes shadow the methods only for this oracle."""
    def timed(method):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                tuner._io_total += time.perf_counter() - start
        return wrapper

    for name in ("save", "_save_trial"):
        setattr(tuner.oracle, name, timed(getattr(tuner.oracle, name)))


class NB201LookupTuner(keras_tuner.Tuner):
    """A `keras_tuner.Tuner` whose trials report the table's accuracy.

    It times each trial's stay in the oracle: `oracle_seconds` holds the time
    in `oracle.create_trial` plus `oracle.end_trial`, and `io_seconds` the part
    of it spent writing Keras Tuner's JSON files (`oracle.save`,
    `oracle._save_trial`), so `oracle_seconds - io_seconds` is the strategy's
    own cost.

    Args:
        oracle: Any `keras_tuner.Oracle` maximising `"accuracy"`.
        table: `{cell string: accuracy}` or an `NB201Lookup`.
        **kwargs: Passed to `keras_tuner.Tuner` (`directory`, `project_name`,
            `overwrite`).

    Example:

    >>> tuner = NB201LookupTuner(RandomSearch(objective="accuracy", max_trials=20, seed=1),
    ...                          table, directory=tmp)     # doctest: +SKIP
    >>> tuner.search(verbose=0)                           # doctest: +SKIP
    """

    def __init__(self, oracle, table, **kwargs):
        self.lookup = table if isinstance(table, NB201Lookup) else NB201Lookup(table)
        self.oracle_seconds: list[float] = []
        self.io_seconds: list[float] = []
        self._io_total = 0.0
        self._started = self._io_started = 0.0
        super().__init__(oracle=oracle, hypermodel=NB201HyperModel(), **kwargs)
        time_oracle_io(self)


    def run_trial(self, trial, *args, **kwargs):
        return {OBJECTIVE: self.lookup(trial.hyperparameters.values)}

    def pre_create_trial(self):
        self._started, self._io_started = time.perf_counter(), self._io_total

    def on_trial_begin(self, trial):
        self._create = (time.perf_counter() - self._started, self._io_total - self._io_started)

    def on_trial_end(self, trial):
        start, io_start = time.perf_counter(), self._io_total
        self.oracle.end_trial(trial)
        self.oracle_seconds.append(self._create[0] + time.perf_counter() - start)
        self.io_seconds.append(self._create[1] + self._io_total - io_start)
        self.save()


def _check_objective(oracle):
    objective = oracle.objective
    if objective is None or getattr(objective, "name", None) == "default_objective":
        oracle.objective = keras_tuner.Objective(OBJECTIVE, direction="max")
        return
    if getattr(objective, "name", None) != OBJECTIVE or objective.direction != "max":
        raise ValueError(
            f"The NB201 lookup reports {OBJECTIVE!r}; create the oracle with "
            f"objective={OBJECTIVE!r} (maximised), not {objective!r}."
        )


def run_search(oracle, table, max_trials: int, directory=None, timings: list | None = None
               ) -> list[tuple[str, float]]:
    """Runs `oracle` for `max_trials` lookup trials through a real Keras Tuner search.

    Args:
        oracle: A fresh `keras_tuner.Oracle` (kerasnas or Keras Tuner's own),
            with `objective="accuracy"` or no objective. Its `max_trials` is set
            to `max_trials`.
        table: `{cell string: accuracy}` or an `NB201Lookup`.
        max_trials: Number of trials (queries to the table).
        directory: Where Keras Tuner writes its per-trial JSON. Default None:
            a temporary directory, deleted afterwards.
        timings: Optional list; for each trial a pair `(oracle seconds, JSON
            I/O seconds)` is appended: the time in `create_trial` +
            `end_trial`, and the part of it Keras Tuner spent writing files.

    Returns:
        `[(cell string, accuracy), ...]` of the completed trials, in trial order.

    Example:

    >>> run_search(RandomSearch(objective="accuracy", seed=2), table, 10)  # doctest: +SKIP
    """
    if not isinstance(oracle, keras_tuner.Oracle):
        raise TypeError(f"oracle must be a keras_tuner.Oracle, got {type(oracle).__name__}.")
    if isinstance(max_trials, bool) or not isinstance(max_trials, (int, np.integer)) \
            or max_trials < 1:
        raise ValueError(f"max_trials must be a positive int, got {max_trials!r}.")
    lookup = table if isinstance(table, NB201Lookup) else NB201Lookup(table)
    _check_objective(oracle)
    oracle.max_trials = int(max_trials)
    if directory is None:
        with tempfile.TemporaryDirectory(prefix="kerasnas-nb201-") as tmp:
            return run_search(oracle, lookup, max_trials, tmp, timings)
    tuner = NB201LookupTuner(oracle, lookup, directory=os.fspath(directory),
                             project_name="nb201", overwrite=True)
    tuner.search(verbose=0)
    if timings is not None:
        timings.extend(zip(tuner.oracle_seconds, tuner.io_seconds, strict=True))
    return trial_results(tuner.oracle, lookup)


def trial_results(oracle, table) -> list[tuple[str, float]]:
    """`(cell string, accuracy)` of an oracle's completed trials, in the order they started."""
    lookup = table if isinstance(table, NB201Lookup) else NB201Lookup(table)
    results = []
    for trial_id in oracle.start_order:
        trial = oracle.trials[trial_id]
        if trial.status == "COMPLETED":
            results.append((lookup.architecture(trial.hyperparameters.values), trial.score))
    return results


def best_so_far(accuracies: Sequence[float]) -> np.ndarray:
    """Running maximum: entry `i` is the best accuracy within the first `i + 1` queries."""
    return np.maximum.accumulate(np.asarray(accuracies, dtype=float))


def best_at(results: Sequence[tuple[str, float]], budget: int) -> float:
    """Best accuracy found within the first `budget` trials of `run_search` results."""
    if budget < 1 or budget > len(results):
        raise ValueError(f"budget must be in [1, {len(results)}], got {budget}.")
    return max(acc for _, acc in results[:budget])
