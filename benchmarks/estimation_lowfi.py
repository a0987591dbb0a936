"""Does a 1-epoch budget rank architectures when trained the way a practitioner would? (#11)

`benchmarks/estimation.py` measured the accuracy after epoch 1 of the 5-epoch
"full" training (Adam 1e-3, batch 32: 19 optimizer steps on 600 digits) and
found Kendall tau ~ 0 against the fully trained accuracy. That epoch was the
first fifth of a longer run, not a run planned to last one epoch. This script
retrains the first `--n` digits architectures of `benchmarks/estimation_raw.json`
for ONE epoch exactly as before (same split, same weight seed per architecture)
under low-fidelity settings one would choose for a 1-epoch budget:

* `lr1e-3`: the full run's setting (Adam 1e-3, batch 32), retrained now: a
  check that the retraining reproduces the recorded epoch 1, and the time
  reference measured under the same load as the others;
* `lr1e-2`: Adam at 1e-2 (ten times the full run's rate), batch 32;
* `lr1e-2-cosine`: Adam from 1e-2 decayed to 0 along a half cosine over the
  epoch's steps (the schedule of kerasnas's training recipe, compressed to the
  short budget);
* `b8-lr3e-3-cosine`: batch 8 (75 steps instead of 19), Adam from 3e-3 with the
  same per-step cosine decay;

and prints Kendall tau / Spearman rho against the recorded full-training
accuracy, next to the recorded epoch-1 accuracy on the same architectures,
with each setting's median fit time relative to the recorded full training
(both measured on the shared, loaded CPU: indicative only). Raw results:
`benchmarks/estimation_lowfi_raw.json` (appended per architecture).

    .venv/bin/python benchmarks/estimation_lowfi.py --n 20
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from estimation import datasets, digits_rows, load_raw, save_raw, split  # the sibling script

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "estimation_lowfi_raw.json")

#: name -> (peak learning rate, batch size, cosine decay over the epoch's steps)
SETTINGS = {"lr1e-3": (1e-3, 32, False), "lr1e-2": (1e-2, 32, False), "lr1e-2-cosine": (1e-2, 32, True),
            "b8-lr3e-3-cosine": (3e-3, 8, True)}



def train(n, settings, seed=0):
    import keras

    from kerasnas.spaces import MacroSpace

    x, y = datasets()["digits"][:2]
    xt, yt, xv, yv = split(x, y, np.random.default_rng(seed))  # the split of --train
    space = MacroSpace((8, 8, 1), 10, max_layers=4, widths=(8, 16, 32))
    raw = load_raw(RAW)
    for i, row in enumerate(digits_rows()[:n]):
        for name in settings:
            done = {r["arch"] for r in raw.get(name, [])}
            if row["arch"] in done:
                continue
            lr, batch, cosine = SETTINGS[name]
            keras.utils.set_random_seed(seed + i)  # the weights of benchmarks/estimation.py
            model = space.build_architecture(space.architecture(row["arch"]))
            steps = int(np.ceil(len(xt) / batch))
            rate = (keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps)
                    if cosine else lr)
            model.compile(optimizer=keras.optimizers.Adam(rate),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            start = time.perf_counter()
            hist = model.fit(xt, yt, validation_data=(xv, yv), epochs=1, batch_size=batch,
                             verbose=0)
            rec = {"arch": row["arch"], "fit_seconds": time.perf_counter() - start,
                   "val_accuracy": float(hist.history["val_accuracy"][-1]), "steps": steps}
            raw.setdefault(name, []).append(rec)
            save_raw(raw, RAW)
            print(f"{i + 1}/{n} {name}: {rec['val_accuracy']:.3f} (full "
                  f"{max(row['val_accuracy']):.3f}, epoch 1 {row['val_accuracy'][0]:.3f}) "
                  f"{rec['fit_seconds']:.1f}s", flush=True)
            keras.backend.clear_session()


def analyse(n):
    from kerasnas.estimation.ranking import kendall_tau, spearman_rho

    rows = digits_rows()[:n]
    raw = load_raw(RAW)
    truth = np.array([max(r["val_accuracy"]) for r in rows])
    full_s = np.median([r["fit_seconds"] for r in rows])
    print(f"\n{len(rows)} digits architectures; truth = best validation accuracy of the 5-epoch "
          f"training (median {full_s:.1f} s)\n")
    print("| 1-epoch setting | steps | Kendall tau | Spearman rho | mean accuracy | "
          "fit time / full training (median) |")
    print("|---|---|---|---|---|---|")
    first = np.array([r["val_accuracy"][0] for r in rows])
    print(f"| Adam 1e-3, batch 32 (epoch 1 of the full run, recorded) | 19 | "
          f"{kendall_tau(first, truth):.3f} | {spearman_rho(first, truth):.3f} | "
          f"{first.mean():.3f} | 0.2 (1 of 5 epochs) |")
    for name in SETTINGS:
        got = {r["arch"]: r for r in raw.get(name, [])}
        keep = [i for i, r in enumerate(rows) if r["arch"] in got]
        if len(keep) < 3:
            continue
        est = np.array([got[rows[i]["arch"]]["val_accuracy"] for i in keep])
        ratio = np.median([got[rows[i]["arch"]]["fit_seconds"] / rows[i]["fit_seconds"]
                           for i in keep])
        lr, batch, cosine = SETTINGS[name]
        label = f"Adam {lr:g}{' cosine to 0' if cosine else ''}, batch {batch}"
        extra = "" if len(keep) == len(rows) else f" ({len(keep)} of {len(rows)})"
        print(f"| {label}{extra} | {got[rows[keep[0]]['arch']]['steps']} | "
              f"{kendall_tau(est, truth[keep]):.3f} | {spearman_rho(est, truth[keep]):.3f} | "
              f"{est.mean():.3f} | {ratio:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--no-train", action="store_true", help="only print the table")
    args = parser.parse_args(argv)
    settings = args.settings.split(",")
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise SystemExit(f"Unknown settings {unknown}; choose from {list(SETTINGS)}.")
    if not args.no_train:
        train(args.n, settings)
    analyse(args.n)


if __name__ == "__main__":
    main()
