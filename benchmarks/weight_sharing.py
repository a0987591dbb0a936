"""Weight sharing (issue #25): how well one-shot and few-shot scores rank architectures, what
the supernet costs, and the one-liner with and without it.

`--part rank` (default): on digits (scikit-learn, 8x8, 80 / 20 stratified split, seed 0),
`--n` distinct architectures of the one-liner's `ResidualSpace` for that input (dropout 0,
`downsample` moot at 8x8: what a one-shot score can tell apart), each trained stand-alone
(`--epochs` epochs, batch 32, Adam 1e-3, best validation accuracy: the truth). One supernet
(`ResidualSupernet`, uniform single path, batch 64) is trained for `--steps` steps and the
architectures' one-shot scores (BatchNorm recalibrated on 256 training examples, validation
accuracy, ties broken by loss) are taken at `--checkpoints`; from the checkpoint at half the
steps, a few-shot split on each of `--splits` is fine-tuned for the other half (split
evenly over its sub-supernets), so one-shot and few-shot spend the same steps. Kendall tau
(and Spearman rho) against the truth; the supernet's seconds against the median stand-alone
training. Raw results to `--raw` (stand-alone results appended per architecture, reused when
the file exists).

`--part one_liner`: `kerasnas.search(x, y, time_budget=B, seed=s)` on digits with
`weight_sharing=False` and `True`, for each budget and seed, one fresh process each; test
accuracy on a fixed 25 % test split, wall time, trials, candidates ranked.

Commands:

    .venv/bin/python benchmarks/weight_sharing.py --part rank --n 60 --epochs 5 --steps 1000
    .venv/bin/python benchmarks/weight_sharing.py --part one_liner --budgets 60 120 --seeds 1 2 3
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

HERE = os.path.dirname(os.path.abspath(__file__))


def digits_split(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x.reshape(-1, 8, 8, 1).astype("float32")
    return train_test_split(x, y.astype("int32"), test_size=0.2, stratify=y, random_state=seed)


def make_space(x_train):
    import keras

    from kerasnas.spaces import ResidualSpace

    norm = keras.layers.Normalization()
    norm.adapt(x_train)
    return ResidualSpace(x_train.shape[1:], num_classes=10, preprocessing=[norm])


def architectures(space, n, seed=0):
    """`n` distinct architectures, one per one-shot scoring key (dropout 0)."""
    rng = np.random.default_rng(seed)
    enc = space.encoding
    seen, out = set(), []
    for _ in range(100 * n):
        arch = enc.sample(rng)
        arch = enc.architecture({**arch.as_dict(), "dropout": 0.0, "downsample": "by_size"})
        if arch not in seen:
            seen.add(arch)
            out.append(arch)
            if len(out) == n:
                break
    return out


def standalone(space, arch, data, epochs, seed=0):
    import keras

    x_tr, x_va, y_tr, y_va = data
    keras.utils.set_random_seed(seed)
    model = space.build_architecture(arch)
    start = time.monotonic()
    history = model.fit(x_tr, y_tr, validation_data=(x_va, y_va), epochs=epochs, batch_size=32,
                        verbose=0)
    return {"accuracy": float(max(history.history["val_accuracy"])),
            "seconds": time.monotonic() - start}


def part_rank(args):
    from kerasnas.estimation.ranking import kendall_tau, spearman_rho
    from kerasnas.oneshot.fewshot import FewShotSupernet
    from kerasnas.oneshot.ranking import rank_candidates
    from kerasnas.oneshot.residual import ResidualSupernet

    data = digits_split()
    x_tr, x_va, y_tr, y_va = data
    space = make_space(x_tr)
    archs = architectures(space, args.n)
    raw = {"standalone": {}, "oneshot": {}, "fewshot": {}}
    if os.path.exists(args.raw):
        with open(args.raw) as f:
            raw = json.load(f)
    print(f"{len(archs)} architectures; stand-alone training, {args.epochs} epochs each",
          flush=True)
    for i, arch in enumerate(archs):
        if str(arch) in raw["standalone"]:
            continue
        raw["standalone"][str(arch)] = standalone(space, arch, data, args.epochs)
        print(f"  {i + 1:3d} {arch}: {raw['standalone'][str(arch)]}", flush=True)
        _save(args.raw, raw)
    truth = [raw["standalone"][str(a)]["accuracy"] for a in archs]
    secs = [raw["standalone"][str(a)]["seconds"] for a in archs]

    def scores(net):
        ranked = rank_candidates(net, archs, x_tr, x_va, y_va)
        by = {str(a): s for a, s in ranked}
        keys = [net.rank_key(by[str(a)]) for a in archs]
        # one number per architecture that orders like rank_key: accuracy, then loss
        return [k[0] - 1e-6 * min(-k[1], 1e5) for k in keys], by

    net = ResidualSupernet(space, seed=0, rule=args.rule)
    done, half = 0, args.steps // 2
    states = {}
    for checkpoint in sorted(set(args.checkpoints + [half, args.steps])):
        net.train(x_tr, y_tr, steps=checkpoint - done)
        done = checkpoint
        start = time.monotonic()
        values, by = scores(net)
        raw["oneshot"][str(checkpoint)] = {
            "tau": kendall_tau(values, truth), "rho": spearman_rho(values, truth),
            "train_seconds": net.record["seconds"], "rank_seconds": time.monotonic() - start,
            "scores": {k: v for k, v in by.items()}}
        print(f"one-shot after {checkpoint} steps ({net.record['seconds']:.0f} s): tau "
              f"{raw['oneshot'][str(checkpoint)]['tau']:.3f}", flush=True)
        if checkpoint == half:
            states[half] = net.get_state()
        _save(args.raw, raw)
    for decision in args.splits:
        base = ResidualSupernet(space, seed=0, rule=args.rule)
        base.set_state(states[half])
        few = FewShotSupernet(base, decision)
        start = time.monotonic()
        few.train(x_tr, y_tr, steps=args.steps - half)
        trained = time.monotonic() - start
        values, by = scores(few)
        raw["fewshot"][decision] = {"tau": kendall_tau(values, truth),
                                    "rho": spearman_rho(values, truth),
                                    "finetune_seconds": trained, "steps": few.record["steps"],
                                    "scores": by}
        print(f"few-shot on {decision} ({half} + {args.steps - half} steps): tau "
              f"{raw['fewshot'][decision]['tau']:.3f}", flush=True)
        _save(args.raw, raw)
    print(f"\nstand-alone: {len(archs)} architectures, accuracy {min(truth):.3f}-{max(truth):.3f}"
          f", median {np.median(secs):.1f} s per training ({args.epochs} epochs)")
    print("| estimate | steps | tau | rho | supernet s | / median stand-alone |")
    print("|---|---|---|---|---|---|")
    for steps, r in sorted(raw["oneshot"].items(), key=lambda kv: int(kv[0])):
        print(f"| one-shot | {steps} | {r['tau']:.3f} | {r['rho']:.3f} | {r['train_seconds']:.0f}"
              f" | {r['train_seconds'] / np.median(secs):.1f}x |")
    half_s = raw["oneshot"][str(half)]["train_seconds"]
    for decision, r in raw["fewshot"].items():
        total = half_s + r["finetune_seconds"]
        print(f"| few-shot on {decision} | {half} + {args.steps - half} | {r['tau']:.3f} | "
              f"{r['rho']:.3f} | {total:.0f} | {total / np.median(secs):.1f}x |")


def _save(path, raw):
    with open(path + ".tmp", "w") as f:
        json.dump(raw, f, indent=1)
    os.replace(path + ".tmp", path)


ONE_RUN = r"""
import json, sys, time
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
import kerasnas
budget, seed, sharing, workdir = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
x, y = load_digits(return_X_y=True)
x_fit, x_test, y_fit, y_test = train_test_split(x.reshape(-1, 8, 8), y, test_size=0.25,
                                                stratify=y, random_state=0)
start = time.monotonic()
result = kerasnas.search(x_fit, y_fit, time_budget=budget, seed=seed, weight_sharing=sharing,
                         verbose=0, directory=workdir, overwrite=True)
wall = time.monotonic() - start
acc = float(np.mean(result.predict(x_test) == y_test))
print("RESULT", json.dumps({"score": acc, "wall": wall, "trials": len(result.history),
                            "ranked": result.estimation.get("ranked", 0),
                            "returned": result.returned, "best": str(result.architecture)}))
"""


def part_one_liner(args):
    runs = []
    if os.path.exists(args.out):
        with open(args.out) as f:
            runs = json.load(f)
    done = {(r["budget"], r["seed"], r["weight_sharing"]) for r in runs}
    for budget in args.budgets:
        for seed in args.seeds:
            for sharing in (False, True):
                if (budget, seed, sharing) in done:
                    continue
                workdir = os.path.join(args.workdir, f"b{budget:g}-s{seed}-ws{int(sharing)}")
                out = subprocess.run([sys.executable, "-c", ONE_RUN, str(budget), str(seed),
                                      "1" if sharing else "0", workdir],
                                     capture_output=True, text=True)
                line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
                if not line:
                    print(out.stderr[-2000:])
                    continue
                run = {"budget": budget, "seed": seed, "weight_sharing": sharing,
                       **json.loads(line[0][7:])}
                runs.append(run)
                print(f"budget {budget:g} seed {seed} weight_sharing {sharing}: "
                      f"{run['score']:.4f}, wall {run['wall']:.0f} s, {run['trials']} trials, "
                      f"{run['ranked']} ranked, {run['best']}", flush=True)
                _save(args.out, runs)
    print("| budget s | weight sharing | test accuracy (mean ± std) | per seed | wall s "
          "(median) | trials (median) | ranked |")
    print("|---|---|---|---|---|---|---|")
    for budget in args.budgets:
        for sharing in (False, True):
            rs = [r for r in runs if r["budget"] == budget and r["weight_sharing"] == sharing]
            if not rs:
                continue
            s = [r["score"] for r in rs]
            print(f"| {budget:g} | {'on' if sharing else 'off'} | {np.mean(s):.4f} ± "
                  f"{np.std(s):.4f} | {', '.join(f'{v:.4f}' for v in s)} | "
                  f"{np.median([r['wall'] for r in rs]):.0f} | "
                  f"{np.median([r['trials'] for r in rs]):.0f} | "
                  f"{np.median([r['ranked'] for r in rs]):.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("rank", "one_liner"), default="rank")
    parser.add_argument("--n", type=int, default=60, help="architectures (default 60)")
    parser.add_argument("--epochs", type=int, default=5, help="stand-alone epochs (default 5)")
    parser.add_argument("--steps", type=int, default=1000, help="supernet steps (default 1000)")
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[250],
                        help="also score after these many steps (default 250)")
    parser.add_argument("--splits", nargs="+", default=["num_blocks", "width", "kernel"],
                        help="few-shot split decisions (default num_blocks width kernel)")
    parser.add_argument("--rule", default="uniform", help="path sampling (default uniform)")
    parser.add_argument("--raw", default=os.path.join(HERE, "weight_sharing_raw.json"))
    parser.add_argument("--budgets", type=float, nargs="+", default=[60, 120])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workdir", default="/tmp/ws_bench")
    parser.add_argument("--out", default="weight_sharing_one_liner.json")
    args = parser.parse_args()
    if args.part == "rank":
        part_rank(args)
    else:
        part_one_liner(args)


if __name__ == "__main__":
    main()
