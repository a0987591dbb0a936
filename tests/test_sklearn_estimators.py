"""kerasnas.sklearn: NASClassifier / NASRegressor inside scikit-learn's tools.

scikit-learn's full `check_estimator` suite is not run: each check fits anew and
several assume what a search does not promise (see the module docstring of
kerasnas.deploy.estimators: sample weights, identical fits without a seed, data
of one or two examples). The checks that apply are written out below.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from kerasnas.sklearn import NASClassifier, NASRegressor

FAST = dict(max_trials=1, epochs=2, cv_folds=None, seed=0,
            search_kwargs={"min_steps": 0, "baseline_fallback": False})


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True)
    names = np.asarray(["setosa", "versicolor", "virginica"])[y]
    return x.astype("float32"), names


def test_params_round_trip_and_clone():
    est = NASClassifier(time_budget=30, seed=3, search_kwargs={"min_steps": 0})
    params = est.get_params()
    assert params["time_budget"] == 30 and params["search_kwargs"] == {"min_steps": 0}
    est.set_params(seed=5)
    twin = clone(est)
    assert twin.get_params()["seed"] == 5 and twin is not est


def test_unfitted_predict_raises(iris):
    with pytest.raises(NotFittedError):
        NASClassifier().predict(iris[0])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"search_kwargs": {"seed": 1}}, ValueError, "repeats"),
    ({"search_kwargs": {"problem": "regression"}}, ValueError, "repeats"),
    ({"search_kwargs": [1]}, TypeError, "dict"),
    ({"epochs": 0}, ValueError, "epochs"),
])
def test_bad_parameters_fail_at_fit(iris, kwargs, error, match):
    with pytest.raises(error, match=match):
        NASClassifier(**kwargs).fit(*iris)


def test_sample_weight_refused(iris):
    with pytest.raises(TypeError, match="sample_weight"):
        NASClassifier().fit(*iris, sample_weight=np.ones(len(iris[1])))


def test_cross_val_score_over_a_pipeline(iris):
    pipe = Pipeline([("scale", StandardScaler()), ("nas", NASClassifier(**FAST))])
    scores = cross_val_score(pipe, *iris, cv=3)
    assert scores.shape == (3,)
    assert np.median(scores) > 0.6  # three classes: chance is 1/3


def test_fitted_classifier_proba_classes_and_pickle(iris, tmp_path):
    x, y = iris
    est = NASClassifier(**FAST).fit(x, y)
    assert list(est.classes_) == ["setosa", "versicolor", "virginica"]
    assert est.n_features_in_ == 4
    proba = est.predict_proba(x)
    assert proba.shape == (len(x), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], est.predict(x))
    assert est.score(x, y) > 0.6
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict_proba(x), proba, atol=1e-6)


def test_grid_search_over_one_parameter(iris):
    grid = GridSearchCV(NASClassifier(**FAST), {"epochs": [1, 2]}, cv=2)
    grid.fit(*iris)
    assert grid.best_params_["epochs"] in (1, 2)
    assert set(grid.cv_results_["params"][0]) == {"epochs"}


def test_regressor_scores_r2_above_zero():
    x, y = load_diabetes(return_X_y=True)
    est = NASRegressor(max_trials=1, epochs=5, cv_folds=None, seed=0,
                       search_kwargs={"min_steps": 200})
    est.fit(x, y)
    pred = est.predict(x)
    assert pred.shape == (len(x),)
    assert est.score(x, y) > 0.0
