"""The LSTM controller network of `ReinforceController` (Zoph & Le, 2017), in NumPy.

One LSTM step per architectural decision: the step's output goes through a
softmax over that decision's choices, the chosen token is embedded and fed to
the next step. Every decision has its own slice of one output layer and of
one embedding table, so decisions with different numbers of choices share a
single small network.

The network is small (32 units, a handful of decisions, batches of 8), so it
is written out in NumPy: the forward pass, backpropagation through time for
the REINFORCE and PPO losses, and Adam. A policy update costs well under a
millisecond of Python and NumPy calls, where the TensorFlow version this
replaces spent ~10 ms per update in small `tf.function` calls, seconds tracing
them, and made the oracles import TensorFlow. The weights, their layout
(Keras's `Embedding`, `LSTMCell` with gates `i, f, c, o`, `Dense`), their
seeded initialisation and the saved state's format are the TensorFlow
version's, so states it saved load here unchanged.

Sampling takes its randomness as an argument (one uniform number per
decision, drawn by the oracle's seeded NumPy generator), so a proposal is a
pure function of the weights and the generator state and a resumed search
repeats it exactly.

Example:

>>> import numpy as np
>>> from kerasnas.oracles.policy import ControllerNetwork
>>> net = ControllerNetwork([5, 5, 3], seed=0)
>>> tokens = net.sample(np.random.default_rng(0).random((4, 3)))
>>> tokens.shape
(4, 3)
"""

from __future__ import annotations

import base64
from typing import Sequence

import numpy as np

#: Range of the uniform initialisation of every weight (as in ENAS, Pham et al., 2018).
INIT_RANGE = 0.1

#: Adam's decay rates and epsilon (the paper's defaults).
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8

#: Floating type of the weights and of the saved state. float32 is what the TensorFlow
#: version stored (its states load bit for bit) and halves the state Keras Tuner writes
#: several times per trial; tests of the gradients use float64.
DEFAULT_DTYPE = "float32"

#: Names of the weights, in the order of the saved state (Keras's variable order).
WEIGHT_NAMES = ("embedding", "kernel", "recurrent_kernel", "bias", "head_kernel", "head_bias")


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # overflow-free, and one ufunc call


class ControllerNetwork:
    """An autoregressive LSTM policy over a sequence of categorical decisions.

    Args:
        choice_counts: Number of choices of each decision, in order.
        units: LSTM width (default 32).
        embedding_dim: Size of the token embeddings fed back as inputs (default 32).
        learning_rate: Adam step size (default 0.01).
        temperature: Logits are divided by it before the softmax (default 1.0).
        tanh_constant: If set, logits become `tanh_constant * tanh(logits)`,
            which bounds how peaked a softmax can get (default None: off).
        seed: Seeds the weight initialisation (default 0).
        dtype: Floating type of the weights and the computation (default
            `DEFAULT_DTYPE`, float32).

    Example:

    >>> net = ControllerNetwork([5] * 6, seed=1)
    >>> net.log_prob(np.zeros((2, 6), "int32"), np.ones((2, 6), "float32"))[0].shape
    (2,)
    """

    def __init__(self, choice_counts: Sequence[int], units=32, embedding_dim=32,
                 learning_rate=0.01, temperature=1.0, tanh_constant=None, seed=0,
                 dtype=DEFAULT_DTYPE):
        counts = [int(n) for n in choice_counts]
        if not counts or min(counts) < 1:
            raise ValueError(f"choice_counts must be positive integers, got {list(choice_counts)}.")
        self.counts = counts
        self.offsets = [int(o) for o in np.cumsum([0] + counts[:-1])]
        self.num_decisions = len(counts)
        self.vocabulary = int(sum(counts))
        self.units = int(units)
        self.embedding_dim = int(embedding_dim)
        self.temperature = float(temperature)
        self.tanh_constant = None if tanh_constant is None else float(tanh_constant)
        self.learning_rate = float(learning_rate)
        self.dtype = np.dtype(dtype)
        u, e, v = self.units, self.embedding_dim, self.vocabulary
        # Token id `vocabulary` is the start token fed to the first step.
        shapes = ((v + 1, e), (e, 4 * u), (u, 4 * u), (4 * u,), (u, v), (v,))
        init = np.random.default_rng(seed)
        self.variables = [init.uniform(-INIT_RANGE, INIT_RANGE, s).astype("float32")
                          .astype(self.dtype) for s in shapes]
        # Adam (Kingma & Ba, 2015): the step count, then first and second moments per weight.
        self.step = np.zeros((), self.dtype)
        self.moments = [np.zeros_like(w) for w in self.variables]
        self.velocities = [np.zeros_like(w) for w in self.variables]

    def __getattr__(self, name):
        if name in WEIGHT_NAMES:  # net.embedding, net.kernel, ... name the weights
            return self.__dict__["variables"][WEIGHT_NAMES.index(name)]
        raise AttributeError(name)

    @property
    def optimizer_variables(self) -> list:
        """Adam's state: the step count, then first and second moments per weight."""
        return [self.step, *self.moments, *self.velocities]

    # ----------------------------------------------------------- forward
    def _run(self, batch, tokens=None, uniforms=None, keep=False):
        """Unrolls the LSTM over the decisions.

        Teacher-forced on `tokens`, or sampling by inverse CDF with `uniforms`.
        Returns `(tokens, log_softmax per step, cache per step)`.
        """
        emb, kernel, recurrent, bias, head, head_bias = self.variables
        u = self.units
        h = np.zeros((batch, u), self.dtype)
        c = np.zeros((batch, u), self.dtype)
        ids = np.full(batch, self.vocabulary)
        chosen, log_ps, cache = [], [], []
        for t, (k, off) in enumerate(zip(self.counts, self.offsets, strict=True)):
            x = emb[ids]
            z = x @ kernel + h @ recurrent + bias
            i = _sigmoid(z[:, :u])
            f = _sigmoid(z[:, u:2 * u])
            g = np.tanh(z[:, 2 * u:3 * u])
            o = _sigmoid(z[:, 3 * u:])
            c_prev, h_prev = c, h
            c = f * c_prev + i * g
            tanh_c = np.tanh(c)
            h = o * tanh_c
            scaled = (h @ head[:, off:off + k] + head_bias[off:off + k]) / self.temperature
            squashed = None
            if self.tanh_constant is not None:
                squashed = np.tanh(scaled)
                logits = self.tanh_constant * squashed
            else:
                logits = scaled
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            if tokens is None:
                cdf = np.cumsum(np.exp(log_p), axis=1)
                token = (cdf < uniforms[:, t:t + 1] * cdf[:, -1:]).sum(axis=1)
                token = np.minimum(token, k - 1)
            else:
                token = tokens[:, t]
            chosen.append(token)
            log_ps.append(log_p)
            if keep:
                cache.append((ids, x, h_prev, c_prev, i, f, g, o, tanh_c, h, squashed))
            ids = token + off
        return np.stack(chosen, axis=1), log_ps, cache

    def _objective(self, tokens, mask):
        tokens = np.asarray(tokens, "int64")
        mask = np.asarray(mask, self.dtype)
        _, log_ps, cache = self._run(len(tokens), tokens=tokens, keep=True)
        rows = np.arange(len(tokens))
        log_prob = sum(mask[:, t] * lp[rows, tokens[:, t]] for t, lp in enumerate(log_ps))
        entropy = sum(mask[:, t] * -(np.exp(lp) * lp).sum(axis=1) for t, lp in enumerate(log_ps))
        return tokens, mask, log_ps, cache, log_prob, entropy

    # ---------------------------------------------------------- backward
    def _gradients(self, tokens, mask, log_ps, cache, d_log_prob, d_entropy):
        """Gradients of `sum(d_log_prob * log_prob + d_entropy * entropy)` over the weights."""
        emb, kernel, recurrent, _, head, _ = self.variables
        grads = [np.zeros_like(w) for w in self.variables]
        d_emb, d_kernel, d_recurrent, d_bias, d_head, d_head_bias = grads
        u = self.units
        rows = np.arange(len(tokens))
        dh_next = np.zeros((len(tokens), u), self.dtype)
        dc_next = np.zeros_like(dh_next)
        for t in reversed(range(self.num_decisions)):
            k, off = self.counts[t], self.offsets[t]
            ids, x, h_prev, c_prev, i, f, g, o, tanh_c, h, squashed = cache[t]
            log_p = log_ps[t]
            p = np.exp(log_p)
            entropy = -(p * log_p).sum(axis=1, keepdims=True)
            # d log p[token] / d logits = onehot - p;  d entropy / d logits = -p (log p + H).
            onehot = np.zeros_like(p)
            onehot[rows, tokens[:, t]] = 1.0
            d_logits = (mask[:, t] * d_log_prob)[:, None] * (onehot - p) \
                - (mask[:, t] * d_entropy)[:, None] * p * (log_p + entropy)
            if squashed is not None:
                d_logits = d_logits * self.tanh_constant * (1.0 - squashed * squashed)
            d_scaled = d_logits / self.temperature
            d_head[:, off:off + k] += h.T @ d_scaled
            d_head_bias[off:off + k] += d_scaled.sum(axis=0)
            dh = d_scaled @ head[:, off:off + k].T + dh_next
            dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
            dz = np.concatenate([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                                 dc * i * (1.0 - g * g), dh * tanh_c * o * (1.0 - o)], axis=1)
            dc_next = dc * f
            d_kernel += x.T @ dz
            d_recurrent += h_prev.T @ dz
            d_bias += dz.sum(axis=0)
            dh_next = dz @ recurrent.T
            np.add.at(d_emb, ids, dz @ kernel.T)
        return grads

    def _adam(self, grads):
        self.step = self.step + 1
        rate = self.learning_rate * np.sqrt(1.0 - ADAM_BETA2 ** self.step) \
            / (1.0 - ADAM_BETA1 ** self.step)
        for w, g, m, s in zip(self.variables, grads, self.moments, self.velocities, strict=True):
            m *= ADAM_BETA1
            m += (1.0 - ADAM_BETA1) * g
            s *= ADAM_BETA2
            s += (1.0 - ADAM_BETA2) * g * g
            w -= (rate * m / (np.sqrt(s) + ADAM_EPSILON)).astype(self.dtype)

    def reinforce_gradients(self, tokens, mask, advantages, entropy_weight):
        """`(loss, gradients)` of the REINFORCE loss (see `reinforce_step`), without a step."""
        tokens, mask, log_ps, cache, log_prob, entropy = self._objective(tokens, mask)
        advantages = np.asarray(advantages, self.dtype)
        n = len(tokens)
        # REINFORCE (Williams, 1992): ascend A * grad log pi(a), plus an entropy bonus.
        loss = -np.mean(advantages * log_prob + entropy_weight * entropy)
        grads = self._gradients(tokens, mask, log_ps, cache, -advantages / n,
                                np.full(n, -entropy_weight / n, self.dtype))
        return float(loss), grads

    def ppo_gradients(self, tokens, mask, advantages, old_log_prob, clip, entropy_weight):
        """`(loss, gradients)` of PPO's clipped surrogate loss (see `ppo_step`), without a step."""
        tokens, mask, log_ps, cache, log_prob, entropy = self._objective(tokens, mask)
        advantages = np.asarray(advantages, self.dtype)
        ratio = np.exp(log_prob - np.asarray(old_log_prob, self.dtype))
        unclipped = ratio * advantages
        clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip) * advantages
        n = len(tokens)
        # Clipped surrogate objective (Schulman et al., 2017): the gradient flows through the
        # unclipped term where it is the smaller one (ties included), else nowhere.
        loss = -np.mean(np.minimum(unclipped, clipped) + entropy_weight * entropy)
        d_log_prob = np.where(unclipped <= clipped, -unclipped / n, 0.0).astype(self.dtype)
        grads = self._gradients(tokens, mask, log_ps, cache, d_log_prob,
                                np.full(n, -entropy_weight / n, self.dtype))
        return float(loss), grads

    # ------------------------------------------------------------ public
    def sample(self, uniforms) -> np.ndarray:
        """Token sequences drawn by inverse CDF from a `[count, decisions]` matrix of uniforms.

        Returns a `[count, decisions]` int matrix: row `i` uses `uniforms[i]`.
        """
        uniforms = np.asarray(uniforms, self.dtype)
        return self._run(len(uniforms), uniforms=uniforms)[0].astype("int32")

    def log_prob(self, tokens, mask) -> tuple[np.ndarray, np.ndarray]:
        """`(log_prob, entropy)` per sequence of a `[batch, decisions]` token matrix."""
        *_, log_prob, entropy = self._objective(tokens, mask)
        return np.asarray(log_prob, self.dtype), np.asarray(entropy, self.dtype)

    def probabilities(self, tokens) -> list[np.ndarray]:
        """Softmax of every decision along one teacher-forced token sequence (for inspection)."""
        _, log_ps, _ = self._run(1, tokens=np.asarray([tokens], "int64"))
        return [np.exp(lp[0]) for lp in log_ps]

    def reinforce_step(self, tokens, mask, advantages, entropy_weight) -> float:
        """One Adam step on the REINFORCE loss; returns the loss."""
        loss, grads = self.reinforce_gradients(tokens, mask, advantages, entropy_weight)
        self._adam(grads)
        return loss

    def ppo_step(self, tokens, mask, advantages, old_log_prob, clip, entropy_weight) -> float:
        """One Adam step on PPO's clipped surrogate loss; returns the loss."""
        loss, grads = self.ppo_gradients(tokens, mask, advantages, old_log_prob, clip,
                                         entropy_weight)
        self._adam(grads)
        return loss

    # ------------------------------------------------------------- state
    def get_state(self) -> dict:
        """Weights and optimizer variables, JSON-serialisable and bit-exact.

        Each variable is stored as `[dtype, shape, base64 of its bytes]`:
        writing tens of thousands of floats as JSON numbers would cost tens of
        milliseconds on every `Oracle.save()`, this costs well under one.
        """
        return {"weights": [_encode(v) for v in self.variables],
                "optimizer": [_encode(v) for v in self.optimizer_variables]}

    def set_state(self, state: dict) -> None:
        """Restores `get_state()` output (raises `ValueError` if the network's shape differs).

        States saved by the TensorFlow version of this class (same layout, float32) load
        unchanged.
        """
        restored = {}
        for key, variables in (("weights", self.variables),
                               ("optimizer", self.optimizer_variables)):
            saved = state[key]
            if len(saved) != len(variables):
                raise ValueError(f"Saved controller state has {len(saved)} {key} variables, "
                                 f"this network has {len(variables)}: was it built with other "
                                 "`units`/`embedding_dim` or for another search space?")
            arrays = []
            for v, value in zip(variables, saved, strict=True):
                array = _decode(value)
                if array.shape != v.shape:
                    raise ValueError(f"Saved controller variable has shape {array.shape}, "
                                     f"expected {v.shape}: the search space or the "
                                     "network size changed since it was saved.")
                arrays.append(array.astype(self.dtype))  # a writable copy
            restored[key] = arrays
        n = len(self.variables)
        self.variables = restored["weights"]
        self.step = restored["optimizer"][0]
        self.moments = restored["optimizer"][1:1 + n]
        self.velocities = restored["optimizer"][1 + n:]


def _encode(array) -> list:
    array = np.asarray(array)  # tobytes() writes C order whatever the layout
    return [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]


def _decode(value) -> np.ndarray:
    dtype, shape, data = value
    return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(shape)
