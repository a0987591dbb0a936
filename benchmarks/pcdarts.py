"""PC-DARTS against DARTS (issue #25): time of one traced supernet step and peak memory.

Supernet: `CellSpace((8, 8, 1), 10, channels=--channels, num_cells=3, num_blocks=4)` (the
DARTS ops) on digits, batches of 64 training + 64 validation examples, first order. Arms:
DARTS, and PC-DARTS with K = 2 and 4 (edge normalisation on). Step time: each arm's traced
`train_step` after two warm-up calls, the arms' steps interleaved `--repeats` times
(median and min). Memory: in a fresh process per arm, the rise of the process's resident
high-water mark (`VmHWM`) over its resident memory before the model is built, through 3
traced steps.

Command:

    .venv/bin/python benchmarks/pcdarts.py --channels 16 --repeats 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ARMS = {"darts": None, "pcdarts_k2": 2, "pcdarts_k4": 4}


def batch_pair():
    import tensorflow as tf
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 8, 8, 1).astype("float32")
    return ((tf.constant(x[:64]), tf.constant(y[:64])),
            (tf.constant(x[64:128]), tf.constant(y[64:128])))


def make_step(arm, channels, seed=0):
    import tensorflow as tf

    from kerasnas.darts.model import DartsModel
    from kerasnas.darts.supernet import build_supernet
    from kerasnas.spaces import CellSpace

    space = CellSpace((8, 8, 1), 10, channels=channels, num_cells=3, num_blocks=4)
    k = ARMS[arm]
    model = DartsModel(build_supernet(space, k), seed=seed, edge_normalisation=k is not None)
    model.compile_search(100)
    return tf.function(model.train_step), model.network.count_params()


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def memory_arm(arm, channels):
    pair = batch_pair()
    before = status_kb("VmRSS")
    step, _ = make_step(arm, channels)
    for _ in range(3):
        _ = [float(v) for v in step(pair).values()]
    return (status_kb("VmHWM") - before) / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--memory-arm", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_arm:
        print(memory_arm(args.memory_arm, args.channels))
        return
    pair = batch_pair()
    steps, params = {}, {}
    for arm in ARMS:
        step, params[arm] = make_step(arm, args.channels)
        step(pair)
        step(pair)
        steps[arm] = step
    times = {arm: [] for arm in ARMS}
    for _ in range(args.repeats):
        for arm, step in steps.items():
            start = time.perf_counter()
            _ = [float(v) for v in step(pair).values()]
            times[arm].append(time.perf_counter() - start)
    memory = {}
    for arm in ARMS:
        out = subprocess.run([sys.executable, __file__, "--memory-arm", arm, "--channels",
                              str(args.channels)], capture_output=True, text=True, check=True)
        memory[arm] = float(out.stdout.strip().splitlines()[-1])
    base_t, base_m = np.median(times["darts"]), memory["darts"]
    print(f"CellSpace channels={args.channels}, 3 cells of 4 blocks, digits, batch 64 + 64, "
          f"{args.repeats} interleaved steps")
    print("| arm | supernet params | step s, median (min) | vs DARTS | peak MB | vs DARTS |")
    print("|---|---|---|---|---|---|")
    for arm in ARMS:
        t = np.median(times[arm])
        print(f"| {arm} | {params[arm]:,} | {t:.3f} ({min(times[arm]):.3f}) | "
              f"{t / base_t:.2f}x | {memory[arm]:.0f} | {memory[arm] / base_m:.2f}x |")
    print(json.dumps({"times": times, "memory": memory, "params": params}))


if __name__ == "__main__":
    main()
