"""DARTS benchmark: step cost, search time, derived vs random architectures, skip collapse.

On two data sets (sklearn digits as 8x8 images; a generated 1D signal task), with the
NB201 space at its smallest (1 cell per stage, 4 channels):

1. time of one traced step of the supernet, first and second order, and of the
   derived network's own step (same batch size), the three arms interleaved
   step by step (so a change of machine load hits all three alike): minimum
   and median of `--repeats`;
2. peak memory of each arm: the high-water mark of the process's resident
   memory (`VmHWM`) over its resident memory just before the model is built,
   each arm in a fresh subprocess (CPU: TensorFlow reports allocator peaks
   for GPUs only);
3. search wall time to a derived architecture (first order, `--epochs`);
4. test accuracy of the derived architecture after `--retrain` epochs, against the
   mean and the best of `--random` random architectures trained the same way;
5. `skip_connect` edges of the derived cell with and without DARTS+ early stopping;
6. `kerasnas.search(strategy="darts")` against `strategy="evolution"` at equal wall
   time (`--budget` seconds each, same space, same split): test accuracy of the
   returned (refit) models (`--budget 0` skips it).

Run: `.venv/bin/python benchmarks/darts.py`; the command of the recorded run is in
benchmarks/README.md.
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


def interleaved_step_seconds(steps, repeats):
    """`{arm: (min, median, p25, p75)}` seconds; the arms' steps alternate, after 2 warm-up calls."""
    for step, data in steps.values():
        step(data)                               # trace
        step(data)
    times = {arm: [] for arm in steps}
    for _ in range(repeats):
        for arm, (step, data) in steps.items():
            t = time.perf_counter()
            out = step(data)
            _ = [float(v) for v in out.values()]  # wait for the result
            times[arm].append(time.perf_counter() - t)
    return {arm: (float(np.min(v)), float(np.median(v)), float(np.percentile(v, 25)),
                  float(np.percentile(v, 75))) for arm, v in times.items()}


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def memory_arm(name, arm, arch, seed):
    """Runs in a fresh process: MB of resident memory the arm's model + 3 traced steps add."""
    import tensorflow as tf

    from kerasnas.darts.model import DartsModel
    from kerasnas.darts.supernet import build_supernet

    x, y = LOADERS[name]()
    space = make_space(x, y)
    b = 64
    pair = ((tf.constant(x[:b]), tf.constant(y[:b])), (tf.constant(x[b:2 * b]), tf.constant(y[b:2 * b])))
    before = _status_kb("VmRSS")
    if arm == "derived":
        model = space.build_architecture(space.encoding.from_string(arch))
        step, data = tf.function(model.train_step), pair[0]
    else:
        model = DartsModel(build_supernet(space), order=int(arm[-1]), seed=seed)
        model.compile_search(100)
        step, data = tf.function(model.train_step), pair
    for _ in range(3):
        _ = [float(v) for v in step(data).values()]
    return (_status_kb("VmHWM") - before) / 1024.0


def memory_ratios(name, arch, seed):
    import subprocess
    import sys

    peaks = {}
    for arm in ("order1", "order2", "derived"):
        out = subprocess.run([sys.executable, __file__, "--memory-arm", arm, "--data", name,
                              "--arch", arch, "--seed", str(seed)], capture_output=True,
                             text=True, check=True).stdout
        peaks[arm] = float(out.strip().splitlines()[-1])
    return peaks


def make_space(x, y):
    from kerasnas.spaces import NB201Space

    return NB201Space(x.shape[1:], int(y.max()) + 1, channels=4, cells_per_stage=1)


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

    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    n_test = len(x) // 4
    xt, yt = x[order[:n_test]], y[order[:n_test]]
    x, y = x[order[n_test:]], y[order[n_test:]]
    space = make_space(x, y)
    row = {"data": name, "train": len(x), "test": len(xt), "space": "NB201 C=4 N=1"}

    t = time.perf_counter()
    result = darts.search(space, x, y, epochs=args.epochs, seed=args.seed)
    row["search_s"] = time.perf_counter() - t
    row["derived"] = str(result.architecture)
    row["skips_per_epoch"] = result.skip_counts()
    row["param_free_per_epoch"] = result.parameter_free_counts()
    if args.warmup:     # the remedies: α warm-up, then warm-up + DARTS+ counting parameter-free ops
        warm = darts.search(space, x, y, epochs=args.epochs, seed=args.seed, warmup_epochs=args.warmup)
        row["warmup_derived"] = str(warm.architecture)
        row["warmup_param_free_per_epoch"] = warm.parameter_free_counts()
        plus = darts.search(space, x, y, epochs=args.epochs, seed=args.seed, warmup_epochs=args.warmup,
                            max_skips=args.max_skips, stop_ops="parameter_free")
    else:
        plus = darts.search(space, x, y, epochs=args.epochs, seed=args.seed, max_skips=2,
                            stop_ops=("skip_connect",))
    row["dartsplus_derived"] = str(plus.architecture)
    row["dartsplus_stopped_epoch"] = plus.stopped_early
    row["dartsplus_skips"] = plus.skip_counts()[-1]
    row["dartsplus_param_free"] = plus.parameter_free_counts()[-1]
    print(f"[{name}] search: {row}", flush=True)

    b = 64
    pair = ((tf.constant(x[:b]), tf.constant(y[:b])), (tf.constant(x[b:2 * b]), tf.constant(y[b:2 * b])))
    steps = {}
    for o in (1, 2):
        model = DartsModel(build_supernet(space), order=o, seed=args.seed)
        model.compile_search(100)
        steps[f"order{o}"] = (tf.function(model.train_step), pair)
    derived_net = space.build_architecture(result.architecture)
    steps["derived"] = (tf.function(derived_net.train_step), pair[0])
    timing = interleaved_step_seconds(steps, args.repeats)
    for arm, stats in timing.items():
        row[f"step_{arm}_s"] = stats
    for stat, k in (("min", 0), ("median", 1)):
        for o in (1, 2):
            row[f"order{o}_vs_derived_{stat}"] = timing[f"order{o}"][k] / timing["derived"][k]
        row[f"order2_vs_order1_{stat}"] = timing["order2"][k] / timing["order1"][k]
    if args.memory:
        peaks = memory_ratios(name, row["derived"], args.seed)
        row["peak_mb"] = peaks
        row["mem_order1_vs_derived"] = peaks["order1"] / peaks["derived"]
        row["mem_order2_vs_derived"] = peaks["order2"] / peaks["derived"]
        row["mem_order2_vs_order1"] = peaks["order2"] / peaks["order1"]
    print(f"[{name}] steps: {timing} memory: {row.get('peak_mb')}", flush=True)

    row["derived_acc"] = train_eval(space, result.architecture, x, y, xt, yt, args.retrain, args.seed)
    row["dartsplus_acc"] = train_eval(space, plus.architecture, x, y, xt, yt, args.retrain, args.seed)
    if args.warmup:
        row["warmup_acc"] = train_eval(space, warm.architecture, x, y, xt, yt, args.retrain, args.seed)
    randoms = [space.sample(np.random.default_rng(args.seed + 100 + i)) for i in range(args.random)]
    accs = [train_eval(space, a, x, y, xt, yt, args.retrain, args.seed) for a in randoms]
    row["random_archs"] = [str(a) for a in randoms]
    row["random_accs"] = accs
    row["random_mean"], row["random_best"] = float(np.mean(accs)), float(np.max(accs))
    keras.backend.clear_session()
    if args.budget:
        row.update(versus_evolution(x, y, xt, yt, args))
    return row


def versus_evolution(x, y, xt, yt, args):
    """`kerasnas.search` with strategy="darts" and "evolution", `args.budget` seconds each."""
    import tempfile

    import kerasnas

    out = {}
    for strategy in ("darts", "evolution"):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            result = kerasnas.search(
                x, y, strategy=strategy, space="nb201", channels=4, cells_per_stage=1,
                time_budget=args.budget, seed=args.seed, verbose=0, directory=f"{tmp}/run",
                **({"strategy_args": {"epochs": args.epochs}} if strategy == "darts" else {}))
            out[f"{strategy}_wall_s"] = time.perf_counter() - t
            out[f"{strategy}_trials"] = len(result.history)
            out[f"{strategy}_test_acc"] = result.evaluate(xt, yt)["accuracy"]
            out[f"{strategy}_arch"] = str(result.architecture)
    out["darts_vs_evolution_acc"] = out["darts_test_acc"] / out["evolution_test_acc"]
    print(f"versus evolution: {out}", flush=True)
    return out


LOADERS = {"digits": digits, "signals": signals}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6, help="search epochs (default 6)")
    parser.add_argument("--retrain", type=int, default=6, help="retraining epochs (default 6)")
    parser.add_argument("--random", type=int, default=10, help="random architectures (default 10)")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per arm (default 10)")
    parser.add_argument("--budget", type=float, default=120,
                        help="seconds of each one-liner search, darts vs evolution (default 120; "
                             "0 skips it)")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the peak-memory subprocesses")
    parser.add_argument("--warmup", type=int, default=0,
                        help="α warm-up epochs of the remedy arms (default 0: the DARTS+ arm is the "
                             "published rule, skip_connect only, max 2)")
    parser.add_argument("--max-skips", type=int, default=3,
                        help="DARTS+ threshold on parameter-free edges with --warmup (default 3: "
                             "half of NB201's 6 edges)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default="digits,signals")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--memory-arm", help=argparse.SUPPRESS)
    parser.add_argument("--arch", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_arm:
        print(memory_arm(args.data, args.memory_arm, args.arch, args.seed))
        return
    rows = []
    for name in args.data.split(","):
        row = run(name, *LOADERS[name](), args)
        rows.append(row)
        print(json.dumps(row, indent=1), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
    print("\n| data | step o1 / derived | o2 / derived | o2 / o1 (min; median) | peak MB o1 / o2 / "
          "derived | search s | DARTS acc | DARTS+ acc | random mean | random best | skips "
          "(DARTS / DARTS+) | darts / evolution acc |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mem = r.get("peak_mb")
        mem = " / ".join(f"{mem[k]:.0f}" for k in ("order1", "order2", "derived")) if mem else "-"
        vs = (f"{r['darts_test_acc']:.3f} / {r['evolution_test_acc']:.3f}"
              if "darts_test_acc" in r else "-")
        print(f"| {r['data']} | {r['order1_vs_derived_min']:.1f}x | {r['order2_vs_derived_min']:.1f}x "
              f"| {r['order2_vs_order1_min']:.2f}x; {r['order2_vs_order1_median']:.2f}x | {mem} "
              f"| {r['search_s']:.0f} | {r['derived_acc']:.3f} | {r['dartsplus_acc']:.3f} "
              f"| {r['random_mean']:.3f} | {r['random_best']:.3f} "
              f"| {r['skips_per_epoch'][-1]} / {r['dartsplus_skips']} | {vs} |")
    for r in rows:
        if "warmup_acc" in r:
            print(f"{r['data']}: DARTS {r['derived_acc']:.3f} (param-free edges per epoch "
                  f"{r['param_free_per_epoch']}), warm-up {r['warmup_acc']:.3f} "
                  f"({r['warmup_param_free_per_epoch']}), warm-up + DARTS+ param-free "
                  f"{r['dartsplus_acc']:.3f} (stopped {r['dartsplus_stopped_epoch']}), random mean "
                  f"{r['random_mean']:.3f} best {r['random_best']:.3f}")


if __name__ == "__main__":
    main()
