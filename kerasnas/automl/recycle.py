"""Bounded memory for long searches: run the trials in child processes that are recycled.

TensorFlow keeps every `tf.function` that `model.fit` traces for as long as the
process lives: a search grows by 5-9 MB per trial in one process (measured in
`benchmarks/README.md`, "Kills, memory and disk"), ~1 GB per 100 trials and
several GB over 1,000. `kerasnas.search(..., trials_per_process=K)` bounds
that: the search runs in a child process (`python -m kerasnas.automl.child`) that
starts at most `K` new trials and exits; the next child resumes from Keras
Tuner's saved state (resuming is exact: the same trials, the same oracle
state), until the search is done. Then the calling process refits and
returns the result as usual. Memory is then at most one child's start-up plus
`K` trials' growth, and the caller itself holds one model.

Each child costs a Python + TensorFlow start-up and the reload of the search
(a few seconds, measured in `benchmarks/README.md`), so `K` trades memory
for time. The arguments travel to the child by pickle: arrays, DataFrames,
file names and kerasnas's own spaces and strategies do; a `tf.data.Dataset`,
or a class or function defined in the script being run (`__main__`), cannot,
and is refused before anything starts.

Example:

>>> result = kerasnas.search(x, y, max_trials=1000, trials_per_process=50)  # doctest: +SKIP
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kerasnas.tuner.features import StopSearch, TunerFeature

#: `tuner.stopped_by` in a child that has started its share of trials.
PROCESS_FULL = "trials_per_process"


class ChildDone(Exception):
    """Ends `kerasnas.search` in a child right after its trials (no refit in the child)."""

    def __init__(self, finished: bool, trials: int):
        super().__init__(finished, trials)
        self.finished, self.trials = finished, trials


def check_option(trials_per_process):
    """`trials_per_process` as a positive int or None (off); a clear error otherwise."""
    if trials_per_process is None:
        return None
    if isinstance(trials_per_process, bool) or not isinstance(trials_per_process, int) \
            or trials_per_process < 1:
        raise ValueError(f"trials_per_process must be an int >= 1 (trials each child process "
                         f"runs before a fresh one takes over) or None to run the search in "
                         f"this process, got {trials_per_process!r}.")
    return trials_per_process


# ------------------------------------------------------------ the child's feature
class ProcessShare(TunerFeature):
    """The tuner feature of a child process: at most `limit` new trials, then hand over.

    `before_trial` stops the search (`stopped_by = "trials_per_process"`) once this
    process started `limit` trials; `on_search_end` then ends the child's
    `kerasnas.search` call with `ChildDone` (no refit in the child).

    Example:

    >>> tuner = NASTuner(oracle, space, features=[ProcessShare(50)])   # doctest: +SKIP
    """

    def __init__(self, limit: int):
        self.limit = check_option(limit)

    def before_trial(self, tuner):
        if started_here(tuner) >= self.limit:
            raise StopSearch(PROCESS_FULL)

    def on_search_end(self, tuner):
        raise ChildDone(finished=tuner.stopped_by != PROCESS_FULL, trials=started_here(tuner))


def started_here(tuner) -> int:
    """Trials this process started (those of the resumed state not counted)."""
    return len(tuner.oracle.trials) - tuner.resumed_trials


# ---------------------------------------------------------------- the parent
class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        module = getattr(obj if isinstance(obj, type) else type(obj), "__module__", "")
        if module == "__main__" or getattr(obj, "__module__", "") == "__main__":
            raise ValueError(f"trials_per_process: {obj!r} is defined in the script being run "
                             "(__main__), so a child process cannot load it: move it to a "
                             "module, or leave trials_per_process=None.")
        return NotImplemented


def _dumps(kwargs: dict) -> bytes:
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(kwargs)
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        raise ValueError(f"trials_per_process: the search's arguments cannot be sent to a child "
                         f"process ({err}). Pass arrays or a DataFrame instead of a "
                         "tf.data.Dataset, names instead of objects where possible, or leave "
                         "trials_per_process=None.") from None
    return buffer.getvalue()


def search_in_children(search, kwargs: dict, trials_per_process: int):
    """Runs `search(**kwargs)`'s trials in recycled children, then finishes it here.

    Args:
        search: `kerasnas.search`.
        kwargs: Its arguments (`x` and `y` included), as `search`'s `locals()`.
        trials_per_process: Most trials one child starts.

    Returns:
        What `search(**kwargs)` returns: the refit, the result and its folder are the
        caller's, from the trials the children ran.
    """
    limit = check_option(trials_per_process)
    # `kwargs` is `search`'s locals(): its own arguments, with **space_args as one dict.
    kwargs = {**{k: v for k, v in kwargs.items() if k not in ("space_args", "trials_per_process")},
              **(kwargs.get("space_args") or {})}
    started = time.monotonic()
    budget = kwargs.get("time_budget")
    _dumps(kwargs)  # refuse what cannot travel before any child starts
    with tempfile.TemporaryDirectory(prefix="kerasnas-recycle-") as tmp:
        args_path, status_path = Path(tmp) / "args.pkl", Path(tmp) / "status.pkl"
        while True:
            child = dict(kwargs)
            if budget is not None:
                child["time_budget"] = budget - (time.monotonic() - started)
                if child["time_budget"] <= 0:
                    break
            args_path.write_bytes(_dumps(child))
            status_path.unlink(missing_ok=True)
            code = subprocess.call([sys.executable, "-m", "kerasnas.automl.child",
                                    str(args_path), str(status_path), str(limit)])
            status = pickle.loads(status_path.read_bytes()) if status_path.exists() else None
            if status is None or "error" in status:
                if status is not None and isinstance(status["error"], BaseException):
                    raise status["error"]
                raise RuntimeError(f"A trials_per_process child exited with code {code} "
                                   "without finishing its trials; see its output above. "
                                   "Finished trials are saved: the same call resumes them.")
            kwargs = {**kwargs, "overwrite": False}  # the next ones resume this search
            if status["finished"] or status["trials"] == 0:
                break
    if budget is not None:
        kwargs["time_budget"] = max(budget - (time.monotonic() - started), 1e-3)
    return search(**kwargs)


def run_child(search, args_path: str, status_path: str, limit: str) -> int:
    """The child's side: runs `search(**args, features=[ProcessShare(limit)])` from the
    pickled arguments and writes how it ended to `status_path` for the parent."""
    kwargs = pickle.loads(Path(args_path).read_bytes())
    try:
        features = [*(kwargs.pop("tuner_features", None) or []), ProcessShare(int(limit))]
        search(**kwargs, tuner_features=features)
        status = {"error": RuntimeError("The search returned without its trials' end.")}
    except ChildDone as done:
        status = {"finished": done.finished, "trials": done.trials}
    except Exception as err:  # noqa: BLE001 -- handed to the parent, which raises it
        try:
            pickle.dumps(err)
        except Exception:  # noqa: BLE001
            err = RuntimeError(f"{type(err).__name__}: {err}")
        status = {"error": err}
    Path(status_path).write_bytes(pickle.dumps(status))
    return 0
