"""The LSTM controller network of `ReinforceController` (Zoph & Le, 2017).

One LSTM step per architectural decision: the step's output goes through a
softmax over that decision's choices, the chosen token is embedded and fed to
the next step. Every decision has its own slice of one output layer and of
one embedding table, so decisions with different numbers of choices share a
single small network.

Sampling takes its randomness as an argument (one uniform number per
decision, drawn by the oracle's seeded NumPy generator), so a proposal is a
pure function of the weights and the generator state and a resumed search
repeats it exactly. Both the sampler and the training steps are
`tf.function`s with fixed input signatures: they trace once per network.

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
import functools
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

#: Range of the uniform initialisation of every weight (as in ENAS, Pham et al., 2018).
INIT_RANGE = 0.1

#: Adam's decay rates and epsilon (the paper's defaults).
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


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

    Example:

    >>> net = ControllerNetwork([5] * 6, seed=1)
    >>> net.log_prob(np.zeros((2, 6), "int32"), np.ones((2, 6), "float32"))[0].shape
    (2,)
    """

    def __init__(self, choice_counts: Sequence[int], units=32, embedding_dim=32,
                 learning_rate=0.01, temperature=1.0, tanh_constant=None, seed=0):
        counts = [int(n) for n in choice_counts]
        if not counts or min(counts) < 1:
            raise ValueError(f"choice_counts must be positive integers, got {list(choice_counts)}.")
        self.counts = counts
        self.offsets = [int(o) for o in np.cumsum([0] + counts[:-1])]
        self.num_decisions = len(counts)
        self.vocabulary = int(sum(counts))
        self.temperature = float(temperature)
        self.tanh_constant = None if tanh_constant is None else float(tanh_constant)

        # Token id `vocabulary` is the start token fed to the first step.
        self.embedding = keras.layers.Embedding(self.vocabulary + 1, int(embedding_dim))
        self.cell = keras.layers.LSTMCell(int(units))
        self.head = keras.layers.Dense(self.vocabulary)
        self.embedding.build((None,))
        self.cell.build((None, int(embedding_dim)))
        self.head.build((None, int(units)))
        self.variables = (self.embedding.trainable_variables + self.cell.trainable_variables
                          + self.head.trainable_variables)
        init = np.random.default_rng(seed)
        for v in self.variables:
            v.assign(init.uniform(-INIT_RANGE, INIT_RANGE, tuple(v.shape)).astype("float32"))

        # Adam (Kingma & Ba, 2015), written out: its state is three plain variable lists, and
        # tracing it costs a fraction of a Keras optimizer's first `apply_gradients`.
        self.learning_rate = float(learning_rate)
        self.step = tf.Variable(0.0, trainable=False)
        self.moments = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.velocities = [tf.Variable(tf.zeros_like(v), trainable=False)
                           for v in self.variables]

        d = self.num_decisions
        # The graphs unroll Python loops over a fixed number of decisions, so AutoGraph has
        # nothing to convert; skipping it makes the one-time tracing several times faster.
        graph = functools.partial(tf.function, autograph=False, jit_compile=False)
        self._sample = graph(self._sample_graph,
                             input_signature=[tf.TensorSpec([None, d], tf.float32)])
        batch = [tf.TensorSpec([None, d], tf.int32), tf.TensorSpec([None, d], tf.float32)]
        scalar, vector = tf.TensorSpec([], tf.float32), tf.TensorSpec([None], tf.float32)
        self._log_prob = graph(self._log_prob_graph, input_signature=batch)
        self._reinforce = graph(self._reinforce_graph,
                                input_signature=batch + [vector, scalar])
        self._ppo = graph(self._ppo_graph, input_signature=batch + [vector, vector, scalar, scalar])

    @property
    def optimizer_variables(self) -> list:
        """Adam's state: the step count, then first and second moments per weight."""
        return [self.step, *self.moments, *self.velocities]

    # ------------------------------------------------------------- graph parts
    def _logits(self, output, t):
        logits = self.head(output)[:, self.offsets[t]:self.offsets[t] + self.counts[t]]
        logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * tf.tanh(logits)
        return logits

    def _initial(self, batch):
        units = self.cell.units
        states = [tf.zeros([batch, units]), tf.zeros([batch, units])]
        return self.embedding(tf.fill([batch], self.vocabulary)), states

    def _sample_graph(self, uniforms):
        inputs, states = self._initial(tf.shape(uniforms)[0])
        tokens = []
        for t in range(self.num_decisions):
            output, states = self.cell(inputs, states)
            cdf = tf.cumsum(tf.nn.softmax(self._logits(output, t)), axis=-1)
            # Inverse-CDF sampling with the caller's uniform numbers.
            token = tf.reduce_sum(tf.cast(cdf < uniforms[:, t:t + 1] * cdf[:, -1:], tf.int32), -1)
            token = tf.minimum(token, self.counts[t] - 1)
            tokens.append(token)
            inputs = self.embedding(token + self.offsets[t])
        return tf.stack(tokens, axis=1)

    def _log_prob_graph(self, tokens, mask):
        """Teacher-forced log-probability and entropy of each sequence (masked decisions skipped)."""
        inputs, states = self._initial(tf.shape(tokens)[0])
        log_prob, entropy = 0.0, 0.0
        for t in range(self.num_decisions):
            output, states = self.cell(inputs, states)
            log_p = tf.nn.log_softmax(self._logits(output, t))
            chosen = tf.gather(log_p, tokens[:, t], batch_dims=1)
            log_prob += mask[:, t] * chosen
            entropy += mask[:, t] * -tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1)
            inputs = self.embedding(tokens[:, t] + self.offsets[t])
        return log_prob, entropy

    def _apply(self, loss_fn):
        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, self.variables)
        step = self.step.assign_add(1.0)
        rate = self.learning_rate * tf.sqrt(1.0 - ADAM_BETA2**step) / (1.0 - ADAM_BETA1**step)
        for v, g, m, s in zip(self.variables, grads, self.moments, self.velocities, strict=True):
            g = tf.convert_to_tensor(g)  # the embedding's gradient arrives as IndexedSlices
            m.assign(ADAM_BETA1 * m + (1.0 - ADAM_BETA1) * g)
            s.assign(ADAM_BETA2 * s + (1.0 - ADAM_BETA2) * tf.square(g))
            v.assign_sub(rate * m / (tf.sqrt(s) + ADAM_EPSILON))
        return loss

    def _reinforce_graph(self, tokens, mask, advantages, entropy_weight):
        def loss():
            log_prob, entropy = self._log_prob_graph(tokens, mask)
            # REINFORCE (Williams, 1992): ascend A * grad log pi(a), plus an entropy bonus.
            return -tf.reduce_mean(advantages * log_prob + entropy_weight * entropy)
        return self._apply(loss)

    def _ppo_graph(self, tokens, mask, advantages, old_log_prob, clip, entropy_weight):
        def loss():
            log_prob, entropy = self._log_prob_graph(tokens, mask)
            ratio = tf.exp(log_prob - old_log_prob)
            # Clipped surrogate objective (Schulman et al., 2017).
            surrogate = tf.minimum(ratio * advantages,
                                   tf.clip_by_value(ratio, 1.0 - clip, 1.0 + clip) * advantages)
            return -tf.reduce_mean(surrogate + entropy_weight * entropy)
        return self._apply(loss)

    # ---------------------------------------------------------------- public
    def sample(self, uniforms) -> np.ndarray:
        """Token sequences drawn by inverse CDF from a `[count, decisions]` matrix of uniforms.

        Returns a `[count, decisions]` int matrix: row `i` uses `uniforms[i]`.
        """
        return self._sample(tf.constant(np.asarray(uniforms, "float32"))).numpy()

    def log_prob(self, tokens, mask) -> tuple[np.ndarray, np.ndarray]:
        """`(log_prob, entropy)` per sequence of a `[batch, decisions]` token matrix."""
        log_prob, entropy = self._log_prob(tf.constant(tokens, tf.int32),
                                           tf.constant(mask, tf.float32))
        return log_prob.numpy(), entropy.numpy()

    def probabilities(self, tokens) -> list[np.ndarray]:
        """Softmax of every decision along one teacher-forced token sequence (for inspection)."""
        inputs, states = self._initial(1)
        result = []
        for t in range(self.num_decisions):
            output, states = self.cell(inputs, states)
            result.append(tf.nn.softmax(self._logits(output, t))[0].numpy())
            inputs = self.embedding(tf.constant([int(tokens[t]) + self.offsets[t]]))
        return result

    def reinforce_step(self, tokens, mask, advantages, entropy_weight) -> float:
        """One Adam step on the REINFORCE loss; returns the loss."""
        return float(self._reinforce(tf.constant(tokens, tf.int32), tf.constant(mask, tf.float32),
                                     tf.constant(advantages, tf.float32),
                                     tf.constant(entropy_weight, tf.float32)))

    def ppo_step(self, tokens, mask, advantages, old_log_prob, clip, entropy_weight) -> float:
        """One Adam step on PPO's clipped surrogate loss; returns the loss."""
        return float(self._ppo(tf.constant(tokens, tf.int32), tf.constant(mask, tf.float32),
                               tf.constant(advantages, tf.float32),
                               tf.constant(old_log_prob, tf.float32), tf.constant(clip, tf.float32),
                               tf.constant(entropy_weight, tf.float32)))

    # ----------------------------------------------------------------- state
    def get_state(self) -> dict:
        """Weights and optimizer variables, JSON-serialisable and bit-exact.

        Each variable is stored as `[dtype, shape, base64 of its bytes]`:
        writing tens of thousands of floats as JSON numbers would cost tens of
        milliseconds on every `Oracle.save()`, this costs well under one.
        """
        return {"weights": [_encode(v) for v in self.variables],
                "optimizer": [_encode(v) for v in self.optimizer_variables]}

    def set_state(self, state: dict) -> None:
        """Restores `get_state()` output (raises `ValueError` if the network's shape differs)."""
        for key, variables in (("weights", self.variables),
                               ("optimizer", self.optimizer_variables)):
            saved = state[key]
            if len(saved) != len(variables):
                raise ValueError(f"Saved controller state has {len(saved)} {key} variables, "
                                 f"this network has {len(variables)}: was it built with other "
                                 "`units`/`embedding_dim` or for another search space?")
            for v, value in zip(variables, saved, strict=True):
                array = _decode(value)
                if array.shape != tuple(v.shape):
                    raise ValueError(f"Saved controller variable has shape {array.shape}, "
                                     f"expected {tuple(v.shape)}: the search space or the "
                                     "network size changed since it was saved.")
                v.assign(array)


def _encode(variable) -> list:
    array = np.asarray(variable.numpy())  # tobytes() writes C order
    return [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]


def _decode(value) -> np.ndarray:
    dtype, shape, data = value
    return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(shape)
