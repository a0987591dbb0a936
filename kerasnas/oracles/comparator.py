"""`ArchitectureComparator`: CTNAS's neural architecture comparator (NAC).

Chen et al., "Contrastive Neural Architecture Search with Neural Architecture
Comparators" (CVPR 2021) argue that a search needs to know whether an
architecture is better than another, not how good it is: the comparator takes
two architectures and returns the probability that the first one is better.

Each architecture is read as a graph (`kerasnas.graphs.graph_of`), embedded by
the shared graph neural network (`kerasnas.graphs.GraphEncoder`, e_a), and a
small head g scores the ordered pair. The head is antisymmetric by
construction,

    h(a, b) = g([e_a, e_b]) - g([e_b, e_a]),      P(a > b) = sigmoid(h(a, b)),

so h(b, a) = -h(a, b) and P(a > b) + P(b > a) = 1 for every pair, trained or
not (the reference code concatenates the two embeddings into one linear layer,
which leaves the two orders free to disagree).

Training is binary cross-entropy on pairs of scored architectures with the
label 1[s_a > s_b] (ties carry no order and no loss), as in the paper. A step
takes up to `batch_archs` of the scored architectures, embeds each once and
scores every ordered pair among them: M graphs give M (M - 1) pairs, where the
reference code embeds two graphs per pair. Adam, warm-started across `fit`
calls (CTNAS trains its NAC further as labelled data arrive).

Keras is imported on first use. The network is built and compiled once per
comparator, every batch is padded to fixed shapes (`batch_archs` graphs for
training, `EMBED_CHUNK` for embedding, nodes to the most any graph had),
so nothing is traced again between calls; the head runs in NumPy (float64) on
cached embeddings, so comparing many candidates with one baseline costs one
embedding per architecture. Initial weights come from `seed` (not from
Keras's global random state), and `get_state()` / `set_state()` carry the
weights, Adam's moments and the comparator's own random generator, so a
restored comparator continues exactly.

Example:

>>> import numpy as np
>>> from kerasnas.spaces.encodings import NB201Encoding
>>> enc = NB201Encoding()
>>> rng = np.random.default_rng(0)
>>> archs = [enc.sample(rng) for _ in range(20)]
>>> scores = [sum(v == "nor_conv_3x3" for v in a.values) for a in archs]
>>> nac = ArchitectureComparator(enc, seed=0).fit(archs, scores, steps=50)
>>> p = nac.prob(archs[:3], archs[3:6])
>>> bool(np.allclose(p + nac.prob(archs[3:6], archs[:3]), 1.0))
True
"""

from __future__ import annotations

import functools
import math
import threading
import weakref

import numpy as np

#: Width of the comparator's graph embedding. `GraphEncoder`'s default is 64; 32 halves
#: the cost of a training step (7 vs 13 ms for 64 pairs on the loaded 2-core CPU) and the
#: comparator only has to order a few hundred evaluated architectures.
DEFAULT_UNITS = 32
#: Message-passing rounds: `GraphEncoder`'s default (3 reach every node of an NB201 cell).
DEFAULT_LAYERS = 3
#: Hidden width of the pair head g (one ReLU layer, then a linear output).
DEFAULT_HEAD_UNITS = 32
#: Adam's step size. The reference code uses 2e-4 over 1,000 epochs of 423 labelled
#: architectures; a search trains a few steps per new result, so the steps are larger.
DEFAULT_LEARNING_RATE = 2e-3
#: Architectures per training step (all ordered pairs among them are scored): 32 graphs give
#: 992 pairs for the price of embedding 32 graphs.
DEFAULT_BATCH_ARCHS = 32
#: Training steps of a stand-alone `fit()` call.
DEFAULT_FIT_STEPS = 100
#: Graphs per embedding call (candidates are padded to a multiple of it: one traced shape).
EMBED_CHUNK = 64
#: Pairs whose head activations `prob_matrix` holds at once (bounds its memory).
PAIRS_PER_BLOCK = 65536
#: Smallest node count graphs are padded to. Batches are padded to the most nodes any graph
#: of this comparator has had (a high-water mark, saved with its state), so the traced shapes
#: change only when a larger graph than all before arrives.
MIN_NODES = 8


class ArchitectureComparator:
    """Predicts P(a is better than b) for pairs of architectures (CTNAS's NAC).

    Args:
        encoding: The `Encoding` of the architectures.
        units: Width of the graph embedding (default `DEFAULT_UNITS`, 32).
        num_layers: Message-passing rounds of the `GraphEncoder` (default 3).
        head_units: Hidden width of the pair head (default `DEFAULT_HEAD_UNITS`, 32).
        learning_rate: Adam's step size (default `DEFAULT_LEARNING_RATE`, 2e-3).
        batch_archs: Architectures per training step; every ordered pair among
            them is a training pair (default `DEFAULT_BATCH_ARCHS`, 32).
        seed: Seed of the initial weights and of the training batches (default 0).
        input_shape: The model's input shape, for encodings whose graph depends
            on it (the residual stack's strides); default None.

    Example:

    >>> from kerasnas.spaces.encodings import NB201Encoding
    >>> enc = NB201Encoding()
    >>> a, b = enc.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
    ...                        "|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"), enc.default()
    >>> nac = ArchitectureComparator(enc, seed=1).fit([a, b], [94.0, 10.0], steps=20)
    >>> bool(nac.prob([a], [b])[0] > 0.5)
    True
    """

    def __init__(self, encoding, units=DEFAULT_UNITS, num_layers=DEFAULT_LAYERS,
                 head_units=DEFAULT_HEAD_UNITS, learning_rate=DEFAULT_LEARNING_RATE,
                 batch_archs=DEFAULT_BATCH_ARCHS, seed=0, input_shape=None):
        if encoding is None or not hasattr(encoding, "decisions"):
            raise ValueError(f"encoding must be a kerasnas Encoding (e.g. NB201Encoding()); got "
                             f"{encoding!r}.")
        self.check_arguments(units, num_layers, head_units, learning_rate, batch_archs, seed)
        from kerasnas.graphs.view import GraphFeaturizer

        self.encoding = encoding
        self.units, self.num_layers, self.head_units = int(units), int(num_layers), int(head_units)
        self.learning_rate = float(learning_rate)
        self.batch_archs = int(batch_archs)
        self.seed = int(seed)
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.featurizer = GraphFeaturizer.for_encoding(encoding)
        self.rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xC0DE]))
        self.steps = 0  # training steps taken
        self.nodes = MIN_NODES  # node count every batch is padded to (grows, never shrinks)
        self._parked = None  # (weights, optimizer variables) while another comparator holds the net
        self._graphs: dict[str, tuple] = {}  # str(arch) -> (features, adjacency), per arch
        self._embedded: dict[str, np.ndarray] = {}  # str(arch) -> (A row, B row) of the head
        self._head = None  # (W_a, W_b, b_1, w_2) in float64, for the current weights
        self._saved = None  # (steps, encoded state) of the last get_state()

    @staticmethod
    def check_arguments(units=DEFAULT_UNITS, num_layers=DEFAULT_LAYERS,
                        head_units=DEFAULT_HEAD_UNITS, learning_rate=DEFAULT_LEARNING_RATE,
                        batch_archs=DEFAULT_BATCH_ARCHS, seed=0):
        """Raises `ValueError` naming the first bad argument (what the constructor checks)."""
        for name, value, low in (("units", units, 1), ("num_layers", num_layers, 1),
                                 ("head_units", head_units, 1), ("batch_archs", batch_archs, 2)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) \
                or not math.isfinite(learning_rate) or learning_rate <= 0:
            raise ValueError(f"learning_rate must be a finite number > 0; got {learning_rate!r}.")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be an int; got {seed!r}.")

    # ----------------------------------------------------------- network
    def _network(self):
        """The compiled pair model, holding this comparator's weights (see `_Shared`)."""
        return _Shared.acquire(self).model

    def _embedder(self):
        return _Shared.acquire(self).embedder

    def _graph(self, arch):
        key = str(arch)
        found = self._graphs.get(key)
        if found is None:
            from kerasnas.graphs.view import graph_of

            g = graph_of(arch, self.input_shape)
            found = (self.featurizer.node_features(g), g.adjacency())
            self._graphs[key] = found
        return found

    def _pad(self, archs, size):
        """`(features, adjacency, mask)` of `archs`, padded to `size` graphs of `nodes` nodes."""
        graphs = [self._graph(a) for a in archs]
        self.nodes = n = max(self.nodes, *(len(f) for f, _ in graphs))
        features = np.zeros((size, n, self.featurizer.num_features), np.float32)
        adjacency = np.zeros((size, n, n), np.float32)
        mask = np.zeros((size, n), np.float32)
        for i, (f, a) in enumerate(graphs):
            k = len(f)
            features[i, :k], adjacency[i, :k, :k], mask[i, :k] = f, a, 1.0
        return features, adjacency, mask

    # ---------------------------------------------------------- training
    def fit(self, archs, scores, steps=DEFAULT_FIT_STEPS):
        """Trains on the pairs of `archs` ordered by `scores` (higher is better), continuing
        from the current weights.

        Args:
            archs: Architectures of `encoding`.
            scores: One finite number per architecture.
            steps: Adam steps (default `DEFAULT_FIT_STEPS`, 100). Each takes up to
                `batch_archs` of the architectures (all of them when there are no more)
                and every ordered pair among them with different scores.

        Returns:
            self.

        Raises:
            ValueError: lengths differ, a score is not finite, or fewer than two
                architectures have different scores (no pair to learn from).
        """
        archs = list(archs)
        y = np.asarray(scores, dtype=np.float64)
        if y.shape != (len(archs),):
            raise ValueError(f"scores must be one number per architecture: {len(archs)} "
                             f"architectures, scores of shape {y.shape}.")
        if not np.all(np.isfinite(y)):
            raise ValueError("scores must be finite numbers; drop failed evaluations (NaN/inf).")
        if len(archs) < 2 or np.all(y == y[0]):
            raise ValueError("fit needs at least two architectures with different scores: the "
                             "comparator learns from pairs whose order is known.")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be an int >= 0; got {steps!r}.")
        for a in archs:
            if a.encoding.key != self.encoding.key:
                raise ValueError(f"{a} is not an architecture of the comparator's encoding "
                                 f"{self.encoding.key}.")
        with _LOCK:
            self._train(archs, y, int(steps))
        self._embedded, self._head = {}, None
        return self

    def _train(self, archs, y, steps):
        model = self._network()
        m = self.batch_archs
        for _ in range(steps):
            idx = (np.arange(len(archs)) if len(archs) <= m
                   else np.sort(self.rng.choice(len(archs), size=m, replace=False)))
            x = self._pad([archs[i] for i in idx], m)
            s = np.full(m, np.nan)
            s[:len(idx)] = y[idx]
            with np.errstate(invalid="ignore"):
                labels = (s[:, None] > s[None, :]).astype(np.float32)
                ordered = (s[:, None] != s[None, :]) & np.isfinite(s[:, None] + s[None, :])
            # Weights that average the loss over the ordered pairs of this batch only.
            weights = ordered * (m * m / max(1, ordered.sum()))
            model.train_on_batch(x, labels[..., None], sample_weight=weights.astype(np.float32))
            self.steps += 1
        # Keep the features of the training architectures only (candidates come and go).
        self._graphs = {k: v for k in map(str, archs) if (v := self._graphs.get(k)) is not None}

    # --------------------------------------------------------- inference
    def _head_weights(self):
        if self._head is None:
            with _LOCK:
                model = self._network()
                kernel, bias = (np.asarray(w, np.float64) for w in model.hidden.get_weights())
                out = np.asarray(model.out.get_weights()[0], np.float64)[:, 0]
            # g([e_a, e_b]) = w_2 . relu(e_a W_a + e_b W_b + b_1) + b_2 (b_2 cancels in h).
            self._head = (kernel[:self.units], kernel[self.units:], bias, out)
        return self._head

    def _rows(self, archs):
        """`(A, B)`: each architecture's e W_a and e W_b, embedded once per weight version."""
        w_a, w_b, _, _ = self._head_weights()
        keys = [str(a) for a in archs]
        missing = list(dict.fromkeys(k for k in keys if k not in self._embedded))
        if missing:
            by_key = dict(zip(keys, archs, strict=True))
            with _LOCK:
                embedder = self._embedder()
                for start in range(0, len(missing), EMBED_CHUNK):
                    chunk = missing[start:start + EMBED_CHUNK]
                    x = self._pad([by_key[k] for k in chunk], EMBED_CHUNK)
                    e = np.asarray(embedder.predict_on_batch(x), np.float64)[:len(chunk)]
                    for k, row in zip(chunk, e, strict=True):
                        self._embedded[k] = (row @ w_a, row @ w_b)
        rows = [self._embedded[k] for k in keys]
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])

    def _g(self, left_a, right_b):
        _, _, bias, out = self._head_weights()
        # A row-wise sum: the same pair gives the same value wherever it sits in the batch.
        return (np.maximum(left_a + right_b + bias, 0.0) * out).sum(axis=-1)

    def logits(self, a_list, b_list) -> np.ndarray:
        """h(a_i, b_i) for each pair: antisymmetric, `logits(b, a) == -logits(a, b)`."""
        a_list, b_list = list(a_list), list(b_list)
        if len(a_list) != len(b_list):
            raise ValueError(f"a_list and b_list must pair up: {len(a_list)} vs {len(b_list)}.")
        if not a_list:
            return np.zeros(0)
        a_rows, a_cols = self._rows(a_list)
        b_rows, b_cols = self._rows(b_list)
        return self._g(a_rows, b_cols) - self._g(b_rows, a_cols)

    def prob(self, a_list, b_list) -> np.ndarray:
        """P(a_i better than b_i) for each pair (float64); `prob(b, a) == 1 - prob(a, b)`."""
        return _sigmoid(self.logits(a_list, b_list))

    def prob_matrix(self, archs) -> np.ndarray:
        """`P[i, j]` = P(archs[i] better than archs[j]); 0.5 on the diagonal."""
        archs = list(archs)
        rows, cols = self._rows(archs)
        g = np.empty((len(archs), len(archs)))
        step = max(1, PAIRS_PER_BLOCK // max(1, len(archs)))
        for start in range(0, len(archs), step):  # g[i, j] = g([e_i, e_j]), in row blocks
            g[start:start + step] = self._g(rows[start:start + step, None, :], cols[None, :, :])
        return _sigmoid(g - g.T)

    def score(self, archs) -> np.ndarray:
        """Each architecture's mean P(better) against the others of `archs` (its expected
        win rate; CTNAS's "derive" picks the best of a sample by it). Higher is better;
        comparable within one call only. A single architecture scores 0.5."""
        archs = list(archs)
        if len(archs) < 2:
            return np.full(len(archs), 0.5)
        p = self.prob_matrix(archs)
        return (p.sum(axis=1) - 0.5) / (len(archs) - 1)

    # ------------------------------------------------------------- state
    def get_state(self) -> dict:
        """Weights, Adam's variables, the training generator and the step count; JSON-safe,
        bit-exact (arrays as base64)."""
        if self._saved is not None and self._saved[0] == self.steps:
            return self._saved[1]
        from kerasnas.oracles.policy import encode_array

        with _LOCK:
            weights, optimizer = _Shared.values(self)
        state = {"steps": self.steps, "nodes": self.nodes, "rng": self.rng.bit_generator.state,
                 "weights": [encode_array(w) for w in weights],
                 "optimizer": [encode_array(v) for v in optimizer]}
        self._saved = (self.steps, state)
        return state

    def set_state(self, state: dict) -> None:
        """Restores `get_state()` output (raises `ValueError` if the network's shape differs)."""
        from kerasnas.oracles.policy import decode_array

        weights = [decode_array(w) for w in state["weights"]]
        optimizer = [decode_array(v) for v in state["optimizer"]]
        with _LOCK:
            current, slots = _Shared.values(self)
            if len(weights) != len(current) or any(
                    w.shape != c.shape for w, c in zip(weights, current, strict=True)):
                raise ValueError("The saved comparator has other weight shapes: was it built "
                                 "with other units / num_layers / head_units or for another "
                                 "encoding?")
            if len(optimizer) != len(slots):
                raise ValueError(f"The saved comparator has {len(optimizer)} optimizer "
                                 f"variables, this one {len(slots)}.")
            _Shared.park(self, (weights, optimizer))
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
        self.steps = int(state["steps"])
        self.nodes = int(state["nodes"])
        self._embedded, self._head, self._saved = {}, None, None


def _sigmoid(h):
    from scipy.special import expit

    return expit(np.asarray(h, np.float64))


@functools.cache
def _classes():
    """The Keras classes, defined on first use so importing this module loads no Keras."""
    import keras
    from keras import ops

    from kerasnas.graphs.encoder import GraphEncoder

    class PairLogits(keras.Model):
        """`(features, adjacency, mask)` of M graphs -> `(M, M, 1)` logits h[i, j]."""

        def __init__(self, units, num_layers, head_units):
            super().__init__(name="architecture_comparator")
            self.encoder = GraphEncoder(units=units, num_layers=num_layers, name="encoder")
            self.hidden = keras.layers.Dense(head_units, activation="relu", name="head_hidden")
            self.out = keras.layers.Dense(1, name="head_out")

        def call(self, inputs):
            _, e = self.encoder(inputs)
            left = ops.expand_dims(e, 1) + ops.zeros_like(ops.expand_dims(e, 0))  # e_i at [i, j]
            right = ops.transpose(left, (1, 0, 2))  # e_j at [i, j]
            g = self.out(self.hidden(ops.concatenate([left, right], axis=-1)))[..., 0]
            return ops.expand_dims(g - ops.transpose(g), -1)  # h = g(i, j) - g(j, i)

    class Embedder(keras.Model):
        """The comparator's graph embeddings e (its `GraphEncoder`, weights shared)."""

        def __init__(self, encoder):
            super().__init__(name="comparator_embedder")
            self.encoder = encoder

        def call(self, inputs):
            return self.encoder(inputs)[1]

    return keras, PairLogits, Embedder


_LOCK = threading.RLock()  # one comparator at a time uses a shared network


class _Shared:
    """One compiled network per configuration and process, lent to comparators in turn.

    Building and tracing the Keras model costs seconds (most of it the first
    `train_on_batch`); a search builds one comparator, but tests and benchmarks
    build many. Comparators of the same configuration therefore share one
    compiled model: the one using it holds its weights in the model, the others
    keep theirs in NumPy (`_parked`) and swap them in when they need the
    network. The traced computation is the same whoever holds it, so a
    comparator computes exactly what it would with a model of its own.
    """

    _slots: dict = {}

    def __init__(self, comparator):
        self.model, self.embedder = _build(comparator)
        self.fresh_optimizer = [np.array(v) for v in self.model.optimizer.variables]
        self.owner = None  # weak reference to the comparator whose weights the model holds

    @classmethod
    def _slot(cls, comparator):
        key = (comparator.units, comparator.num_layers, comparator.head_units,
               comparator.learning_rate, comparator.batch_archs,
               comparator.featurizer.num_features)
        slot = cls._slots.get(key)
        if slot is None:
            slot = cls._slots[key] = cls(comparator)
        return slot

    @classmethod
    def acquire(cls, comparator):
        """The slot of `comparator`'s configuration, holding `comparator`'s weights."""
        with _LOCK:
            slot = cls._slot(comparator)
            holder = slot.owner() if slot.owner is not None else None
            if holder is not comparator:
                if holder is not None:
                    holder._parked = cls._snapshot(slot)
                values = comparator._parked or (_initial_weights(slot.model, comparator.seed),
                                                slot.fresh_optimizer)
                slot.model.set_weights(values[0])
                for variable, value in zip(slot.model.optimizer.variables, values[1],
                                           strict=True):
                    variable.assign(value)
                comparator._parked = None
                slot.owner = weakref.ref(comparator)
            return slot

    @staticmethod
    def _snapshot(slot):
        return ([np.array(w) for w in slot.model.get_weights()],
                [np.array(v) for v in slot.model.optimizer.variables])

    @classmethod
    def values(cls, comparator):
        """`(weights, optimizer variables)` of `comparator`, wherever they are."""
        if comparator._parked is not None:
            return comparator._parked
        return cls._snapshot(cls.acquire(comparator))

    @classmethod
    def park(cls, comparator, values):
        """Makes `values` `comparator`'s weights (loaded when it next uses the network)."""
        slot = cls._slot(comparator)
        if slot.owner is not None and slot.owner() is comparator:
            slot.owner = None
        comparator._parked = values


def _initial_weights(model, seed):
    """Initial weights of `model` drawn from `seed` (not from Keras's global random state)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1417]))
    values = []
    for variable in model.weights:  # a fixed order: the layers' creation order
        shape = tuple(variable.shape)
        name = variable.path.rsplit("/", 1)[-1]
        if name == "kernel":  # Glorot-uniform, Keras's default, but from our seed
            limit = math.sqrt(6.0 / (shape[0] + shape[-1]))
            value = rng.uniform(-limit, limit, size=shape)
        elif name == "gamma":
            value = np.ones(shape)
        else:  # biases, layer-norm offsets
            value = np.zeros(shape)
        values.append(value.astype(np.float32))
    return values


def _build(comparator):
    """The compiled pair model and the embedder (weights set by `_Shared.acquire`)."""
    keras, PairLogits, Embedder = _classes()
    model = PairLogits(comparator.units, comparator.num_layers, comparator.head_units)
    m, f, n = comparator.batch_archs, comparator.featurizer.num_features, comparator.nodes
    model((np.zeros((m, n, f), np.float32), np.zeros((m, n, n), np.float32),
           np.zeros((m, n), np.float32)))
    model.compile(optimizer=keras.optimizers.Adam(comparator.learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    model.optimizer.build(model.trainable_variables)
    return model, Embedder(model.encoder)
