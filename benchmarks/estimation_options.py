"""Search options of #11 measured on the digits architectures of `benchmarks/estimation.py`.

`--prescreen` (no training): replays `kerasnas.estimation.prescreen.Prescreen`
on the 60 digits architectures recorded in `benchmarks/estimation_raw.json`
(each with its zero-cost proxy scores and its fully trained accuracy): for many
random proposal orders, the first `reference` architectures place the threshold
and each later one is kept or discarded as the oracle would. Prints, per proxy
and fraction, the proxy's Kendall tau on all 60, how many of the proposals were
discarded, the mean trained accuracy of the kept and the discarded ones, and
how often the best proposal was discarded.

`--downscale WIDTH[,RESOLUTION]` (trains): retrains the first `--n` of those
architectures exactly as `benchmarks/estimation.py --train` did (same split,
seed per architecture, 5 epochs, batch 32), but down-scaled with
`kerasnas.estimation.fidelity.set_downscale`, and prints Kendall tau / Spearman
rho of the down-scaled accuracy against the recorded full-size one, and the
parameter and time ratios. Raw results: `benchmarks/estimation_downscale_raw.json`.

    .venv/bin/python benchmarks/estimation_options.py --prescreen
    .venv/bin/python benchmarks/estimation_options.py --downscale 0.5 --n 20
    .venv/bin/python benchmarks/estimation_options.py --downscale 0.5,0.5 --n 20
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
DOWN_RAW = os.path.join(HERE, "estimation_downscale_raw.json")

from estimation import datasets, digits_rows, split  # noqa: E402 - the sibling script


def prescreen(orders=500, reference=20):
    from kerasnas.estimation.prescreen import PROXY_NAMES, Prescreen
    from kerasnas.estimation.ranking import kendall_tau

    rows = digits_rows()
    truth = np.array([max(r["val_accuracy"]) for r in rows])
    print(f"Pre-screen replay on {len(rows)} digits architectures, {orders} random orders, "
          f"reference {reference}; truth: best validation accuracy after 5 epochs.")
    print("| proxy | tau (all) | fraction | discarded / proposals | mean acc kept | "
          "mean acc discarded | best proposal discarded |")
    print("|---|---|---|---|---|---|---|")
    for proxy in PROXY_NAMES:
        scores = np.array([r["proxies"][proxy] for r in rows], dtype=np.float64)
        tau = kendall_tau(scores, truth)
        for fraction in (0.25, 0.5):
            kept_acc, lost_acc, n_lost, n_prop, best_lost = [], [], 0, 0, 0
            for seed in range(orders):
                order = np.random.default_rng(seed).permutation(len(rows))
                screen = Prescreen(scores.__getitem__, fraction, reference=0)
                for i in order[:reference]:
                    screen._score(i)  # the reference sample
                later = order[reference:]
                lost = [screen.discard(i) for i in later]
                n_lost += sum(lost)
                n_prop += len(later)
                kept_acc += [truth[i] for i, d in zip(later, lost, strict=True) if not d]
                lost_acc += [truth[i] for i, d in zip(later, lost, strict=True) if d]
                best = later[int(np.argmax(truth[later]))]
                best_lost += lost[list(later).index(best)]
            print(f"| `{proxy}` | {tau:.3f} | {fraction} | {n_lost / n_prop:.2f} | "
                  f"{np.mean(kept_acc):.3f} | {np.mean(lost_acc):.3f} | "
                  f"{best_lost / orders:.0%} |", flush=True)
    print(f"(mean accuracy of all {len(rows)}: {truth.mean():.3f})")


def downscale(spec, n, seed=0):
    import keras

    from kerasnas.estimation.fidelity import set_downscale
    from kerasnas.estimation.ranking import kendall_tau, spearman_rho
    from kerasnas.spaces import MacroSpace

    x, y = datasets()["digits"][:2]
    xt, yt, xv, yv = split(x, y, np.random.default_rng(seed))  # the split of --train
    rows = digits_rows()[:n]
    space = MacroSpace((8, 8, 1), 10, max_layers=4, widths=(8, 16, 32))
    full = MacroSpace((8, 8, 1), 10, max_layers=4, widths=(8, 16, 32))
    knobs = set_downscale(space, spec)
    key = json.dumps(knobs, sort_keys=True)
    try:
        with open(DOWN_RAW, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError):
        raw = {}
    done = {r["arch"]: r for r in raw.get(key, [])}
    for i, row in enumerate(rows):
        if row["arch"] in done:
            continue
        arch = space.architecture(row["arch"])
        keras.utils.set_random_seed(seed + i)
        model = space.build_architecture(arch)
        start = time.perf_counter()
        hist = model.fit(xt, yt, validation_data=(xv, yv), epochs=5, batch_size=32, verbose=0)
        rec = {"arch": row["arch"], "fit_seconds": time.perf_counter() - start,
               "val_accuracy": [float(v) for v in hist.history["val_accuracy"]],
               "params": float(model.count_params()),
               "full_params": float(full.cost(arch)["params"])}
        raw.setdefault(key, []).append(rec)
        done[rec["arch"]] = rec
        with open(DOWN_RAW + ".tmp", "w", encoding="utf-8") as f:
            json.dump(raw, f)
        os.replace(DOWN_RAW + ".tmp", DOWN_RAW)
        print(f"{i + 1}/{n} small {max(rec['val_accuracy']):.3f} full "
              f"{max(row['val_accuracy']):.3f} fit {rec['fit_seconds']:.1f}s", flush=True)
        keras.backend.clear_session()
    small = np.array([max(done[r["arch"]]["val_accuracy"]) for r in rows])
    truth = np.array([max(r["val_accuracy"]) for r in rows])
    ratio_p = np.median([done[r["arch"]]["params"] / done[r["arch"]]["full_params"]
                         for r in rows])
    ratio_t = np.median([done[r["arch"]]["fit_seconds"] / r["fit_seconds"] for r in rows])
    print(f"downscale {knobs} on {len(rows)} digits architectures (5 epochs each): Kendall tau "
          f"{kendall_tau(small, truth):.3f}, Spearman rho {spearman_rho(small, truth):.3f} "
          f"against full size; median params ratio {ratio_p:.2f}, median fit-time ratio "
          f"{ratio_t:.2f} (full-size times from the earlier run); accuracy small "
          f"{small.mean():.3f} vs full {truth.mean():.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prescreen", action="store_true")
    parser.add_argument("--downscale", default=None, help="WIDTH or WIDTH,RESOLUTION")
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args(argv)
    if args.prescreen:
        prescreen()
    if args.downscale:
        parts = [float(p) for p in args.downscale.split(",")]
        spec = {"width": parts[0]} if len(parts) == 1 else {"width": parts[0],
                                                             "resolution": parts[1]}
        downscale(spec, args.n)


if __name__ == "__main__":
    main()
