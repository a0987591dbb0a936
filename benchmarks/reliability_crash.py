"""Reliability figures of #12 (this script: kills, memory, disk; the distributed half is
`benchmarks/reliability_scale.py`).

    python benchmarks/reliability_crash.py kills --kills 50 --seed 0
    python benchmarks/reliability_crash.py resources --trials 100 --keep 5

`kills`: a seeded search + export (`tests/crash_worker.py`: 6 trials of a tiny
MLP on generated data, refit, `.keras` + SavedModel export) is SIGKILLed at
random points (`--kills` times: during trials, the refit, the export, with a
uniform random delay after the phase begins) and restarted with the same call
until it finishes; this repeats over fresh folders until `--kills` kills have
landed. Printed: kills that landed, per phase; finished trials lost or re-run;
state files left unreadable; whether every final leaderboard equals the
uninterrupted run's.

`resources`: one `NASTuner` search of `--trials` tiny MLPs in this process;
after each trial its resident memory (VmRSS) and the project folder's size.
Printed: RSS after trial 10 and at the end, the growth per trial (least-squares
slope from trial 10 on, and its median over 10-trial windows), disk per trial
with `keep_checkpoints=--keep` and what it would have been without.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def kills(n_kills=50, seed=0, per_run=5, trials=6, deadline=None):
    """Random SIGKILLs until `n_kills` have landed (or, past `deadline`, a
    `time.monotonic()` value, no new search folder starts); returns the figures as a dict."""
    import crash_worker as cw

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        board, search_seconds = cw.reference(Path(tmp) / "clean", trials)
        out = {"kills": 0, "phases": {}, "lost": [], "damaged": [], "runs": 0, "searches": 0,
               "equal_boards": 0, "search_seconds": search_seconds}
        while out["kills"] < n_kills:
            if deadline is not None and time.monotonic() > deadline:
                out["stopped_by_deadline"] = True
                break
            folder = Path(tmp) / f"killed{out['searches']}"
            res = cw.crash_and_resume(folder, min(per_run, n_kills - out["kills"]), rng, trials,
                                      search_seconds=search_seconds)
            out["kills"] += res["kills"]
            out["runs"] += res["runs"]
            out["searches"] += 1
            for phase in res["phases"]:
                out["phases"][phase] = out["phases"].get(phase, 0) + 1
            out["lost"] += [f"{folder.name}:{t}" for t in res["lost"]]
            out["damaged"] += res["damaged"]
            out["equal_boards"] += res["board"] == board
            print(f"search {out['searches']}: {res['kills']} kill(s) {res['phases']}, "
                  f"lost/re-run {res['lost']}, damaged {len(res['damaged'])}, "
                  f"board equal {res['board'] == board}", flush=True)
        out["seconds"] = time.monotonic() - start
    return out


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _folder_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def resources(trials=100, keep=5, seed=0, strategy="evolution"):
    """One search of `trials` tiny MLPs; per-trial RSS and disk as a dict."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from kerasnas.oracles import RandomSearch, RegularizedEvolution
    from kerasnas.spaces import DenseSpace
    from kerasnas.tuner.loop import NASTuner

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 8)).astype("float32")
    y = np.argmax(x[:, :3], axis=1)
    records = []

    class Measured(NASTuner):
        def on_trial_end(self, trial):
            checkpoint = self._get_checkpoint_fname(trial.trial_id)
            size = os.path.getsize(checkpoint) if os.path.exists(checkpoint) else 0
            super().on_trial_end(trial)
            records.append({"rss_mb": _rss_mb(), "disk": _folder_bytes(self.project_dir),
                            "checkpoint": size})

    oracle = (RegularizedEvolution(objective="val_accuracy", max_trials=trials, seed=seed,
                                   population_size=10, sample_size=3)
              if strategy == "evolution" else
              RandomSearch(objective="val_accuracy", max_trials=trials, seed=seed))
    with tempfile.TemporaryDirectory() as tmp:
        tuner = Measured(oracle, DenseSpace((8,), 3), epochs=2, early_stopping=None,
                         verbose=0, keep_checkpoints=keep, directory=tmp, project_name="rss")
        start = time.monotonic()
        tuner.search(x[:160], y[:160], validation_data=(x[160:], y[160:]))
        seconds = time.monotonic() - start
        left_files = list(Path(tuner.project_dir).glob("trial_*/checkpoint*"))
        left, left_bytes = len(left_files), sum(p.stat().st_size for p in left_files)
    rss = np.array([r["rss_mb"] for r in records])
    first = 10 if len(rss) > 20 else 0
    slope = float(np.polyfit(np.arange(first, len(rss)), rss[first:], 1)[0])
    windows = [(rss[i + 10] - rss[i]) / 10 for i in range(first, len(rss) - 10, 10)]
    disk = records[-1]["disk"]
    # Without pruning every trial's checkpoint would still be there.
    kept_all = disk + sum(r["checkpoint"] for r in records) - left_bytes
    return {"trials": len(records), "seconds": seconds, "rss_mb_trial1": float(rss[0]),
            "rss_mb_trial10": float(rss[min(9, len(rss) - 1)]), "rss_mb_end": float(rss[-1]),
            "rss_growth_mb_per_trial_slope": slope,
            "rss_growth_mb_per_trial_median_window": float(np.median(windows)) if windows else
            float("nan"),
            "disk_bytes_end": disk, "disk_bytes_per_trial": disk / len(records),
            "checkpoints_left": left, "keep_checkpoints": keep,
            "checkpoint_bytes_total": sum(r["checkpoint"] for r in records),
            "disk_bytes_without_pruning_estimate": kept_all,
            "rss_mb": [round(float(v), 1) for v in rss]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["kills", "resources"])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--keep", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    if args.what == "kills":
        out = kills(args.kills, args.seed)
    else:
        out = resources(args.trials, args.keep, args.seed)
    out["load_before"] = load
    out["load_after"] = os.getloadavg()
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
