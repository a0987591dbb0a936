"""Tutorial 3: quickstart, `kerasnas.search(x, y)` in one line.

The README's first example. It searches an architecture for scikit-learn's
8x8 handwritten digits, refits the winner on training + validation data,
checks it on held-out test digits, and writes an HTML report.

Run: `python tutorials/03_quickstart.py` (a few minutes on 2 CPU cores;
`KERASNAS_FAST=1` runs a two-trial, one-epoch search in tiny spaces).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import kerasnas  # noqa: E402

FAST = os.environ.get("KERASNAS_FAST") == "1"

# Images (1797, 8, 8) and labels 0..9; hold out a test set the search never sees.
x, y = load_digits(return_X_y=True)
x = x.reshape(-1, 8, 8)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y,
                                                    random_state=0)

# --- the one line ------------------------------------------------------------
# Everything is validated first; the task (image classification, 10 classes) is
# inferred; a space and a strategy are picked; 20% of x_train is held out for
# validation; the best architecture is refit on all of x_train.
# FAST: two one-epoch trials of tiny residual stacks, exactly one epoch each, one split.
budget = dict(max_trials=2, epochs=1, blocks=(1,), widths=(8,), min_steps=0,
              cv_folds=None) if FAST else dict(max_trials=10, epochs=8)
result = kerasnas.search(x_train, y_train, seed=0, **budget)
# ------------------------------------------------------------------------------

print(result.summary(k=3))  # the leaderboard's top rows
print("best architecture:", result.architecture)
print("test accuracy:", result.evaluate(x_test, y_test)["accuracy"])
print("first predictions:", result.predict(x_test[:10]), "true:", y_test[:10])

# The winner is a plain Keras model with normalisation built in: it takes raw pixels.
result.model.summary(line_length=100)

# Every trial: architecture, score, parameters, FLOPs and training time.
for record in result.history:
    print(record.trial_id, record.status, record.score, record.params, record.architecture)

print("report:", result.report("quickstart_report.html"))
print("search folder (run the same call again to resume it):", result.directory)
