"""Unequal-length series: `ragged="resample"` vs `ragged="pad"` on real data made ragged.

Each series of a real UCR/UEA data set (train and test alike) is cropped to a
random contiguous window of 50-100 % of its length (window length and start
drawn per series with `--crop-seed`, default 0), so the set has the form aeon
hands out for unequal-length data: a list of `(L_i, C)` arrays. Then, per
method and seed, `kerasnas.search(x, y, time_budget=B, seed=s, ragged=method)`
runs with every other argument at its default, and the returned model is scored
on the ragged test list (`result.evaluate`). Prints one line per run and a
mean per method.

Data: `benchmarks/.data/<name>.npz` (`x_train`, `y_train`, `x_test`, `y_test`;
`(N, L, C)`), exported from aeon by a separate script.

Usage:

    python benchmarks/ragged.py --data basicmotions,gunpoint --budget 60 --seeds 0,1
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / ".data"


def ragged_copy(x, rng, low=0.5):
    """Each `(L, C)` series of `x` cut to a random window of `low`-100 % of its length."""
    out = []
    for series in x:
        length = len(series)
        keep = int(rng.integers(int(np.ceil(low * length)), length + 1))
        start = int(rng.integers(0, length - keep + 1))
        out.append(np.array(series[start:start + keep]))
    return out


def load(name, crop_seed):
    data = np.load(DATA / f"{name}.npz", allow_pickle=False)
    rng = np.random.default_rng(crop_seed)
    return (ragged_copy(data["x_train"], rng), data["y_train"],
            ragged_copy(data["x_test"], rng), data["y_test"])


def run(name, method, seed, budget, crop_seed):
    import kerasnas

    x, y, x_test, y_test = load(name, crop_seed)
    folder = Path(tempfile.mkdtemp(prefix=f"ragged-{name}-{method}-"))
    started = time.monotonic()
    try:
        result = kerasnas.search(x, y, time_budget=budget, seed=seed, ragged=method,
                                 directory=folder / "run", verbose=0)
        seconds = time.monotonic() - started
        accuracy = result.evaluate(x_test, y_test)["accuracy"]
        trials = sum(r.status == "COMPLETED" for r in result.history)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lengths = [len(s) for s in x]
    return {"data": name, "method": method, "seed": seed, "test_accuracy": accuracy,
            "trials": trials, "seconds": round(seconds, 1),
            "lengths": [min(lengths), max(lengths)], "returned": getattr(result, "returned", None)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="basicmotions,gunpoint")
    parser.add_argument("--methods", default="resample,pad")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--crop-seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for name in args.data.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            for method in args.methods.split(","):
                row = run(name, method, seed, args.budget, args.crop_seed)
                rows.append(row)
                print(json.dumps(row), flush=True)
    for name in args.data.split(","):
        for method in args.methods.split(","):
            scores = [r["test_accuracy"] for r in rows if r["data"] == name
                      and r["method"] == method]
            print(f"{name:>14} {method:>9}: test accuracy {np.mean(scores):.3f} "
                  f"({', '.join(f'{s:.3f}' for s in scores)})", flush=True)


if __name__ == "__main__":
    main()
