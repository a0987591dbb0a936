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


class _MLP:
    """One tanh hidden layer, linear output, trained by full-batch Adam (numpy)."""

    def __init__(self, n_in, rng, hidden=HIDDEN):
        self.p = {"w1": rng.normal(0, 1 / np.sqrt(n_in), (n_in, hidden)),
                  "b1": np.zeros(hidden), "w2": rng.normal(0, 1 / np.sqrt(hidden), hidden),
                  "b2": np.zeros(1)}

    def forward(self, x):
        h = np.tanh(x @ self.p["w1"] + self.p["b1"])
        return h @ self.p["w2"] + self.p["b2"][0], h

    def train(self, x, grad_of_output, steps=STEPS, lr=LEARNING_RATE):
        m = {k: np.zeros_like(v) for k, v in self.p.items()}
        v = {k: np.zeros_like(val) for k, val in self.p.items()}
        for step in range(1, steps + 1):
            f, h = self.forward(x)
            g = grad_of_output(f)
            dz = (g[:, None] * self.p["w2"][None, :]) * (1 - h * h)
            grads = {"w2": h.T @ g + WEIGHT_DECAY * self.p["w2"], "b2": np.array([g.sum()]),
                     "w1": x.T @ dz + WEIGHT_DECAY * self.p["w1"], "b1": dz.sum(axis=0)}
            for k, gk in grads.items():  # Adam
                m[k] = 0.9 * m[k] + 0.1 * gk
                v[k] = 0.999 * v[k] + 0.001 * gk * gk
                mh, vh = m[k] / (1 - 0.9**step), v[k] / (1 - 0.999**step)
                self.p[k] = self.p[k] - lr * mh / (np.sqrt(vh) + 1e-8)
        return self


class MLPEnsemble:
    """BANANAS's ensemble of MLPs on the one-hot encoding (see the module docs).

    Args:
        encoding: The `Encoding` of the architectures.
        members: MLPs in the ensemble (default 5, as in BANANAS).
        seed: Seed of the initialisations (default 0).
    """

    def __init__(self, encoding, members=5, seed=0):
        self.encoding, self.members, self.seed = encoding, int(members), int(seed)
        self._nets = []

    def _x(self, archs):
        return np.stack([self.encoding.one_hot(a) for a in archs]).astype(np.float64)

    def _loss_grad(self, y):
        return lambda f: 2.0 * (f - y) / len(y)

    def fit(self, archs, scores):
        archs, y = _check(archs, scores)
        x = self._x(archs)
        self._mu, self._sd = y.mean(), y.std() or 1.0
        z = (y - self._mu) / self._sd
        rng = np.random.default_rng(self.seed)
        self._nets = [_MLP(x.shape[1], rng).train(x, self._loss_grad(z))
                      for _ in range(self.members)]
        return self

    def _outputs(self, archs):
        if not self._nets:
            raise ValueError("Call fit() before predict().")
        x = self._x(_check(archs)[0])
        return np.stack([net.forward(x)[0] for net in self._nets])

    def predict(self, archs) -> np.ndarray:
        return self._outputs(archs).mean(axis=0) * self._sd + self._mu

    def predict_std(self, archs) -> np.ndarray:
        return self._outputs(archs).std(axis=0) * self._sd


class PairwiseRanker(MLPEnsemble):
    """ReNAS's pairwise ranking loss on the MLP ensemble (see the module docs).

    Scores it predicts are only comparable to each other (their scale is arbitrary).
    """

    def _loss_grad(self, y):
        better, worse = np.nonzero(y[:, None] > y[None, :])
        n_pairs = max(1, len(better))

        def grad(f):
            s = f[better] - f[worse]
            ds = -1.0 / (1.0 + np.exp(s)) / n_pairs  # d/ds log(1 + exp(-s))
            g = np.zeros_like(f)
            np.add.at(g, better, ds)
            np.add.at(g, worse, -ds)
            return g

        return grad

    def fit(self, archs, scores):
        super().fit(archs, scores)
        self._mu, self._sd = 0.0, 1.0
        return self


class GPPredictor:
    """The categorical-kernel GP of `BayesianOptimization`, on rank-transformed scores."""

    def __init__(self, encoding, seed=0):
        self.encoding = encoding
        self.gp = CategoricalGP(cardinalities(encoding))

    def fit(self, archs, scores):
        archs, y = _check(archs, scores)
        self.gp.fit(decision_indices(self.encoding, archs), rank_transform(y))
        return self

    def predict(self, archs) -> np.ndarray:
        return self.gp.predict(decision_indices(self.encoding, _check(archs)[0]))[0]


PREDICTORS = {"gp": GPPredictor, "mlp_ensemble": MLPEnsemble, "ranker": PairwiseRanker}


def make_predictor(name, encoding, seed=0):
    """A predictor by name: `"gp"`, `"mlp_ensemble"` or `"ranker"`."""
    try:
        cls = PREDICTORS[name]
    except KeyError:
        raise ValueError(f"Unknown predictor {name!r}; choose from {sorted(PREDICTORS)}.") from None
    return cls(encoding, seed=seed)
