"""DARTS benchmark: step cost, search time, derived vs random architectures, skip collapse.

On two data sets (sklearn digits as 8x8 images; a generated 1D signal task), with the
NB201 space at its smallest (1 cell per stage, 4 channels):

1. median time of one traced step of the supernet, first and second order, and of
   the derived network's own step (same batch size);
2. search wall time to a derived architecture (first order, `--epochs`);
3. test accuracy of the derived architecture after `--retrain` epochs, against the
   mean and the best of `--random` random architectures trained the same way;
4. `skip_connect` edges of the derived cell with and without DARTS+ early stopping.

Run: `.venv/bin/python benchmarks/darts.py`. The recorded run (`--epochs 2 --retrain 2 --random 3
--repeats 3`) took about 19 minutes on a 2-core CPU shared with other jobs; the defaults were not run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 8, 8, 1).astype("float32")
    return x, y.astype("int64")


def signals(n=1200, length=32, seed=0):
    """Four classes of noisy 1D signals: sine, square, sawtooth, bursts, random frequency/phase."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)[None]
    y = rng.integers(0, 4, n)
    freq = rng.uniform(0.15, 0.5, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    s = np.sin(freq * t + phase)
    waves = [s, np.sign(s), ((freq * t + phase) % (2 * np.pi)) / np.pi - 1,
             s * (rng.uniform(size=(n, length)) < 0.3)]
    x = np.choose(y[:, None], waves) + 0.4 * rng.normal(size=(n, length))
    return x[..., None].astype("float32"), y.astype("int64")


def median_step_seconds(step, data, repeats):
    step(data)                                   # trace
    step(data)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = step(data)
        _ = [float(v) for v in out.values()]     # wait for the result
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(np.percentile(times, 25)), float(np.percentile(times, 75))


def train_eval(space, arch, x, y, xt, yt, epochs, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = space.build_architecture(arch)
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return float(model.evaluate(xt, yt, verbose=0)[1])


def run(name, x, y, args):
    import keras
    import tensorflow as tf

    from kerasnas import darts
    from kerasnas.darts.model import DartsModel
    from kerasnas.darts.supernet import build_supernet
    from kerasnas.spaces import NB201Space

    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    n_test = len(x) // 4
    xt, yt = x[order[:n_test]], y[order[:n_test]]
    x, y = x[order[n_test:]], y[order[n_test:]]
    space = NB201Space(x.shape[1:], int(y.max()) + 1, channels=4, cells_per_stage=1)
    row = {"data": name, "train": len(x), "test": len(xt), "space": "NB201 C=4 N=1"}

    b = 64
    pair = ((tf.constant(x[:b]), tf.constant(y[:b])), (tf.constant(x[b:2 * b]), tf.constant(y[b:2 * b])))
    for o in (1, 2):
        model = DartsModel(build_supernet(space), order=o, seed=args.seed)
        model.compile_search(100)
        row[f"step_order{o}_s"] = median_step_seconds(tf.function(model.train_step), pair, args.repeats)

    print(f"[{name}] steps: {row}", flush=True)
    t = time.perf_counter()
    result = darts.search(space, x, y, epochs=args.epochs, seed=args.seed)
    row["search_s"] = time.perf_counter() - t
    row["derived"] = str(result.architecture)
    row["skips_per_epoch"] = result.skip_counts()
    plus = darts.search(space, x, y, epochs=args.epochs, seed=args.seed, max_skips=2)
    row["dartsplus_derived"] = str(plus.architecture)
    row["dartsplus_stopped_epoch"] = plus.stopped_early
    row["dartsplus_skips"] = plus.skip_counts()[-1]

    derived_net = space.build_architecture(result.architecture)
    row["step_derived_s"] = median_step_seconds(tf.function(derived_net.train_step),
                                                pair[0], args.repeats)
    for o in (1, 2):
        row[f"step_order{o}_vs_derived"] = row[f"step_order{o}_s"][0] / row["step_derived_s"][0]
    row["order2_vs_order1"] = row["step_order2_s"][0] / row["step_order1_s"][0]

    row["derived_acc"] = train_eval(space, result.architecture, x, y, xt, yt, args.retrain, args.seed)
    row["dartsplus_acc"] = train_eval(space, plus.architecture, x, y, xt, yt, args.retrain, args.seed)
    randoms = [space.sample(np.random.default_rng(args.seed + 100 + i)) for i in range(args.random)]
    accs = [train_eval(space, a, x, y, xt, yt, args.retrain, args.seed) for a in randoms]
    row["random_accs"] = accs
    row["random_mean"], row["random_best"] = float(np.mean(accs)), float(np.max(accs))
    keras.backend.clear_session()
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6, help="search epochs (default 6)")
    parser.add_argument("--retrain", type=int, default=6, help="retraining epochs (default 6)")
    parser.add_argument("--random", type=int, default=10, help="random architectures (default 10)")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps (default 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default="digits,signals")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    loaders = {"digits": digits, "signals": signals}
    rows = []
    for name in args.data.split(","):
        row = run(name, *loaders[name](), args)
        rows.append(row)
        print(json.dumps(row, indent=1), flush=True)
    print("\n| data | step o1 / derived | step o2 / derived | o2 / o1 | search s | DARTS acc "
          "| DARTS+ acc | random mean | random best | skips (DARTS / DARTS+) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data']} | {r['step_order1_vs_derived']:.1f}x | {r['step_order2_vs_derived']:.1f}x "
              f"| {r['order2_vs_order1']:.2f}x | {r['search_s']:.0f} | {r['derived_acc']:.3f} "
              f"| {r['dartsplus_acc']:.3f} | {r['random_mean']:.3f} | {r['random_best']:.3f} "
              f"| {r['skips_per_epoch'][-1]} / {r['dartsplus_skips']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
