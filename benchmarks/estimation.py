"""How well cheap estimates preserve the ranking of architectures, and what they cost.

Stage 1 (`--train`): for each data set (digits 8x8 images; a synthetic 1D
signal task), sample N architectures of a `MacroSpace`, score each untrained
model with every zero-cost proxy on one minibatch of 64 examples, then train it
for `--epochs` epochs (the "full" training) and record its validation accuracy
after every epoch and the seconds everything took. Raw results go to
`benchmarks/estimation_raw.json` (appended per architecture, so an interrupted
run keeps what it measured).

Stage 2 (default): from the raw file, Kendall tau and Spearman rho against the
fully trained accuracy (the best validation accuracy over all epochs) for

* every zero-cost proxy;
* low fidelity: the accuracy after 1, 2, 3 epochs;
* learning-curve extrapolation from the first 3 epochs (`kerasnas.estimation.extrapolate`);
* predictors trained on T = 10, 20, 40 architectures and scored on the others
  (`kerasnas.estimation.predictors`), median over 20 random draws of the T,
  on the encoding alone and with zero-cost features beside it (the recorded
  proxy values, `kerasnas.estimation.zc_features`);

and each estimate's cost relative to full training.

Commands:

    .venv/bin/python benchmarks/estimation.py --train --n 60 --epochs 5
    .venv/bin/python benchmarks/estimation.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "estimation_raw.json")
PROXY_BATCH = 64
#: Training examples of the "full" training: 600 keeps 2 x 60 trainings within an hour on
#: a shared 2-core CPU (validation: a third of the data set).
TRAIN_SIZE = 600


def signals(n=1000, length=64, seed=0):
    """A 3-class 1D task: noisy sinusoids whose frequency band is the class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    t = np.arange(length) / length
    freq = 2.0 + 1.5 * y + rng.uniform(-0.6, 0.6, size=n)
    phase = rng.uniform(0, 2 * np.pi, size=n)
    x = np.sin(2 * np.pi * freq[:, None] * t[None, :] + phase[:, None])
    x = x + rng.normal(0.0, 1.0, size=x.shape)
    return x[..., None].astype("float32"), y.astype("int64")


def datasets():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images[..., None] / 16.0).astype("float32")
    y = d.target.astype("int64")
    sx, sy = signals()
    return {"digits": (x, y, (8, 8, 1), 10), "signals": (sx, sy, (64, 1), 3)}


def split(x, y, rng):
    """`(x_train, y_train, x_val, y_val)` of `--train`: a third of the data set for
    validation, the next `TRAIN_SIZE` examples for training, in `rng`'s order."""
    order = rng.permutation(len(x))
    n_val = len(x) // 3
    val, train = order[:n_val], order[n_val:n_val + TRAIN_SIZE]
    return x[train], y[train], x[val], y[val]


def digits_rows():
    """The recorded digits architectures of `--train` (`estimation_raw.json`), in order."""
    return load_raw()["digits"]


def train_stage(n, epochs, names, seed=0):
    import keras

    from kerasnas.estimation import proxies as P
    from kerasnas.spaces import MacroSpace

    raw = load_raw()
    for name, (x, y, shape, classes) in datasets().items():
        if name not in names:
            continue
        rng = np.random.default_rng(seed)
        xt, yt, xv, yv = split(x, y, rng)
        xb, yb = xt[:PROXY_BATCH], yt[:PROXY_BATCH]
        space = MacroSpace(shape, classes, max_layers=4, widths=(8, 16, 32))
        seen = {r["arch"] for r in raw.get(name, [])}
        archs = []
        while len(archs) < n:
            a = space.sample(rng)
            if str(a) not in archs:
                archs.append(str(a))
        for i, arch in enumerate(archs):
            if arch in seen:
                continue
            row = {"arch": arch, "proxies": {}, "proxy_seconds": {}}
            keras.utils.set_random_seed(seed + i)
            start = time.perf_counter()
            model = space.build_architecture(space.architecture(arch))
            row["build_seconds"] = time.perf_counter() - start
            for p, fn in P.PROXIES.items():
                start = time.perf_counter()
                row["proxies"][p] = fn(model, xb, yb)
                row["proxy_seconds"][p] = time.perf_counter() - start
            start = time.perf_counter()
            hist = model.fit(xt, yt, validation_data=(xv, yv), epochs=epochs, batch_size=32,
                             verbose=0)
            row["fit_seconds"] = time.perf_counter() - start
            row["val_accuracy"] = [float(v) for v in hist.history["val_accuracy"]]
            raw.setdefault(name, []).append(row)
            save_raw(raw)
            print(f"{name} {i + 1}/{n} acc={max(row['val_accuracy']):.3f} "
                  f"fit={row['fit_seconds']:.1f}s {arch}", flush=True)
            keras.backend.clear_session()


def load_raw(path=RAW):
    """A raw-results JSON file as a dict; {} when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _load_all():
    import glob

    raw = {}
    for path in sorted(glob.glob(os.path.join(HERE, "estimation_raw*.json"))):
        with open(path, encoding="utf-8") as f:
            for name, rows in json.load(f).items():
                known = {r["arch"] for r in raw.get(name, [])}
                raw.setdefault(name, []).extend(r for r in rows if r["arch"] not in known)
    return raw


def save_raw(raw, path=RAW):
    """Writes `raw` to `path` whole (temporary file, then rename)."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(raw, f)
    os.replace(path + ".tmp", path)


def nb201_search(table_path, predictor, seeds, queries=50, initial=10, batch=5, pool=500):
    """Predictor-guided search on the NAS-Bench-201 table (lookup, no training).

    Per seed: `initial` random cells are queried; then, until `queries`, the
    predictor is fitted on every queried cell and the `batch` best-predicted
    unseen cells among `pool` random ones and all neighbours of the 5 best
    queried are queried. Prints the mean ± std of the best accuracy found.
    """
    from kerasnas.bench.nb201 import load_nb201_table
    from kerasnas.estimation.predictors import make_predictor
    from kerasnas.spaces.encodings import NB201Encoding

    table = load_nb201_table(table_path)
    enc = NB201Encoding()
    bests = []
    start = time.perf_counter()
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        queried = {}
        while len(queried) < initial:
            a = enc.sample(rng)
            queried.setdefault(str(a), table[str(a)])
        while len(queried) < queries:
            archs = [enc.from_string(k) for k in queried]
            model = make_predictor(predictor, enc, seed=seed).fit(archs, list(queried.values()))
            top = sorted(queried, key=queried.get, reverse=True)[:5]
            cands = {str(n): n for k in top for n in enc.neighbors(enc.from_string(k))}
            for _ in range(pool):
                a = enc.sample(rng)
                cands.setdefault(str(a), a)
            cands = [a for k, a in cands.items() if k not in queried]
            pred = model.predict(cands)
            for i in np.argsort(-pred)[:min(batch, queries - len(queried))]:
                queried[str(cands[i])] = table[str(cands[i])]
        bests.append(max(queried.values()))
    bests = np.array(bests)
    print(f"NB201 predictor-guided search, predictor={predictor}: best test accuracy at "
          f"{queries} queries over {seeds} seeds: {bests.mean():.2f} ± {bests.std():.2f} "
          f"(median {np.median(bests):.2f}; {time.perf_counter() - start:.0f} s)", flush=True)
    return bests


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", action="store_true", help="run stage 1 (training)")
    parser.add_argument("--n", type=int, default=60, help="architectures per data set")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the full training")
    parser.add_argument("--datasets", default="digits,signals")
    parser.add_argument("--raw", default=None, help="raw results file (default "
                        "benchmarks/estimation_raw.json; stage 2 also reads estimation_raw_*.json)")
    parser.add_argument("--nb201", default=None, help="path of nb201_cifar10.csv: run the "
                        "predictor-guided search on the table instead")
    parser.add_argument("--predictor", default="gp")
    parser.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    if args.nb201:
        nb201_search(args.nb201, args.predictor, args.seeds)
        return
    global RAW
    if args.raw:
        RAW = args.raw
    if args.train:
        train_stage(args.n, args.epochs, args.datasets.split(","))
    else:
        analyse(_load_all())


def median_iqr(values):
    """`"median [q1, q3]"` of the finite values (also used by comparator_ranking.py)."""
    v = np.asarray([x for x in values if np.isfinite(x)])
    if not len(v):
        return "n/a"
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return f"{med:.3f} [{q1:.3f}, {q3:.3f}]"


def _curve_stopping_replay(rows, truth, epochs):
    """Replays the learning-curve rule on the recorded curves, in the order they were trained."""
    from kerasnas.estimation.stopping import LearningCurveStopping

    stopped = wrong = used = 0
    for i, row in enumerate(rows):
        best = float(max(truth[:i])) if i else None
        rule = LearningCurveStopping(best=best, horizon=epochs)
        stop_at = next((e for e in range(3, epochs)
                        if rule.decide(row["val_accuracy"][:e], e) is not None), None)
        used += stop_at or epochs
        if stop_at is not None:
            stopped += 1
            wrong += bool(truth[i] > best)
    print(f"| learning-curve rule (z = 1.645) replayed in training order: stopped {stopped} of "
          f"{len(rows)}, {wrong} of them would have become the best so far | | | "
          f"{used / (len(rows) * epochs):.3f} (epochs trained / all epochs) |")


def analyse(raw, draws=20):
    from kerasnas.estimation.curves import extrapolate
    from kerasnas.estimation.predictors import PREDICTORS, make_predictor
    from kerasnas.estimation.ranking import kendall_tau, spearman_rho
    from kerasnas.estimation.zc_features import DEFAULT_FEATURES, feature_vector
    from kerasnas.spaces.encodings import MacroEncoding

    FEATURE_SETS = (DEFAULT_FEATURES, ("params",), ("params", "flops", "naswot", "synflow"))

    for name, rows in raw.items():
        rows = [r for r in rows if r.get("val_accuracy")]
        n = len(rows)
        epochs = len(rows[0]["val_accuracy"])
        truth = np.array([max(r["val_accuracy"]) for r in rows])
        fit = np.median([r["fit_seconds"] for r in rows])
        print(f"\n### {name}: {n} architectures, full training = {epochs} epochs "
              f"(median {fit:.1f} s); truth = best validation accuracy "
              f"(range {truth.min():.3f}-{truth.max():.3f})\n")
        print("| estimate | Kendall tau | Spearman rho | cost / full training |")
        print("|---|---|---|---|")
        for p in rows[0]["proxies"]:
            est = [r["proxies"][p] for r in rows]
            cost = np.median([r["proxy_seconds"][p] for r in rows]) / fit
            print(f"| proxy `{p}` | {kendall_tau(est, truth):.3f} | "
                  f"{spearman_rho(est, truth):.3f} | {cost:.4f} |")
        for e in range(1, min(epochs, 4)):
            est = [r["val_accuracy"][e - 1] for r in rows]
            print(f"| {e} epoch(s) | {kendall_tau(est, truth):.3f} | "
                  f"{spearman_rho(est, truth):.3f} | {e / epochs:.3f} |")
        if epochs > 3:
            est = [extrapolate(r["val_accuracy"][:3], epochs, bounds=(0, 1)).mean for r in rows]
            print(f"| curve extrapolation from 3 epochs | {kendall_tau(est, truth):.3f} | "
                  f"{spearman_rho(est, truth):.3f} | {3 / epochs:.3f} |")
        _curve_stopping_replay(rows, truth, epochs)
        # Predictors: fit on T fully trained, rank the other N - T (median over draws).
        space_enc = MacroEncoding(max_layers=4, widths=(8, 16, 32))
        archs = [space_enc.from_string(r["arch"]) for r in rows]
        # With zero-cost features beside the encoding (White et al. 2021): the recorded proxy
        # values, transformed as `zero_cost_features` does (no model is rebuilt).
        scores = {r["arch"]: r["proxies"] for r in rows}
        setups = [(pred, None) for pred in PREDICTORS]
        setups += [(pred, names) for names in FEATURE_SETS for pred in ("mlp_ensemble", "ranker")]
        for t in (10, 20, 40):
            if t >= n - 5:
                continue
            alone = [kendall_tau([scores[rows[i]["arch"]]["params"] for i in te], truth[te])
                     for te in (np.random.default_rng(d).permutation(n)[t:]
                                for d in range(draws))]
            print(f"| (proxy `params` alone on the same N - T, T = {t}) | {median_iqr(alone)} "
                  f"| | 0 |")
            for pred, names in setups:
                feats = None if names is None else (
                    lambda batch, names=names, scores=scores: np.stack(
                        [feature_vector(scores[str(a)], names) for a in batch]))
                taus, rhos = [], []
                for d in range(draws):
                    idx = np.random.default_rng(d).permutation(n)
                    tr, te = idx[:t], idx[t:]
                    model = make_predictor(pred, space_enc, seed=d, features=feats)
                    model.fit([archs[i] for i in tr], truth[tr])
                    est = model.predict([archs[i] for i in te])
                    taus.append(kendall_tau(est, truth[te]))
                    rhos.append(spearman_rho(est, truth[te]))
                label = f"`{pred}`" + ("" if names is None else
                                       f" + features ({', '.join(names)})")
                print(f"| predictor {label}, T = {t} (median [IQR] of {draws} draws) | "
                      f"{median_iqr(taus)} | {median_iqr(rhos)} | "
                      f"{t} full trainings for all {n} |", flush=True)


if __name__ == "__main__":
    main()
