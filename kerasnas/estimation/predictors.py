"""Performance predictors: learn from T evaluated architectures, rank N >> T unseen ones.

Each predictor sees architectures only through the shared `Architecture`
encoding (no Keras, no TensorFlow: numpy and scipy), and has the same two
calls: `fit(archs, scores)` and `predict(archs) -> np.ndarray` (higher is
predicted better).

* `GPPredictor`: the Gaussian process with a per-decision categorical kernel
  that `BayesianOptimization` uses (`oracles.surrogates.CategoricalGP`),
  fitted to the rank-transformed scores.
* `MLPEnsemble` (BANANAS, White et al., AAAI 2021): an ensemble of small MLPs
  on the one-hot encoding, each from its own initialisation, trained on the
  mean squared error; the prediction is the ensemble mean (`predict_std` gives
  the spread).
* `PairwiseRanker` (ReNAS, Xu et al., CVPR 2021): the same MLP trained with a
  pairwise logistic ranking loss, `log(1 + exp(−(f(a) − f(b))))` over every
  pair where `a` scored better than `b`: only the order matters.

Example:

>>> import numpy as np
>>> from kerasnas.spaces.encodings import NB201Encoding
>>> enc = NB201Encoding()
>>> rng = np.random.default_rng(0)
>>> archs = [enc.sample(rng) for _ in range(20)]
>>> scores = [a.values.count("nor_conv_3x3") for a in archs]
>>> p = make_predictor("ranker", enc, seed=0).fit(archs, scores)
>>> p.predict(archs[:3]).shape
(3,)
"""

from __future__ import annotations

import numpy as np

from kerasnas.oracles.surrogates import (
    CategoricalGP,
    cardinalities,
    decision_indices,
    rank_transform,
)

#: Hidden units of each MLP (default 32: BANANAS uses wider nets on larger spaces; 32 is
#: plenty for 10-40 training points and keeps a fit under 0.1 s).
HIDDEN = 32
#: Full-batch Adam steps per MLP fit (default 300).
STEPS = 300
#: Adam learning rate (default 0.01).
LEARNING_RATE = 0.01
#: L2 weight penalty against overfitting a few points (default 1e-3).
WEIGHT_DECAY = 1e-3


def _check(archs, scores=None):
    archs = list(archs)
    if not archs:
        raise ValueError("Need at least one architecture.")
    if scores is None:
        return archs, None
    y = np.asarray(scores, dtype=np.float64)
    if y.shape != (len(archs),) or not np.all(np.isfinite(y)):
        raise ValueError(f"scores must be {len(archs)} finite values, one per architecture; "
                         f"got shape {y.shape}.")
    if len(archs) < 2:
        raise ValueError("A predictor needs at least 2 evaluated architectures to fit.")
    return archs, y


class _MLPStack:
    """`members` MLPs (one tanh hidden layer, linear output) trained together by full-batch Adam.

    The members share nothing but the data: each has its own initialisation
    (drawn member after member from one generator), and all are updated in one
    stacked numpy step, which is several times faster than a loop over members.
    """

    def __init__(self, n_in, members, rng, hidden=HIDDEN):
        w1, w2 = [], []
        for _ in range(members):
            w1.append(rng.normal(0, 1 / np.sqrt(n_in), (n_in, hidden)))
            w2.append(rng.normal(0, 1 / np.sqrt(hidden), hidden))
        self.p = {"w1": np.stack(w1), "b1": np.zeros((members, hidden)), "w2": np.stack(w2),
                  "b2": np.zeros(members)}

    def forward(self, x):
        """`(outputs (members, n), hidden activations (members, n, hidden))`."""
        h = np.tanh(np.matmul(x[None], self.p["w1"]) + self.p["b1"][:, None, :])
        return np.einsum("mnh,mh->mn", h, self.p["w2"]) + self.p["b2"][:, None], h

    def train(self, x, grad_of_output, steps=STEPS, lr=LEARNING_RATE):
        m = {k: np.zeros_like(v) for k, v in self.p.items()}
        v = {k: np.zeros_like(val) for k, val in self.p.items()}
        xt = x.T[None]
        for step in range(1, steps + 1):
            f, h = self.forward(x)
            g = grad_of_output(f)  # (members, n): d loss / d output
            dz = g[:, :, None] * self.p["w2"][:, None, :] * (1 - h * h)
            grads = {"w2": np.einsum("mnh,mn->mh", h, g) + WEIGHT_DECAY * self.p["w2"],
                     "b2": g.sum(axis=1),
                     "w1": np.matmul(xt, dz) + WEIGHT_DECAY * self.p["w1"],
                     "b1": dz.sum(axis=1)}
            c1, c2 = 1 - 0.9**step, 1 - 0.999**step
            for k, gk in grads.items():  # Adam
                m[k] = 0.9 * m[k] + 0.1 * gk
                v[k] = 0.999 * v[k] + 0.001 * gk * gk
                self.p[k] = self.p[k] - lr * (m[k] / c1) / (np.sqrt(v[k] / c2) + 1e-8)
        return self


class _Features:
    """Extra per-architecture inputs (e.g. zero-cost proxies), standardised on the training set."""

    def __init__(self, features):
        if features is not None and not callable(features):
            raise TypeError(f"features must be a callable mapping a list of architectures to "
                            f"an (n, k) array, or None; got {type(features).__name__}.")
        self.features = features

    def __call__(self, archs, fit=False):
        if self.features is None:
            return None
        f = np.asarray(self.features(list(archs)), dtype=np.float64)
        if f.ndim == 1:
            f = f[:, None]
        if f.ndim != 2 or len(f) != len(archs) or not np.all(np.isfinite(f)):
            raise ValueError(f"features(archs) must return {len(archs)} rows of finite numbers, "
                             f"one per architecture; got shape {f.shape}.")
        if fit:
            self._mu, self._sd = f.mean(axis=0), f.std(axis=0)
            self._sd[self._sd == 0] = 1.0
        return (f - self._mu) / self._sd


class MLPEnsemble:
    """BANANAS's ensemble of MLPs on the one-hot encoding (see the module docs).

    Args:
        encoding: The `Encoding` of the architectures.
        members: MLPs in the ensemble (default 5, as in BANANAS).
        seed: Seed of the initialisations (default 0).
        features: Optional callable `archs -> (n, k) array` of cheap,
            training-free features (parameter count, FLOPs, zero-cost proxy
            scores; see `kerasnas.estimation.zero_cost_features`), standardised
            on the training architectures and appended to the one-hot encoding,
            as in White et al. 2021 ("encoding + zero-cost features").
            Default None: the encoding only.
    """

    def __init__(self, encoding, members=5, seed=0, features=None):
        self.encoding, self.members, self.seed = encoding, int(members), int(seed)
        self._features = _Features(features)
        self._nets = None

    def _x(self, archs, fit=False):
        x = np.stack([self.encoding.one_hot(a) for a in archs]).astype(np.float64)
        extra = self._features(archs, fit=fit)
        return x if extra is None else np.hstack([x, extra])

    def _loss_grad(self, y):
        return lambda f: 2.0 * (f - y[None, :]) / len(y)

    def fit(self, archs, scores):
        archs, y = _check(archs, scores)
        x = self._x(archs, fit=True)
        self._mu, self._sd = y.mean(), y.std() or 1.0
        z = (y - self._mu) / self._sd
        rng = np.random.default_rng(self.seed)
        self._nets = _MLPStack(x.shape[1], self.members, rng).train(x, self._loss_grad(z))
        return self

    def _outputs(self, archs):
        if self._nets is None:
            raise ValueError("Call fit() before predict().")
        return self._nets.forward(self._x(_check(archs)[0]))[0]

    def predict(self, archs) -> np.ndarray:
        return self._outputs(archs).mean(axis=0) * self._sd + self._mu

    def predict_std(self, archs) -> np.ndarray:
        """The spread (standard deviation) of the members' predictions."""
        return self._outputs(archs).std(axis=0) * self._sd


class PairwiseRanker(MLPEnsemble):
    """ReNAS's pairwise ranking loss on the MLP ensemble (see the module docs).

    Scores it predicts are only comparable to each other (their scale is arbitrary).
    """

    def _loss_grad(self, y):
        better, worse = np.nonzero(y[:, None] > y[None, :])
        n_pairs = max(1, len(better))
        # d s / d f as a (pairs, n) matrix: +1 at the better one, -1 at the worse one.
        incidence = np.zeros((len(better), len(y)))
        incidence[np.arange(len(better)), better] = 1.0
        incidence[np.arange(len(better)), worse] = -1.0

        def grad(f):
            s = f[:, better] - f[:, worse]
            ds = -1.0 / (1.0 + np.exp(s)) / n_pairs  # d/ds log(1 + exp(-s))
            return ds @ incidence

        return grad

    def fit(self, archs, scores):
        super().fit(archs, scores)
        self._mu, self._sd = 0.0, 1.0
        return self


class GPPredictor:
    """The categorical-kernel GP of `BayesianOptimization`, on rank-transformed scores.

    Its kernel compares architectures decision by decision, so it takes no
    extra `features` (use `"mlp_ensemble"` or `"ranker"` for those).
    """

    def __init__(self, encoding, seed=0, features=None):
        if features is not None:
            raise ValueError("The 'gp' predictor's categorical kernel takes no extra features; "
                             "use predictor 'ranker' or 'mlp_ensemble' with features=.")
        self.encoding = encoding
        self.gp = CategoricalGP(cardinalities(encoding))

    def fit(self, archs, scores):
        archs, y = _check(archs, scores)
        self.gp.fit(decision_indices(self.encoding, archs), rank_transform(y))
        return self

    def _mean_var(self, archs):
        return self.gp.predict(decision_indices(self.encoding, _check(archs)[0]))

    def predict(self, archs) -> np.ndarray:
        return self._mean_var(archs)[0]

    def predict_std(self, archs) -> np.ndarray:
        """The GP's posterior standard deviation."""
        return np.sqrt(np.maximum(self._mean_var(archs)[1], 0.0))


PREDICTORS = {"gp": GPPredictor, "mlp_ensemble": MLPEnsemble, "ranker": PairwiseRanker}


def make_predictor(name, encoding, seed=0, features=None):
    """A predictor by name: `"gp"`, `"mlp_ensemble"` or `"ranker"`.

    `features` (MLP predictors only): see `MLPEnsemble`.
    """
    try:
        cls = PREDICTORS[name]
    except KeyError:
        raise ValueError(f"Unknown predictor {name!r}; choose from {sorted(PREDICTORS)}.") from None
    return cls(encoding, seed=seed, features=features)
