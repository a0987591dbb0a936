"""Memory of a long search with and without `trials_per_process` (#12), and its time cost.

    python benchmarks/reliability_recycle.py --trials 100 --per-process 25

Runs the same seeded `kerasnas.search` twice, each in its own process tree:
`trials_per_process=None` (every trial in one process) and
`trials_per_process=--per-process` (children of at most that many trials,
`kerasnas.automl.recycle`). Both: `--trials` tiny MLPs (evolution, population 10, 160
generated examples, 2 epochs, no cross-validation, `keep_checkpoints=5`, no
refit). Every 0.5 s the resident memory (VmRSS) of the whole process tree is
summed and the trials started so far counted (`trial_*` folders). Printed per
mode: tree RSS at trial 10 and at the end, the peak, the growth per trial
(least-squares slope of the largest RSS seen at each trial count, from trial
10 on), the search folder's size at the end (disk per trial), seconds per
trial, and what recycling adds per trial.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _child(directory, trials, per_process, seed):
    """The measured search (run in its own process by `measure`)."""
    import kerasnas

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 8)).astype("float32")
    y = np.argmax(x[:, :3], axis=1)
    kerasnas.search(x[:160], y[:160], validation_data=(x[160:], y[160:]), max_trials=trials,
                    strategy="evolution", space="dense", seed=seed, epochs=2, min_steps=0,
                    cv_folds=None, early_stopping=None, refit=False, verbose=0,
                    keep_checkpoints=5, directory=directory,
                    strategy_args={"population_size": 10, "sample_size": 3},
                    trials_per_process=per_process)


def _tree_rss_mb(root_pid):
    """Sum of VmRSS over `root_pid` and all its descendants (Linux /proc)."""
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        parents[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    tree, grew = {root_pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        grew, tree = bool(more), tree | more
    return sum(rss.get(p, 0.0) for p in tree)


def _folder_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def measure(trials=100, per_process=None, seed=0, poll=0.5):
    """One search in a fresh process tree; its RSS samples, disk and time as a dict."""
    with tempfile.TemporaryDirectory(prefix="recycle-") as tmp:
        run = Path(tmp) / "run"
        code = (f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
                f"import reliability_recycle as r; "
                f"r._child({str(run)!r}, {trials}, {per_process!r}, {seed})")
        start = time.monotonic()
        process = subprocess.Popen([sys.executable, "-c", code], cwd=str(ROOT),
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        samples = []  # (seconds, trials started, tree RSS MB)
        while process.poll() is None:
            started = len(list(run.glob("trial_*"))) if run.exists() else 0
            samples.append((time.monotonic() - start, started, _tree_rss_mb(process.pid)))
            time.sleep(poll)
        seconds = time.monotonic() - start
        if process.returncode:
            raise RuntimeError(f"the search (trials_per_process={per_process}) failed")
        disk = _folder_bytes(run)
        done = len(list(run.glob("trial_*")))
    by_trial = {}
    for _, n, rss in samples:
        by_trial[n] = max(by_trial.get(n, 0.0), rss)
    counts = np.array(sorted(k for k in by_trial if k >= 10))
    peaks = np.array([by_trial[k] for k in counts])
    slope = float(np.polyfit(counts, peaks, 1)[0]) if len(counts) > 2 else float("nan")
    return {"trials_per_process": per_process, "trials": done, "seconds": seconds,
            "seconds_per_trial": seconds / max(done, 1),
            "rss_mb_trial10": by_trial.get(10, float("nan")),
            "rss_mb_end": float(peaks[-1]) if len(peaks) else float("nan"),
            "rss_mb_peak": max(r for *_, r in samples),
            "rss_growth_mb_per_trial_slope": slope, "disk_bytes_end": disk,
            "disk_bytes_per_trial": disk / max(done, 1),
            "rss_by_trial": {int(k): round(v, 1) for k, v in sorted(by_trial.items())}}


def compare(trials=100, per_process=25, seed=0):
    """`measure` without then with recycling; returns both and the time recycling adds."""
    rows = []
    for k in (None, per_process):
        load = os.getloadavg()[0]
        row = measure(trials, k, seed)
        row["load_before"] = load
        rows.append(row)
        print(f"# trials_per_process={k}: {row['trials']} trials in {row['seconds']:.0f} s, "
              f"tree RSS {row['rss_mb_trial10']:.0f} MB at trial 10, "
              f"{row['rss_mb_end']:.0f} MB at the end, peak {row['rss_mb_peak']:.0f} MB",
              file=sys.stderr, flush=True)
    off, on = rows
    return {"off": off, "on": on,
            "added_seconds_per_trial": on["seconds_per_trial"] - off["seconds_per_trial"]}


def table(out) -> str:
    lines = ["| trials_per_process | trials | tree RSS at trial 10 MB | at the end MB | peak MB "
             "| growth per trial MB (slope from trial 10) | disk at the end | disk per trial "
             "| s per trial | load before |", "|---" * 10 + "|"]
    for row in (out["off"], out["on"]):
        lines.append(
            f"| {row['trials_per_process']} | {row['trials']} | {row['rss_mb_trial10']:.0f} "
            f"| {row['rss_mb_end']:.0f} | {row['rss_mb_peak']:.0f} "
            f"| {row['rss_growth_mb_per_trial_slope']:.2f} "
            f"| {row['disk_bytes_end'] / 1e6:.2f} MB | {row['disk_bytes_per_trial'] / 1e3:.0f} kB "
            f"| {row['seconds_per_trial']:.2f} | {row['load_before']:.1f} |")
    lines.append(f"\nRecycling adds {out['added_seconds_per_trial']:.2f} s per trial.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--per-process", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    out = compare(args.trials, args.per_process, args.seed)
    print(table(out))
    if args.json:
        args.json.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
