"""Every kerasnas oracle through a real Keras Tuner loop, alone or as chief + workers.

The trials look their score up instead of training, so what is measured is
the search engine: the oracle's proposals, Keras Tuner's trial files and, in
distributed mode, its gRPC round trips. NB201 oracles read the NAS-Bench-201
table; `net2net` (which grows `MacroEncoding` chains) gets a deterministic
synthetic score of the architecture. Every trial also reports `params`, a
stand-in cost that `ParetoEvolution` minimises.

Run one process per role, as on a cluster (Keras Tuner's variables pick the
role: `KERASTUNER_TUNER_ID=chief` serves the oracle, any other id is a worker):

    KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        python -m kerasnas.bench.scale --oracle evolution --max-trials 50 --directory run &
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        python -m kerasnas.bench.scale --oracle evolution --max-trials 50 --directory run

The chief writes `--out` (every trial's status, values, worker and score) when
the search is done.

Example (one process):

>>> from kerasnas.bench.scale import make_oracle, run_lookup_search
>>> oracle = make_oracle("evolution", seed=1, max_trials=20)        # doctest: +SKIP
>>> tuner = run_lookup_search(oracle, "evolution", csv, "/tmp/run")  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import keras_tuner

#: name -> (class in kerasnas.oracles, keyword arguments, space: "nb201" or "macro").
ORACLES = {
    "random": ("RandomSearch", {}, "nb201"),
    "evolution": ("RegularizedEvolution", {}, "nb201"),
    "bayesian": ("BayesianOptimization", {}, "nb201"),
    "reinforce": ("ReinforceController", {}, "nb201"),
    "ppo": ("ReinforceController", {"ppo": True}, "nb201"),
    "pareto": ("ParetoEvolution", {"cost_metric": "params"}, "nb201"),
    "net2net": ("Net2NetSearch", {}, "macro"),
}

#: Longest a worker's first trial waits for the others (`LookupTuner(barrier=...)`): longer
#: than a loaded machine's TensorFlow start-up, short enough that a dead worker only delays.
BARRIER_TIMEOUT_S = 60.0

#: The project keeps the NAS-Bench-201 table next to the repository, not in the package.
DEFAULT_CSV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nb201_cifar10.csv"


def encoding_of(space: str):
    """The `Encoding` an oracle of `ORACLES` searches."""
    from kerasnas.spaces.encodings import MacroEncoding, NB201Encoding

    return NB201Encoding() if space == "nb201" else MacroEncoding()


def make_oracle(name: str, seed: int = 0, max_trials: int = 100, **kwargs):
    """A fresh oracle of `ORACLES[name]` maximising `"accuracy"`."""
    import kerasnas.oracles

    if name not in ORACLES:
        raise ValueError(f"Unknown oracle {name!r}; choose one of {sorted(ORACLES)}.")
    cls, extra, space = ORACLES[name]
    return getattr(kerasnas.oracles, cls)(objective="accuracy", max_trials=max_trials, seed=seed,
                                          space=encoding_of(space), **{**extra, **kwargs})


class Scorer:
    """Score and cost of an architecture: the NB201 table, or a synthetic score.

    The synthetic score (for spaces the table does not cover) is a fixed
    pseudo-random number in [50, 90) per architecture string, so a search
    sees the same landscape in every process and every run.
    """

    def __init__(self, space: str, csv=None):
        self.encoding = encoding_of(space)
        self.table = None
        if space == "nb201":
            from kerasnas.bench.nb201 import load_nb201_table

            self.table = load_nb201_table(csv or DEFAULT_CSV)

    def __call__(self, hp_values) -> tuple[float, float]:
        arch = self.encoding.from_hp_values(hp_values)
        key = str(arch)
        digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 16**8
        cost = float(sum(len(str(v)) for v in arch.values))  # any cost that differs by arch
        if self.table is not None:
            return float(self.table[key]), cost
        return 50.0 + 40.0 * digest, cost


class LookupHyperModel(keras_tuner.HyperModel):
    """Declares an encoding's hyperparameters and builds nothing."""

    def __init__(self, encoding):
        super().__init__(name="lookup")
        self.encoding = encoding

    def build(self, hp):
        self.encoding.declare(hp)


class LookupTuner(keras_tuner.Tuner):
    """A `keras_tuner.Tuner` whose trials report `Scorer`'s score after `sleep` seconds.

    Args:
        oracle: Any kerasnas oracle (see `make_oracle`).
        scorer: A `Scorer`.
        sleep: Seconds each trial waits before reporting (default 0): a
            stand-in for training time, so engine throughput is measured
            with trials of a known length.
        started: Optional path; each trial appends `"start <worker> <trial id>
            <unix time>"` when it starts and an `"end ..."` line before it
            reports (tests kill a worker mid-trial by it; benchmarks time it).
        barrier: With `started`, the first trial of each worker waits (at
            most `BARRIER_TIMEOUT_S`) until this many workers have begun one,
            so a worker whose TensorFlow start-up was fast cannot finish every
            trial before the others connect (default 0: no wait).
        **kwargs: Passed to `keras_tuner.Tuner`.
    """

    def __init__(self, oracle, scorer, sleep=0.0, started=None, barrier=0, **kwargs):
        self.scorer = scorer
        self.sleep = float(sleep)
        self.started = started
        self.barrier = int(barrier)
        self._waited = False
        self.oracle_seconds: list[float] = []
        self.io_seconds: list[float] = []  # the part of oracle_seconds spent writing JSON
        self.cpu_seconds: list[float] = []  # this process's CPU time over the same span
        self._io_total = 0.0
        super().__init__(oracle=oracle, hypermodel=LookupHyperModel(scorer.encoding), **kwargs)
        if not hasattr(self.oracle, "stub"):  # a local oracle (not a worker's gRPC client)
            from kerasnas.bench.nb201 import time_oracle_io

            time_oracle_io(self)

    def run_trial(self, trial, *args, **kwargs):
        worker = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
        self._log("start", worker, trial)
        if self.barrier and self.started and not self._waited:
            self._wait_for_workers()
        if self.sleep:
            time.sleep(self.sleep)
        score, cost = self.scorer(trial.hyperparameters.values)
        self._log("end", worker, trial)
        number = float(worker[5:]) if worker.startswith("tuner") and worker[5:].isdigit() else -1.0
        return {"accuracy": score, "params": cost, "worker": number}

    def _wait_for_workers(self):
        self._waited = True
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while time.monotonic() < deadline:
            lines = Path(self.started).read_text().splitlines()
            if len({line.split()[1] for line in lines if line.startswith("start ")}) >= self.barrier:
                return
            time.sleep(0.05)

    def _log(self, event, worker, trial):
        if self.started:  # one line per event, appended whole: "<event> <worker> <trial> <time>"
            with open(self.started, "a") as f:
                f.write(f"{event} {worker} {trial.trial_id} {time.time():.6f}\n")

    def pre_create_trial(self):
        self._started_at, self._io_at = time.perf_counter(), self._io_total
        self._cpu_at = time.process_time()

    def on_trial_begin(self, trial):
        self._create = (time.perf_counter() - self._started_at, self._io_total - self._io_at,
                        time.process_time() - self._cpu_at)

    def on_trial_end(self, trial):
        start, io_start, cpu_start = time.perf_counter(), self._io_total, time.process_time()
        self.oracle.end_trial(trial)
        self.cpu_seconds.append(self._create[2] + time.process_time() - cpu_start)
        self.oracle_seconds.append(self._create[0] + time.perf_counter() - start)
        self.io_seconds.append(self._create[1] + self._io_total - io_start)
        self.save()


def run_lookup_search(oracle, name, directory, *, csv=None, sleep=0.0, started=None,
                      overwrite=False, barrier=0):
    """Runs `oracle` (made by `make_oracle(name, ...)`) to its `max_trials`; returns the tuner."""
    scorer = Scorer(ORACLES[name][2], csv)
    tuner = LookupTuner(oracle, scorer, sleep=sleep, started=started, barrier=barrier,
                        directory=os.fspath(directory), project_name=name, overwrite=overwrite)
    tuner.search(verbose=0)
    return tuner


def trial_summary(oracle) -> list[dict]:
    """Status, values, worker and score of every trial, in start order (JSON-ready)."""
    rows = []
    for trial_id in oracle.start_order:
        trial = oracle.trials[trial_id]
        worker = trial.metrics.get_last_value("worker") if trial.metrics.exists("worker") \
            else None
        rows.append({"trial_id": trial_id, "status": trial.status, "score": trial.score,
                     "worker": worker, "values": trial.hyperparameters.values})
    return rows


def main(argv=None) -> int:
    """One role of a distributed lookup search (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--oracle", required=True, choices=sorted(ORACLES))
    parser.add_argument("--max-trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--directory", required=True)
    parser.add_argument("--csv", default=None, help="NAS-Bench-201 table (default: ../shared)")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds per trial")
    parser.add_argument("--started", default=None, help="file each trial start is logged to")
    parser.add_argument("--out", default=None, help="chief: trial summary JSON")
    parser.add_argument("--worker-timeout", type=float, default=None)
    parser.add_argument("--barrier", type=int, default=0,
                        help="with --started: first trials wait until this many workers began one")
    args = parser.parse_args(argv)
    oracle = make_oracle(args.oracle, seed=args.seed, max_trials=args.max_trials,
                         worker_timeout=args.worker_timeout)
    start = time.perf_counter()
    tuner = run_lookup_search(oracle, args.oracle, args.directory, csv=args.csv,
                              sleep=args.sleep, started=args.started, barrier=args.barrier)
    if args.out and os.environ.get("KERASTUNER_TUNER_ID", "chief") == "chief":
        summary = {"wall_s": time.perf_counter() - start, "trials": trial_summary(tuner.oracle)}
        Path(args.out).write_text(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
