"""`kerasnas.sklearn`: scikit-learn estimators whose `fit` is `kerasnas.search`.

The public path of `kerasnas.deploy.estimators` (see it for the details).

Example:

>>> from kerasnas.sklearn import NASClassifier, NASRegressor
>>> NASClassifier(time_budget=60).get_params()["time_budget"]
60
"""

from kerasnas.deploy.estimators import NASClassifier, NASRegressor

__all__ = ["NASClassifier", "NASRegressor"]
