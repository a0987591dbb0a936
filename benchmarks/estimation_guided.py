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


def run(table, predictor, seeds, queries, progress=False, first_seed=1, **oracle_args):
    """Best accuracy at `queries` for oracle seeds `first_seed, ..., first_seed + seeds - 1`,
    and the seconds taken."""
    import keras_tuner

    from kerasnas.bench.nb201 import run_search
    from kerasnas.estimation.guided import PredictorGuided
    from kerasnas.spaces.encodings import NB201Encoding

    bests, start = [], time.perf_counter()
    for seed in range(seeds):
        oracle = PredictorGuided(objective=keras_tuner.Objective("accuracy", "max"),
                                 predictor=predictor, space=NB201Encoding(),
                                 seed=seed + first_seed,
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
    parser.add_argument("--predictors", default="ranker", help="comma-separated (gp,mlp_ensemble,ranker)")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--random-candidates", type=int, default=100)
    parser.add_argument("--acquisition", default=None, help="ucb, its or ei (default: "
                        "PredictorGuided's)")
    parser.add_argument("--exploration", type=float, default=None, help="ucb weight of the std")
    parser.add_argument("--refit-every", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=1, help="oracle seeds start here "
                        "(1: the evaluation seeds 1-100; tuning used 1001 on)")
    parser.add_argument("--progress", action="store_true", help="print each seed's result")
    args = parser.parse_args(argv)
    from kerasnas.bench.nb201 import load_nb201_table

    table = load_nb201_table(args.table)
    optimum = max(table.values())
    for predictor in args.predictors.split(","):
        extra = {k: v for k, v in (("acquisition", args.acquisition),
                                   ("exploration", args.exploration)) if v is not None}
        bests, seconds = run(table, predictor, args.seeds, args.queries, top_k=args.top_k,
                             num_random_candidates=args.random_candidates,
                             refit_every=args.refit_every, progress=args.progress,
                             first_seed=args.first_seed, **extra)
        print(f"predictor={predictor} top_k={args.top_k} random={args.random_candidates} "
              f"{extra} refit_every={args.refit_every} seeds {args.first_seed}-"
              f"{args.first_seed + args.seeds - 1}: best test accuracy at {args.queries} queries "
              f"over {args.seeds} seeds: {bests.mean():.3f} ± {bests.std():.3f} (median "
              f"{np.median(bests):.2f}, optimum found in {np.mean(bests >= optimum):.0%}; "
              f"{seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
