"""One `kerasnas.search` run on a small table, with extra search arguments; prints one JSON line (#7).

    python benchmarks/small_table_check.py DATA SEED BUDGET '{"ensemble": 3}' TAG

DATA: `breast_cancer`, `diabetes`, `wine` (scikit-learn) or `gen`
(`make_classification(500, 20, n_informative=6, n_redundant=4, flip_y=0.05,
random_state=0)`). The test split is `train_test_split(test_size=0.25,
random_state=0)`, stratified for classification, as in `one_liner.py`.
Prints `RESULT {...}` with the test accuracy (or R²), wall seconds, trials and
the winning architecture. Used to measure the small-table changes of #7
(results in benchmarks/README.md, one-liner section).
"""

import json
import sys
import time

import numpy as np
from sklearn import datasets
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split


def load(name):
    """`(x, y, problem)` of a small table."""
    if name == "gen":
        x, y = datasets.make_classification(500, 20, n_informative=6, n_redundant=4,
                                            flip_y=0.05, random_state=0)
        return x, y, "classification"
    loader = {"breast_cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes,
              "wine": datasets.load_wine}[name]
    x, y = loader(return_X_y=True)
    return x, y, "regression" if name == "diabetes" else "classification"


def main(name, seed, budget, kwargs, tag):
    import kerasnas

    x, y, problem = load(name)
    x_train, x_test, y_train, y_test = train_test_split(
        np.asarray(x, "float64"), y, test_size=0.25, random_state=0,
        stratify=y if problem == "classification" else None)
    started = time.time()
    result = kerasnas.search(x_train, y_train, time_budget=budget, seed=seed, overwrite=True,
                             directory=f"/tmp/small_table_check/{tag}-{name}-{seed}",
                             verbose=0, **kwargs)
    wall = time.time() - started
    predicted = np.asarray(result.predict(x_test))
    if problem == "classification":
        labels = predicted.argmax(-1) if predicted.ndim > 1 else predicted.ravel()
        score = float(np.mean(labels == y_test))
    else:
        score = float(r2_score(y_test, predicted.ravel()))
    print("RESULT", json.dumps({"tag": tag, "data": name, "seed": seed, "budget": budget,
                                "score": score, "wall": round(wall, 1),
                                "trials": len(result.history),
                                "arch": str(result.architecture)[:80]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5])
