"""NAGO's generator space on digits: Bayesian optimisation against random sampling.

NAGO (Ru, Esperança & Carlucci, 2020) argues that a hierarchical space of a few
generator parameters is small enough for Bayesian optimisation to search well.
This script measures that claim at small scale: `NAGOSpace` over scikit-learn's
8x8 digits, searched by kerasnas's `BayesianOptimization` (its defaults: 10
random architectures, `--initial` to change it, then the categorical GP with
NAGOEncoding's thermometer features and the seeds left out) and by `RandomSearch`, which samples the same
generators uniformly (random sampling of the generator parameters and seeds).
Both run through the real trial loop (`NASTuner`) with the same trials, epochs,
data split and seed, with no warm start (the hand design is left out of both).

For each arm and seed it records the best validation accuracy after every
trial, the test accuracy of the best-validation trial's model (reloaded from
its checkpoint), the wall time and the operations per proposed network.

Data: digits split once (random_state=0, stratified) into 60% training, 20%
validation, 20% test; the seeds vary only the search and the weights.

Usage:

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/nago.py \\
        --trials 12 --epochs 4 --seeds 1 2 --grids small --initial 4 --out nago_results.json

Prints a table and writes every run to `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

#: Smaller grids for a quick run (`--grids small`): at most 4 x 2 x 5 = 40 operations.
SMALL_GRIDS = {"top_nodes": (3, 4), "mid_nodes": (1, 2), "bottom_nodes": (3, 4, 5)}


def digits():
    """`(x_train, y_train, x_val, y_val, x_test, y_test)`: 60 / 20 / 20, stratified."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images[..., None] / 16.0).astype(np.float32)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, data.target, test_size=0.4, random_state=0, stratify=data.target)
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest)
    return x_train, y_train, x_val, y_val, x_test, y_test


def make_oracle(arm, trials, seed, initial):
    from kerasnas.oracles import BayesianOptimization, RandomSearch

    if arm == "bayesian":
        return BayesianOptimization(objective="val_accuracy", max_trials=trials, seed=seed,
                                    num_initial_points=initial)
    return RandomSearch(objective="val_accuracy", max_trials=trials, seed=seed)


def run(arm, seed, data, *, trials, epochs, grids, initial, directory):
    import keras

    from kerasnas.spaces import NAGOSpace
    from kerasnas.tuner.loop import NASTuner

    x_train, y_train, x_val, y_val, x_test, y_test = data
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    space = NAGOSpace((8, 8, 1), 10, **grids)
    tuner = NASTuner(make_oracle(arm, trials, seed, initial), space, epochs=epochs, directory=directory,
                     project_name=f"{arm}-{seed}", overwrite=True, verbose=0)
    start = time.monotonic()
    tuner.search(x_train, y_train, validation_data=(x_val, y_val))
    seconds = time.monotonic() - start
    finished = [tuner.oracle.trials[i] for i in tuner.oracle.start_order
                if tuner.oracle.trials[i].status == "COMPLETED"]
    scores = [t.score for t in finished]
    archs = [space.encoding.from_hp_values(t.hyperparameters.values) for t in finished]
    best = tuner.oracle.get_best_trials(1)[0]
    model = tuner.load_model(best)
    test = float(model.evaluate(x_test, y_test, verbose=0)[1])
    best_arch = space.encoding.from_hp_values(best.hyperparameters.values)
    result = {
        "arm": arm, "seed": seed, "trials": len(finished), "seconds": seconds,
        "best_val": float(best.score), "test_of_best_val": test,
        "best_so_far": [float(v) for v in np.maximum.accumulate(scores)],
        "scores": [float(s) for s in scores],
        "ops": [space.encoding.plan(a, (8, 8, 1)).num_ops for a in archs],
        "best_architecture": str(best_arch),
        "best_params": int(model.count_params()),
    }
    print(f"{arm:>8} seed {seed}: best val {result['best_val']:.4f}, its test "
          f"{test:.4f}, {len(finished)} trials in {seconds:.0f} s, mean ops "
          f"{np.mean(result['ops']):.1f}; {best_arch}", flush=True)
    return result


def summarize(runs, checkpoints):
    print("\narm       best val @trials " + " ".join(f"{c:>15}" for c in checkpoints)
          + "   test of best val   seconds")
    for arm in dict.fromkeys(r["arm"] for r in runs):
        own = [r for r in runs if r["arm"] == arm]
        cells = []
        for c in checkpoints:
            values = [r["best_so_far"][min(c, len(r["best_so_far"])) - 1] for r in own]
            cells.append(f"{np.mean(values):.4f} ± {np.std(values):.4f}")
        tests = [r["test_of_best_val"] for r in own]
        print(f"{arm:<9} {'':16}" + " ".join(f"{c:>15}" for c in cells)
              + f"   {np.mean(tests):.4f} ± {np.std(tests):.4f}"
              + f"   {np.mean([r['seconds'] for r in own]):.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--arms", nargs="+", default=["bayesian", "random"],
                        choices=["bayesian", "random"])
    parser.add_argument("--grids", choices=["default", "small"], default="default",
                        help="NAGOSpace's default grids, or SMALL_GRIDS")
    parser.add_argument("--initial", type=int, default=10,
                        help="BayesianOptimization's random architectures before the GP "
                             "(its default: 10)")
    parser.add_argument("--out", default="nago_results.json")
    args = parser.parse_args()
    grids = SMALL_GRIDS if args.grids == "small" else {}
    data = digits()
    runs = []
    with tempfile.TemporaryDirectory() as directory:
        for seed in args.seeds:  # interleaved: a slowdown of the machine hits both arms
            for arm in args.arms:
                runs.append(run(arm, seed, data, trials=args.trials, epochs=args.epochs,
                                grids=grids, initial=args.initial, directory=directory))
                with open(args.out, "w") as handle:
                    json.dump({"args": vars(args), "runs": runs}, handle, indent=1)
    checkpoints = sorted({min(c, args.trials) for c in (5, 10, args.trials)})
    summarize(runs, checkpoints)


if __name__ == "__main__":
    main()
