"""Predictor-guided search (`PredictorGuided`) on the NAS-Bench-201 table, through Keras Tuner (#11).

Each seed runs `kerasnas.estimation.PredictorGuided` for `--queries` lookup
trials through the real Keras Tuner loop (`kerasnas.bench.nb201.run_search`)
and records the best CIFAR-10 test accuracy found. Prints mean ± std, median
and the share of seeds that found the optimum (94.37), per predictor.

    .venv/bin/python benchmarks/estimation_guided.py ../shared/data/nb201_cifar10.csv \
        --predictors gp --seeds 100 --queries 50
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def run(table, predictor, seeds, queries, progress=False, **oracle_args):
    """Best accuracy at `queries` for each seed in `range(seeds)`, and the seconds taken."""
    import keras_tuner

    from kerasnas.bench.nb201 import run_search
    from kerasnas.estimation.guided import PredictorGuided
    from kerasnas.spaces.encodings import NB201Encoding

    bests, start = [], time.perf_counter()
    for seed in range(seeds):
        oracle = PredictorGuided(objective=keras_tuner.Objective("accuracy", "max"),
                                 predictor=predictor, space=NB201Encoding(), seed=seed + 1,
                                 **oracle_args)
        runs = run_search(oracle, table, queries)
        bests.append(max(acc for _, acc in runs))
        if progress:
            print(f"  seed {seed}: {bests[-1]:.2f} (mean so far {np.mean(bests):.3f}, "
                  f"{time.perf_counter() - start:.0f} s)", flush=True)
    return np.array(bests), time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", help="path of nb201_cifar10.csv")
    parser.add_argument("--predictors", default="gp", help="comma-separated (gp,mlp_ensemble,ranker)")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--random-candidates", type=int, default=100)
    parser.add_argument("--exploration", type=float, default=0.0)
    parser.add_argument("--progress", action="store_true", help="print each seed's result")
    args = parser.parse_args(argv)
    from kerasnas.bench.nb201 import load_nb201_table

    table = load_nb201_table(args.table)
    optimum = max(table.values())
    for predictor in args.predictors.split(","):
        bests, seconds = run(table, predictor, args.seeds, args.queries, top_k=args.top_k,
                             num_random_candidates=args.random_candidates,
                             exploration=args.exploration, progress=args.progress)
        print(f"predictor={predictor} top_k={args.top_k} random={args.random_candidates} "
              f"exploration={args.exploration}: best test accuracy at {args.queries} queries over "
              f"{args.seeds} seeds: {bests.mean():.3f} ± {bests.std():.3f} (median "
              f"{np.median(bests):.2f}, optimum found in {np.mean(bests >= optimum):.0%}; "
              f"{seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
