"""GHN as an estimator: how well accuracy with predicted parameters ranks architectures.

On the 60 digits `MacroSpace` architectures of `benchmarks/estimation_raw.json`
(trained stand-alone for 5 epochs by `benchmarks/estimation.py --train`), per
seed:

1. train a `GraphHyperNetwork` on the same training split (`TRAIN_SIZE` = 600
   examples), the 60 architectures excluded from its training pool, so each is
   an architecture it never saw;
2. score all 60 with predicted parameters on the same validation split (no
   training), and each one untrained (the space's initial weights);
3. Kendall tau of the GHN scores against the stand-alone accuracy (the best
   validation accuracy over the epochs, as `benchmarks/estimation.py` does),
   beside the recorded zero-cost proxies over the same 60 and the predictors of
   `kerasnas.estimation` (fit on T = 10, 20, 40 trained architectures, scored on
   the other N - T, median over 20 draws; the GHN's tau on the same N - T).

Raw results go to `benchmarks/ghn_raw.json` (one entry per seed, written as it
goes); `--analyse` prints the tables from it again.

Command:

    nice -n 10 .venv/bin/python benchmarks/ghn.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from estimation import datasets, digits_rows, split  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "ghn_raw.json")
#: Draws of the T training architectures for the predictors (as benchmarks/estimation.py).
DRAWS = 20


def _space():
    from kerasnas.spaces import MacroSpace

    # The space of `benchmarks/estimation.py --train` for digits.
    return MacroSpace((8, 8, 1), 10, max_layers=4, widths=(8, 16, 32))


def run_seed(seed, steps, rows):
    import keras

    from kerasnas.estimation.ghn import GraphHyperNetwork

    x, y, _, _ = datasets()["digits"]
    xt, yt, xv, yv = split(x, y, np.random.default_rng(0))  # estimation.py's split (seed 0)
    space = _space()
    archs = [space.architecture(r["arch"]) for r in rows]
    ghn = GraphHyperNetwork(space, seed=seed)
    ghn.fit(xt, yt, steps=steps, exclude=archs, verbose=True)
    start = time.perf_counter()
    predicted = ghn.score(archs, xv, yv)
    score_seconds = time.perf_counter() - start
    untrained = []
    for i, arch in enumerate(archs):
        keras.utils.set_random_seed(seed * 1000 + i)
        model = space.build_architecture(arch, compile=False)
        out = np.asarray(model(xv, training=False))
        untrained.append(float(np.mean(out.argmax(-1) == yv)))
        keras.backend.clear_session()
    return {"seed": seed, "steps": len(ghn.losses), "train_seconds": ghn.train_seconds,
            "score_seconds": score_seconds, "final_loss": float(np.mean(ghn.losses[-20:])),
            "ghn_params": ghn.count_params(), "pool": len(ghn._pool),
            "ghn_accuracy": predicted, "untrained_accuracy": untrained}


def load(path=RAW):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def analyse(runs, rows):
    from kerasnas.estimation.predictors import PREDICTORS, make_predictor
    from kerasnas.estimation.ranking import kendall_tau, spearman_rho
    from kerasnas.spaces.encodings import MacroEncoding

    truth = np.array([max(r["val_accuracy"]) for r in rows])
    n = len(rows)
    fit = np.array([r["fit_seconds"] for r in rows])
    taus = [kendall_tau(r["ghn_accuracy"], truth) for r in runs]
    rhos = [spearman_rho(r["ghn_accuracy"], truth) for r in runs]
    print(f"\n### GHN on digits: {n} architectures (unseen by the GHN), {len(runs)} GHN seeds; "
          f"truth = best validation accuracy of 5 epochs ({truth.min():.3f}-{truth.max():.3f}); "
          f"full training median {np.median(fit):.1f} s\n")
    print("| estimate | Kendall tau | Spearman rho | cost |")
    print("|---|---|---|---|")
    train = np.array([r["train_seconds"] for r in runs])
    score = np.array([r["score_seconds"] for r in runs])
    print(f"| GHN accuracy, mean ± std over seeds ({', '.join(f'{t:.3f}' for t in taus)}) | "
          f"{np.mean(taus):.3f} ± {np.std(taus):.3f} | {np.mean(rhos):.3f} ± {np.std(rhos):.3f} | "
          f"training {train.mean():.0f} s once, then {score.mean() / n:.2f} s per architecture |")
    mean_scores = np.mean([r["ghn_accuracy"] for r in runs], axis=0)
    print(f"| GHN accuracy averaged over the seeds | {kendall_tau(mean_scores, truth):.3f} | "
          f"{spearman_rho(mean_scores, truth):.3f} | {len(runs)} x the above |")
    for p in rows[0]["proxies"]:
        est = [r["proxies"][p] for r in rows]
        cost = np.median([r["proxy_seconds"][p] for r in rows])
        print(f"| proxy `{p}` (recorded) | {kendall_tau(est, truth):.3f} | "
              f"{spearman_rho(est, truth):.3f} | {cost:.2f} s per architecture |")
    enc = MacroEncoding(max_layers=4, widths=(8, 16, 32))
    archs = [enc.from_string(r["arch"]) for r in rows]
    for t in (10, 20, 40):
        draws = [np.random.default_rng(d).permutation(n) for d in range(DRAWS)]
        ghn = [np.mean([kendall_tau(np.asarray(r["ghn_accuracy"])[idx[t:]], truth[idx[t:]])
                        for r in runs]) for idx in draws]
        print(f"| GHN on the same N - T, T = {t} (median [IQR] of {DRAWS} draws, seed mean) | "
              f"{_median_iqr(ghn)} | | no trained architecture |")
        for pred in PREDICTORS:
            out = []
            for d, idx in enumerate(draws):
                model = make_predictor(pred, enc, seed=d).fit([archs[i] for i in idx[:t]],
                                                              truth[idx[:t]])
                out.append(kendall_tau(model.predict([archs[i] for i in idx[t:]]),
                                       truth[idx[t:]]))
            print(f"| predictor `{pred}`, T = {t} (median [IQR]) | {_median_iqr(out)} | | "
                  f"{t} full trainings ({t * np.median(fit):.0f} s) |", flush=True)
    ghn_acc = np.array([r["ghn_accuracy"] for r in runs])
    untrained = np.array([r["untrained_accuracy"] for r in runs])
    print(f"\nAccuracy on the validation split, mean over the {n} architectures (mean ± std over "
          f"seeds): GHN-predicted {ghn_acc.mean(1).mean():.3f} ± {ghn_acc.mean(1).std():.3f} "
          f"(best {ghn_acc.max(1).mean():.3f}, worst {ghn_acc.min(1).mean():.3f}); untrained "
          f"{untrained.mean(1).mean():.3f} ± {untrained.mean(1).std():.3f}; trained 5 epochs "
          f"{truth.mean():.3f}. GHN better than untrained on "
          f"{np.mean(ghn_acc > untrained) * 100:.0f}% of (architecture, seed) pairs.")
    print(f"GHN: {runs[0]['ghn_params']:,} parameters, {runs[0]['steps']} steps, "
          f"{runs[0]['pool']} architectures in its pool, final loss "
          f"{np.mean([r['final_loss'] for r in runs]):.3f}; training {train.mean():.0f} ± "
          f"{train.std():.0f} s; scoring all {n}: {score.mean():.0f} s.")


def _median_iqr(values):
    q1, med, q3 = np.percentile(np.asarray(values), [25, 50, 75])
    return f"{med:.3f} [{q1:.3f}, {q3:.3f}]"


def main():
    from kerasnas.estimation.ghn import DEFAULT_STEPS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--raw", default=RAW)
    parser.add_argument("--analyse", action="store_true", help="print the tables only")
    args = parser.parse_args()
    rows = [r for r in digits_rows() if r.get("val_accuracy")]
    runs = load(args.raw)
    if not args.analyse:
        done = {(r["seed"], r["steps"]) for r in runs}
        for seed in args.seeds:
            if (seed, args.steps) in done:
                continue
            runs.append(run_seed(seed, args.steps, rows))
            with open(args.raw + ".tmp", "w", encoding="utf-8") as f:
                json.dump(runs, f)
            os.replace(args.raw + ".tmp", args.raw)
            print(f"seed {seed}: tau {_tau(runs[-1], rows):.3f}, "
                  f"{runs[-1]['train_seconds']:.0f} s", flush=True)
    runs = [r for r in runs if r["seed"] in args.seeds and r["steps"] == args.steps]
    analyse(runs, rows)


def _tau(run, rows):
    from kerasnas.estimation.ranking import kendall_tau

    return kendall_tau(run["ghn_accuracy"], [max(r["val_accuracy"]) for r in rows])


if __name__ == "__main__":
    main()
