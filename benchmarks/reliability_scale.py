"""Reliability and scale (#12): oracle overhead at 1,000 trials, and chief + N worker throughput.

Two measurements, both through real Keras Tuner searches whose trials look
their score up instead of training (`kerasnas.bench.scale`):

1. Overhead: each oracle of `kerasnas.bench.scale.ORACLES` (random, evolution,
   bayesian, reinforce, ppo, pareto on NAS-Bench-201; net2net on MacroEncoding
   with a synthetic score) runs `--trials` trials (default 1,000) in one
   process. Per trial, the time inside `oracle.create_trial` + `oracle.end_trial`
   (propose + observe), without ("algorithm") and with ("incl. I/O") Keras
   Tuner's JSON writes, as medians over trial windows; "CPU" is this process's
   CPU time over the same span (JSON writes included), which a machine shared
   with other jobs inflates far less than wall time.
2. Throughput: a chief and 1, 2 and 4 workers on 127.0.0.1 run a
   `--scale-trials` search (default 60, `--scale-oracle`, default evolution).
   Each lookup trial sleeps a fixed `--sleep` seconds (default 0.25) before
   reporting, so the engine (gRPC round trips, the chief's oracle, trial
   files), not the table lookup, is what limits the rate. Trials per second =
   trials / (last trial's end - first trial's start, from the workers' logs);
   scaling efficiency = rate(N) / (N x rate(1)). The ideal rate is N / sleep.

Usage:

    .venv/bin/python benchmarks/reliability_scale.py                # both parts
    .venv/bin/python benchmarks/reliability_scale.py --part overhead --trials 1000
    .venv/bin/python benchmarks/reliability_scale.py --part scale --workers 1 2 4

Prints Markdown tables; `--json PATH` writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Trial windows (1-based, inclusive) whose median overhead is reported.
WINDOWS = ((1, 100), (291, 300), (991, 1000))


def _load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def overhead(names, trials, seed, workdir):
    from kerasnas.bench.scale import make_oracle, run_lookup_search

    rows = []
    for name in names:
        load = _load()
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=workdir, prefix=f"overhead-{name}-") as tmp:
            tuner = run_lookup_search(make_oracle(name, seed=seed, max_trials=trials), name, tmp,
                                      overwrite=True)
        wall = time.perf_counter() - start
        total = 1000 * np.array(tuner.oracle_seconds)
        algorithm = total - 1000 * np.array(tuner.io_seconds)
        row = {"oracle": name, "trials": len(total), "wall_s": wall, "load_before": load,
               "algorithm_ms": algorithm.tolist(), "total_ms": total.tolist(),
               "cpu_ms": (1000 * np.array(tuner.cpu_seconds)).tolist()}
        rows.append(row)
        print(f"# {name}: {len(total)} trials in {wall:.0f} s; "
              + ", ".join(f"{lo}-{hi}: {np.median(algorithm[lo - 1:hi]):.1f} ms"
                          for lo, hi in WINDOWS if hi <= len(total)), file=sys.stderr,
              flush=True)
    return rows


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throughput(oracle, workers, trials, sleep, workdir, timeout=600):
    """One chief + `workers` workers; returns trials/s over the trials' span and wall time."""
    with tempfile.TemporaryDirectory(dir=workdir, prefix=f"scale-{workers}-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": str(_free_port()), "TF_CPP_MIN_LOG_LEVEL": "3"}
        log = tmp / "events.log"
        args = [sys.executable, "-m", "kerasnas.bench.scale", "--oracle", oracle,
                "--max-trials", str(trials), "--directory", str(tmp / "run"),
                "--sleep", str(sleep), "--started", str(log), "--out", str(tmp / "out.json")]
        load = _load()
        start = time.perf_counter()
        procs = [subprocess.Popen(args, env={**env, "KERASTUNER_TUNER_ID": role},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for role in ["chief"] + [f"tuner{i}" for i in range(workers)]]
        try:
            codes = [p.wait(timeout=timeout) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        wall = time.perf_counter() - start
        if any(codes):
            raise RuntimeError(f"a process of the {workers}-worker launch failed: {codes}")
        events = [line.split() for line in log.read_text().split("\n") if line]
        starts = [float(e[3]) for e in events if e[0] == "start"]
        ends = [float(e[3]) for e in events if e[0] == "end"]
        summary = json.loads((tmp / "out.json").read_text())
        done = sum(t["status"] == "COMPLETED" for t in summary["trials"])
        span = max(ends) - min(starts)
        return {"workers": workers, "trials": done, "span_s": span, "rate": done / span,
                "wall_s": wall, "load_before": load}


def overhead_table(rows, trials, seed) -> str:
    """Markdown table of `overhead`'s rows: median ms over the trial windows."""
    windows = [w for w in WINDOWS if w[1] <= trials] or [(1, trials)]
    lo, hi = windows[-1]
    lines = [f"\nPer-trial oracle overhead (propose + observe), {trials} trials, seed {seed}; "
             "median ms over trial windows\n",
             "| oracle | " + " | ".join(f"algorithm {a}-{b}" for a, b in windows)
             + f" | incl. I/O {lo}-{hi} | CPU incl. I/O {lo}-{hi} | max algorithm | wall s "
             "| load before |", "|---" * (len(windows) + 6) + "|"]
    for r in rows:
        alg, tot = np.array(r["algorithm_ms"]), np.array(r["total_ms"])
        cpu = np.array(r.get("cpu_ms", [np.nan] * len(tot)))
        lines.append(f"| {r['oracle']} | " + " | ".join(
            f"{np.median(alg[a - 1:b]):.1f}" for a, b in windows)
            + f" | {np.median(tot[lo - 1:hi]):.1f} | {np.median(cpu[lo - 1:hi]):.1f} "
            f"| {alg.max():.0f} | {r['wall_s']:.0f} | {r['load_before']:.1f} |")
    return "\n".join(lines)


def scale_table(rates, oracle, trials, sleep) -> str:
    """Markdown table of `throughput`'s results: trials/s and scaling efficiency."""
    base = next((r["rate"] for r in rates if r["workers"] == 1), None)
    lines = [f"\nThroughput, chief + N workers on 127.0.0.1, {oracle}, {trials} trials of "
             f"{sleep} s (ideal: N / {sleep} trials/s)\n",
             "| workers | trials/s | ideal | scaling efficiency | span s | wall s (incl. start) "
             "| load before |", "|---|---|---|---|---|---|---|"]
    for r in rates:
        eff = r["rate"] / (r["workers"] * base) if base else float("nan")
        lines.append(f"| {r['workers']} | {r['rate']:.2f} | {r['workers'] / sleep:.2f} | "
                     f"{eff:.0%} | {r['span_s']:.1f} | {r['wall_s']:.0f} "
                     f"| {r['load_before']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    from kerasnas.bench.scale import ORACLES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("both", "overhead", "scale"), default="both")
    parser.add_argument("--oracles", nargs="+", default=list(ORACLES), choices=list(ORACLES))
    parser.add_argument("--trials", type=int, default=1000, help="overhead: trials per oracle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--scale-oracle", default="evolution", choices=list(ORACLES))
    parser.add_argument("--scale-trials", type=int, default=60)
    parser.add_argument("--sleep", type=float, default=0.25, help="seconds per lookup trial")
    parser.add_argument("--workdir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    out = {"command": " ".join(sys.argv), "cpus": os.cpu_count()}

    if args.part in ("both", "overhead"):
        rows = overhead(args.oracles, args.trials, args.seed, args.workdir)
        out["overhead"] = rows
        print(overhead_table(rows, args.trials, args.seed))

    if args.part in ("both", "scale"):
        rates = []
        for n in args.workers:
            r = throughput(args.scale_oracle, n, args.scale_trials, args.sleep, args.workdir)
            rates.append(r)
            print(f"# {n} worker(s): {r['rate']:.2f} trials/s", file=sys.stderr, flush=True)
        out["scale"] = rates
        print(scale_table(rates, args.scale_oracle, args.scale_trials, args.sleep))
    if args.json:
        args.json.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
