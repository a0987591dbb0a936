"""One-liner comparison on digits: kerasnas.search vs Keras Tuner vs AutoKeras.

Three ways to get an image classifier from `(x, y)` with the same data and the
same wall-clock search budget, each with several seeds:

- **kerasnas**: `kerasnas.search(x, y, time_budget=B, max_trials=None, seed=s)`,
  all other settings at their defaults.
- **Keras Tuner**: `keras_tuner.RandomSearch` over a hand-written CNN
  hypermodel (`cnn_hypermodel`: 1-3 conv blocks, filters, kernel size, batch
  norm, pooling head, dropout, dense units, learning rate), 10 epochs per trial
  with early stopping (patience 3), then the best configuration retrained on
  training + validation data for its best epoch count.
- **AutoKeras**: `autokeras.ImageClassifier` with its defaults (its own
  validation split of 0.2 and its final refit). AutoKeras runs in its own
  virtual environment (`--autokeras-python`, default `.venv-autokeras/bin/python`)
  so it never changes the project's packages.

Data: scikit-learn's digits (1,797 8x8 images), a fixed stratified 25 % test
split (`--split-seed`, default 0). kerasnas and Keras Tuner see the same
training/validation split (`kerasnas.data.prepare_data`, 20 % validation,
stratified, seeded by the run's seed).

Budget: each run's search stops starting trials after `--budget` seconds
(default 120) and stops a trial still training at that moment; the final
training of the winner comes on top, and the reported wall time covers both.
kerasnas enforces this itself (`time_budget`). Keras Tuner and AutoKeras have
no wall-clock budget, so this script adds the same rule to them: their
oracle's `populate_space` answers STOPPED after the deadline and a callback
stops the running trial's training at it.

Each (arm, seed) runs in a fresh Python process, interleaved seed by seed so
that load from other processes on the machine falls on every arm alike.

Usage:

    .venv/bin/python benchmarks/one_liner.py --budget 120 --seeds 1 2 3

Prints a Markdown table (mean ± std test accuracy, wall time, trials) and
writes every run to `--out` (default `one_liner_results.json` in the working
folder, `--workdir`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARMS = ("kerasnas", "kerastuner", "autokeras")
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------- deadline
# Module state instead of attributes: Keras Tuner deep-copies callbacks per trial.
_DEADLINE = {"end": float("inf"), "active": False}


def _start_deadline(seconds):
    _DEADLINE.update(end=time.monotonic() + seconds, active=True)


def _deadline_passed():
    return _DEADLINE["active"] and time.monotonic() >= _DEADLINE["end"]


def _limit_oracle(oracle):
    """After the deadline the oracle answers STOPPED, which ends `search()`."""
    propose = oracle.populate_space

    def populate_space(trial_id):
        if _deadline_passed():
            _DEADLINE["active"] = False  # the final refit must train in full
            return {"status": "STOPPED", "values": None}
        return propose(trial_id)

    oracle.populate_space = populate_space


def _deadline_callback():
    import keras

    class StopAtDeadline(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if _deadline_passed():
                self.model.stop_training = True

    return StopAtDeadline()


# ---------------------------------------------------------------------- arms
def run_kerasnas(data, budget, seed, workdir):
    import kerasnas

    result = kerasnas.search(data["x_train"], data["y_train"], time_budget=budget,
                             max_trials=None, seed=seed, directory=workdir / "search",
                             overwrite=True, verbose=0)
    return result.predict(data["x_test"]), {"trials": len(result.history),
                                            "params": int(result.model.count_params()),
                                            "architecture": str(result.architecture)}


def cnn_hypermodel(input_shape, num_classes, mean, variance):
    """A hand-written Keras Tuner CNN hypermodel for small images."""
    import keras

    def build(hp):
        inputs = keras.Input(input_shape)
        x = keras.layers.Normalization(axis=-1, mean=mean, variance=variance)(inputs)
        for i in range(hp.Int("conv_blocks", 1, 3)):
            x = keras.layers.Conv2D(hp.Choice(f"filters_{i}", [16, 32, 64]),
                                    hp.Choice(f"kernel_{i}", [3, 5]), padding="same",
                                    activation="relu")(x)
            if hp.Boolean(f"batch_norm_{i}"):
                x = keras.layers.BatchNormalization()(x)
            if i < 2:
                x = keras.layers.MaxPooling2D(2, padding="same")(x)
        if hp.Choice("head", ["flatten", "global_average"]) == "flatten":
            x = keras.layers.Flatten()(x)
        else:
            x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
        x = keras.layers.Dense(hp.Choice("units", [32, 64, 128]), activation="relu")(x)
        outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(
                          hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    return build


def run_kerastuner(data, budget, seed, workdir):
    import keras
    import keras_tuner
    import numpy as np

    from kerasnas.data import prepare_data

    keras.utils.set_random_seed(seed)
    split = prepare_data(data["x_train"], data["y_train"], seed=seed)  # kerasnas's own split
    task = split.task
    mean = split.x_train.mean(axis=(0, 1, 2))
    variance = split.x_train.var(axis=(0, 1, 2))
    build = cnn_hypermodel(task.input_shape, task.num_classes, mean, variance)
    # Keras Tuner replaces seed=0 by a random seed, so shift it by one.
    tuner = keras_tuner.RandomSearch(build, objective="val_accuracy", max_trials=10_000,
                                     seed=seed + 1, directory=str(workdir),
                                     project_name="kerastuner", overwrite=True)
    _limit_oracle(tuner.oracle)
    _start_deadline(budget)
    early = keras.callbacks.EarlyStopping("val_accuracy", patience=3)
    tuner.search(split.x_train, split.y_train, validation_data=(split.x_val, split.y_val),
                 epochs=10, batch_size=32, callbacks=[early, _deadline_callback()], verbose=0)
    _DEADLINE["active"] = False
    best = tuner.oracle.get_best_trials(1)[0]
    model = build(best.hyperparameters)
    model.fit(np.concatenate([split.x_train, split.x_val]),
              np.concatenate([split.y_train, split.y_val]),
              epochs=int(best.best_step) + 1, batch_size=32, verbose=0)
    probabilities = model.predict(data["x_test"][..., None], verbose=0)
    predicted = np.asarray(task.classes)[np.argmax(probabilities, axis=-1)]
    trials = [t for t in tuner.oracle.trials.values() if t.score is not None]
    return predicted, {"trials": len(trials), "params": int(model.count_params())}


def run_autokeras(data, budget, seed, workdir):
    import autokeras
    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    classifier = autokeras.ImageClassifier(max_trials=10_000, seed=seed + 1, overwrite=True,
                                           directory=str(workdir), project_name="autokeras")
    _limit_oracle(classifier.tuner.oracle)
    _start_deadline(budget)
    classifier.fit(data["x_train"][..., None], data["y_train"],
                   callbacks=[_deadline_callback()], verbose=0)
    _DEADLINE["active"] = False
    predicted = np.asarray(classifier.predict(data["x_test"][..., None], verbose=0))
    predicted = predicted.reshape(-1).astype(data["y_train"].dtype)
    trials = [t for t in classifier.tuner.oracle.trials.values() if t.score is not None]
    model = classifier.export_model()
    return predicted, {"trials": len(trials), "params": int(model.count_params())}


RUNNERS = {"kerasnas": run_kerasnas, "kerastuner": run_kerastuner, "autokeras": run_autokeras}


def worker(arm, data_path, budget, seed, workdir, result_path):
    """Runs one (arm, seed) and writes its test accuracy and wall time as JSON."""
    import numpy as np

    with np.load(data_path) as archive:
        data = {k: archive[k] for k in archive.files}
    started = time.monotonic()
    predicted, info = RUNNERS[arm](data, budget, seed, Path(workdir))
    wall = time.monotonic() - started
    accuracy = float(np.mean(np.asarray(predicted) == data["y_test"]))
    Path(result_path).write_text(json.dumps({"arm": arm, "seed": seed, "budget": budget,
                                             "test_accuracy": accuracy, "wall_s": wall,
                                             **info}))


# ------------------------------------------------------------------- driver
def make_data(path, test_size, split_seed):
    import numpy as np
    from sklearn.model_selection import train_test_split

    from kerasnas.data import load_dataset

    x, y = load_dataset("digits")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=split_seed)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return len(x_train), len(x_test)


def run_one(arm, python, data_path, budget, seed, workdir, timeout):
    run_dir = Path(workdir) / f"{arm}-seed{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    result_path = run_dir / "result.json"
    command = [python, str(Path(__file__).resolve()), "--worker", arm, "--data", str(data_path),
               "--budget", str(budget), "--seeds", str(seed), "--workdir", str(run_dir),
               "--result", str(result_path)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    if arm == "autokeras":
        env["KERAS_BACKEND"] = "tensorflow"
    started = time.monotonic()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=run_dir)
    except subprocess.TimeoutExpired:
        return {"arm": arm, "seed": seed, "error": f"timed out after {timeout} s"}
    except OSError as err:
        return {"arm": arm, "seed": seed, "error": f"cannot start {python}: {err}"}
    if proc.returncode != 0 or not result_path.exists():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        return {"arm": arm, "seed": seed, "error": f"exit {proc.returncode}:\n{tail}"}
    result = json.loads(result_path.read_text())
    result["process_s"] = time.monotonic() - started
    return result


def table(results, arms):
    lines = ["| arm | runs | test accuracy (mean ± std) | per seed | wall s (mean) | trials (mean) |",
             "|---|---|---|---|---|---|"]
    for arm in arms:
        ok = [r for r in results if r["arm"] == arm and "error" not in r]
        failed = [r for r in results if r["arm"] == arm and "error" in r]
        if not ok:
            lines.append(f"| {arm} | 0 ({len(failed)} failed) | – | – | – | – |")
            continue
        acc = [r["test_accuracy"] for r in ok]
        std = statistics.stdev(acc) if len(acc) > 1 else 0.0
        seeds = ", ".join(f"{r['test_accuracy']:.4f}" for r in ok)
        lines.append(f"| {arm} | {len(ok)}{f' ({len(failed)} failed)' if failed else ''} | "
                     f"{statistics.mean(acc):.4f} ± {std:.4f} | {seeds} | "
                     f"{statistics.mean(r['wall_s'] for r in ok):.0f} | "
                     f"{statistics.mean(r['trials'] for r in ok):.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=120.0,
                        help="search wall-clock seconds per run (default 120)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                        help="seeds, one run per arm each (default 1 2 3)")
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS),
                        help="arms to run (default all three)")
    parser.add_argument("--test-size", type=float, default=0.25,
                        help="test share of digits (default 0.25)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the fixed train/test split (default 0)")
    parser.add_argument("--autokeras-python", default=str(ROOT / ".venv-autokeras" / "bin" /
                                                          "python"),
                        help="Python of the AutoKeras virtual environment "
                             "(default .venv-autokeras/bin/python)")
    parser.add_argument("--workdir", default=None,
                        help="folder for data, searches and results (default: a temp folder)")
    parser.add_argument("--out", default=None,
                        help="JSON file for all runs (default WORKDIR/one_liner_results.json)")
    parser.add_argument("--worker", choices=ARMS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.budget <= 0:
        parser.error("--budget must be > 0")

    if args.worker:
        worker(args.worker, args.data, args.budget, args.seeds[0], args.workdir, args.result)
        return

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="one_liner_"))
    workdir.mkdir(parents=True, exist_ok=True)
    data_path = workdir / "digits_split.npz"
    n_train, n_test = make_data(data_path, args.test_size, args.split_seed)
    print(f"digits: {n_train} train / {n_test} test examples; budget {args.budget:.0f} s per "
          f"run; seeds {args.seeds}; workdir {workdir}", flush=True)
    timeout = int(args.budget * 4 + 600)
    results = []
    for seed in args.seeds:
        for arm in args.arms:
            python = args.autokeras_python if arm == "autokeras" else sys.executable
            result = run_one(arm, python, data_path, args.budget, seed, workdir, timeout)
            results.append(result)
            if "error" in result:
                print(f"{arm:>10} seed {seed}: FAILED {result['error']}", flush=True)
            else:
                print(f"{arm:>10} seed {seed}: test accuracy {result['test_accuracy']:.4f}, "
                      f"wall {result['wall_s']:.0f} s, {result['trials']} trials", flush=True)
    out = Path(args.out) if args.out else workdir / "one_liner_results.json"
    out.write_text(json.dumps(results, indent=1))
    print()
    print(table(results, args.arms))
    print(f"\nAll runs: {out}")


if __name__ == "__main__":
    main()
