"""How well CTNAS's comparator ranks architectures: Kendall tau against stand-alone accuracy.

The protocol of `benchmarks/estimation.py`'s stage 2, on its recorded digits
architectures (`benchmarks/estimation_raw.json`, key "digits": 60 random
`MacroSpace(max_layers=4, widths=(8, 16, 32))` architectures, each trained for
5 epochs; truth = the best validation accuracy over those epochs): the
comparator (`kerasnas.oracles.comparator.ArchitectureComparator`, defaults)
is trained on T = 10, 20, 40 architectures drawn at random with their true
accuracy and ranks the other N - T by its score (mean P(better) against the
others); Kendall tau, median [IQR] over 20 draws, draw d seeding both the
split and the comparator. Beside it, on the same draws: the zero-cost proxy
`naswot` and the parameter count on the same held-out architectures (recorded
values, nothing retrained), and the predictors of `kerasnas.estimation`
(`gp`, `mlp_ensemble`, `ranker`) on the encoding alone.

`--nb201 PATH` adds the same measurement on NAS-Bench-201 cells (T random
cells with their test accuracy, tau on 500 others).

Usage:

    .venv/bin/python benchmarks/comparator_ranking.py
    .venv/bin/python benchmarks/comparator_ranking.py --nb201 ../shared/data/nb201_cifar10.csv
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

#: Training set sizes and draws, as in `benchmarks/estimation.py`.
SIZES = (10, 20, 40)
DRAWS = 20


def digits(draws=DRAWS, sizes=SIZES):
    from estimation import load_raw, median_iqr

    from kerasnas.estimation.predictors import PREDICTORS, make_predictor
    from kerasnas.estimation.ranking import kendall_tau
    from kerasnas.oracles.comparator import ArchitectureComparator
    from kerasnas.spaces.encodings import MacroEncoding

    rows = [r for r in load_raw(os.path.join(HERE, "estimation_raw.json"))["digits"]
            if r.get("val_accuracy")]
    n = len(rows)
    enc = MacroEncoding(max_layers=4, widths=(8, 16, 32))
    archs = [enc.from_string(r["arch"]) for r in rows]
    truth = np.array([max(r["val_accuracy"]) for r in rows])
    naswot = np.array([r["proxies"]["naswot"] for r in rows])
    params = np.array([r["proxies"]["params"] for r in rows])
    print(f"\n### digits: {n} MacroSpace architectures, truth = best validation accuracy of "
          f"5 epochs (range {truth.min():.3f}-{truth.max():.3f})\n")
    print(f"proxy `naswot` on all {n}: tau {kendall_tau(naswot, truth):.3f}; "
          f"`params`: {kendall_tau(params, truth):.3f}\n")
    print("| estimate | " + " | ".join(f"T = {t}" for t in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    results = {}
    seconds = []
    for t in sizes:
        for d in range(draws):
            idx = np.random.default_rng(d).permutation(n)
            tr, te = idx[:t], idx[t:]
            start = time.perf_counter()
            nac = ArchitectureComparator(enc, seed=d).fit([archs[i] for i in tr], truth[tr])
            est = nac.score([archs[i] for i in te])
            seconds.append(time.perf_counter() - start)
            results.setdefault(("comparator (CTNAS NAC)", t), []).append(
                kendall_tau(est, truth[te]))
            results.setdefault(("proxy `naswot`, same held-out", t), []).append(
                kendall_tau(naswot[te], truth[te]))
            results.setdefault(("proxy `params`, same held-out", t), []).append(
                kendall_tau(params[te], truth[te]))
            for pred in PREDICTORS:
                model = make_predictor(pred, enc, seed=d).fit([archs[i] for i in tr], truth[tr])
                results.setdefault((f"predictor `{pred}`", t), []).append(
                    kendall_tau(model.predict([archs[i] for i in te]), truth[te]))
    labels = list(dict.fromkeys(label for label, _ in results))
    for label in labels:
        print(f"| {label} | " + " | ".join(median_iqr(results[(label, t)]) for t in sizes)
              + " |")
    print(f"\nComparator fit + score: median {np.median(seconds):.2f} s per draw "
          f"({draws} draws per T, median [IQR] of Kendall tau).")
    return results


def nb201(path, draws=DRAWS, sizes=SIZES, held_out=500):
    from estimation import median_iqr

    from kerasnas.bench.nb201 import load_nb201_table
    from kerasnas.estimation.predictors import make_predictor
    from kerasnas.estimation.ranking import kendall_tau
    from kerasnas.oracles.comparator import ArchitectureComparator
    from kerasnas.spaces.encodings import NB201Encoding

    table = load_nb201_table(path)
    keys = sorted(table)
    enc = NB201Encoding()
    print(f"\n### NAS-Bench-201 (CIFAR-10 test accuracy): T random cells, tau on {held_out} "
          "others\n")
    print("| estimate | " + " | ".join(f"T = {t}" for t in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    results = {}
    for t in sizes:
        for d in range(draws):
            idx = np.random.default_rng(d).permutation(len(keys))
            tr = [enc.from_string(keys[i]) for i in idx[:t]]
            te = [enc.from_string(keys[i]) for i in idx[t:t + held_out]]
            y_tr = np.array([table[str(a)] for a in tr])
            y_te = np.array([table[str(a)] for a in te])
            nac = ArchitectureComparator(enc, seed=d).fit(tr, y_tr)
            results.setdefault(("comparator (CTNAS NAC)", t), []).append(
                kendall_tau(nac.score(te), y_te))
            for pred in ("gp", "ranker"):
                model = make_predictor(pred, enc, seed=d).fit(tr, y_tr)
                results.setdefault((f"predictor `{pred}`", t), []).append(
                    kendall_tau(model.predict(te), y_te))
    for label in dict.fromkeys(label for label, _ in results):
        print(f"| {label} | " + " | ".join(median_iqr(results[(label, t)]) for t in sizes)
              + " |")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=DRAWS)
    parser.add_argument("--nb201", default=None, help="path of nb201_cifar10.csv: also rank "
                        "NAS-Bench-201 cells")
    args = parser.parse_args(argv)
    if args.draws < 1:
        parser.error("--draws must be >= 1.")
    if args.nb201 is not None and not os.path.isfile(args.nb201):
        parser.error(f"NAS-Bench-201 table not found at {args.nb201}.")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    digits(args.draws)
    if args.nb201:
        nb201(args.nb201, args.draws)


if __name__ == "__main__":
    main()
