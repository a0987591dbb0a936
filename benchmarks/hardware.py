"""Hardware path benchmark: latency repeatability, latency predictors vs FLOPs, a latency-budgeted
search on digits against an unconstrained one, and post-training int8 accuracy.

Everything runs on this machine's CPU with LiteRT (`ai-edge-litert`), one
interpreter thread, batch size 1, full-integer int8 models.

1. **Repeatability**: one model's latency measured `--rounds` times
   (`measure_latency`: 5 warm-up calls, 50 timed calls, median); the
   coefficient of variation (std / mean) of those medians.
2. **Predictors**: `--n` random architectures from each of two spaces
   (MacroSpace and NB201Space on 32x32x3 images), each
   converted to int8 and measured (the lowest of 3 medians, rounds interleaved over the
   models; see `best_of_medians`), once with LiteRT's default XNNPACK delegate
   and once with TFLite's built-in kernels. Spearman's rho against the measured
   latency of: the per-layer lookup table (`LatencyTable`, measured layer by
   layer, never fitted on whole-model latencies), the regression
   (`LatencyRegressor`, out-of-fold predictions of a 5-fold cross-validation
   within the space) and FLOPs (MACs).
3. **Search on digits**: random search over MacroSpace (`--trials` trials,
   `--epochs` epochs, same seed) with and without a hard latency budget (the
   budget is the median latency of the unconstrained run's candidates, so
   about half the space is out of bounds). For each winner: validation
   accuracy, int8 accuracy, latency, size; for the budgeted run, how many
   candidates were rejected and whether any winner broke the budget.
4. **Post-training quantization**: the unconstrained winner's float accuracy
   against its int8 accuracy on the validation split (the accuracy drop).
5. **PTQ vs QAT** (with `--qat-python`, an interpreter with `kerasnas[qat]`):
   one digits model trained `--epochs` epochs, then post-training int8 against
   3 epochs of quantization-aware training in tf_keras (`kerasnas.hardware.qat`).
6. **Spaces under a latency budget** (about 30 minutes at the defaults): the one-liner,
   `kerasnas.search(x, y, space=S, time_budget=--space-budget,
   latency_budget_ms=--space-latency-ms, seed=s, baseline_fallback=False)`,
   for `S` = `"mnas"` (MnasSpace), `"residual"`, `"macro"` and, on series, `"series"`
   (the one-liner's space for sequences without a budget), same budget, same
   seeds. Data: digits (1,347 training / 450 test 8x8 images) and UCR GunPoint
   (50 training / 150 test series of 150 steps, the archive's split, exported
   once by `benchmarks/one_liner.py`'s aeon environment, `--aeon-python`).
   For each search: the returned (refit) model's test accuracy, float and
   int8, its int8 latency re-measured (best of 3 medians), every candidate's
   measured latency, and how many were trained / rejected over the budget.

Usage:

    .venv/bin/python benchmarks/hardware.py --n 50 --trials 10 --epochs 8 \
        --qat-python .venv-qat/bin/python
    .venv/bin/python benchmarks/hardware.py --skip repeatability predictors search qat \
        --space-budget 120 --space-latency-ms 0.1 --space-seeds 1 2      # part 6 only

Prints each figure and writes them all to `--out` (default hardware_results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def repeatability(model, x, rounds):
    from kerasnas.hardware import convert, measure_latency

    flatbuffer = convert(model, "int8", representative_data=x).flatbuffer
    medians = [measure_latency(flatbuffer).median_ms for _ in range(rounds)]
    return {"rounds": rounds, "medians_ms": medians,
            "mean_ms": float(np.mean(medians)),
            "cv": float(np.std(medians, ddof=1) / np.mean(medians))}


def predictors(name, space, n, seed):
    from kerasnas.hardware import (
        LatencyRegressor,
        LatencyTable,
        convert,
        measure_latency,
        model_features,
        spearman,
    )
    from kerasnas.hardware.predict import BEST_OF
    from kerasnas.spaces.cost import count_flops

    rng = np.random.default_rng(seed)
    calib = rng.standard_normal((32, *space.input_shape)).astype(np.float32)
    archs, seen = [], set()
    while len(archs) < n:
        arch = space.sample(rng)
        if str(arch) not in seen:
            seen.add(str(arch))
            archs.append(arch)
    models = [space.build_architecture(a, compile=False) for a in archs]
    start = time.monotonic()
    flatbuffers = [convert(m, "int8", representative_data=calib).flatbuffer for m in models]
    convert_s = time.monotonic() - start
    features = np.array([model_features(m) for m in models])
    flops = [count_flops(m) for m in models]
    folds = np.arange(n) % 5
    rng.shuffle(folds)
    result = {"space": name, "n": n, "flops": flops, "architectures": [str(a) for a in archs],
              "seconds_convert_all": convert_s}
    for delegates in (True, False):
        runtime = "xnnpack" if delegates else "builtin"
        # Rounds interleaved over the models, so a burst of load from other processes falls on
        # many models a little rather than on one a lot; each model keeps its lowest median.
        rounds = [[measure_latency(f, delegates=delegates).median_ms for f in flatbuffers]
                  for _ in range(BEST_OF)]
        measured = [min(r[i] for r in rounds) for i in range(n)]
        start = time.monotonic()
        table = LatencyTable("int8", delegates=delegates).fit(models)
        table_s = time.monotonic() - start
        lut = table.predict(models)
        regression = np.zeros(n)
        for k in range(5):
            train, test = folds != k, folds == k
            regression[test] = LatencyRegressor().fit(
                features[train], np.asarray(measured)[train]).predict(features[test])
        r = {"measured_ms": measured, "table_ms": lut.tolist(),
             "regression_ms": regression.tolist(),
             "rho_table": spearman(lut, measured),
             "rho_regression": spearman(regression, measured),
             "rho_flops": spearman(flops, measured),
             "rho_rounds_1_vs_2": spearman(rounds[0], rounds[1]),
             "table_entries": len(table), "seconds_table": table_s,
             "latency_range_ms": [float(min(measured)), float(max(measured))]}
        result[runtime] = r
        print(f"{name} [{runtime}]: n={n}, latency {min(measured):.3f}-{max(measured):.3f} ms; "
              f"Spearman rho: table {r['rho_table']:.3f}, regression (5-fold) "
              f"{r['rho_regression']:.3f}, FLOPs {r['rho_flops']:.3f} (round 1 vs round 2 "
              f"{r['rho_rounds_1_vs_2']:.3f}); table {len(table)} entries in {table_s:.0f} s",
              flush=True)
    return result


def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images[..., None] / 16.0).astype(np.float32)
    return train_test_split(x, data.target, test_size=0.25, random_state=0,
                            stratify=data.target)


def search(x, y, xv, yv, *, trials, epochs, seed, budget_ms, directory):

    from kerasnas.hardware import HardwareObjective, convert, measure_latency, tflite_accuracy
    from kerasnas.oracles import RandomSearch
    from kerasnas.spaces import MacroSpace
    from kerasnas.tuner.loop import NASTuner

    space = MacroSpace((8, 8, 1), 10, widths=(16, 32, 64), max_layers=5)
    hardware = HardwareObjective("int8", latency_budget_ms=budget_ms)
    tuner = NASTuner(RandomSearch(objective="val_accuracy", max_trials=trials, seed=seed), space,
                     epochs=epochs, hardware=hardware, directory=directory,
                     project_name="budget" if budget_ms else "free", overwrite=True, verbose=0)
    start = time.monotonic()
    tuner.search(x, y, validation_data=(xv, yv))
    elapsed = time.monotonic() - start
    trials_ = list(tuner.oracle.trials.values())
    completed = [t for t in trials_ if t.status == "COMPLETED"]
    rejected = [t for t in trials_ if t.status == "FAILED"]
    latencies = [t.metrics.get_last_value("latency_ms") for t in trials_
                 if t.metrics.exists("latency_ms")]
    best = tuner.oracle.get_best_trials(1)[0]
    model = tuner.load_model(best)
    conversion = convert(model, "int8", representative_data=x)
    metric = best.metrics.get_last_value
    result = {
        "budget_ms": budget_ms, "seconds": elapsed, "trials": len(trials_),
        "completed": len(completed), "rejected": len(rejected),
        "rejections": [[line for line in (t.message or "").splitlines() if "Rejected" in line][-1:]
                       for t in rejected][:3],
        "candidate_latencies_ms": latencies,
        "best_architecture": str(space.encoding.from_hp_values(best.hyperparameters.values)),
        "val_accuracy": metric("val_accuracy"),
        "int8_accuracy_recorded": metric("quantized_accuracy"),
        "int8_accuracy": tflite_accuracy(conversion.flatbuffer, xv, yv),
        "latency_ms_recorded": metric("latency_ms"),
        "latency_ms_remeasured": measure_latency(conversion.flatbuffer).median_ms,
        "model_bytes": conversion.model_bytes,
        "completed_over_budget": sum(1 for t in completed if budget_ms is not None
                                     and t.metrics.get_last_value("latency_ms") > budget_ms),
    }
    print(f"search budget={budget_ms}: {len(completed)} trained, {len(rejected)} rejected in "
          f"{elapsed:.0f} s; best val acc {result['val_accuracy']:.4f}, int8 acc "
          f"{result['int8_accuracy']:.4f}, latency {result['latency_ms_recorded']:.4f} ms "
          f"(re-measured {result['latency_ms_remeasured']:.4f}), {result['model_bytes']} bytes; "
          f"{result['best_architecture']}", flush=True)
    return result


def qat(python, seed, epochs):
    """PTQ vs QAT on one trained digits model (the unconstrained search's usual winner shape)."""
    import keras

    from kerasnas.hardware.qat import quantization_aware_training
    from kerasnas.spaces import MacroSpace

    x, xv, y, yv = digits()
    space = MacroSpace((8, 8, 1), 10, widths=(16, 32, 64), max_layers=5)
    arch = "sep_conv_3x3:32 > dil_conv_3x3:32 > conv_3x3:64 > avg_pool_3x3:64+0"
    keras.utils.set_random_seed(seed)
    model = space.build_architecture(arch)
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    out = quantization_aware_training(model, x, y, xv, yv, python=python, seed=seed)
    out.pop("qat_flatbuffer")
    out["architecture"] = arch
    print(f"PTQ vs QAT ({arch}, {epochs} epochs, 3 QAT epochs): float {out['float_accuracy']:.4f}"
          f", PTQ int8 {out['ptq_int8_accuracy']:.4f}, QAT int8 {out['qat_int8_accuracy']:.4f} "
          f"(tf_keras rebuild float {out['rebuilt_float_accuracy']:.4f})", flush=True)
    return out


#: The spaces of part 6 per data set: MnasSpace against the one-liner's residual and macro
#: spaces; on series also against `SeriesSpace`, what `space="auto"` picks there without a budget.
SPACE_ARMS = {"digits": ("mnas", "residual", "macro"),
              "gunpoint": ("mnas", "residual", "macro", "series")}


def series_set(name, aeon_python):
    """`(x_train, x_test, y_train, y_test)` of a UCR set, via `benchmarks/one_liner.py`'s cache."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from one_liner import CACHE, ensure_series

    ensure_series([name], CACHE, aeon_python)
    with np.load(CACHE / f"{name}.npz") as archive:
        return (archive["x_train"].astype(np.float32), archive["x_test"].astype(np.float32),
                archive["y_train"], archive["y_test"])


def space_search(dataset, data, space, *, time_budget, latency_ms, seed, directory):
    """One budgeted one-liner search over `space`; the figures of part 6."""
    import kerasnas
    from kerasnas.hardware import convert, tflite_accuracy
    from kerasnas.hardware.predict import best_of_medians

    x, xt, y, yt = data
    start = time.monotonic()
    result = kerasnas.search(x, y, space=space, time_budget=time_budget,
                             latency_budget_ms=latency_ms, seed=seed, verbose=0,
                             directory=os.path.join(directory, f"{dataset}-{space}-{seed}"),
                             overwrite=True, baseline_fallback=False)
    wall = time.monotonic() - start
    history = result.history
    rejected = [r for r in history if r.status == "FAILED" and "Rejected" in (r.reason or "")]
    trained = [r for r in history if r.status == "COMPLETED"]
    latencies = [r.metrics["latency_ms"] for r in history if "latency_ms" in r.metrics]
    conversion = convert(result.model, "int8", representative_data=x)
    best = result.leaderboard[0]
    out = {
        "dataset": dataset, "space": space, "seed": seed, "wall_s": wall,
        "search_s": result.search_time, "trials": len(history), "trained": len(trained),
        "rejected": len(rejected), "other_failed": len(history) - len(trained) - len(rejected),
        "returned": result.returned, "architecture": str(result.architecture),
        "val_score": best.score, "latency_ms_recorded": best.metrics.get("latency_ms"),
        "test_accuracy": result.evaluate(xt, yt)["accuracy"],
        "int8_test_accuracy": tflite_accuracy(conversion.flatbuffer, xt, yt),
        "latency_ms_remeasured": best_of_medians(conversion.flatbuffer),
        "model_bytes": conversion.model_bytes, "float_ops": conversion.float_ops,
        "candidate_latencies_ms": latencies,
        "trained_latencies_ms": [r.metrics.get("latency_ms") for r in trained],
    }
    print(f"{dataset} {space} seed {seed}: test {out['test_accuracy']:.4f} (int8 "
          f"{out['int8_test_accuracy']:.4f}) at {out['latency_ms_remeasured']:.4f} ms "
          f"(recorded {out['latency_ms_recorded']}); {len(trained)} trained, {len(rejected)} "
          f"rejected, {out['other_failed']} other failed in {wall:.0f} s; "
          f"{out['architecture'][:120]}", flush=True)
    return out


def spaces_part(args):
    x, xt, y, yt = digits()
    sets = {"digits": (x, xt, y, yt)}
    if "gunpoint" in args.space_datasets:
        sets["gunpoint"] = series_set("gunpoint", args.aeon_python)
    directory = tempfile.mkdtemp(prefix="kerasnas_hw_spaces_")
    runs = []
    try:
        for seed in args.space_seeds:
            for dataset in args.space_datasets:
                for space in SPACE_ARMS[dataset]:
                    runs.append(space_search(dataset, sets[dataset], space,
                                             time_budget=args.space_budget,
                                             latency_ms=args.space_latency_ms, seed=seed,
                                             directory=directory))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    summary = {}
    for dataset in args.space_datasets:
        for space in SPACE_ARMS[dataset]:
            mine = [r for r in runs if r["dataset"] == dataset and r["space"] == space]
            acc = [r["test_accuracy"] for r in mine]
            summary[f"{dataset}/{space}"] = {
                "test_accuracy_mean": float(np.mean(acc)), "test_accuracy_std": float(np.std(acc)),
                "int8_test_accuracy_mean": float(np.mean([r["int8_test_accuracy"] for r in mine])),
                "latency_ms_remeasured": [r["latency_ms_remeasured"] for r in mine],
                "trained": [r["trained"] for r in mine], "rejected": [r["rejected"] for r in mine]}
            s = summary[f"{dataset}/{space}"]
            print(f"{dataset:8s} {space:8s} test {s['test_accuracy_mean']:.4f} ± "
                  f"{s['test_accuracy_std']:.4f} (int8 {s['int8_test_accuracy_mean']:.4f}); "
                  f"latency {s['latency_ms_remeasured']} ms; trained {s['trained']}, rejected "
                  f"{s['rejected']}", flush=True)
    return {"budget_s": args.space_budget, "latency_budget_ms": args.space_latency_ms,
            "seeds": list(args.space_seeds), "runs": runs, "summary": summary}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="architectures per space (default 50)")
    parser.add_argument("--rounds", type=int, default=10, help="repeatability rounds (default 10)")
    parser.add_argument("--trials", type=int, default=10, help="trials per search (default 10)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per trial (default 8)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["repeatability", "predictors", "search", "qat", "spaces"])
    parser.add_argument("--space-budget", type=float, default=120,
                        help="part 6: time_budget of each search, seconds (default 120)")
    parser.add_argument("--space-latency-ms", type=float, default=0.1,
                        help="part 6: latency_budget_ms of each search (default 0.1)")
    parser.add_argument("--space-seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--space-datasets", nargs="+", default=["digits", "gunpoint"],
                        choices=sorted(SPACE_ARMS))
    parser.add_argument("--aeon-python", default=".venv-aeon/bin/python",
                        help="part 6: interpreter with aeon, to export GunPoint once")
    parser.add_argument("--qat-python", default=None,
                        help="interpreter with tf_keras and tfmot (kerasnas[qat]) for PTQ vs QAT")
    parser.add_argument("--out", default="hardware_results.json")
    args = parser.parse_args(argv)

    from kerasnas.hardware import litert_available
    from kerasnas.spaces import MacroSpace, NB201Space

    results = {"litert": litert_available(), "args": vars(args)}
    macro = MacroSpace((32, 32, 3), 10, widths=(16, 32, 64), max_layers=5)
    nb201 = NB201Space((32, 32, 3), 10, channels=8, cells_per_stage=1)
    if "repeatability" not in args.skip:
        model = macro.build_architecture(macro.sample(np.random.default_rng(args.seed)),
                                         compile=False)
        x = np.random.default_rng(0).standard_normal((32, 32, 32, 3)).astype(np.float32)
        results["repeatability"] = repeatability(model, x, args.rounds)
        r = results["repeatability"]
        print(f"repeatability: {r['rounds']} measurements of one model, mean of medians "
              f"{r['mean_ms']:.4f} ms, coefficient of variation {r['cv']:.4f}", flush=True)
    if "predictors" not in args.skip:
        results["predictors"] = [predictors("MacroSpace 32x32x3", macro, args.n, args.seed),
                                 predictors("NB201Space 32x32x3", nb201, args.n, args.seed)]
    if "search" not in args.skip:
        x, xv, y, yv = digits()
        directory = tempfile.mkdtemp(prefix="kerasnas_hw_")
        try:
            free = search(x, y, xv, yv, trials=args.trials, epochs=args.epochs, seed=args.seed,
                          budget_ms=None, directory=directory)
            budget = float(np.median(free["candidate_latencies_ms"]))
            constrained = search(x, y, xv, yv, trials=args.trials, epochs=args.epochs,
                                 seed=args.seed, budget_ms=budget, directory=directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        results["search"] = {"unconstrained": free, "budgeted": constrained}
        results["ptq"] = {"float_val_accuracy": free["val_accuracy"],
                          "int8_accuracy": free["int8_accuracy"],
                          "drop_points": 100 * (free["val_accuracy"] - free["int8_accuracy"])}
        print(f"PTQ: float {free['val_accuracy']:.4f} -> int8 {free['int8_accuracy']:.4f} "
              f"({results['ptq']['drop_points']:+.2f} points lost)", flush=True)
    if "qat" not in args.skip and args.qat_python:
        results["qat"] = qat(args.qat_python, args.seed, args.epochs)
    if "spaces" not in args.skip:
        results["spaces"] = spaces_part(args)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
