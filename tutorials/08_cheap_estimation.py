"""Tutorial 8: cheaper performance estimation.

Training every candidate to the end is what makes architecture search
expensive. This tutorial shows kerasnas's four cheaper estimates, each measured
for rank preservation in `benchmarks/estimation.py` (see benchmarks/README.md):

1. zero-cost proxies: score an untrained model from one minibatch
   (`kerasnas.estimation.naswot(model, x)`, `synflow`, `grad_norm`, `snip`,
   `jacob_cov`, `params`, `flops`), and NASWOT's search without training;
2. learning-curve stopping: `NASTuner(curve_stopping=True)` stops a trial whose
   extrapolated final score is confidently worse than the best so far;
3. successive halving around any kerasnas strategy: `SuccessiveHalving(oracle)`
   trains every proposal briefly and promotes the best third, continuing from
   its checkpoint;
4. predictors: fit on a few trained architectures, rank many more.

Run: `python tutorials/08_cheap_estimation.py` (`KERASNAS_FAST=1`: tiny budgets).
"""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import kerasnas.estimation as est  # noqa: E402
from kerasnas.oracles import RegularizedEvolution  # noqa: E402
from kerasnas.spaces import MacroSpace  # noqa: E402
from kerasnas.tuner import NASTuner  # noqa: E402

FAST = os.environ.get("KERASNAS_FAST") == "1"

digits = load_digits()
x = (digits.images[..., None] / 16.0).astype("float32")
y = digits.target
x_train, y_train, x_val, y_val = x[:1200], y[:1200], x[1200:], y[1200:]
space = MacroSpace((8, 8, 1), 10, max_layers=3, widths=(8, 16))

# 1. Zero-cost proxies: one untrained model, one minibatch of 64 examples.
arch = space.sample(np.random.default_rng(0))
scores = est.score_architecture(space, arch, x_train[:64], y_train[:64], seed=0)
print(f"{arch}:")
for name, value in scores.items():
    print(f"  {name:10s} {value:.4g}")

# NASWOT's search without training: score N random architectures, train only the best.
ranked = est.search_without_training(space, x_train[:64], n=3 if FAST else 30, seed=0)
print(f"best by naswot of {len(ranked)}: {ranked[0][0]} ({ranked[0][1]:.1f})")

# 2 + 3. Successive halving around regularized evolution, with learning-curve stopping.
oracle = est.SuccessiveHalving(
    RegularizedEvolution(objective="val_accuracy", population_size=4, sample_size=2, seed=1),
    min_epochs=1, max_epochs=3 if FAST else 9, eta=3, max_trials=4 if FAST else 26)
print(f"rungs: epochs {oracle.budgets}, candidates {oracle.rung_sizes}")
with tempfile.TemporaryDirectory() as tmp:
    tuner = NASTuner(oracle, space, early_stopping=None, curve_stopping=True, verbose=0,
                     directory=tmp, project_name="halving")
    n = 300 if FAST else len(x_train)
    tuner.search(x_train[:n], y_train[:n], validation_data=(x_val, y_val))
    for trial in tuner.oracle.trials.values():
        m = trial.metrics
        print(f"  trial {trial.trial_id} rung {oracle.rung_of(trial.trial_id)} "
              f"epochs {trial.hyperparameters.values['tuner/initial_epoch']}->"
              f"{trial.hyperparameters.values['tuner/epochs']} "
              f"val_accuracy {trial.score:.3f} "
              f"continued {m.get_last_value('continued') if m.exists('continued') else '-'} "
              f"curve_stopped {m.get_last_value('curve_stopped'):.0f}")
    best = tuner.oracle.get_best_trials(1)[0]
    print(f"best: {oracle.architecture_of(best)} ({best.score:.3f})")

# 4. A predictor: fit on the rung-0 results, rank 200 unseen architectures.
history = oracle.history
predictor = est.make_predictor("ranker", space.encoding, seed=0)
predictor.fit([a for a, _ in history], [f for _, f in history])
rng = np.random.default_rng(5)
pool = [space.sample(rng) for _ in range(200)]
order = np.argsort(-predictor.predict(pool))
print("predicted best of 200 unseen:", pool[order[0]])
