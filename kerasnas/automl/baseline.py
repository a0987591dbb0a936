"""Trivial baselines a search must beat, so a useless result is never returned silently.

Two references, both computed on the search's own validation data (or its
folds, when it selects by k-fold):

* **trivial**: the majority class (classification: its share of the
  validation labels) or the training mean (regression: its validation MSE);
* **linear**: logistic regression or ridge regression (scikit-learn, default
  settings, standardised features) on the flattened features.

`compare(score, baselines, objective)` tells whether the search's best score
is better than both. `kerasnas.search` records the baselines and the verdict
in `SearchResult.baselines` and `SearchResult.warnings`, prints them and shows
them in the report.

Example:

>>> import numpy as np
>>> x, y = np.random.default_rng(0).normal(size=(60, 4)), np.arange(60) % 2
>>> b = baselines(x[:40], y[:40], x[40:], y[40:], "classification")
>>> sorted(b)
['linear', 'trivial']
"""

from __future__ import annotations

import warnings

import numpy as np


def baselines(x_train, y_train, x_val, y_val, problem, folds=None) -> dict[str, float]:
    """`{"trivial": score, "linear": score}` on the validation data.

    Scores are accuracy (classification) or MSE (regression). With `folds`
    (a list of `(train_index, val_index)` over train + validation together),
    each is the mean over the folds.
    """
    if folds:
        x_all = np.concatenate([x_train, x_val])
        y_all = np.concatenate([y_train, y_val])
        per_fold = [baselines(x_all[t], y_all[t], x_all[v], y_all[v], problem)
                    for t, v in folds]
        return {k: float(np.mean([b[k] for b in per_fold])) for k in per_fold[0]}
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    flat_train = np.asarray(x_train, np.float64).reshape(len(x_train), -1)
    flat_val = np.asarray(x_val, np.float64).reshape(len(x_val), -1)
    if problem == "classification":
        labels, counts = np.unique(y_train, return_counts=True)
        trivial = float(np.mean(y_val == labels[np.argmax(counts)]))
        if len(labels) < 2:
            return {"trivial": trivial, "linear": trivial}
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings on tiny data
            model.fit(flat_train, y_train)
        return {"trivial": trivial, "linear": float(np.mean(model.predict(flat_val) == y_val))}
    y_train2 = np.asarray(y_train, np.float64).reshape(len(y_train), -1)
    y_val2 = np.asarray(y_val, np.float64).reshape(len(y_val), -1)
    trivial = float(np.mean((y_val2 - y_train2.mean(axis=0)) ** 2))
    model = make_pipeline(StandardScaler(), Ridge()).fit(flat_train, y_train2)
    linear = float(np.mean((model.predict(flat_val).reshape(y_val2.shape) - y_val2) ** 2))
    return {"trivial": trivial, "linear": linear}


def compare(score, found: dict[str, float], objective_name: str) -> list[str]:
    """Warnings for every baseline `score` does not beat (empty when it beats all).

    Only objectives the baselines measure are compared: `val_accuracy`
    (higher is better) and `val_loss` of a regression (MSE, lower is better).
    """
    if score is None or not found:
        return []
    if objective_name == "val_accuracy":
        worse = {k: v for k, v in found.items() if score <= v}
        unit = "accuracy"
    elif objective_name == "val_loss":
        worse = {k: v for k, v in found.items() if score >= v}
        unit = "MSE"
    else:
        return []
    names = {"trivial": "the trivial baseline (majority class / mean)",
             "linear": "a linear model on the same features"}
    return [f"The best architecture ({unit} {score:.4f}) is no better than {names[k]} "
            f"({unit} {v:.4f}): more data, a longer budget or another space may be needed."
            for k, v in worse.items()]
