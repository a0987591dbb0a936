"""Learning-curve extrapolation: where will a validation curve end after `horizon` epochs?

A weighted ensemble of three parametric curves of the epoch `t = 1, 2, ...`
(after Domhan et al., IJCAI 2015, reduced to its three most used families):

* power law    `y = a − b · t^(−c)`
* exponential  `y = a − b · exp(−c · t)`
* logarithmic  `y = a + b · log t`

Each is fitted by least squares (`scipy.optimize.curve_fit`); its weight is
`1 / (mse + NOISE_FLOOR²)`, so a curve that fits the observed epochs better
counts more, and exact fits (three points, three parameters) do not get
infinite weight. The forecast at `horizon` is the weighted mean of the curves'
predictions; its standard deviation combines their disagreement, the weighted
fit error and the noise floor. Pure numpy/scipy (no TensorFlow).

Example:

>>> f = extrapolate([0.50, 0.62, 0.68, 0.71], horizon=20, bounds=(0.0, 1.0))
>>> 0.71 < f.mean < 0.85 and f.std > 0
True
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from scipy import optimize

#: Noise of one epoch's validation metric that the fits cannot explain (default 0.01: about
#: the epoch-to-epoch jitter of a validation accuracy on a few hundred examples).
NOISE_FLOOR = 0.01
#: Fewest observed epochs to extrapolate from (three parameters per curve).
MIN_POINTS = 3


def _pow(t, a, b, c):
    return a - b * np.power(t, -c)


def _exp(t, a, b, c):
    return a - b * np.exp(-c * t)


def _log(t, a, b):
    return a + b * np.log(t)


#: name -> (function, initial guess from (last value, spread), parameter bounds)
CURVES = {
    "pow": (_pow, lambda last, spread: (last, spread, 0.5), ([-np.inf, -np.inf, 1e-3],
                                                             [np.inf, np.inf, 5.0])),
    "exp": (_exp, lambda last, spread: (last, spread, 0.5), ([-np.inf, -np.inf, 1e-3],
                                                             [np.inf, np.inf, 5.0])),
    "log": (_log, lambda last, spread: (last, spread), ([-np.inf, -np.inf], [np.inf, np.inf])),
}


@dataclasses.dataclass(frozen=True)
class CurveForecast:
    """An ensemble forecast of a curve's value at `horizon`.

    Attributes:
        mean: Weighted mean of the curves' predictions.
        std: Its standard deviation (disagreement + fit error + noise floor).
        horizon: The epoch (1-based) forecast.
        curves: `{name: (prediction, weight)}` of each curve that fitted.
    """

    mean: float
    std: float
    horizon: int
    curves: dict

    def lower(self, z: float) -> float:
        return self.mean - z * self.std

    def upper(self, z: float) -> float:
        return self.mean + z * self.std


def extrapolate(values, horizon, *, bounds=None, noise_floor=NOISE_FLOOR) -> CurveForecast:
    """Forecasts the value of a curve at epoch `horizon` from its first epochs.

    Args:
        values: The metric after epochs 1, 2, ..., n (n >= 3), finite.
        horizon: The epoch to forecast (>= n).
        bounds: Optional `(low, high)` clip of each curve's prediction, e.g.
            `(0, 1)` for an accuracy (default None).
        noise_floor: See `NOISE_FLOOR`.

    Returns:
        A `CurveForecast`.

    Raises:
        ValueError: With fewer than `MIN_POINTS` values, non-finite values, or
            a horizon before the last observed epoch.
    """
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1 or len(y) < MIN_POINTS:
        raise ValueError(f"extrapolate needs at least {MIN_POINTS} epochs of values (one per "
                         f"epoch); got {len(np.atleast_1d(y))}.")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"extrapolate needs finite values; got {y.tolist()}.")
    horizon = int(horizon)
    if horizon < len(y):
        raise ValueError(f"horizon ({horizon}) must be >= the epochs observed ({len(y)}).")
    t = np.arange(1, len(y) + 1, dtype=np.float64)
    spread = float(y[-1] - y[0]) or 1e-3
    fitted = {}
    for name, (fn, guess, param_bounds) in CURVES.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = optimize.curve_fit(fn, t, y, p0=guess(float(y[-1]), spread),
                                          bounds=param_bounds, maxfev=2000)
        except (RuntimeError, ValueError, optimize.OptimizeWarning):
            continue
        pred = float(fn(float(horizon), *p))
        if not np.isfinite(pred):
            continue
        if bounds is not None:
            pred = float(np.clip(pred, bounds[0], bounds[1]))
        mse = float(np.mean((fn(t, *p) - y) ** 2))
        fitted[name] = (pred, mse)
    if not fitted:  # every fit failed: the last value, with wide uncertainty
        return CurveForecast(float(y[-1]), float(max(np.std(y), noise_floor) * 3), horizon, {})
    preds = np.array([p for p, _ in fitted.values()])
    mses = np.array([m for _, m in fitted.values()])
    w = 1.0 / (mses + noise_floor**2)
    w = w / w.sum()
    mean = float(w @ preds)
    var = float(w @ (preds - mean) ** 2 + w @ mses + noise_floor**2)
    curves = {n: (p, float(wi)) for (n, (p, _)), wi in zip(fitted.items(), w, strict=True)}
    return CurveForecast(mean, float(np.sqrt(var)), horizon, curves)
