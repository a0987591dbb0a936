"""scikit-learn estimators around `kerasnas.search`: `NASClassifier` and `NASRegressor`.

Each `fit` runs one `kerasnas.search` on `(X, y)` and keeps its `SearchResult`
(`result_`), so the estimators work inside `Pipeline`, `cross_val_score` and
`GridSearchCV`. Their parameters are `search()`'s most used arguments, stored
unchanged by `__init__` (scikit-learn's rule) and checked by `fit`, before any
training; `search_kwargs` passes any other `search()` argument.

What does not apply, and why (scikit-learn's estimator checks that these
estimators are not run against; tests/test_sklearn_estimators.py lists them):

- `sample_weight`: `search()` takes none; `fit` raises a clear `TypeError`.
- exact equality of two fits without a `seed`: a search with `seed=None` draws
  a new split and new initial weights, as `search()` documents; pass `seed`.
- data of one or two examples: the search needs a validation split with one
  example per class; `fit` raises `search()`'s own clear error.

Importing this module loads no TensorFlow; `fit` does.

Example:

>>> from sklearn.model_selection import cross_val_score          # doctest: +SKIP
>>> from kerasnas.sklearn import NASClassifier                     # doctest: +SKIP
>>> cross_val_score(NASClassifier(time_budget=60, seed=0), X, y)   # doctest: +SKIP
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

#: Arguments `search()` receives from the estimator itself, never from `search_kwargs`.
_OWN = ("x", "y", "directory", "overwrite", "problem")


class _NASEstimator(BaseEstimator):
    """What the classifier and the regressor share: the search, pickling, checks."""

    _problem = None  # "classification" or "regression", set by the subclasses

    def __init__(self, *, space="auto", strategy="auto", max_trials="auto", time_budget=None,
                 epochs=10, seed=None, validation_split=0.2, batch_size="auto", cv_folds="auto",
                 ensemble=1, verbose=0, directory=None, search_kwargs=None):
        self.space = space
        self.strategy = strategy
        self.max_trials = max_trials
        self.time_budget = time_budget
        self.epochs = epochs
        self.seed = seed
        self.validation_split = validation_split
        self.batch_size = batch_size
        self.cv_folds = cv_folds
        self.ensemble = ensemble
        self.verbose = verbose
        self.directory = directory
        self.search_kwargs = search_kwargs

    # ------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Runs `kerasnas.search(X, y, ...)` with this estimator's parameters.

        Args:
            X: Examples, anything `kerasnas.search` takes as `x` (array, DataFrame).
            y: Targets.
            sample_weight: Not supported (a `TypeError` says so).

        Returns:
            self.
        """
        if sample_weight is not None:
            raise TypeError(f"{type(self).__name__} takes no sample_weight: kerasnas.search "
                            "weights every example equally. Drop sample_weight (or resample "
                            "the rows).")
        extra = self._check_search_kwargs()
        if y is None:
            raise ValueError(f"{type(self).__name__}.fit needs y: pass the targets.")
        X = self._check_features(X)
        root = None
        if self.directory is None:
            root = tempfile.mkdtemp(prefix="kerasnas-sklearn-")
            folder = Path(root) / "search"
        else:
            folder = Path(self.directory)
        from kerasnas.automl.pipeline import search

        try:
            result = search(X, np.asarray(y) if not hasattr(y, "iloc") else y,
                            space=self.space, strategy=self.strategy, max_trials=self.max_trials,
                            time_budget=self.time_budget, epochs=self.epochs, seed=self.seed,
                            validation_split=self.validation_split, batch_size=self.batch_size,
                            cv_folds=self.cv_folds, ensemble=self.ensemble, verbose=self.verbose,
                            directory=folder, overwrite=True, problem=self._problem, **extra)
        finally:
            if root is not None:  # the result holds its model in memory
                shutil.rmtree(root, ignore_errors=True)
        self.result_ = result
        self.model_ = result.model
        if self._problem == "classification":
            self.classes_ = np.asarray(result.task.classes)
        return self

    def _check_search_kwargs(self) -> dict:
        extra = {} if self.search_kwargs is None else self.search_kwargs
        if not isinstance(extra, dict):
            raise TypeError(f"search_kwargs must be a dict of kerasnas.search arguments or "
                            f"None; got {type(extra).__name__}.")
        clash = sorted(set(extra) & (set(_OWN) | set(self.get_params())))
        if clash:
            raise ValueError(f"search_kwargs repeats {clash}: set them as the estimator's own "
                             "parameters (problem is fixed by the estimator's class).")
        return dict(extra)

    def _check_features(self, X):
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
            self.n_features_in_ = len(X.columns)
            return X
        X = np.asarray(X)
        if X.ndim < 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features) or an array of images / "
                             f"series; got shape {X.shape}. Reshape a single feature with "
                             "X.reshape(-1, 1).")
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # without a seed each search differs
        return tags

    # ------------------------------------------------------------ predict
    def _checked_input(self, X):
        check_is_fitted(self, "result_")
        if not hasattr(X, "columns"):
            X = np.asarray(X)
        return X

    def predict(self, X):
        """Predicted labels (classifier) or targets (regressor) of `X`."""
        X = self._checked_input(X)
        return np.asarray(self.result_.predict(X))

    # ------------------------------------------------------------ pickling
    def __getstate__(self):
        state = dict(self.__dict__)
        result = state.pop("result_", None)
        state.pop("model_", None)
        if result is not None:  # a Keras model does not pickle: the saved result, zipped
            with tempfile.TemporaryDirectory() as tmp:
                result.save(tmp)
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w") as archive:
                    for path in Path(tmp).rglob("*"):
                        if path.is_file():
                            archive.write(path, path.relative_to(tmp))
            state["_result_zip"] = buffer.getvalue()
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop("_result_zip", None)
        self.__dict__.update(state)
        if packed is not None:
            from kerasnas.deploy.result import SearchResult

            with tempfile.TemporaryDirectory() as tmp:
                with zipfile.ZipFile(io.BytesIO(packed)) as archive:
                    archive.extractall(tmp)
                self.result_ = SearchResult.load(tmp)
            self.model_ = self.result_.model


class NASClassifier(ClassifierMixin, _NASEstimator):
    """A scikit-learn classifier whose `fit` is `kerasnas.search`.

    Args:
        space, strategy, max_trials, time_budget, epochs, seed, validation_split,
            batch_size, cv_folds, ensemble: As in `kerasnas.search`, with its
            defaults (`"auto"`, `"auto"`, `"auto"`, None, 10, None, 0.2, `"auto"`,
            `"auto"`, 1).
        verbose: `search()`'s verbosity (default 0: silent, as estimators are).
        directory: The search's folder (default None: a temporary one, removed
            after `fit`; the fitted model stays in memory).
        search_kwargs: Any other `kerasnas.search` arguments as a dict (default
            None), e.g. `{"weight_sharing": False}`.

    Attributes:
        result_: The `kerasnas.SearchResult` of the last `fit`.
        model_: Its Keras model.
        classes_: The labels, in the column order of `predict_proba`.
        n_features_in_, feature_names_in_: As scikit-learn defines them.

    Example:

    >>> from sklearn.datasets import load_iris                        # doctest: +SKIP
    >>> X, y = load_iris(return_X_y=True)                              # doctest: +SKIP
    >>> NASClassifier(max_trials=2, seed=0).fit(X, y).score(X, y)      # doctest: +SKIP
    0.97
    """

    _problem = "classification"

    def predict_proba(self, X):
        """Class probabilities, `(n_samples, n_classes)`, columns in `classes_` order."""
        X = self._checked_input(X)
        return np.asarray(self.result_.predict_proba(X), dtype="float64")


class NASRegressor(RegressorMixin, _NASEstimator):
    """A scikit-learn regressor whose `fit` is `kerasnas.search`.

    Takes `NASClassifier`'s parameters; `score` is R². `predict` returns
    `(n_samples,)` for a 1-D `y`, `(n_samples, n_targets)` otherwise.

    Example:

    >>> from sklearn.datasets import load_diabetes                     # doctest: +SKIP
    >>> X, y = load_diabetes(return_X_y=True)                          # doctest: +SKIP
    >>> NASRegressor(max_trials=2, seed=0).fit(X, y).predict(X[:2])    # doctest: +SKIP
    """

    _problem = "regression"
