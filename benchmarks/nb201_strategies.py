"""Search strategies on NAS-Bench-201 (CIFAR-10), by table lookup through Keras Tuner.

Every strategy runs as a `keras_tuner.Oracle` inside a real `keras_tuner.Tuner`
(`kerasnas.bench.nb201.NB201LookupTuner`) whose trials look the architecture's
accuracy up in the NAS-Bench-201 table instead of training it. A query is one
completed trial; kerasnas oracles answer repeated proposals from their cache
without a trial, Keras Tuner's own oracles may spend trials on repeats.

Protocol: the strategies search on, and are scored by, the table's CIFAR-10
test accuracy (the only column of the shipped table), so "best found" is the
best test accuracy among the queried cells; the optimum is the table's maximum
(94.37). This measures search efficiency on a fixed landscape, not
generalisation.

For each (strategy, seed) one search of the largest budget runs; the smaller
budgets are its prefixes. That is valid because no strategy here reads
`max_trials` (it only stops the search), which the script checks: for seed 0
it also runs the smallest budget separately and compares it with the prefix.

Seeds: for run s in 0..seeds-1, kerasnas oracles get `seed=s` and Keras Tuner's
`seed=s * 10007 + 1` (see `KT_SEED_STRIDE`: with `seed=s + 1` Keras Tuner's runs
for seeds s and s + 7 are the same search shifted by one trial; seed 0 would be
replaced by a random one). RegularizedEvolution's population and sample sizes
were tuned on seeds 1000-1199, not these.

Overhead: the time each trial spends in `oracle.create_trial` + `oracle.end_trial`,
reported without Keras Tuner's JSON writes inside them ("algorithm") and with
them ("incl. I/O"), as medians over all trials of all seeds, and over trials
291-300 ("late"), when models are largest. Tuner files go to `--workdir`
(default /dev/shm when it exists).

Keras Tuner's `BayesianOptimizationOracle` refits a GP with 20 optimizer
restarts and runs 50 L-BFGS restarts of the acquisition every trial, seconds
per trial; it runs with `--kt-bo-seeds` seeds (default 8) up to
`--kt-bo-trials` trials (default 100), which the table states.

Usage:

    .venv/bin/python benchmarks/nb201_strategies.py --seeds 100 --jobs 2

Prints a Markdown table; `--raw PATH` also writes every run (accuracies and
timings per trial) as JSON; `--reuse` takes the runs of strategies already in
that file instead of running them again, and `--include PATH...` adds the runs
of other invocations' raw files (e.g. Keras Tuner's Bayesian optimisation run
on its own).
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nb201_cifar10.csv"

#: Keras Tuner oracles draw value number k of a search from `random.Random(seed + k)`,
#: so seeds s and s + 7 (7 hyperparameters per NB201 trial) give the same search shifted
#: by one trial. Run s therefore gets seed `s * KT_SEED_STRIDE + 1`: never 0 (which
#: Keras Tuner replaces by a random seed) and streams that do not overlap within
#: 300 trials (7 * 300 < 10007).
KT_SEED_STRIDE = 10007

#: name -> (label, module, class, keyword arguments, Keras Tuner oracle?).
STRATEGIES = {
    "random": ("kerasnas RandomSearch", "kerasnas.oracles.random_search", "RandomSearch",
               {}, False),
    "kt_random": ("Keras Tuner RandomSearchOracle", "keras_tuner.oracles", "RandomSearchOracle",
                  {}, True),
    "kt_bayesian": ("Keras Tuner BayesianOptimizationOracle", "keras_tuner.oracles",
                    "BayesianOptimizationOracle", {}, True),
    "evolution": ("kerasnas RegularizedEvolution", "kerasnas.oracles.evolution",
                  "RegularizedEvolution", {}, False),
    "bayesian": ("kerasnas BayesianOptimization", "kerasnas.oracles.bayesian",
                 "BayesianOptimization", {}, False),
    "reinforce": ("kerasnas ReinforceController", "kerasnas.oracles.controller",
                  "ReinforceController", {}, False),
    "ppo": ("kerasnas ReinforceController(ppo=True)", "kerasnas.oracles.controller",
            "ReinforceController", {"ppo": True}, False),
    # Issue 26: CTNAS (a comparator's P(sample > baseline) as the controller's reward) and
    # IRLAS's topology reward on the REINFORCE controller (expert: NB201's ResNet cell).
    "ctnas": ("kerasnas CTNAS", "kerasnas.oracles.ctnas", "CTNAS", {}, False),
    # NAO (issue 26): gradient ascent in a learned graph embedding, decoded back to cells.
    "nao": ("kerasnas NAO", "kerasnas.oracles.nao", "NAO", {}, False),
    "reinforce_irlas": ("kerasnas ReinforceController(expert=\"auto\")",
                        "kerasnas.oracles.controller", "ReinforceController",
                        {"expert": "auto"}, False),
    # Crossover (issue 26): half of the children recombine two tournament winners, then
    # mutate once (the default of `mutate_after_crossover`), or are the recombination alone.
    "evolution_crossover": ("kerasnas RegularizedEvolution(crossover_rate=0.5)",
                            "kerasnas.oracles.evolution", "RegularizedEvolution",
                            {"crossover_rate": 0.5}, False),
    "evolution_crossover_only": (
        "kerasnas RegularizedEvolution(crossover_rate=0.5, mutate_after_crossover=False)",
        "kerasnas.oracles.evolution", "RegularizedEvolution",
        {"crossover_rate": 0.5, "mutate_after_crossover": False}, False),
}


def available(names):
    """The strategies among `names` whose class can be imported."""
    found = []
    for name in names:
        _, module, cls, _, _ = STRATEGIES[name]
        try:
            getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as err:
            print(f"# skipping {name}: {err}", file=sys.stderr)
            continue
        found.append(name)
    return found


def oracle_seed(name, seed, kt_seed_stride=KT_SEED_STRIDE):
    """The `seed` argument strategy `name` gets for run number `seed`."""
    return seed * kt_seed_stride + 1 if STRATEGIES[name][4] else seed


def make_oracle(name, seed, kt_seed_stride=KT_SEED_STRIDE):
    _, module, cls, kwargs, _ = STRATEGIES[name]
    oracle_cls = getattr(importlib.import_module(module), cls)
    return oracle_cls(objective="accuracy", seed=oracle_seed(name, seed, kt_seed_stride),
                      **kwargs)


# ------------------------------------------------------------------ workers
_TABLE = None
_WORKDIR = None


def _init_worker(data, workdir):
    global _TABLE, _WORKDIR
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")  # sklearn's GP convergence warnings, per trial
    from kerasnas.bench.nb201 import NB201Lookup, load_nb201_table

    _TABLE = NB201Lookup(load_nb201_table(data))
    _WORKDIR = workdir


def _run_one(task):
    from kerasnas.bench.nb201 import run_search

    name, seed, trials, check, stride = task
    timings = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=_WORKDIR, prefix=f"nb201-{name}-{seed}-") as tmp:
        results = run_search(make_oracle(name, seed, stride), _TABLE, trials, tmp, timings)
    wall = time.perf_counter() - start
    return {"name": name, "seed": seed, "oracle_seed": oracle_seed(name, seed, stride),
            "trials": trials, "check": check, "wall_s": wall,
            "archs": [a for a, _ in results], "accuracy": [acc for _, acc in results],
            "oracle_ms": [1000 * t for t, _ in timings],
            "io_ms": [1000 * io for _, io in timings]}


# -------------------------------------------------------------------- stats
def best_at(run, budget):
    if len(run["accuracy"]) < budget:
        return None
    return max(run["accuracy"][:budget])


def summarize(runs, budgets, optimum, baseline="random", test_budget=100):
    from scipy.stats import mannwhitneyu

    by_name = {}
    for run in runs:
        by_name.setdefault(run["name"], []).append(run)
    base = [best_at(r, test_budget) for r in by_name.get(baseline, [])]
    rows = []
    for name in STRATEGIES:
        if name not in by_name:
            continue
        group = sorted(by_name[name], key=lambda r: r["seed"])
        row = {"name": name, "label": STRATEGIES[name][0], "seeds": len(group),
               "trials": min(r["trials"] for r in group)}
        for budget in budgets:
            values = [best_at(r, budget) for r in group]
            row[budget] = None if None in values else (float(np.mean(values)),
                                                       float(np.std(values)))
        top = max(budgets)
        found = [best_at(r, top) for r in group]
        row["found_optimum"] = (None if None in found
                                else float(np.mean([f >= optimum - 1e-9 for f in found])))
        algorithm = np.concatenate([np.subtract(r["oracle_ms"], r["io_ms"]) for r in group])
        total = np.concatenate([r["oracle_ms"] for r in group])
        late = np.concatenate([np.subtract(r["oracle_ms"], r["io_ms"])[290:300] for r in group])
        row["algorithm_ms"] = float(np.median(algorithm))
        row["total_ms"] = float(np.median(total))
        row["late_ms"] = float(np.median(late)) if len(late) else None
        row["wall_s"] = float(np.mean([r["wall_s"] for r in group]))
        values = [best_at(r, test_budget) for r in group]
        if name != baseline and base and None not in values and None not in base:
            row["p_value"] = float(mannwhitneyu(values, base, alternative="greater").pvalue)
        else:
            row["p_value"] = None
        rows.append(row)
    return rows


def markdown(rows, budgets, optimum, test_budget=100):
    def cell(value, fmt):
        return "n/a" if value is None else fmt.format(value)

    head = (["strategy", "seeds"] + [f"best @{b}" for b in budgets]
            + [f"found optimum @{max(budgets)}", "ms/trial algorithm (median)",
               "ms/trial late (291-300)", "ms/trial incl. I/O", f"p vs random @{test_budget}"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        seeds = str(row["seeds"])
        if row["trials"] < max(budgets):
            seeds += f" (≤{row['trials']} trials)"
        cells = [row["label"], seeds]
        cells += [cell(row[b], "{0[0]:.2f} ± {0[1]:.2f}") for b in budgets]
        cells += [cell(row["found_optimum"], "{:.0%}"), cell(row["algorithm_ms"], "{:.1f}"),
                  cell(row["late_ms"], "{:.1f}"), cell(row["total_ms"], "{:.1f}"),
                  cell(row["p_value"], "{:.1e}") if row["name"] != "random" else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"\nOptimum of the table: {optimum:.2f}.")
    return "\n".join(lines)


# --------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeds per strategy (default 100)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="run seeds first-seed .. first-seed + seeds - 1 (default 0), e.g. "
                             "to add seeds to an earlier invocation's raw file via --include")
    parser.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 300],
                        help="query budgets (default 50 100 300)")
    parser.add_argument("--oracles", nargs="+", choices=sorted(STRATEGIES),
                        default=list(STRATEGIES), help="strategies (default: all that exist)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="NAS-Bench-201 CSV (default ../shared/data/nb201_cifar10.csv "
                             "relative to the repository root)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--kt-bo-seeds", type=int, default=8,
                        help="seeds for Keras Tuner's BayesianOptimizationOracle (default 8)")
    parser.add_argument("--kt-bo-trials", type=int, default=100,
                        help="trials for Keras Tuner's BayesianOptimizationOracle (default 100)")
    parser.add_argument("--kt-seed-stride", type=int, default=KT_SEED_STRIDE,
                        help="run s gives Keras Tuner oracles seed s * stride + 1 "
                             f"(default {KT_SEED_STRIDE}; 1 reproduces seed=s+1)")
    parser.add_argument("--workdir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                        help="where Keras Tuner writes its trial files (default /dev/shm)")
    parser.add_argument("--raw", type=Path, help="write every run as JSON here")
    parser.add_argument("--reuse", action="store_true",
                        help="take runs of strategies already in --raw instead of rerunning")
    parser.add_argument("--include", type=Path, nargs="+", default=[],
                        help="raw files of earlier invocations whose runs join the table "
                             "(their strategies are not rerun)")
    parser.add_argument("--no-prefix-check", action="store_true",
                        help="skip the check that smaller budgets equal prefixes")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1 or min(args.budgets) < 1 or args.first_seed < 0:
        parser.error("--seeds, --jobs and --budgets must be positive, --first-seed >= 0.")
    if not args.data.is_file():
        parser.error(f"NAS-Bench-201 table not found at {args.data}; pass --data PATH.")
    if args.reuse and not args.raw:
        parser.error("--reuse needs --raw PATH.")
    return args


def main(argv=None):
    args = parse_args(argv)
    budgets = sorted(set(args.budgets))
    top = max(budgets)
    names = available(args.oracles)
    sources = list(args.include) + ([args.raw] if args.reuse and args.raw.exists() else [])
    previous = [r for path in sources for r in json.loads(path.read_text())["runs"]
                if r["name"] in names]
    done = {r["name"] for r in previous}

    tasks = []
    for name in names:
        if name in done:
            continue
        seeds, trials = args.seeds, top
        if name == "kt_bayesian":
            seeds, trials = min(seeds, args.kt_bo_seeds), min(top, args.kt_bo_trials)
        tasks += [(name, seed, trials, False, args.kt_seed_stride)
                  for seed in range(args.first_seed, args.first_seed + seeds)]
    if not args.no_prefix_check:
        tasks += [(name, 0, min(budgets), True, args.kt_seed_stride)
                  for name in names if name not in done]
    # Slow strategies first, so the pool's last tasks are short.
    slow_first = {"kt_bayesian": 0, "ctnas": 0, "nao": 0, "bayesian": 1, "ppo": 2,
                  "reinforce": 3}
    tasks.sort(key=lambda t: (t[3], slow_first.get(t[0], 9), t[1]))

    # One BLAS thread per worker: `--jobs` processes share the cores.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):  # TF: NAO's networks
        os.environ.setdefault(var, "1")
    start = saved = time.time()
    runs, prefix_runs = list(previous), []
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.jobs, _init_worker, (str(args.data), args.workdir)) as pool:
        for i, run in enumerate(pool.imap_unordered(_run_one, tasks), start=1):
            (prefix_runs if run["check"] else runs).append(run)
            # Every minute, so an interrupted benchmark keeps what it did.
            if args.raw and time.time() - saved > 60:
                args.raw.write_text(json.dumps({"budgets": budgets, "runs": runs}))
                saved = time.time()
            if i % 20 == 0 or i == len(tasks):
                print(f"# {i}/{len(tasks)} runs, {time.time() - start:.0f} s",
                      file=sys.stderr, flush=True)
    if args.raw:
        args.raw.write_text(json.dumps({"budgets": budgets, "runs": runs}))

    from kerasnas.bench.nb201 import load_nb201_table

    optimum = max(load_nb201_table(args.data).values())
    for check in prefix_runs:
        full = next(r for r in runs if r["name"] == check["name"] and r["seed"] == check["seed"])
        same = full["archs"][:check["trials"]] == check["archs"]
        print(f"# prefix check {check['name']}: {check['trials']}-trial search "
              f"{'equals' if same else 'DIFFERS FROM'} the first {check['trials']} trials "
              f"of the {full['trials']}-trial one")
    rows = summarize(runs, budgets, optimum)
    print(markdown(rows, budgets, optimum))
    print(f"\n{len(runs)} runs in {time.time() - start:.0f} s with {args.jobs} jobs; "
          "mean wall time per run: "
          + ", ".join(f"{r['name']} {r['wall_s']:.1f} s" for r in rows))
    return rows


if __name__ == "__main__":
    main()
