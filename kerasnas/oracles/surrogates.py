"""A Gaussian-process surrogate for categorical architecture encodings.

Architectures are compared decision by decision: the kernel is an
exponentiated, per-decision weighted Hamming distance (the categorical
overlap kernel of CoCaBO and CASMOPOLITAN; Ru et al. 2020, Wan et al. 2021)

    k(a, b) = s2 * exp(-sum_d theta_d * [a_d != b_d]),

so every decision learns how much changing it changes the fitness
(automatic relevance determination), and the product over decisions lets
the model capture interactions between them. Hyperparameters
`(s2, noise, theta)` are fitted by maximising the log marginal likelihood
with L-BFGS-B and analytic gradients. Pure numpy/scipy, no TensorFlow.

The distance is computed as one matrix product of one-hot codes,
`sum(theta) - (A * w) @ B.T` with `w` holding each category's `theta_d`, so
memory stays linear in the number of decisions.

Example:

>>> import numpy as np
>>> from kerasnas.oracles.surrogates import CategoricalGP
>>> x = np.array([[0, 1], [1, 1], [2, 0], [0, 0]])
>>> gp = CategoricalGP(cardinalities=[3, 2]).fit(x, np.array([1.0, 0.5, -1.0, 0.2]))
>>> mean, var = gp.predict(np.array([[0, 1]]))
>>> bool(abs(mean[0] - 1.0) < 0.3)
True
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.optimize
import scipy.special
import scipy.stats
from threadpoolctl import threadpool_limits

from kerasnas.spaces.architecture import Architecture, Encoding


def _single_threaded(method):
    """Runs `method` with one BLAS thread: for matrices of a few hundred rows, thread
    start-up and contention (worst on a shared machine) cost far more than they save."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return method(*args, **kwargs)
    return wrapper


# Bounds of the log-hyperparameters, for standardised targets.
_LOG_S2 = (-3.0, 3.0)
_LOG_NOISE = (-14.0, 0.0)
_LOG_THETA = (-6.0, 3.0)


def cardinalities(encoding: Encoding) -> list[int]:
    """Categories per decision as `decision_indices` codes them: the choices plus "inactive"."""
    if hasattr(encoding, "feature_cardinalities"):  # e.g. HPEncoding's ordered features
        return encoding.feature_cardinalities()
    return [len(d.choices) + 1 for d in encoding.decisions]


def decision_indices(encoding: Encoding, archs: Sequence[Architecture]) -> np.ndarray:
    """Integer matrix `(len(archs), len(decisions))`: the index of each decision's value.

    An inactive decision gets the extra index `len(choices)`, so it differs
    from every active value and matches another inactive one.

    Example:

    >>> from kerasnas.spaces.encodings import DenseEncoding
    >>> enc = DenseEncoding(max_layers=2)
    >>> decision_indices(enc, [enc.default()]).tolist()  # units1 inactive with 1 layer
    [[0, 0, 4, 0, 0, 0]]
    """
    if hasattr(encoding, "feature_codes"):
        return encoding.feature_codes(archs)
    rows = np.zeros((len(archs), len(encoding.decisions)), dtype=np.int64)
    for r, arch in enumerate(archs):
        active = encoding.active(arch.as_dict())
        for c, (d, v) in enumerate(zip(encoding.decisions, arch.values, strict=True)):
            rows[r, c] = d.index(v) if d.name in active else len(d.choices)
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
        cardinalities: Number of categories of each decision (column `d` of
            the index matrices holds values in `[0, cardinalities[d])`).
        params: Optional starting log-hyperparameters `[log s2, log noise,
            log theta_1..D]` (default None: `default_params`).

    Attributes:
        params: The current log-hyperparameters, a float array of length `D + 2`.
    """

    def __init__(self, cardinalities: Sequence[int], params=None):
        self.cardinalities = np.asarray(cardinalities, dtype=np.int64)
        if self.cardinalities.ndim != 1 or len(self.cardinalities) == 0 \
                or np.any(self.cardinalities < 1):
            raise ValueError(
                f"cardinalities must be a non-empty list of positive ints, got {cardinalities!r}."
            )
        self.num_decisions = len(self.cardinalities)
        self._offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]])
        # Decision of every one-hot column, to spread theta_d over its categories.
        self._column_decision = np.repeat(np.arange(self.num_decisions), self.cardinalities)
        if params is None:
            params = self.default_params(self.num_decisions)
        self.params = np.asarray(params, dtype=np.float64)
        if self.params.shape != (self.num_decisions + 2,):
            raise ValueError(
                f"params needs {self.num_decisions + 2} values ([log s2, log noise] + one log "
                f"theta per decision), got shape {self.params.shape}."
            )
        self._train = None

    @staticmethod
    def default_params(num_decisions: int) -> np.ndarray:
        """`s2 = 1`, `noise = 1e-3`, `theta_d = 1 / sqrt(D)`, as log-parameters."""
        theta = -0.5 * np.log(max(num_decisions, 1))
        return np.array([0.0, np.log(1e-3)] + [theta] * num_decisions)

    # ------------------------------------------------------------- kernel
    def _one_hot(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.num_decisions:
            raise ValueError(
                f"Expected an index matrix of shape (n, {self.num_decisions}), got {x.shape}."
            )
        if np.any(x < 0) or np.any(x >= self.cardinalities):
            raise ValueError(
                "Index out of range: column d must hold values in [0, cardinalities[d]); "
                "build the matrix with decision_indices()."
            )
        codes = np.zeros((len(x), int(self.cardinalities.sum())))
        codes[np.arange(len(x))[:, None], x + self._offsets] = 1.0
        return codes

    def _corr(self, a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """`exp(-weighted Hamming distance)` between one-hot codes `a` and `b`."""
        matches = (a * theta[self._column_decision]) @ b.T
        return np.exp(np.minimum(matches - theta.sum(), 0.0))

    # ---------------------------------------------------------------- fit
    @_single_threaded
    def fit(self, x: np.ndarray, y: np.ndarray, optimize: bool = True,
            max_iter: int = 60) -> "CategoricalGP":
        """Conditions on `(x, y)`; with `optimize`, first fits the hyperparameters.

        The optimiser starts from both `default_params` and the current
        `params` and keeps the better optimum: a warm start alone can stay
        stuck where the likelihood is flat (every `theta_d` at its bound).

        Args:
            x: Decision-index matrix `(n, D)` (see `decision_indices`).
            y: Targets `(n,)`, ideally standardised (e.g. `rank_transform`).
            optimize: Maximise the marginal likelihood (default True).
            max_iter: L-BFGS-B iterations per start (default 60).

        Returns:
            self.
        """
        codes = self._one_hot(x)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (len(codes),) or len(y) == 0 or not np.all(np.isfinite(y)):
            raise ValueError(
                f"fit needs y of shape ({len(codes)},) with finite values, got shape {y.shape}."
            )
        if optimize and len(y) > 1:
            bounds = [_LOG_S2, _LOG_NOISE] + [_LOG_THETA] * self.num_decisions
            low, high = np.array(bounds).T
            best = None
            for start in (self.default_params(self.num_decisions), self.params):
                result = scipy.optimize.minimize(
                    self._neg_log_likelihood, np.clip(start, low, high), args=(codes, y),
                    jac=True, method="L-BFGS-B", bounds=bounds,
                    options={"maxiter": int(max_iter)},
                )
                if np.all(np.isfinite(result.x)) and (best is None or result.fun < best.fun):
                    best = result
            if best is not None:
                self.params = best.x
        s2, noise, theta = self._unpack(self.params)
        k = s2 * self._corr(codes, codes, theta)
        k[np.diag_indices_from(k)] += noise + 1e-9
        chol = scipy.linalg.cho_factor(k, lower=True)
        self._train = (codes, chol, scipy.linalg.cho_solve(chol, y))
        return self

    @staticmethod
    def _unpack(params):
        return np.exp(params[0]), np.exp(params[1]), np.exp(params[2:])

    def _neg_log_likelihood(self, params, codes, y):
        """Negative log marginal likelihood and its gradient in the log-parameters."""
        s2, noise, theta = self._unpack(params)
        n = len(y)
        corr = self._corr(codes, codes, theta)
        k = s2 * corr
        k[np.diag_indices(n)] += noise + 1e-9
        try:
            chol = scipy.linalg.cho_factor(k, lower=True)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(params)
        alpha = scipy.linalg.cho_solve(chol, y)
        nll = 0.5 * y @ alpha + np.log(np.diag(chol[0])).sum() + 0.5 * n * np.log(2 * np.pi)
        # d nll / d p = -0.5 tr(W dK/dp) with W = alpha alpha^T - K^-1.
        k_inv, _ = scipy.linalg.lapack.dpotri(chol[0], lower=1)
        k_inv = np.tril(k_inv) + np.tril(k_inv, -1).T
        ws = (np.outer(alpha, alpha) - k_inv) * (s2 * corr)
        # dK/dlog theta_d = -theta_d * mismatch_d * K, and
        # sum_ij ws_ij mismatch_d,ij = sum(ws) - sum over d's categories of diag(A^T ws A).
        same = np.add.reduceat(((ws @ codes) * codes).sum(axis=0), self._offsets)
        grad = np.empty_like(params)
        grad[0] = -0.5 * ws.sum()
        grad[1] = -0.5 * noise * (alpha @ alpha - np.trace(k_inv))
        grad[2:] = 0.5 * theta * (ws.sum() - same)
        return nll, grad

    # ------------------------------------------------------------ predict
    @_single_threaded
    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance (of the latent function) at the rows of `x`."""
        if self._train is None:
            raise ValueError("Call fit() before predict().")
        codes, chol, alpha = self._train
        s2, _, theta = self._unpack(self.params)
        k_star = s2 * self._corr(self._one_hot(x), codes, theta)
        mean = k_star @ alpha
        v = scipy.linalg.solve_triangular(chol[0], k_star.T, lower=True)
        var = np.maximum(s2 - (v * v).sum(axis=0), 1e-12)
        return mean, var


def expected_improvement(mean: np.ndarray, var: np.ndarray, best: float,
                         xi: float = 0.0) -> np.ndarray:
    """Expected improvement over `best` (maximisation) of a Gaussian posterior.

    Example:

    >>> round(float(expected_improvement(np.array([0.0]), np.array([1.0]), 0.0)[0]), 3)
    0.399
    """
    sd = np.sqrt(var)
    gap = mean - best - xi
    z = gap / sd
    return gap * scipy.stats.norm.cdf(z) + sd * scipy.stats.norm.pdf(z)
