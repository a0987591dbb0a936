"""Tables: kerasnas.search on raw DataFrames vs scikit-learn's tabular baselines.

Data sets (all shipped inside installed packages, no download):

- **penguins**: the Palmer penguins table (`palmerpenguins` package, the
  `tables` extra): species from island (text), bill and flipper sizes, body
  mass (floats with missing values), sex (text with missing values) and year
  (integer codes), its missing values left as they are.
- **breast_cancer**, **wine**: scikit-learn's bundled numeric sets, as
  DataFrames.

Arms, each given the same wall time per (data set, seed):

- **kerasnas**: `kerasnas.search(frame, y, time_budget=B, max_trials=None,
  seed=s, epochs=E)` on the raw DataFrame (column typing, imputation and
  one-hot inside the model); its refit counts in its wall time.
- **HGB**: `HistGradientBoostingClassifier(categorical_features="from_dtype")`
  with native categorical support (text columns as pandas `category`),
  random search over learning rate, leaves, depth, min leaf size and L2 on a
  20 % stratified validation split until kerasnas's measured wall time is
  spent, then the best configuration refit on all training rows.
- **LogReg**: logistic regression on one-hot features (median imputation +
  standardisation for numbers, a "missing" category + one-hot for text),
  random search over C likewise.

Each seed draws its own stratified 25 % test split; accuracy is on it.

Usage:

    .venv/bin/python benchmarks/tables.py --budget 30 --seeds 1 2 3

Prints a Markdown table (mean ± std and median test accuracy over seeds, the
best baseline, kerasnas's gap to it, wall times).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def load(name):
    """`(features DataFrame, labels)` of a data set, missing values as they are."""
    import pandas as pd

    if name == "penguins":
        from palmerpenguins import load_penguins

        frame = load_penguins()
        frame = frame[frame["species"].notna()]
        return frame.drop(columns=["species"]).reset_index(drop=True), \
            frame["species"].to_numpy().astype(str)
    from sklearn import datasets

    data = getattr(datasets, f"load_{name}")()
    return pd.DataFrame(data.data, columns=data.feature_names), data.target


def run_kerasnas(x_train, y_train, x_test, y_test, budget, seed, epochs, workdir):
    import kerasnas

    started = time.monotonic()
    result = kerasnas.search(x_train, y_train, time_budget=budget, max_trials=None, seed=seed,
                             epochs=epochs, verbose=0, overwrite=True,
                             directory=os.path.join(workdir, f"run{seed}"))
    wall = time.monotonic() - started
    return {"accuracy": result.evaluate(x_test, y_test)["accuracy"], "wall": wall,
            "trials": len(result.history)}


def _text_columns(frame):
    import pandas as pd

    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)]


def make_hgb(frame, params, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed,
                                          **params)


def make_logreg(frame, params, seed):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = _text_columns(frame)
    numbers = [c for c in frame.columns if c not in text]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), text),
    ])
    return make_pipeline(prep, LogisticRegression(max_iter=2000, **params))


def sample_params(arm, rng):
    if arm == "hgb":
        return {"learning_rate": float(10 ** rng.uniform(-2, -0.5)),
                "max_leaf_nodes": int(rng.choice([7, 15, 31, 63])),
                "max_depth": [None, 3, 5, 8][int(rng.integers(4))],
                "min_samples_leaf": int(rng.choice([2, 5, 10, 20])),
                "l2_regularization": float(10 ** rng.uniform(-4, 0))}
    return {"C": float(10 ** rng.uniform(-3, 3))}


def as_categories(frame):
    """Text columns as pandas `category` (HGB's native categorical input)."""
    frame = frame.copy()
    for c in _text_columns(frame):
        frame[c] = frame[c].astype("category")
    return frame


def run_sklearn(arm, x_train, y_train, x_test, y_test, budget, seed):
    """Random search on a 20 % validation split for `budget` seconds, then refit."""
    from sklearn.model_selection import train_test_split

    make = make_hgb if arm == "hgb" else make_logreg
    if arm == "hgb":
        x_train, x_test = as_categories(x_train), as_categories(x_test)
        x_test = x_test.astype({c: x_train[c].dtype for c in _text_columns(x_train)})
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    fit_x, val_x, fit_y, val_y = train_test_split(x_train, y_train, test_size=0.2,
                                                  stratify=y_train, random_state=seed)
    best, best_score, tried = None, -1.0, 0
    while tried == 0 or time.monotonic() - started < budget:
        params = sample_params(arm, rng)
        score = make(fit_x, params, seed).fit(fit_x, fit_y).score(val_x, val_y)
        tried += 1
        if score > best_score:
            best, best_score = params, score
    model = make(x_train, best, seed).fit(x_train, y_train)
    return {"accuracy": float(model.score(x_test, y_test)), "wall": time.monotonic() - started,
            "trials": tried}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=30.0,
                        help="kerasnas time_budget in seconds (default 30)")
    parser.add_argument("--epochs", type=int, default=30,
                        help="kerasnas epochs per trial (default 30: small tables train in "
                             "steps, not epochs)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--datasets", nargs="+", default=["penguins", "breast_cancer", "wine"])
    parser.add_argument("--workdir", default="tables_runs")
    parser.add_argument("--out", default="tables_results.json")
    args = parser.parse_args(argv)

    from sklearn.model_selection import train_test_split

    runs = []
    for name in args.datasets:
        frame, labels = load(name)
        for seed in args.seeds:  # interleaved: machine load falls on every arm alike
            x_train, x_test, y_train, y_test = train_test_split(
                frame, labels, test_size=0.25, stratify=labels, random_state=seed)
            ours = run_kerasnas(x_train, y_train, x_test, y_test, args.budget, seed, args.epochs,
                                os.path.join(args.workdir, name))
            runs.append({"data": name, "arm": "kerasnas", "seed": seed, **ours})
            for arm in ("hgb", "logreg"):  # the same wall time kerasnas took
                runs.append({"data": name, "arm": arm, "seed": seed, **run_sklearn(
                    arm, x_train, y_train, x_test, y_test, ours["wall"], seed)})
            print(" ".join(f"{r['arm']}={r['accuracy']:.4f}" for r in runs[-3:]),
                  f"[{name} seed {seed}, {ours['wall']:.0f} s each]", flush=True)
    with open(args.out, "w") as f:
        json.dump(runs, f, indent=1)
    print(table(runs, args))
    return runs


def table(runs, args):
    lines = [f"Test accuracy (%), {len(args.seeds)} seeds (mean ± std / median), equal wall "
             f"time per run (kerasnas time_budget={args.budget:g} s + refit)\n",
             "| data | kerasnas | HGB (native categorical) | LogReg (one-hot) | best baseline | "
             "kerasnas - best | wall s (median) | kerasnas trials |",
             "|---|---|---|---|---|---|---|---|"]
    for name in args.datasets:
        cells, means = [], {}
        for arm in ("kerasnas", "hgb", "logreg"):
            acc = [100 * r["accuracy"] for r in runs if r["data"] == name and r["arm"] == arm]
            means[arm] = statistics.mean(acc)
            std = statistics.stdev(acc) if len(acc) > 1 else 0.0
            cells.append(f"{means[arm]:.2f} ± {std:.2f} / {statistics.median(acc):.2f}")
        best = max(("hgb", "logreg"), key=means.get)
        walls = [r["wall"] for r in runs if r["data"] == name and r["arm"] == "kerasnas"]
        trials = [r["trials"] for r in runs if r["data"] == name and r["arm"] == "kerasnas"]
        lines.append(f"| {name} | {' | '.join(cells)} | {'HGB' if best == 'hgb' else 'LogReg'} "
                     f"| {means['kerasnas'] - means[best]:+.2f} | {statistics.median(walls):.0f} "
                     f"| {statistics.median(trials):.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
