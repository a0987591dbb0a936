"""A Gaussian-process surrogate for categorical architecture encodings.

Architectures are compared decision by decision: the kernel is an
exponentiated, per-decision weighted Hamming distance (the categorical
overlap kernel of CoCaBO/CASMOPOLITAN, Ru et al. 2020; Wan et al. 2021)

    k(a, b) = s2 * exp(-sum_d theta_d * [a_d != b_d]),

so every decision learns how much changing it changes the fitness
(automatic relevance determination), and the product over decisions lets
the model capture interactions between them. Hyperparameters
`(s2, noise, theta)` are fitted by maximising the log marginal likelihood
with L-BFGS-B and analytic gradients. Pure numpy/scipy, no TensorFlow.

Example:

>>> import numpy as np
>>> from kerasnas.oracles.surrogates import CategoricalGP
>>> x = np.array([[0, 1], [1, 1], [2, 0], [0, 0]])
>>> gp = CategoricalGP(num_decisions=2).fit(x, np.array([1.0, 0.5, -1.0, 0.2]))
>>> mean, var = gp.predict(np.array([[0, 1]]))
>>> bool(abs(mean[0] - 1.0) < 0.3)
True
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.optimize
import scipy.special
import scipy.stats

from kerasnas.spaces.architecture import Architecture, Encoding

# Bounds of the log-hyperparameters, for standardised targets.
_LOG_S2 = (-3.0, 3.0)
_LOG_NOISE = (-14.0, 0.0)
_LOG_THETA = (-6.0, 3.0)


def decision_indices(encoding: Encoding, archs: list[Architecture]) -> np.ndarray:
    """Integer matrix `(len(archs), len(decisions))`: the index of each decision's value.

    Inactive decisions get `-1`, so an inactive decision differs from every
    active value and matches another inactive one.

    Example:

    >>> from kerasnas.spaces.encodings import NB201Encoding
    >>> enc = NB201Encoding()
    >>> decision_indices(enc, [enc.default()]).tolist()
    [[0, 0, 0, 0, 0, 0]]
    """
    rows = np.full((len(archs), len(encoding.decisions)), -1, dtype=np.int32)
    for r, arch in enumerate(archs):
        active = encoding.active(arch.as_dict())
        for c, (d, v) in enumerate(zip(encoding.decisions, arch.values, strict=True)):
            if d.name in active:
                rows[r, c] = d.index(v)
    return rows


def rank_transform(y: np.ndarray) -> np.ndarray:
    """Maps values to standard-normal quantiles of their ranks (a Gaussian copula).

    Keeps the order, drops the scale: a few catastrophic architectures (10%
    accuracy) no longer squash the differences among good ones, and the GP
    sees roughly Gaussian targets whatever the metric. Ties share a rank.

    Example:

    >>> rank_transform(np.array([10.0, 90.0, 91.0])).round(2).tolist()
    [-0.97, 0.0, 0.97]
    """
    y = np.asarray(y, dtype=np.float64)
    ranks = scipy.stats.rankdata(y, method="average")
    return scipy.special.ndtri((ranks - 0.5) / len(y))


class CategoricalGP:
    """GP regression with the weighted-Hamming kernel on decision-index vectors.

    Args:
        num_decisions: Number of columns of the index matrices (decisions).
        params: Optional starting log-hyperparameters `[log s2, log noise,
            log theta_1..D]` (default None: `s2 = 1`, `noise = 1e-3`,
            `theta_d = 1 / sqrt(D)`).

    Attributes:
        params: The current log-hyperparameters, a float array of length `D + 2`.
    """

    def __init__(self, num_decisions: int, params=None):
        self.num_decisions = int(num_decisions)
        if params is None:
            params = self.default_params(self.num_decisions)
        self.params = np.asarray(params, dtype=np.float64)
        if self.params.shape != (self.num_decisions + 2,):
            raise ValueError(
                f"params needs {self.num_decisions + 2} values ([log s2, log noise] + one log "
                f"theta per decision), got {self.params.shape}."
            )
        self._x = None

    @staticmethod
    def default_params(num_decisions: int) -> np.ndarray:
        """`s2 = 1`, `noise = 1e-3`, `theta_d = 1 / sqrt(D)`, as log-parameters."""
        theta = -0.5 * np.log(max(num_decisions, 1))
        return np.array([0.0, np.log(1e-3)] + [theta] * num_decisions)

    # ------------------------------------------------------------- kernel
    @staticmethod
    def _mismatch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-decision mismatch indicators, shape `(D, len(a), len(b))`."""
        return (a.T[:, :, None] != b.T[:, None, :]).astype(np.float64)

    def _corr(self, mismatch: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return np.exp(-np.tensordot(theta, mismatch, axes=1))

    # ---------------------------------------------------------------- fit
    def fit(self, x: np.ndarray, y: np.ndarray, optimize: bool = True,
            max_iter: int = 60) -> "CategoricalGP":
        """Conditions on `(x, y)`; with `optimize`, first fits the hyperparameters.

        Args:
            x: Decision-index matrix `(n, D)` (see `decision_indices`).
            y: Targets `(n,)`, ideally standardised (e.g. `rank_transform`).
            optimize: Maximise the marginal likelihood, starting from
                `self.params` (default True).
            max_iter: L-BFGS-B iterations (default 60).

        Returns:
            self.
        """
        x = np.asarray(x)
        y = np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.num_decisions or len(x) != len(y):
            raise ValueError(
                f"fit needs x of shape (n, {self.num_decisions}) and y of shape (n,); got "
                f"{x.shape} and {y.shape}."
            )
        if len(y) == 0:
            raise ValueError("fit needs at least one observation.")
        mismatch = self._mismatch(x, x)
        if optimize and len(y) > 1:
            bounds = [_LOG_S2, _LOG_NOISE] + [_LOG_THETA] * self.num_decisions
            low, high = np.array(bounds).T
            # Restart from the defaults too: a warm start stuck where the
            # likelihood is flat (all theta at the upper bound) cannot leave.
            best = None
            for start in (self.default_params(self.num_decisions), self.params):
                result = scipy.optimize.minimize(
                    self._neg_log_likelihood, np.clip(start, low, high), args=(mismatch, y),
                    jac=True, method="L-BFGS-B", bounds=bounds,
                    options={"maxiter": int(max_iter)},
                )
                if np.all(np.isfinite(result.x)) and (best is None or result.fun < best.fun):
                    best = result
            if best is not None:
                self.params = best.x
        self._condition(x, y, mismatch)
        return self

    def _condition(self, x, y, mismatch):
        log_s2, log_noise, theta = self.params[0], self.params[1], np.exp(self.params[2:])
        k = np.exp(log_s2) * self._corr(mismatch, theta)
        k[np.diag_indices_from(k)] += np.exp(log_noise) + 1e-9
        self._x, self._chol = x, scipy.linalg.cho_factor(k, lower=True)
        self._alpha = scipy.linalg.cho_solve(self._chol, y)

    def _neg_log_likelihood(self, params, mismatch, y):
        """Negative log marginal likelihood and its gradient in the log-parameters."""
        s2, noise, theta = np.exp(params[0]), np.exp(params[1]), np.exp(params[2:])
        n = len(y)
        corr = self._corr(mismatch, theta)
        k = s2 * corr
        k[np.diag_indices(n)] += noise + 1e-9
        try:
            chol = scipy.linalg.cho_factor(k, lower=True)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(params)
        alpha = scipy.linalg.cho_solve(chol, y)
        nll = 0.5 * y @ alpha + np.log(np.diag(chol[0])).sum() + 0.5 * n * np.log(2 * np.pi)
        # d nll / d p = -0.5 tr((alpha alpha^T - K^-1) dK/dp)
        k_inv, _ = scipy.linalg.lapack.dpotri(chol[0], lower=1)
        k_inv = np.tril(k_inv) + np.tril(k_inv, -1).T
        w = np.outer(alpha, alpha) - k_inv
        ws = w * (s2 * corr)
        grad = np.empty_like(params)
        grad[0] = -0.5 * ws.sum()
        grad[1] = -0.5 * noise * np.trace(w)
        grad[2:] = 0.5 * theta * np.tensordot(mismatch, ws, axes=([1, 2], [0, 1]))
        return nll, grad

    # ------------------------------------------------------------ predict
    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance (of the latent function) at the rows of `x`."""
        if self._x is None:
            raise ValueError("Call fit() before predict().")
        x = np.asarray(x)
        s2, theta = np.exp(self.params[0]), np.exp(self.params[2:])
        k_star = s2 * self._corr(self._mismatch(x, self._x), theta)
        mean = k_star @ self._alpha
        v = scipy.linalg.solve_triangular(self._chol[0], k_star.T, lower=True)
        var = np.maximum(s2 - (v * v).sum(axis=0), 1e-12)
        return mean, var


def expected_improvement(mean: np.ndarray, var: np.ndarray, best: float,
                         xi: float = 0.0) -> np.ndarray:
    """Expected improvement over `best` (maximisation) of a Gaussian posterior.

    Example:

    >>> float(expected_improvement(np.array([0.0]), np.array([1.0]), 0.0)[0]).__round__(3)
    0.399
    """
    sd = np.sqrt(var)
    gap = mean - best - xi
    z = gap / sd
    return gap * scipy.stats.norm.cdf(z) + sd * scipy.stats.norm.pdf(z)
