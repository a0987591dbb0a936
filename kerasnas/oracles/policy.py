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
from scipy.special import expit

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
    return expit(x)  # one ufunc call, no overflow


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
        # All weights live in one flat buffer (and so do their gradients and Adam's moments),
        # so an Adam step is a handful of NumPy calls whatever the number of weights.
        sizes = [int(np.prod(s)) for s in shapes]
        self._shapes, self._bounds = shapes, np.cumsum([0] + sizes)
        self._flat = np.concatenate([init.uniform(-INIT_RANGE, INIT_RANGE, s).astype("float32")
                                     .ravel() for s in shapes]).astype(self.dtype)
        self.variables = self._views(self._flat)
        # Adam (Kingma & Ba, 2015): the step count, then first and second moments per weight.
        self.step = np.zeros((), self.dtype)
        self._moments = np.zeros_like(self._flat)
        self._velocities = np.zeros_like(self._flat)
        self.moments = self._views(self._moments)
        self.velocities = self._views(self._velocities)
        # Logits of the other decisions' choices get this instead of -inf, so that
        # `p * log p` is 0 there, not NaN.
        floor = np.full((self.num_decisions, 1, v), -1e30 if self.dtype.itemsize > 4 else -1e15,
                        self.dtype)
        for t, (k, off) in enumerate(zip(counts, self.offsets, strict=True)):
            floor[t, 0, off:off + k] = 0.0
        self._floor = floor
        self._offsets = np.array(self.offsets)

    def _views(self, flat):
        return [flat[a:b].reshape(s)
                for a, b, s in zip(self._bounds[:-1], self._bounds[1:], self._shapes, strict=True)]

    def __getattr__(self, name):
        if name in WEIGHT_NAMES:  # net.embedding, net.kernel, ... name the weights
            return self.__dict__["variables"][WEIGHT_NAMES.index(name)]
        raise AttributeError(name)

    @property
    def optimizer_variables(self) -> list:
        """Adam's state: the step count, then first and second moments per weight."""
        return [self.step, *self.moments, *self.velocities]

    # ----------------------------------------------------------- forward
    def _cell(self, zx, h, c):
        """One LSTM step from the input's projection `zx`; returns `(gates, c, tanh(c), h)`."""
        u = self.units
        z = zx + h @ self.recurrent_kernel
        gates = _sigmoid(z)  # i, f, o; the cell candidate's slot is overwritten with tanh
        gates[:, 2 * u:3 * u] = np.tanh(z[:, 2 * u:3 * u])
        c = gates[:, u:2 * u] * c + gates[:, :u] * gates[:, 2 * u:3 * u]
        tanh_c = np.tanh(c)
        return gates, c, tanh_c, gates[:, 3 * u:] * tanh_c

    def _log_softmax(self, scaled, t=slice(None)):
        """Log-softmax of each step over its own decision's choices (others get ~-inf)."""
        logits = scaled if self.tanh_constant is None else self.tanh_constant * np.tanh(scaled)
        logits = logits + self._floor[t]
        logits -= logits.max(axis=-1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))

    def _projection(self):
        # The input's contribution to the gates, for every token at once.
        return self.embedding @ self.kernel + self.bias

    def sample(self, uniforms) -> np.ndarray:
        """Token sequences drawn by inverse CDF from a `[count, decisions]` matrix of uniforms.

        Returns a `[count, decisions]` int matrix: row `i` uses `uniforms[i]`.
        """
        uniforms = np.asarray(uniforms, self.dtype)
        batch = len(uniforms)
        projection = self._projection()
        h = c = np.zeros((batch, self.units), self.dtype)
        ids = np.full(batch, self.vocabulary)
        tokens = np.empty((batch, self.num_decisions), "int32")
        for t, (k, off) in enumerate(zip(self.counts, self.offsets, strict=True)):
            _, c, _, h = self._cell(projection[ids], h, c)
            scaled = (h @ self.head_kernel[:, off:off + k] + self.head_bias[off:off + k]) \
                / self.temperature
            cdf = np.cumsum(np.exp(self._log_softmax_one(scaled)), axis=1)
            token = np.minimum((cdf < uniforms[:, t:t + 1] * cdf[:, -1:]).sum(axis=1), k - 1)
            tokens[:, t] = token
            ids = token + off
        return tokens

    def _log_softmax_one(self, scaled):
        """Log-softmax of one step's logits (already sliced to its decision)."""
        logits = scaled if self.tanh_constant is None else self.tanh_constant * np.tanh(scaled)
        logits = logits - logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def _forward(self, tokens):
        """Teacher-forced pass over `[batch, decisions]` tokens; returns the log-softmax of
        every step over the whole vocabulary, `[decisions, batch, vocabulary]`, and a cache."""
        steps, batch, u = self.num_decisions, len(tokens), self.units
        ids = np.empty((steps, batch), "int64")
        ids[0] = self.vocabulary
        ids[1:] = (tokens[:, :-1] + self._offsets[:-1]).T
        zx = self._projection()[ids]
        hs = np.zeros((steps + 1, batch, u), self.dtype)
        gates = np.empty((steps, batch, 4 * u), self.dtype)
        cs = np.zeros((steps + 1, batch, u), self.dtype)
        tanh_cs = np.empty((steps, batch, u), self.dtype)
        for t in range(steps):
            gates[t], cs[t + 1], tanh_cs[t], hs[t + 1] = self._cell(zx[t], hs[t], cs[t])
        scaled = (hs[1:] @ self.head_kernel + self.head_bias) / self.temperature
        return self._log_softmax(scaled), (ids, hs, gates, cs, tanh_cs, scaled)

    def _objective(self, tokens, mask):
        tokens = np.asarray(tokens, "int64")
        mask = np.asarray(mask, self.dtype)
        log_p, cache = self._forward(tokens)
        columns = (tokens + self._offsets).T[:, :, None]  # [steps, batch, 1]
        chosen = np.take_along_axis(log_p, columns, axis=2)[:, :, 0]
        step_entropy = -(np.exp(log_p) * log_p).sum(axis=2)  # [steps, batch]
        log_prob = (mask.T * chosen).sum(axis=0)
        entropy = (mask.T * step_entropy).sum(axis=0)
        return (columns, mask, log_p, step_entropy, cache), log_prob, entropy

    # ---------------------------------------------------------- backward
    def _gradients(self, state, d_log_prob, d_entropy):
        """Gradients (one flat vector) of `sum(d_log_prob * log_prob + d_entropy * entropy)`."""
        columns, mask, log_p, step_entropy, (ids, hs, gates, cs, tanh_cs, scaled) = state
        u = self.units
        flat = np.zeros_like(self._flat)
        d_emb, d_kernel, d_recurrent, d_bias, d_head, d_head_bias = self._views(flat)
        p = np.exp(log_p)
        # d log p[token] / d logits = onehot - p;  d entropy / d logits = -p (log p + H).
        weight = (mask.T * d_log_prob)[:, :, None]
        d_logits = -weight * p
        np.put_along_axis(d_logits, columns,
                          np.take_along_axis(d_logits, columns, axis=2) + weight, axis=2)
        d_logits -= (mask.T * d_entropy)[:, :, None] * p * (log_p + step_entropy[:, :, None])
        if self.tanh_constant is not None:
            squashed = np.tanh(scaled)
            d_logits *= self.tanh_constant * (1.0 - squashed * squashed)
        d_scaled = d_logits / self.temperature
        d_head += hs[1:].reshape(-1, u).T @ d_scaled.reshape(-1, self.vocabulary)
        d_head_bias += d_scaled.sum(axis=(0, 1))
        d_hs = d_scaled @ self.head_kernel.T  # from each step's own output
        # Gate derivatives: sigmoid' for i, f, o; tanh' for the cell candidate.
        d_gate = gates * (1.0 - gates)
        d_gate[:, :, 2 * u:3 * u] = 1.0 - gates[:, :, 2 * u:3 * u] ** 2
        d_out = gates[:, :, 3 * u:] * (1.0 - tanh_cs * tanh_cs)
        dz = np.empty_like(gates)
        dh = np.zeros_like(hs[0])
        dc = np.zeros_like(hs[0])
        recurrent_t = self.recurrent_kernel.T
        for t in reversed(range(self.num_decisions)):
            dh = d_hs[t] + dh
            dc = dc + dh * d_out[t]
            i, f, g = gates[t, :, :u], gates[t, :, u:2 * u], gates[t, :, 2 * u:3 * u]
            np.multiply(dc, g, out=dz[t, :, :u])
            np.multiply(dc, cs[t], out=dz[t, :, u:2 * u])
            np.multiply(dc, i, out=dz[t, :, 2 * u:3 * u])
            np.multiply(dh, tanh_cs[t], out=dz[t, :, 3 * u:])
            dz[t] *= d_gate[t]
            dc = dc * f
            dh = dz[t] @ recurrent_t
        dz = dz.reshape(-1, 4 * u)
        d_recurrent += hs[:-1].reshape(-1, u).T @ dz
        d_projection = np.zeros((self.vocabulary + 1, 4 * u), self.dtype)
        np.add.at(d_projection, ids.ravel(), dz)
        d_kernel += self.embedding.T @ d_projection
        d_bias += d_projection.sum(axis=0)
        d_emb += d_projection @ self.kernel.T
        return flat

    def _adam(self, grad):
        self.step = self.step + 1
        rate = self.learning_rate * np.sqrt(1.0 - ADAM_BETA2 ** self.step) \
            / (1.0 - ADAM_BETA1 ** self.step)
        m, s = self._moments, self._velocities
        m *= ADAM_BETA1
        m += (1.0 - ADAM_BETA1) * grad
        s *= ADAM_BETA2
        s += (1.0 - ADAM_BETA2) * grad * grad
        self._flat -= (rate * m / (np.sqrt(s) + ADAM_EPSILON)).astype(self.dtype)

    def reinforce_gradients(self, tokens, mask, advantages, entropy_weight):
        """`(loss, gradients)` of the REINFORCE loss (see `reinforce_step`), without a step.

        The gradients are one flat vector; `split(gradients)` gives one array per weight.
        """
        state, log_prob, entropy = self._objective(tokens, mask)
        advantages = np.asarray(advantages, self.dtype)
        n = len(advantages)
        # REINFORCE (Williams, 1992): ascend A * grad log pi(a), plus an entropy bonus.
        loss = -np.mean(advantages * log_prob + entropy_weight * entropy)
        grads = self._gradients(state, -advantages / n,
                                np.full(n, -entropy_weight / n, self.dtype))
        return float(loss), grads

    def ppo_gradients(self, tokens, mask, advantages, old_log_prob, clip, entropy_weight,
                      _objective=None):
        """`(loss, gradients)` of PPO's clipped surrogate loss (see `ppo_step`), without a step."""
        state, log_prob, entropy = _objective or self._objective(tokens, mask)
        advantages = np.asarray(advantages, self.dtype)
        ratio = np.exp(log_prob - np.asarray(old_log_prob, self.dtype))
        unclipped = ratio * advantages
        clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip) * advantages
        n = len(advantages)
        # Clipped surrogate objective (Schulman et al., 2017): the gradient flows through the
        # unclipped term where it is the smaller one (ties included), else nowhere.
        loss = -np.mean(np.minimum(unclipped, clipped) + entropy_weight * entropy)
        d_log_prob = np.where(unclipped <= clipped, -unclipped / n, 0.0).astype(self.dtype)
        grads = self._gradients(state, d_log_prob, np.full(n, -entropy_weight / n, self.dtype))
        return float(loss), grads

    # ------------------------------------------------------------ public
    def log_prob(self, tokens, mask) -> tuple[np.ndarray, np.ndarray]:
        """`(log_prob, entropy)` per sequence of a `[batch, decisions]` token matrix."""
        *_, log_prob, entropy = self._objective(tokens, mask)
        return np.asarray(log_prob, self.dtype), np.asarray(entropy, self.dtype)

    def probabilities(self, tokens) -> list[np.ndarray]:
        """Softmax of every decision along one teacher-forced token sequence (for inspection)."""
        log_p, _ = self._forward(np.asarray([tokens], "int64"))
        return [np.exp(log_p[t, 0, off:off + k])
                for t, (k, off) in enumerate(zip(self.counts, self.offsets, strict=True))]

    def split(self, flat) -> list[np.ndarray]:
        """One array per weight (in `variables`' order) of a flat vector of gradients."""
        return self._views(flat)

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

    def ppo_update(self, tokens, mask, advantages, clip, entropy_weight, epochs) -> float:
        """`epochs` Adam steps of PPO on one batch, the policy that sampled it being the
        current one; returns the last loss.

        Same as `old, _ = log_prob(...)` then `epochs` x `ppo_step(..., old, ...)`, with
        the first step's forward pass giving `old` (one pass fewer).
        """
        objective = self._objective(tokens, mask)
        old_log_prob = objective[1]
        loss = 0.0
        for _ in range(int(epochs)):
            loss, grads = self.ppo_gradients(tokens, mask, advantages, old_log_prob, clip,
                                             entropy_weight, objective)
            self._adam(grads)
            objective = None
        return loss

    # ------------------------------------------------------------- state
    def get_state(self) -> dict:
        """Weights and optimizer variables, JSON-serialisable and bit-exact.

        Each variable is stored as `[dtype, shape, base64 of its bytes]`:
        writing tens of thousands of floats as JSON numbers would cost tens of
        milliseconds on every `Oracle.save()`, this costs well under one.
        """
        return {"weights": [encode_array(v) for v in self.variables],
                "optimizer": [encode_array(v) for v in self.optimizer_variables]}

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
                array = decode_array(value)
                if array.shape != v.shape:
                    raise ValueError(f"Saved controller variable has shape {array.shape}, "
                                     f"expected {v.shape}: the search space or the "
                                     "network size changed since it was saved.")
                arrays.append(array.astype(self.dtype))  # a writable copy
            restored[key] = arrays
        for target, array in zip(self.variables + self.moments + self.velocities,
                                 restored["weights"] + restored["optimizer"][1:], strict=True):
            target[...] = array  # views of the flat buffers
        self.step = restored["optimizer"][0]


def encode_array(array) -> list:
    """`[dtype, shape, base64 bytes]`: an array in JSON, exactly (`decode_array` reads it)."""
    array = np.asarray(array)  # tobytes() writes C order whatever the layout
    return [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]


def decode_array(value) -> np.ndarray:
    """The array `encode_array` wrote."""
    dtype, shape, data = value
    return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(shape)
