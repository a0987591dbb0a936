"""`DartsOracle`: the one trial of a DARTS search, seen by Keras Tuner like any other.

DARTS is one-shot: there is no propose/observe loop. This oracle runs the
supernet search once (through a `runner` callable, when Keras Tuner asks for
the first trial), proposes the derived `Architecture` as that trial, and keeps
the search's record (α trajectory, derived cells per epoch) in its state, so
`oracle.json` holds it and a resumed search (`overwrite=False`) does not run
the supernet again. The record is also written to `<project>/darts.json`,
where `SearchResult` finds it.

It imports neither Keras layers nor TensorFlow: the runner (from
`kerasnas.darts.one_liner`) does the training.

Example:

>>> oracle = DartsOracle("val_accuracy", runner=lambda: record, seed=1)   # doctest: +SKIP
>>> tuner = kerasnas.tuner.loop.NASTuner(oracle, CellSpace((8, 8, 1), 10))    # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import keras_tuner

from kerasnas.oracles.base import ArchitectureOracle

#: File in the Keras Tuner project folder holding the DARTS record (`SearchResult.darts`).
RECORD_FILE = "darts.json"


class DartsOracle(ArchitectureOracle):
    """Proposes the architecture DARTS derived; one trial in all.

    Args:
        objective: As for any `ArchitectureOracle`.
        runner: Callable with no arguments that runs the supernet search and returns
            its record (`DartsResult.record()`: a dict with at least `"architecture"`).
            None is allowed only when the state is reloaded from a finished search.
        seed: As for any `ArchitectureOracle`.
        **kwargs: Passed to `ArchitectureOracle` (`max_trials` is always 1).
    """

    def __init__(self, objective=None, *, runner=None, seed=None, **kwargs):
        kwargs.pop("max_trials", None)
        kwargs.pop("warm_start", None)  # DARTS's one trial is its derived architecture
        super().__init__(objective=objective, max_trials=1, seed=seed, **kwargs)
        self.runner = runner
        #: The DARTS record (None until the supernet search ran).
        self.record = None

    def propose(self):
        if self.record is None:
            if self.runner is None:
                raise keras_tuner.errors.FatalError(
                    "DartsOracle has no runner: pass runner= (see kerasnas.darts.one_liner).")
            self.record = self.runner()
            self.write_record()
        return self.encoding.from_string(self.record["architecture"])

    def populate_space(self, trial_id):
        if self.record is not None and self.is_known(self.propose()):
            return {"status": "STOPPED"}  # its one trial ran already
        return super().populate_space(trial_id)

    def write_record(self) -> None:
        """Writes the record to `<project>/darts.json` (where `SearchResult` reads it)."""
        folder = getattr(self, "_project_dir", None)
        if folder and self.record is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / RECORD_FILE).write_text(json.dumps(self.record))

    def get_algorithm_state(self) -> dict:
        return {"darts": self.record}

    def set_algorithm_state(self, state: dict) -> None:
        self.record = state.get("darts")


def read_record(directory) -> dict | None:
    """The DARTS record of the search in `directory` (a Keras Tuner project), or None."""
    if directory is None:
        return None
    path = Path(directory) / RECORD_FILE
    return json.loads(path.read_text()) if path.exists() else None
