"""Linear heads fit in closed form: ridge regression with its penalty chosen by leave-one-out.

A linear model on fixed features (MiniRocket's, `kerasnas.spaces.kernels`)
has an exact optimum, so the head of such a model is solved, not trained:

* features are standardised (training mean and standard deviation;
  constant features get weight 0);
* `ridge_loo` fits ridge regression for every penalty `alpha` in `ALPHAS`
  from one eigendecomposition (of the `n x n` Gram matrix when there are
  fewer examples than features, else of the `d x d` one) and keeps the alpha
  with the lowest leave-one-out error, computed exactly from the hat matrix
  (`e_i = r_i / (1 - h_ii)`), as scikit-learn's `RidgeCV` does
  (`ridge_loo_centred` does this on columns the caller has scaled and
  centred: the tabular baselines, `kerasnas.automl.baseline`, choose their
  ridge penalty with it);
* classification regresses `+1 / -1` one-vs-rest targets (the ridge
  classifier MiniRocket uses) and then scales the scores by a temperature
  `T` fit to the leave-one-out scores (`fit_temperature`), so the softmax of
  the head gives calibrated probabilities and a meaningful log-loss.

`solve_dense_head(dense, features, targets, ...)` writes the result into a
Keras `Dense` layer, folding the standardisation (and `T`) into its kernel and
bias, so the model stays `features -> Dense` and exports like any other.

Example:

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(40, 200))
>>> y = x[:, :1] - x[:, 1:2] + 0.1 * rng.normal(size=(40, 1))
>>> fit = ridge_loo(x, y)
>>> fit.coef.shape, fit.alpha in ALPHAS
((200, 1), True)
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: Ridge penalties tried (on standardised features): MiniRocket's grid `10^-3 .. 10^3`,
#: extended to `10^6` because thousands of features on a hundred noisy series can need
#: far more shrinkage than the paper's classification sets.
ALPHAS = tuple(float(a) for a in np.logspace(-3, 6, 19))
#: Softmax temperatures tried on the leave-one-out scores.
TEMPERATURES = tuple(float(t) for t in np.logspace(-1, 2.5, 36))
#: A feature whose standard deviation is below this share of the largest one is constant.
CONSTANT_FEATURE = 1e-8


@dataclasses.dataclass(frozen=True)
class RidgeFit:
    """`ridge_loo`'s answer, on the original (unstandardised) features.

    Attributes:
        coef: `(d, k)` weights.
        intercept: `(k,)` offsets.
        alpha: The penalty chosen.
        loo_predictions: `(n, k)` leave-one-out predictions at that penalty.
        loo_errors: Mean squared leave-one-out error of every penalty in `alphas`.
    """

    coef: np.ndarray
    intercept: np.ndarray
    alpha: float
    loo_predictions: np.ndarray
    loo_errors: tuple


def ridge_loo(x, y, alphas=ALPHAS) -> RidgeFit:
    """Ridge regression of `y` (`(n, k)`) on standardised `x` (`(n, d)`), alpha by exact LOO."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64).reshape(len(x), -1)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    keep = scale > CONSTANT_FEATURE * max(float(scale.max(initial=0.0)), 1e-300)
    z = np.zeros_like(x)
    z[:, keep] = (x[:, keep] - mean[keep]) / scale[keep]
    fit = ridge_loo_centred(z, y, alphas)
    coef = np.zeros((x.shape[1], y.shape[1]))
    coef[keep] = fit.coef[keep] / scale[keep, None]
    intercept = fit.intercept - mean @ coef
    return RidgeFit(coef, intercept, fit.alpha, fit.loo_predictions, fit.loo_errors)


def ridge_loo_centred(z, y, alphas=ALPHAS) -> RidgeFit:
    """`ridge_loo` on columns used as given: `z` (`(n, d)`) must have mean 0 per column.

    No standardisation: the caller scales `z` its own way (`ridge_loo`: by
    the standard deviation; `kerasnas.automl.baseline`: with its floors and
    dropped columns) and centres it, so the intercept is `y`'s mean. One
    eigendecomposition (of `z z'` when `n <= d`, else of `z'z`) gives every
    penalty's hat matrix `H = 11'/n + U diag(s^2 / (s^2 + alpha)) U'`, and the
    leave-one-out residuals `(y - H y) / (1 - diag H)`.

    Returns:
        A `RidgeFit` whose `coef` (`(d, k)`) and `intercept` (`y`'s mean) are on `z`.
    """
    z = np.asarray(z, np.float64)
    y = np.asarray(y, np.float64).reshape(len(z), -1)
    n = len(z)
    y_mean = y.mean(axis=0)
    yc = y - y_mean
    if n <= z.shape[1]:  # dual: K = Z Z^T = U diag(lam) U^T
        lam, u = np.linalg.eigh(z @ z.T)
        uty = u.T @ yc
        basis = u
    else:                # primal: G = Z^T Z = V diag(lam) V^T, and Z V spans the fits
        lam, v = np.linalg.eigh(z.T @ z)
        rank = lam > 1e-10 * max(float(lam.max(initial=0.0)), 1e-300)
        basis = np.where(rank, z @ v / np.sqrt(np.where(rank, lam, 1.0)), 0.0)
        uty = basis.T @ yc
    lam = np.maximum(lam, 0.0)
    errors, best = [], None
    for alpha in alphas:
        shrink = lam / (lam + alpha)                      # (r,)
        fitted = basis @ (shrink[:, None] * uty)          # (n, k)
        hat = (basis ** 2) @ shrink + 1.0 / n             # + 1/n: the intercept's leverage
        residual = (yc - fitted) / np.maximum(1.0 - hat, 1e-12)[:, None]
        error = float(np.mean(residual ** 2))
        errors.append(error)
        if best is None or error < best[0]:
            best = (error, alpha, y - residual)
    _, alpha, loo = best
    if n <= z.shape[1]:
        dual = u @ ((1.0 / (lam + alpha))[:, None] * uty)  # (n, k)
        coef = z.T @ dual
    else:
        coef = v @ ((1.0 / (lam + alpha))[:, None] * (v.T @ (z.T @ yc)))
    return RidgeFit(coef, y_mean, float(alpha), loo, tuple(errors))


def one_vs_rest(labels, num_classes) -> np.ndarray:
    """`(n, num_classes)` targets: +1 for the example's class, -1 for the others."""
    targets = -np.ones((len(labels), int(num_classes)))
    targets[np.arange(len(labels)), np.asarray(labels, int)] = 1.0
    return targets


def fit_temperature(scores, labels, temperatures=TEMPERATURES) -> float:
    """The `T` minimising the log-loss of `softmax(T * scores)` on `labels`."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, int)
    best = None
    for t in temperatures:
        logits = t * scores
        logits = logits - logits.max(axis=1, keepdims=True)
        log_prob = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        loss = -float(np.mean(log_prob[np.arange(len(labels)), labels]))
        if best is None or loss < best[0]:
            best = (loss, t)
    return float(best[1])


def solve_dense_head(dense, features, targets, *, num_classes=None, target_scale=None):
    """Sets `dense` (a Keras `Dense` on `features`) to the closed-form ridge head.

    Args:
        dense: The head layer (softmax for classification, linear for regression).
        features: `(n, d)` training features, as the head receives them.
        targets: Class indices (classification) or `(n, k)` regression targets
            in the user's units.
        num_classes: The class count for classification, or None (regression).
        target_scale: Regression only: `(mean, variance)` of the fixed
            un-scaling layer after the head (the head then predicts
            standardised targets), or None.

    Returns:
        `{"ridge_alpha": alpha}` plus `"temperature"` for classification.
    """
    features = np.asarray(features, np.float64)
    if num_classes is not None:
        fit = ridge_loo(features, one_vs_rest(targets, num_classes))
        temperature = fit_temperature(fit.loo_predictions, targets)
        kernel, bias = temperature * fit.coef, temperature * fit.intercept
        info = {"ridge_alpha": fit.alpha, "temperature": temperature}
    else:
        y = np.asarray(targets, np.float64).reshape(len(features), -1)
        if target_scale is not None:
            mean, variance = (np.asarray(v, np.float64).reshape(-1) for v in target_scale)
            y = (y - mean) / np.sqrt(np.maximum(variance, 1e-12))
        fit = ridge_loo(features, y)
        kernel, bias = fit.coef, fit.intercept
        info = {"ridge_alpha": fit.alpha}
    old_kernel, old_bias = dense.get_weights()
    dense.set_weights([kernel.astype(old_kernel.dtype), bias.astype(old_bias.dtype)])
    return info
