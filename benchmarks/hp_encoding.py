"""kerasnas oracles on a user's own Keras Tuner `build(hp)` (issue #14).

Two measurements, both through real `keras_tuner.Tuner` searches:

1. `nb201`: the NAS-Bench-201 lookup written as a plain user `build(hp)` (one
   `hp.Choice` per edge, no kerasnas space, so the oracle derives an
   `HPEncoding`) against the same oracle through `NB201HyperModel` (the
   kerasnas `NB201Encoding`). Same seeds, same query budget; the claim is that
   both give the same best-found accuracy within the seed spread.
2. `mixed`: a mixed continuous / categorical / conditional tuning problem with
   a known optimum (score 1.0), a synthetic function evaluated in `run_trial`,
   kerasnas oracles against Keras Tuner's RandomSearch, BayesianOptimization
   and Hyperband, at equal trials and at equal wall time. Each full trial
   "trains" by sleeping `--trial-seconds` (scaled by the epochs Hyperband
   gives it), so wall time counts oracle overhead plus a simulated training
   cost without loading the shared CPU.

Usage:

    .venv/bin/python benchmarks/hp_encoding.py nb201 --seeds 100 --trials 100 --jobs 2
    .venv/bin/python benchmarks/hp_encoding.py mixed --seeds 10 --trials 40 --seconds 8

Prints Markdown tables (mean ± standard deviation over seeds).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NB201_CSV = ROOT.parent / "shared" / "data" / "nb201_cifar10.csv"
#: Keras Tuner's seed for run s (its streams for seeds s and s + 1 overlap otherwise,
#: see benchmarks/nb201_strategies.py).
KT_SEED_STRIDE = 10007

KERASNAS = {
    "random": ("kerasnas.oracles.random_search", "RandomSearch", {}),
    "evolution": ("kerasnas.oracles.evolution", "RegularizedEvolution", {}),
    "bayesian": ("kerasnas.oracles.bayesian", "BayesianOptimization", {}),
    "reinforce": ("kerasnas.oracles.controller", "ReinforceController", {}),
}
KERAS_TUNER = {
    "kt-random": "RandomSearchOracle",
    "kt-bayesian": "BayesianOptimizationOracle",
    "kt-hyperband": "HyperbandOracle",
}


def _kerasnas(name, seed, trials, objective):
    module, cls, kwargs = KERASNAS[name]
    return getattr(importlib.import_module(module), cls)(
        objective=objective, max_trials=trials, seed=seed, **kwargs)


# --------------------------------------------------------------------- NB201
def _nb201_run(task):
    """One (oracle, variant, seed) search; returns the accuracies of its trials in order."""
    import keras_tuner as kt

    from kerasnas.bench.nb201 import NB201Lookup, load_nb201_table, run_search
    from kerasnas.spaces.encodings import NB201_OPS, NB201Encoding

    name, variant, seed, trials = task
    lookup = _nb201_run.lookup = getattr(_nb201_run, "lookup", None) or NB201Lookup(
        load_nb201_table(NB201_CSV))
    oracle = _kerasnas(name, seed, trials, kt.Objective("accuracy", "max"))
    start = time.perf_counter()
    if variant == "NB201Space":
        results = [acc for _, acc in run_search(oracle, lookup, trials)]
        return name, variant, seed, results, time.perf_counter() - start
    encoding = NB201Encoding()

    def build(hp):  # what a Keras Tuner user writes: one Choice per edge of the cell
        for i in range(len(encoding.decisions)):
            hp.Choice(f"edge{i}", list(NB201_OPS))

    class UserTuner(kt.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            values = trial.hyperparameters.values
            arch = encoding.architecture({d.name: values[f"edge{i}"]
                                          for i, d in enumerate(encoding.decisions)})
            return {"accuracy": lookup(arch)}

    with tempfile.TemporaryDirectory(prefix="kerasnas-hp-") as tmp:
        tuner = UserTuner(oracle=oracle, hypermodel=build, directory=tmp, project_name="user",
                          overwrite=True)
        tuner.search(verbose=0)
        results = [tuner.oracle.trials[t].score for t in tuner.oracle.start_order
                   if tuner.oracle.trials[t].status == "COMPLETED"]
    return name, variant, seed, results, time.perf_counter() - start


def nb201(args):
    tasks = [(name, variant, seed, args.trials)
             for seed in range(args.first_seed, args.first_seed + args.seeds)
             for name in args.oracles for variant in ("NB201Space", "user build(hp)")]
    runs = _stream(_nb201_run, tasks, args)
    # Only seeds where both variants finished count (a run cut short leaves pairs unmatched).
    done = {(r[0], r[1], r[2]) for r in runs}
    runs = [r for r in runs if {(r[0], v, r[2]) for v in ("NB201Space", "user build(hp)")} <= done]
    budgets = sorted({min(50, args.trials), args.trials})
    print(f"NAS-Bench-201 through a user build(hp) vs NB201Space, {args.trials} queries; "
          "optimum 94.37\n")
    print("| oracle | space | seeds | " + " | ".join(f"best @{b}" for b in budgets)
          + " | difference @%d (user - space) ± s.e. | s/search |" % args.trials)
    print("|---|---|---|" + "---|" * len(budgets) + "---|---|")
    for name in args.oracles:
        best = {}
        for variant in ("NB201Space", "user build(hp)"):
            rows = [r for r in runs if r[0] == name and r[1] == variant]
            if not rows:
                continue
            best[variant] = {b: np.array([max(r[3][:b]) for r in rows]) for b in budgets}
            seconds = np.median([r[4] for r in rows])
            cells = " | ".join(f"{best[variant][b].mean():.2f} ± {best[variant][b].std():.2f}"
                               for b in budgets)
            diff = ""
            if variant != "NB201Space" and len(rows) > 1:
                a, c = best[variant][args.trials], best["NB201Space"][args.trials]
                se = math.sqrt(a.var(ddof=1) / len(a) + c.var(ddof=1) / len(c))
                diff = f"{a.mean() - c.mean():+.3f} ± {se:.3f}"
            print(f"| {name} | {variant} | {len(rows)} | {cells} | {diff} | {seconds:.1f} |")


# --------------------------------------------------------------------- mixed
#: Best learning rate per optimizer of the synthetic problem.
BEST_LR = {"adam": 1e-3, "sgd": 3e-2, "rmsprop": 3e-4}
ACTIVATION_PENALTY = {"gelu": 0.0, "elu": 0.02, "relu": 0.03, "tanh": 0.08}


def mixed_build(hp):
    """The user's hypermodel of the mixed problem (declares; the score is synthetic)."""
    hp.Float("lr", 1e-5, 1e-1, sampling="log")
    hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        hp.Float("momentum", 0.0, 0.99)
    hp.Int("units", 16, 512, step=16)
    hp.Int("layers", 1, 4)
    hp.Choice("activation", list(ACTIVATION_PENALTY))
    hp.Boolean("batch_norm")
    hp.Float("dropout", 0.0, 0.6, step=0.05)


def mixed_score(v) -> float:
    """A smooth accuracy-like landscape; 1.0 at the optimum (adam, lr 1e-3, 256 units,
    3 layers, gelu, batch norm, dropout 0.2), never above it."""
    s = 1.0 - 0.08 * (math.log10(v["lr"]) - math.log10(BEST_LR[v["optimizer"]])) ** 2
    s -= {"adam": 0.0, "sgd": 0.01, "rmsprop": 0.02}[v["optimizer"]]
    if v["optimizer"] == "sgd":
        s -= 0.5 * (v["momentum"] - 0.9) ** 2
    s -= 0.05 * (math.log2(v["units"]) - 8) ** 2 / 4
    s -= 0.03 * abs(v["layers"] - 3)
    s -= ACTIVATION_PENALTY[v["activation"]]
    s -= 0.0 if v["batch_norm"] else 0.04
    s -= 0.4 * (v["dropout"] - 0.2) ** 2
    return float(s)


class _Deadline(Exception):
    pass


def _mixed_run(task):
    import keras_tuner as kt

    name, seed, trials, seconds, trial_seconds, max_epochs = task
    objective = kt.Objective("score", "max")
    if seconds is not None:
        trials = 10**6  # only the clock stops a wall-time search
    if name in KERASNAS:
        oracle = _kerasnas(name, seed, trials, objective)
    elif name == "kt-hyperband":
        oracle = kt.oracles.HyperbandOracle(objective=objective, max_epochs=max_epochs,
                                            seed=seed * KT_SEED_STRIDE + 1)
    else:
        oracle = getattr(kt.oracles, KERAS_TUNER[name])(
            objective=objective, max_trials=trials, seed=seed * KT_SEED_STRIDE + 1)
    start = time.perf_counter()
    curve = []  # (seconds since start, full-fidelity score) per finished trial

    class SyntheticTuner(kt.Tuner):
        def pre_create_trial(self):
            if (seconds is not None and time.perf_counter() - start > seconds) or (
                    seconds is None and len(curve) >= trials):
                raise _Deadline

        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            epochs = hp.values.get("tuner/epochs", max_epochs)
            time.sleep(trial_seconds * epochs / max_epochs)  # simulated training
            true = mixed_score(hp.values)
            curve.append((time.perf_counter() - start, true if epochs == max_epochs else None))
            # A partial training reports less (a learning curve), keeping the ranking.
            return {"score": true - 0.1 * (max_epochs / epochs - 1) / max_epochs}

    with tempfile.TemporaryDirectory(prefix="kerasnas-mixed-") as tmp:
        tuner = SyntheticTuner(oracle=oracle, hypermodel=mixed_build, directory=tmp,
                               project_name="mixed", overwrite=True)
        try:
            tuner.search(verbose=0)
        except _Deadline:
            pass
    # Hyperband's partial trials do not count as found: their model was not fully trained.
    full = [s for _, s in curve if s is not None]
    return name, seed, len(curve), max(full) if full else float("nan"), \
        time.perf_counter() - start


def mixed(args):
    names = args.oracles
    lines = []
    for mode, seconds in (("equal trials", None), ("equal wall time", args.seconds)):
        if mode.split()[-1] not in args.modes:
            continue
        tasks = [(n, s, args.trials, seconds, args.trial_seconds, args.max_epochs)
                 for n in names for s in range(args.seeds)
                 if not (n == "kt-bayesian" and s >= args.kt_bo_seeds)]
        tasks.sort(key=lambda t: t[1])  # by seed: a run cut short still covers every oracle
        runs = _stream(_mixed_run, tasks, args, tag=mode)
        budget = (f"{args.trials} trials" if seconds is None
                  else f"{seconds:.0f} s wall time per search")
        lines.append(f"\n{mode}: {budget}; full trial = {args.trial_seconds} s of simulated "
                     "training; regret = 1 - best full-fidelity score (optimum 1.0)\n")
        lines.append("| oracle | seeds | regret (mean ± sd) | median regret | trials run | "
                     "s/search |")
        lines.append("|---|---|---|---|---|---|")
        for n in names:
            rows = [r for r in runs if r[0] == n]
            if not rows:
                continue
            regret = 1.0 - np.array([r[3] for r in rows])
            lines.append(f"| {n} | {len(rows)} | {np.nanmean(regret):.4f} ± "
                         f"{np.nanstd(regret):.4f} | {np.nanmedian(regret):.4f} | "
                         f"{np.median([r[2] for r in rows]):.0f} | "
                         f"{np.median([r[4] for r in rows]):.1f} |")
    print("\n".join(lines))


def _stream(fn, tasks, args, tag=""):
    """Runs `tasks` (or reads them back with `--report`), appending each finished run to
    `--raw` as one JSON line, so a benchmark stopped early still reports what it ran."""
    raw = Path(args.raw)
    if not args.report:
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool, raw.open("a") as f:
            for run in pool.imap_unordered(fn, tasks):
                f.write(json.dumps([tag, *run]) + "\n")
                f.flush()
    runs = []
    for line in raw.read_text().splitlines() if raw.exists() else []:
        row = json.loads(line)
        if row[0] == tag:
            runs.append(tuple(row[1:]))
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("nb201", help="NB201 as a user build(hp) vs NB201Space")
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--oracles", nargs="+", default=list(KERASNAS), choices=list(KERASNAS))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--raw", default="hp_encoding_nb201_runs.jsonl",
                   help="JSON lines, one per finished run (appended)")
    p.add_argument("--report", action="store_true", help="only tabulate --raw")
    p.set_defaults(run=nb201)
    m = sub.add_parser("mixed", help="mixed problem: kerasnas vs Keras Tuner oracles")
    m.add_argument("--seeds", type=int, default=10)
    m.add_argument("--trials", type=int, default=40)
    m.add_argument("--seconds", type=float, default=8.0, help="wall time per search")
    m.add_argument("--trial-seconds", type=float, default=0.1,
                   help="simulated training time of one full trial")
    m.add_argument("--max-epochs", type=int, default=9, help="Hyperband's max_epochs")
    m.add_argument("--kt-bo-seeds", type=int, default=5,
                   help="seeds for Keras Tuner's BayesianOptimization (seconds per trial)")
    m.add_argument("--oracles", nargs="+", default=list(KERASNAS) + list(KERAS_TUNER),
                   choices=list(KERASNAS) + list(KERAS_TUNER))
    m.add_argument("--jobs", type=int, default=2)
    m.add_argument("--modes", nargs="+", default=["trials", "time"], choices=["trials", "time"],
                   help="equal trials, equal wall time, or both")
    m.add_argument("--raw", default="hp_encoding_mixed_runs.jsonl",
                   help="JSON lines, one per finished run (appended)")
    m.add_argument("--report", action="store_true", help="only tabulate --raw")
    m.set_defaults(run=mixed)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
