"""Weight inheritance at equal wall time: Net2Net search vs regularized evolution with and without it.

Three arms search the same `MacroSpace` (widths 8/16/32, 2-5 layers) with the same per-trial training
(`--epochs` epochs, batch 64, no early stopping) and the same wall-clock
budget (`--budget` seconds of search, enforced by `NASTuner(time_budget=...)`):

- **net2net**: `Net2NetSearch` (REINFORCE action policy) from the space's
  smallest network; every child starts from its parent's weights,
  transformed to compute the same function (`inherit_weights="auto"`).
- **evo+inherit**: `RegularizedEvolution` (population 4, tournament 2) with
  `NASTuner(inherit_weights=True)`: a child takes its parent's weights through
  a Net2Net transform when its mutation is one, else layer by layer where
  shapes match.
- **evo-scratch**: the same evolution, every trial from random weights.

After each search, every trial's best-epoch checkpoint is scored on a
held-out test split (outside the timed budget). The curve of an arm is the
test accuracy of its best-so-far trial (by validation accuracy) against the
wall-clock time at which that trial finished.

Data sets (both offline): scikit-learn's digits as 8x8x1 images, and
`signals`, a generated 1D set: 4 waveforms (sine, triangle, square,
sawtooth) of length 64 with random frequency, phase, amplitude and offset
under Gaussian noise (std 0.6). Each set is split 60/15/25 (train/val/test),
stratified, fixed across seeds.

Each (data set, seed, arm) runs in a fresh Python process, the arms
interleaved seed by seed so load from other processes falls on all alike.

Usage:

    .venv/bin/python benchmarks/net2net.py --budget 100 --epochs 2 --seeds 1 2 3

Prints a Markdown table per data set and writes `--out` (JSON, every trial)
and `--plot` (an SVG of median test accuracy against time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

ARMS = ("net2net", "evo+inherit", "evo-scratch")
DATASETS = ("digits", "signals")


# ----------------------------------------------------------------------------- data
def make_signals(n=1800, length=64, noise=0.6, seed=0):
    """4 noisy waveform classes (sine, triangle, square, sawtooth), `(n, length, 1)`."""
    rng = np.random.default_rng(seed)
    y = rng.integers(4, size=n)
    t = np.linspace(0.0, 1.0, length, endpoint=False)[None, :]
    freq = rng.uniform(1.5, 4.0, size=(n, 1))
    phase = rng.uniform(0.0, 1.0, size=(n, 1))
    u = (freq * t + phase) % 1.0
    waves = np.stack([np.sin(2 * np.pi * u), 4 * np.abs(u - 0.5) - 1,
                      np.where(u < 0.5, 1.0, -1.0), 2 * u - 1])
    x = waves[y, np.arange(n)] * rng.uniform(0.5, 1.5, size=(n, 1))
    x += rng.uniform(-0.5, 0.5, size=(n, 1)) + rng.normal(0.0, noise, size=x.shape)
    return x[..., None].astype("float32"), y.astype("int64")


def load(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        data = load_digits()
        x, y = (data.images / 16.0).astype("float32")[..., None], data.target.astype("int64")
    else:
        x, y = make_signals()
    from sklearn.model_selection import train_test_split

    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.25, stratify=y,
                                                      random_state=0)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.2,
                                                      stratify=y_rest, random_state=0)
    return x_train, y_train, x_val, y_val, x_test, y_test


# ----------------------------------------------------------------------------- one run
def run_one(dataset, arm, seed, budget, epochs, workdir):
    import keras

    from kerasnas.oracles import Net2NetSearch, RegularizedEvolution
    from kerasnas.spaces import MacroSpace
    from kerasnas.tuner.loop import NASTuner

    keras.utils.set_random_seed(seed)
    x_train, y_train, x_val, y_val, x_test, y_test = load(dataset)
    space = MacroSpace(x_train.shape[1:], num_classes=int(y_train.max()) + 1,
                       widths=(8, 16, 32), max_layers=5, stem_channels=16)
    if arm == "net2net":
        oracle = Net2NetSearch(objective="val_accuracy", max_trials=10_000, seed=seed,
                               space=space)
        inherit = "auto"
    else:
        oracle = RegularizedEvolution(objective="val_accuracy", max_trials=10_000, seed=seed,
                                      population_size=4, sample_size=2)
        inherit = arm == "evo+inherit"
    finished = {}

    class Timed(NASTuner):
        def on_trial_end(self, trial):
            finished[trial.trial_id] = time.monotonic() - start
            super().on_trial_end(trial)

    tuner = Timed(oracle, space, epochs=epochs, batch_size=64, time_budget=budget,
                  early_stopping=None, inherit_weights=inherit, verbose=0,
                  directory=workdir, project_name=f"{dataset}-{arm}-{seed}", overwrite=True)
    start = time.monotonic()
    tuner.search(x_train, y_train, validation_data=(x_val, y_val))
    wall = time.monotonic() - start
    trials = []
    for tid in oracle.start_order:
        trial = oracle.trials[tid]
        if trial.status != "COMPLETED" or tid not in finished:
            continue
        model = tuner.hypermodel.build(trial.hyperparameters.copy())
        model.load_weights(tuner._get_checkpoint_fname(tid))
        test = float(np.mean(np.argmax(model.predict(x_test, verbose=0), -1) == y_test))
        metrics = trial.metrics
        trials.append({
            "trial": tid, "time": finished[tid], "val": float(trial.score), "test": test,
            "arch": str(space.encoding.from_hp_values(trial.hyperparameters.values)),
            "inherited": (metrics.get_last_value("inherited_exact")
                          if metrics.exists("inherited_exact") else None)})
    return {"dataset": dataset, "arm": arm, "seed": seed, "budget": budget, "epochs": epochs,
            "wall": wall, "trials": trials}


def curve(trials, grid):
    """Test accuracy of the best-by-validation trial finished by each time in `grid`."""
    result = []
    for t in grid:
        done = [tr for tr in trials if tr["time"] <= t]
        result.append(max(done, key=lambda tr: (tr["val"], -tr["time"]))["test"]
                      if done else float("nan"))
    return result


# ----------------------------------------------------------------------------- report
def summarise(runs, budget):
    fractions = (1 / 3, 2 / 3, 1.0)
    lines = []
    for dataset in DATASETS:
        mine = [r for r in runs if r["dataset"] == dataset]
        if not mine:
            continue
        lines += [f"\n### {dataset}\n",
                  "| arm | test acc @ 1/3 budget | @ 2/3 | @ end (median, min-max) | trials | "
                  "seeds |", "|---|---|---|---|---|---|"]
        for arm in ARMS:
            arm_runs = [r for r in mine if r["arm"] == arm]
            if not arm_runs:
                continue
            cells = []
            for f in fractions:
                values = np.array([curve(r["trials"], [f * budget])[0] for r in arm_runs])
                cells.append(f"{np.nanmedian(values):.3f} ({np.nanmin(values):.3f}-"
                             f"{np.nanmax(values):.3f})")
            counts = [len(r["trials"]) for r in arm_runs]
            lines.append(f"| {arm} | {' | '.join(cells)} | {int(np.median(counts))} "
                         f"({min(counts)}-{max(counts)}) | {len(arm_runs)} |")
    return "\n".join(lines)


def svg_plot(runs, budget, path):
    """Median (over seeds) test accuracy of the best-so-far trial against time, one panel per set."""
    colors = {"net2net": "#d62728", "evo+inherit": "#1f77b4", "evo-scratch": "#7f7f7f"}
    grid = np.linspace(0, budget, 61)
    width, height, pad = 420, 300, 45
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height}" '
             'font-family="sans-serif" font-size="11">']
    for k, dataset in enumerate(DATASETS):
        mine = [r for r in runs if r["dataset"] == dataset]
        curves = {arm: np.nanmedian(np.array([curve(r["trials"], grid) for r in mine
                                              if r["arm"] == arm]), axis=0)
                  for arm in ARMS if any(r["arm"] == arm for r in mine)}
        values = np.concatenate([c[np.isfinite(c)] for c in curves.values()] or [np.zeros(1)])
        lo, hi = float(np.floor(values.min() * 20) / 20), float(np.ceil(values.max() * 20) / 20)
        hi = hi if hi > lo else lo + 0.05
        x0 = k * width

        def px(t, a, x0=x0, lo=lo, hi=hi):
            return (x0 + pad + (width - 2 * pad) * t / budget,
                    height - pad - (height - 2 * pad) * (a - lo) / (hi - lo))

        parts.append(f'<text x="{x0 + width / 2}" y="18" text-anchor="middle">{dataset}: '
                     'median test accuracy of the best-so-far trial</text>')
        parts.append(f'<rect x="{x0 + pad}" y="{pad}" width="{width - 2 * pad}" '
                     f'height="{height - 2 * pad}" fill="none" stroke="black"/>')
        for a in np.linspace(lo, hi, 5):
            _, y = px(0, a)
            parts.append(f'<text x="{x0 + pad - 4}" y="{y + 4}" text-anchor="end">{a:.2f}</text>')
        for t in np.linspace(0, budget, 4):
            x, _ = px(t, lo)
            parts.append(f'<text x="{x}" y="{height - pad + 14}" text-anchor="middle">'
                         f'{t:.0f}s</text>')
        for i, (arm, c) in enumerate(curves.items()):
            points = " ".join(f"{px(t, a)[0]:.1f},{px(t, a)[1]:.1f}"
                              for t, a in zip(grid, c, strict=True) if np.isfinite(a))
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colors[arm]}" '
                         'stroke-width="2"/>')
            parts.append(f'<text x="{x0 + pad + 8}" y="{pad + 14 + 13 * i}" '
                         f'fill="{colors[arm]}">{arm}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main(argv=None):
    warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)  # no trial done yet
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=100.0, help="search seconds per run")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per trial")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--out", default="net2net_results.json")
    parser.add_argument("--plot", default="net2net.svg")
    parser.add_argument("--single", nargs=3, metavar=("DATASET", "ARM", "SEED"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="net2net_bench_")
    if args.single:
        dataset, arm, seed = args.single
        result = run_one(dataset, arm, int(seed), args.budget, args.epochs, workdir)
        print("RESULT " + json.dumps(result))
        return
    runs = []
    for dataset in args.datasets:
        for seed in args.seeds:
            for arm in args.arms:
                cmd = [sys.executable, os.path.abspath(__file__), "--single", dataset, arm,
                       str(seed), "--budget", str(args.budget), "--epochs", str(args.epochs),
                       "--workdir", workdir]
                out = subprocess.run(cmd, capture_output=True, text=True,
                                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
                if not line:
                    print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
                    raise SystemExit(f"run {dataset} {arm} {seed} failed")
                run = json.loads(line[-1][len("RESULT "):])
                runs.append(run)
                best = max(run["trials"], key=lambda t: t["val"]) if run["trials"] else None
                print(f"{dataset:8s} seed {seed} {arm:12s} trials {len(run['trials']):3d} "
                      f"wall {run['wall']:.0f}s best val {best and best['val']:.3f} "
                      f"test {best and best['test']:.3f}", flush=True)
                with open(args.out, "w") as f:
                    json.dump(runs, f)
    print(summarise(runs, args.budget))
    svg_plot(runs, args.budget, args.plot)


if __name__ == "__main__":
    main()
