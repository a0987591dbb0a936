"""Top-k ensembles vs the single best model, and the cost of TensorBoard logging.

For each seed: one search on digits (flattened, the DenseSpace), then the
same search resumed (no new trials) with `ensemble=1` and `ensemble=3`, so
both refit the same leaderboard; test accuracy on a fixed held-out split and
the refit's wall time are printed. Then the same search with and without
`tensorboard=DIR`, printing the median seconds per trial of each.

    .venv/bin/python benchmarks/ensemble.py --seeds 1 2 3 --trials 6

Prints one line per run and a summary (medians, min-max spread).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _data():
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)  # one fixed test split for every seed
    order = rng.permutation(len(x))
    test, train = order[:450], order[450:]
    return x[train], y[train], x[test], y[test]


def _search(x, y, seed, trials, directory, **kwargs):
    import kerasnas

    return kerasnas.search(x, y, space="dense", strategy="random", max_trials=trials, epochs=10,
                           seed=seed, verbose=0, directory=directory, **kwargs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args(argv)
    x, y, x_test, y_test = _data()
    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            run = os.path.join(tmp, "run")
            _search(x, y, seed, args.trials, run, refit=False)  # the trials, once
            row = {"seed": seed}
            for k in (1, 3):
                start = time.monotonic()
                result = _search(x, y, seed, args.trials, run, ensemble=k)  # resumes: refit only
                row[f"refit_s_{k}"] = time.monotonic() - start
                row[f"acc_{k}"] = result.evaluate(x_test, y_test)["accuracy"]
            for tb in (None, os.path.join(tmp, "tb")):
                result = _search(x, y, seed, args.trials, os.path.join(tmp, f"tb{tb is None}"),
                                 refit=False, tensorboard=tb)
                per_trial = statistics.median(r.fit_time for r in result.history)
                row["trial_s_tb" if tb else "trial_s"] = per_trial
        rows.append(row)
        print("seed {seed}: test accuracy single {acc_1:.4f}, top-3 ensemble {acc_3:.4f}; refit "
              "{refit_s_1:.1f} s vs {refit_s_3:.1f} s; median trial fit {trial_s:.2f} s, with "
              "TensorBoard {trial_s_tb:.2f} s".format(**row), flush=True)

    def summary(key):
        values = [r[key] for r in rows]
        return f"{statistics.median(values):.4f} (min {min(values):.4f}, max {max(values):.4f})"

    print(f"\n{len(rows)} seeds, {args.trials} trials each, medians (spread):")
    for key, name in (("acc_1", "single best, test accuracy"), ("acc_3", "top-3 ensemble"),
                      ("refit_s_1", "refit s, single"), ("refit_s_3", "refit s, top-3"),
                      ("trial_s", "trial fit s, no TensorBoard"),
                      ("trial_s_tb", "trial fit s, TensorBoard")):
        print(f"  {name:32s} {summary(key)}")


if __name__ == "__main__":
    main()
