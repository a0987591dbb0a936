"""NAO: Neural Architecture Optimization (Luo, Tian, Qin, Chen & Liu, NeurIPS 2018).

An encoder E maps an architecture x to a continuous embedding z, a predictor
f maps z to the architecture's (normalised) accuracy, and a decoder D maps z
back to x. The three are trained jointly; new candidates come from moving the
embeddings of good architectures uphill on f and decoding where they land.
The paper's loop, as this oracle runs it::

    H <- N0 random architectures, each evaluated           # the seed pool
    repeat (one "round" per empty queue):
        s_i <- (y_i - min y) / (max y - min y)              # fitness scaled to [0, 1]
        train E, f, D on H from a fresh seeded init, minimising
            L = λ · (f(E(x)) - s)^2 + (1 - λ) · CE(D(E(x)), x)
        for η = 1, 2, ..., η_max:                           # grow the step until new ones decode
            for x in the top_k of H by fitness:
                z  = E(x)
                z' = (z + η ∂f/∂z) / ||z + η ∂f/∂z||         # one ascent step, back on the sphere
                x' = D(z')                                    # argmax of each decision's softmax
                keep x' if it was never evaluated nor kept
            stop once `new_per_round` are kept
        queue the kept architectures; evaluate them; add them to H

What the reference code (renqianluo/NAO_pytorch, NAO_V1/train_search.py and
its controller) fixes, and this oracle keeps: λ = 0.8 between the prediction
and the reconstruction loss; fitness min-max scaled to [0, 1] under a sigmoid
predictor; unit-norm embeddings; one gradient step from the original z per
step size, η = 1, 2, ... up to 50, until enough new architectures decode;
Adam at 1e-3 with gradients clipped to norm 5. Its sizes (600 seed
architectures, the top 100 moved, 300 new per round, 1,000 epochs) are for
a weight-sharing supernet that scores an architecture in a second; here each
query is a trial, so the sizes are scaled to budgets of 50 to 300 queries
(the `DEFAULT_*` constants below, tuned on NAS-Bench-201 seeds 1000-1029).

What differs from the paper, and why:

* The encoder is the project's one graph encoder (`kerasnas.graphs.GraphEncoder`
  over `graph_of(arch)`), not an LSTM over a token string, so every encoding
  of kerasnas works unchanged; the decoder is a small MLP from z to one
  softmax per decision of the encoding (the architecture *is* its decisions;
  decisions inactive for an architecture are masked out of the loss and take
  their defaults through `Encoding.architecture`).
* The reconstruction loss also sees `unlabeled` random architectures each
  round (SemiNAO, Luo et al., 2020, "Semi-Supervised Neural Architecture
  Search", which trains NAO's autoencoder on unevaluated architectures): with
  tens of evaluated architectures the decoder would otherwise only learn to
  repeat them, and every moved embedding would decode to a known one.
* When fewer than `new_per_round` new architectures decode up to η_max, the
  rest of the round is filled with mutations of the top architectures (the
  paper moves on with fewer), so training happens at most once per
  `new_per_round` trials.

Speed and exact resume. The Keras layers, the optimiser and the compiled
`tf.function`s are built once per oracle (per encoding, for a Keras Tuner
space that grows); their shapes are fixed up to the number of rows and the
node padding (graphs are padded to `max_nodes`, by default the largest graph
rounded up to a multiple of 8), so rounds reuse the same traces. Every round
re-initialises the weights and Adam's state from a seed derived from the
oracle's seed and the round number, then trains on the sorted history, so a
round's model is a pure function of (seed, round, evaluated architectures).
That is why the saved state needs no weights, only the queue, the round and
the size of the history the last round trained on: a search resumed with
`overwrite=False` retrains the next round exactly as the uninterrupted one
does. (Training from a fresh init each round also keeps an early round's
overconfident predictor from steering the later ones.) The models run on the
CPU, where TensorFlow's kernels are deterministic, and stay off any GPU the
trials use.

Example:

>>> from kerasnas.oracles import NAO
>>> oracle = NAO(objective="val_accuracy", max_trials=100, seed=1)
>>> # keras_tuner.Tuner(oracle=oracle, hypermodel=kerasnas_space, ...)
"""

from __future__ import annotations

import math

import numpy as np

from kerasnas.oracles.base import ArchitectureOracle

#: λ, the weight of the prediction loss against the reconstruction loss (1 - λ): the
#: reference code's `controller_trade_off` default.
DEFAULT_TRADE_OFF = 0.8
#: Random architectures evaluated before the first round (the paper's seed pool, 600 with a
#: supernet; 16 leaves most of a 100-query budget to the rounds). Tuned on NB201 seeds 1000+.
DEFAULT_NUM_INITIAL = 16
#: Best architectures whose embeddings are moved each round (the paper: 100 of 600).
DEFAULT_TOP_K = 8
#: New architectures queued per round (the paper: 300); also bounds training to one round
#: per this many trials.
DEFAULT_NEW_PER_ROUND = 8
#: Largest step size η tried: the reference code's `max_step_size` (50).
DEFAULT_MAX_STEP_SIZE = 50.0
#: Δη between the step sizes tried, η = Δη, 2Δη, ..., `max_step_size`. The reference code
#: uses 1; on NB201 a quarter of that decodes about 1.5x as many distinct new cells from the
#: same moved embeddings (steps of 1 jump past cells a shorter step lands on), at no extra
#: training (the 200 decodes per architecture are one batched call).
DEFAULT_STEP_INCREMENT = 0.25
#: Random unevaluated architectures in each round's reconstruction loss (SemiNAO).
DEFAULT_UNLABELED = 512
#: How fitness becomes the predictor's [0, 1] target (`scale_fitness`): "minmax" (the paper's)
#: or "rank".
TARGETS = ("minmax", "rank")
DEFAULT_TARGET = "minmax"
#: Gradient steps of the autoencoder's pretraining on random architectures (once per search).
DEFAULT_PRETRAIN_STEPS = 1000
#: Gradient steps per round (fixed, so a round costs the same at 20 or 300 architectures).
DEFAULT_TRAIN_STEPS = 100
#: Architectures per gradient step, labelled and unlabelled alike.
DEFAULT_BATCH_SIZE = 32
#: Width of the graph embedding z (the paper's encoder hidden size is 64 too).
DEFAULT_UNITS = 32
#: Message-passing rounds of the encoder (`GraphEncoder`'s own default).
DEFAULT_NUM_LAYERS = 3
#: Hidden units of the predictor and of the decoder MLPs.
DEFAULT_HIDDEN_UNITS = 128
#: Adam's step size (the reference code's `controller_lr`).
DEFAULT_LEARNING_RATE = 3e-3
#: Gradients are clipped to this global norm (the reference code's `controller_grad_bound`).
GRADIENT_CLIP_NORM = 5.0
#: Graph features kept per architecture string before the cache starts afresh (a few MB).
MAX_CACHED_GRAPHS = 20_000
#: Logit added to the choices a decision does not have (its softmax never picks them).
_MASKED_LOGIT = -1e9
#: Salt of the per-round seed, so NAO's weights never share a stream with the oracle's RNG.
_ROUND_SALT = 0x4E414F


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


class NAOModel:
    """NAO's encoder-predictor-decoder, usable on its own.

    The encoder is `GraphEncoder` over `GraphFeaturizer.for_encoding(encoding)`
    features of `graph_of(arch)`; z is its graph embedding scaled to unit norm.
    The predictor is an MLP with a sigmoid output (the paper's), trained on
    fitness min-max scaled to [0, 1]; the decoder an MLP with one softmax per
    decision of `encoding`. `fit` trains all three jointly on
    `λ · MSE + (1 - λ) · CE` from a seeded initialisation, so the same data
    and seed give the same model.

    Args:
        encoding: The `Encoding` whose architectures are encoded and decoded.
        units: Width of z (default `DEFAULT_UNITS`, 64).
        num_layers: Message-passing rounds (default `DEFAULT_NUM_LAYERS`, 3).
        hidden_units: Hidden width of the predictor and decoder MLPs (default
            `DEFAULT_HIDDEN_UNITS`, 128).
        trade_off: λ in [0, 1] (default `DEFAULT_TRADE_OFF`, 0.8).
        learning_rate: Adam's step size (default `DEFAULT_LEARNING_RATE`).
        batch_size: Architectures per step (default `DEFAULT_BATCH_SIZE`, 32).
        max_nodes: Pad every graph to this many nodes (default None: the
            largest graph of each call, rounded up to a multiple of
            `NODE_PADDING`). A larger graph raises `ValueError`.

    Example:

    >>> import numpy as np
    >>> from kerasnas.spaces.encodings import NB201Encoding
    >>> enc = NB201Encoding()
    >>> rng = np.random.default_rng(0)
    >>> archs = [enc.sample(rng) for _ in range(64)]
    >>> model = NAOModel(enc)
    >>> losses = model.fit(archs, [float(str(a).count("conv")) for a in archs], steps=50, seed=0)
    >>> z = model.encode(archs[:2])                   # (2, 64), unit norm
    >>> decoded = model.decode(z)                     # two NB201 architectures
    >>> moved = model.ascend(archs[:2], [1.0, 2.0])   # decoded after steps of size 1 and 2
    """

    def __init__(self, encoding, units=DEFAULT_UNITS, num_layers=DEFAULT_NUM_LAYERS,
                 hidden_units=DEFAULT_HIDDEN_UNITS, trade_off=DEFAULT_TRADE_OFF,
                 learning_rate=DEFAULT_LEARNING_RATE, batch_size=DEFAULT_BATCH_SIZE,
                 max_nodes=None, target=DEFAULT_TARGET):
        from kerasnas.spaces.architecture import Encoding

        if not isinstance(encoding, Encoding):
            raise TypeError(f"NAOModel needs an Encoding (e.g. NB201Encoding()), got "
                            f"{type(encoding).__name__}.")
        _check_model_args(units, num_layers, hidden_units, trade_off, learning_rate, batch_size,
                          max_nodes, target)
        self.target = target
        self.units, self.num_layers = int(units), int(num_layers)
        self.hidden_units, self.batch_size = int(hidden_units), int(batch_size)
        self.max_nodes = None if max_nodes is None else int(max_nodes)
        self.trade_off = float(trade_off)
        self.learning_rate = float(learning_rate)
        self.encoding = encoding
        self.counts = tuple(len(d.choices) for d in encoding.decisions)
        from kerasnas.graphs.view import GraphFeaturizer

        self.featurizer = GraphFeaturizer.for_encoding(encoding)
        self._graphs: dict[str, tuple] = {}  # str(arch) -> (features, adjacency, labels, active)
        #: The weights `pretrain` reached, where every `fit` starts (None: a fresh init).
        self.pretrained = None
        self._build()

    # ------------------------------------------------------------------ build
    @property
    def signature(self) -> tuple:
        """What the compiled model depends on: decision sizes and the operation vocabulary."""
        return self.counts, self.featurizer.vocabulary

    def _build(self):
        import keras
        import tensorflow as tf

        from kerasnas.graphs.encoder import GraphEncoder

        self._tf = tf
        d, c = len(self.counts), max(self.counts)
        f = self.featurizer.num_features
        mask = np.zeros((d, c), np.float32)
        for i, n in enumerate(self.counts):
            mask[i, n:] = _MASKED_LOGIT
        with tf.device("/CPU:0"):
            self._choice_mask = tf.constant(mask)
            self.encoder = GraphEncoder(self.units, self.num_layers, name="nao_encoder")
            self.encoder.build([(None, None, f), (None, None, None), (None, None)])
            self.predictor = [keras.layers.Dense(self.hidden_units, activation="relu",
                                                 name="nao_predictor_hidden"),
                              keras.layers.Dense(1, name="nao_predictor_out")]
            self.decoder = [keras.layers.Dense(self.hidden_units, activation="relu",
                                               name="nao_decoder_hidden"),
                            keras.layers.Dense(d * c, name="nao_decoder_out")]
            for hidden, out in (self.predictor, self.decoder):
                hidden.build((None, self.units))
                out.build((None, self.hidden_units))
            self.variables = (list(self.encoder.trainable_variables)
                              + [v for layer in self.predictor + self.decoder
                                 for v in layer.trainable_variables])
            self.optimizer = keras.optimizers.Adam(self.learning_rate,
                                                   global_clipnorm=GRADIENT_CLIP_NORM)
            self.optimizer.build(self.variables)
        self._decisions, self._choices = d, c
        spec = tf.TensorSpec
        graph = (spec((None, None, f), tf.float32), spec((None, None, None), tf.float32),
                 spec((None, None), tf.float32))
        labels = (spec((None, d), tf.int32), spec((None, d), tf.float32))
        self._train = tf.function(self._train_loop, input_signature=(
            *graph, spec((None,), tf.float32), *labels, spec((None, None), tf.int32),
            *graph, *labels, spec((None, None), tf.int32), spec((), tf.float32)))
        self._embed = tf.function(self._embedding, input_signature=graph)
        self._ascend = tf.function(self._ascent, input_signature=(
            *graph, spec((None,), tf.float32)))
        self._score = tf.function(self._predict, input_signature=(
            spec((None, self.units), tf.float32),))
        self._decode = tf.function(self._argmax, input_signature=(
            spec((None, self.units), tf.float32),))

    # ------------------------------------------------------- the three parts
    def _embedding(self, features, adjacency, mask):
        _, graphs = self.encoder((features, adjacency, mask))
        return self._tf.math.l2_normalize(graphs, axis=-1, epsilon=1e-12)

    def _predict(self, z):
        hidden, out = self.predictor
        return self._tf.sigmoid(out(hidden(z))[:, 0])

    def _logits(self, z):
        hidden, out = self.decoder
        logits = self._tf.reshape(out(hidden(z)), (-1, self._decisions, self._choices))
        return logits + self._choice_mask

    def _argmax(self, z):
        return self._tf.argmax(self._logits(z), axis=-1, output_type=self._tf.int32)

    def _reconstruction(self, z, labels, active):
        tf = self._tf
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=self._logits(z))
        return tf.reduce_sum(ce * active) / tf.maximum(tf.reduce_sum(active), 1.0)

    def _train_loop(self, features, adjacency, mask, target, labels, active, index,
                    u_features, u_adjacency, u_mask, u_labels, u_active, u_index, trade_off):
        tf = self._tf
        steps = tf.shape(index)[0]
        totals = tf.zeros((3,), tf.float32)
        for t in tf.range(steps):
            i, j = index[t], u_index[t]
            with tf.GradientTape() as tape:
                z = self._embedding(tf.gather(features, i), tf.gather(adjacency, i),
                                    tf.gather(mask, i))
                errors = tf.square(self._predict(z) - tf.gather(target, i))
                mse = tf.reduce_sum(errors) / tf.maximum(tf.cast(tf.size(errors), tf.float32), 1.0)
                z_u = self._embedding(tf.gather(u_features, j), tf.gather(u_adjacency, j),
                                      tf.gather(u_mask, j))
                ce = self._reconstruction(tf.concat([z, z_u], 0),
                                          tf.concat([tf.gather(labels, i),
                                                     tf.gather(u_labels, j)], 0),
                                          tf.concat([tf.gather(active, i),
                                                     tf.gather(u_active, j)], 0))
                loss = trade_off * mse + (1.0 - trade_off) * ce
            grads = tape.gradient(loss, self.variables)
            self.optimizer.apply(grads, self.variables)
            totals += tf.stack([loss, mse, ce])
        return totals / tf.cast(tf.maximum(steps, 1), tf.float32)

    def _ascent(self, features, adjacency, mask, step_sizes):
        tf = self._tf
        z = self._embedding(features, adjacency, mask)
        with tf.GradientTape() as tape:
            tape.watch(z)
            score = self._predict(z)
        grad = tape.gradient(score, z)  # ∂f/∂z, one row per architecture
        moved = tf.math.l2_normalize(z[None] + step_sizes[:, None, None] * grad[None], axis=-1,
                                     epsilon=1e-12)  # (E, K, units)
        flat = tf.reshape(moved, (-1, self.units))
        shape = (tf.shape(step_sizes)[0], tf.shape(z)[0])
        return (z, tf.reshape(flat, (*shape, self.units)), score,
                tf.reshape(self._predict(flat), shape),
                tf.reshape(self._argmax(flat), (*shape, self._decisions)))

    # ------------------------------------------------------------- features
    def _graph(self, arch):
        key = str(arch)
        cached = self._graphs.get(key)
        if cached is None:
            from kerasnas.graphs.view import graph_of

            if arch.encoding != self.encoding:
                raise ValueError(f"NAOModel was built for {self.encoding!r}; got an "
                                 f"architecture of {arch.encoding!r}. Parse it with this "
                                 "encoding's from_string first.")
            g = graph_of(arch)
            active = self.encoding.active(arch.as_dict())
            cached = (self.featurizer.node_features(g), g.adjacency(),
                      np.array([d.index(v) for d, v in zip(self.encoding.decisions, arch.values,
                                                          strict=True)], np.int32),
                      np.array([d.name in active for d in self.encoding.decisions], np.float32))
            self._graphs[key] = cached
        return cached

    def _arrays(self, archs, nodes=None):
        """Padded `(features, adjacency, mask, labels, active)` of `archs`."""
        graphs = [self._graph(a) for a in archs]
        largest = max((g[0].shape[0] for g in graphs), default=1)
        if nodes is None:
            nodes = self.max_nodes or largest
        if largest > nodes:
            raise ValueError(f"An architecture's graph has {largest} nodes, more than "
                             f"max_nodes={nodes}; raise max_nodes or leave it None.")
        b, f, d = len(graphs), self.featurizer.num_features, self._decisions
        features = np.zeros((b, nodes, f), np.float32)
        adjacency = np.zeros((b, nodes, nodes), np.float32)
        mask = np.zeros((b, nodes), np.float32)
        labels = np.zeros((b, d), np.int32)
        active = np.zeros((b, d), np.float32)
        for i, (x, a, lab, act) in enumerate(graphs):
            k = x.shape[0]
            features[i, :k], adjacency[i, :k, :k], mask[i, :k] = x, a, 1.0
            labels[i], active[i] = lab, act
        return features, adjacency, mask, labels, active

    def forget_graphs(self):
        """Drops the cached graph features (they are kept per architecture string)."""
        self._graphs.clear()

    # ----------------------------------------------------------------- API
    def reset(self, seed: int) -> None:
        """Re-initialises every weight (Glorot-uniform kernels, zero biases, unit layer-norm
        scales, as Keras's defaults) and Adam's state from `seed`."""
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), _ROUND_SALT]))
        for v in self.variables:
            shape = tuple(v.shape)
            name = v.path.rsplit("/", 1)[-1]
            if name == "gamma":
                value = np.ones(shape, np.float32)
            elif len(shape) < 2:
                value = np.zeros(shape, np.float32)
            else:
                limit = math.sqrt(6.0 / (shape[0] + shape[-1]))
                value = rng.uniform(-limit, limit, shape).astype(np.float32)
            v.assign(value)
        self._reset_optimizer()

    def _reset_optimizer(self):
        for v in self.optimizer.variables:
            if v.path.rsplit("/", 1)[-1] != "learning_rate":
                v.assign(np.zeros(tuple(v.shape), v.dtype))

    def pretrain(self, archs, steps=DEFAULT_PRETRAIN_STEPS, seed=0) -> dict:
        """Trains the autoencoder alone (λ = 0: reconstruction only) on unevaluated
        architectures, from a fresh init drawn from `seed`; every later `fit` starts from the
        weights it reaches instead of a fresh init.

        Args:
            archs: Architectures of the model's encoding (random ones, say).
            steps: Gradient steps (default `DEFAULT_PRETRAIN_STEPS`).
            seed: Seed of the initial weights and of the minibatch order.

        Returns:
            `{"loss", "mse", "ce"}`, each the mean over the steps.
        """
        archs = list(archs)
        if not archs:
            raise ValueError("pretrain needs at least one architecture.")
        self.reset(seed)
        losses = self._run([], np.zeros(0, np.float32), archs, _positive_int("steps", steps),
                           np.random.default_rng(np.random.SeedSequence([int(seed), 2])), 0.0)
        self.pretrained = [v.numpy() for v in self.variables]
        return losses

    def fit(self, archs, fitness, steps=DEFAULT_TRAIN_STEPS, seed=0, unlabeled=()) -> dict:
        """Trains encoder, predictor and decoder jointly on `λ · MSE + (1 - λ) · CE`.

        Training starts from the weights `pretrain` reached, or else from a fresh
        init drawn from `seed`, with Adam's state reset either way, so the model
        is a function of the data and the seeds alone.

        Args:
            archs: Evaluated `Architecture`s of the model's encoding (at least 2).
            fitness: Their fitness (higher is better), min-max scaled to [0, 1] here.
            steps: Gradient steps (default `DEFAULT_TRAIN_STEPS`).
            seed: Seed of the initial weights (without pretraining) and of the
                minibatch order.
            unlabeled: Architectures that only train the reconstruction (SemiNAO).

        Returns:
            `{"loss", "mse", "ce"}`, each the mean over the steps.
        """
        archs, unlabeled = list(archs), list(unlabeled)
        y = np.asarray(fitness, np.float64)
        if len(archs) < 2 or y.shape != (len(archs),) or not np.all(np.isfinite(y)):
            raise ValueError(f"fit needs at least 2 architectures with one finite fitness each; "
                             f"got {len(archs)} architectures and fitness of shape {y.shape}.")
        steps = _positive_int("steps", steps)
        target = scale_fitness(y, self.target).astype(np.float32)
        if self.pretrained is None:
            self.reset(seed)
        else:
            for v, value in zip(self.variables, self.pretrained, strict=True):
                v.assign(value)
            self._reset_optimizer()
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
        return self._run(archs, target, unlabeled, steps, rng, self.trade_off)

    def _run(self, archs, target, unlabeled, steps, rng, trade_off):
        """`steps` gradient steps on `archs` (with `target`) and `unlabeled` (CE only)."""
        nodes = self.max_nodes or max(self._graph(a)[0].shape[0] for a in archs + unlabeled)
        labelled = self._arrays(archs, nodes) if archs else self._empty(nodes)
        others = self._arrays(unlabeled, nodes) if unlabeled else self._empty(nodes)
        index, u_index = (_batches(rng, len(rows), steps, self.batch_size) if rows
                          else np.zeros((steps, 0), np.int32) for rows in (archs, unlabeled))
        with self._tf.device("/CPU:0"):
            loss, mse, ce = self._train(*labelled[:3], target, *labelled[3:], index, *others,
                                        u_index, np.float32(trade_off)).numpy()
        if len(self._graphs) > MAX_CACHED_GRAPHS:
            self._graphs.clear()
        return {"loss": float(loss), "mse": float(mse), "ce": float(ce)}

    def _empty(self, nodes):
        f, d = self.featurizer.num_features, self._decisions
        return (np.zeros((0, nodes, f), np.float32), np.zeros((0, nodes, nodes), np.float32),
                np.zeros((0, nodes), np.float32), np.zeros((0, d), np.int32),
                np.zeros((0, d), np.float32))

    def encode(self, archs) -> np.ndarray:
        """`(len(archs), units)` unit-norm embeddings z = E(x)."""
        with self._tf.device("/CPU:0"):
            return self._embed(*self._arrays(list(archs))[:3]).numpy()

    def predict(self, archs) -> np.ndarray:
        """f(E(x)): the predicted fitness of `archs`, on the [0, 1] scale of the last `fit`."""
        return self.predict_embeddings(self.encode(archs))

    def predict_embeddings(self, z) -> np.ndarray:
        """f(z) for embeddings `z` of shape `(B, units)`."""
        with self._tf.device("/CPU:0"):
            return self._score(np.asarray(z, np.float32).reshape(-1, self.units)).numpy()

    def decode(self, z) -> list:
        """D(z): the architecture each embedding decodes to (argmax of each decision)."""
        with self._tf.device("/CPU:0"):
            choices = self._decode(np.asarray(z, np.float32).reshape(-1, self.units)).numpy()
        return [self._architecture(row) for row in choices]

    def _architecture(self, row):
        decisions = self.encoding.decisions
        return self.encoding.architecture({d.name: d.choices[int(i)]
                                           for d, i in zip(decisions, row, strict=True)})

    def ascend(self, archs, step_sizes, details=False):
        """Moves each architecture's embedding one gradient step uphill on f, per step size.

        For each η in `step_sizes` and each x in `archs`:
        `z' = normalize(E(x) + η ∂f/∂z)`, decoded by D.

        Args:
            archs: Architectures to move.
            step_sizes: The step sizes η (positive).
            details: Also return the arrays (default False).

        Returns:
            `decoded[e][k]`: the architecture `archs[k]` moves to with `step_sizes[e]`. With
            `details=True`, `(decoded, {"z", "moved", "score", "moved_score"})`: z `(K,
            units)`, z' `(E, K, units)`, f(z) `(K,)` and f(z') `(E, K)`.
        """
        archs = list(archs)
        etas = np.asarray(step_sizes, np.float32).reshape(-1)
        if not archs or not len(etas) or not np.all(etas > 0) or not np.all(np.isfinite(etas)):
            raise ValueError(f"ascend needs architectures and positive step sizes; got "
                             f"{len(archs)} architectures and step sizes {step_sizes!r}.")
        with self._tf.device("/CPU:0"):
            z, moved, score, moved_score, choices = (
                t.numpy() for t in self._ascend(*self._arrays(archs)[:3], etas))
        decoded = [[self._architecture(row) for row in per_eta] for per_eta in choices]
        if details:
            return decoded, {"z": z, "moved": moved, "score": score, "moved_score": moved_score}
        return decoded


def scale_fitness(fitness, how=DEFAULT_TARGET) -> np.ndarray:
    """The predictor's targets in [0, 1]: `"minmax"` is the paper's `(y - min) / (max - min)`;
    `"rank"` the mid-rank of each value divided by n (ties share a rank), which spreads the
    crowded top of a benchmark (NB201: 10-94.4 %, most good cells within a point of each other,
    so min-max puts them all above 0.98, where the sigmoid is flat).

    Example:

    >>> scale_fitness([10.0, 93.0, 94.0], "minmax").round(3).tolist()
    [0.0, 0.988, 1.0]
    >>> scale_fitness([10.0, 93.0, 94.0], "rank").round(3).tolist()
    [0.167, 0.5, 0.833]
    """
    y = np.asarray(fitness, np.float64)
    if how == "minmax":
        spread = y.max() - y.min()
        return (y - y.min()) / spread if spread > 0 else np.full_like(y, 0.5)
    if how == "rank":
        from scipy.stats import rankdata

        return (rankdata(y) - 0.5) / len(y)
    raise ValueError(f"target must be one of {TARGETS}, got {how!r}.")


def _batches(rng, n, steps, batch_size) -> np.ndarray:
    """`(steps, batch_size)` row indices: shuffled passes over `n` rows, back to back."""
    passes = -(-steps * batch_size // n)
    order = np.concatenate([rng.permutation(n) for _ in range(passes)])
    return order[:steps * batch_size].reshape(steps, batch_size).astype(np.int32)


class NAO(ArchitectureOracle):
    """Neural Architecture Optimization as a Keras Tuner oracle (see the module docstring).

    The first `num_initial` proposals are random. Then each round trains a
    fresh `NAOModel` on every finished architecture, moves the embeddings of
    the `top_k` best uphill on the predictor with step sizes η = 1, 2, ...,
    `max_step_size`, and queues the first `new_per_round` decoded
    architectures never seen before (in order of η, then of fitness); a
    shortfall is filled with mutations of the top architectures. Proposals
    come from the queue; an empty queue starts the next round.

    Args:
        objective, max_trials, space, seed: See `ArchitectureOracle`.
        num_initial: Random architectures before the first round (default
            `DEFAULT_NUM_INITIAL`, 16; at least 2).
        top_k: Best architectures moved per round (default `DEFAULT_TOP_K`, 8).
        new_per_round: Architectures queued per round (default
            `DEFAULT_NEW_PER_ROUND`, 8).
        max_step_size: Largest η (default `DEFAULT_MAX_STEP_SIZE`, 50).
        trade_off: λ, the weight of the prediction loss (default
            `DEFAULT_TRADE_OFF`, 0.8, the paper's).
        unlabeled: Random unevaluated architectures in each round's
            reconstruction loss (default `DEFAULT_UNLABELED`, 256; 0: the
            paper's supervised autoencoder).
        train_steps: Gradient steps per round (default `DEFAULT_TRAIN_STEPS`).
        batch_size: Architectures per step (default `DEFAULT_BATCH_SIZE`).
        units, num_layers, hidden_units, learning_rate, max_nodes: The
            `NAOModel`'s (defaults `DEFAULT_UNITS`, `DEFAULT_NUM_LAYERS`,
            `DEFAULT_HIDDEN_UNITS`, `DEFAULT_LEARNING_RATE`, None).
        **kwargs: Passed to `ArchitectureOracle` (`warm_start`, ...).

    Example:

    >>> from kerasnas.spaces.encodings import NB201Encoding
    >>> oracle = NAO(objective="accuracy", space=NB201Encoding(), num_initial=4, seed=0)
    >>> for _ in range(4):
    ...     oracle._fitness[str(oracle.propose())] = 90.0  # as the tuner would record it
    >>> oracle.propose() is not None                       # the first round's first proposal
    True
    """

    def __init__(self, objective=None, max_trials=100, num_initial=DEFAULT_NUM_INITIAL,
                 top_k=DEFAULT_TOP_K, new_per_round=DEFAULT_NEW_PER_ROUND,
                 max_step_size=DEFAULT_MAX_STEP_SIZE, step_increment=DEFAULT_STEP_INCREMENT,
                 trade_off=DEFAULT_TRADE_OFF,
                 unlabeled=DEFAULT_UNLABELED, train_steps=DEFAULT_TRAIN_STEPS,
                 pretrain_steps=DEFAULT_PRETRAIN_STEPS, batch_size=DEFAULT_BATCH_SIZE, units=DEFAULT_UNITS,
                 num_layers=DEFAULT_NUM_LAYERS, hidden_units=DEFAULT_HIDDEN_UNITS,
                 learning_rate=DEFAULT_LEARNING_RATE, max_nodes=None, target=DEFAULT_TARGET,
                 **kwargs):
        num_initial = _positive_int("num_initial", num_initial)
        if num_initial < 2:
            raise ValueError(f"num_initial must be at least 2 (the predictor needs two "
                             f"fitness values to scale), got {num_initial}.")
        top_k = _positive_int("top_k", top_k)
        new_per_round = _positive_int("new_per_round", new_per_round)
        for name, value in (("max_step_size", max_step_size), ("step_increment", step_increment)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                    or not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value!r}.")
        if step_increment > max_step_size:
            raise ValueError(f"step_increment ({step_increment}) cannot exceed max_step_size "
                             f"({max_step_size}): no step size would be tried.")
        if isinstance(unlabeled, bool) or not isinstance(unlabeled, (int, np.integer)) \
                or unlabeled < 0:
            raise ValueError(f"unlabeled must be an int >= 0, got {unlabeled!r}.")
        train_steps = _positive_int("train_steps", train_steps)
        pretrain_steps = _positive_int("pretrain_steps", pretrain_steps)
        self._model_args = dict(units=units, num_layers=num_layers, hidden_units=hidden_units,
                                trade_off=trade_off, learning_rate=learning_rate,
                                batch_size=batch_size, max_nodes=max_nodes, target=target)
        _check_model_args(**self._model_args)  # before Keras Tuner or any training
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.num_initial = num_initial
        self.top_k = top_k
        self.new_per_round = new_per_round
        self.max_step_size = float(max_step_size)
        self.step_increment = float(step_increment)
        self.unlabeled = int(unlabeled)
        self.train_steps = train_steps
        self.pretrain_steps = pretrain_steps
        self._model = None
        self._pool: list = []  # the unlabelled architectures of the pretraining
        self._queue: list[str] = []  # architectures (strings) decoded but not proposed yet
        self.round = 0  # rounds trained so far
        self._trained_on = -1  # history size of the last round (no retraining on the same data)
        #: What the last round did: its number, history size, losses, the largest η it used
        #: and how many of its architectures were decoded and how many mutated.
        self.last_round: dict = {}

    # --------------------------------------------------------------- model
    @property
    def model(self) -> NAOModel:
        """The `NAOModel`, built once per encoding (again only if a Keras Tuner space grows)."""
        from kerasnas.graphs.view import GraphFeaturizer

        encoding = self.encoding
        signature = (tuple(len(d.choices) for d in encoding.decisions),
                     GraphFeaturizer.for_encoding(encoding).vocabulary)
        if self._model is None or self._model.encoding != encoding \
                or self._model.signature != signature:
            self._model = NAOModel(encoding, **self._model_args)
        return self._model

    # ----------------------------------------------------------- algorithm
    def _history(self):
        """`(keys, fitness)` of every finished architecture, sorted by key; failures at the
        worst fitness, so the predictor learns to avoid them."""
        fitness = dict(self._fitness)
        worst = self.failure_fitness()
        if worst is not None:
            for key in self._failed:
                fitness.setdefault(key, worst)
        keys = sorted(fitness)
        return keys, [fitness[k] for k in keys]

    def propose(self):
        if len(self._fitness) < self.num_initial:
            return self.encoding.sample(self.rng)
        while self._queue:
            arch = self.encoding.from_string(self._queue.pop(0))
            if not self.is_known(arch):
                return arch
        keys, _ = self._history()
        if len(keys) == self._trained_on:
            # Nothing new since the last round: the same data would train the same model and
            # decode the same architectures, all known now. A mutation of a top one instead.
            return self._mutations(keys, 1)[0] if keys else self.encoding.sample(self.rng)
        self._new_round()
        return self.encoding.from_string(self._queue.pop(0)) if self._queue else \
            self.encoding.sample(self.rng)

    def _new_round(self):
        keys, fitness = self._history()
        parse = self.encoding.from_string
        archs = [parse(k) for k in keys]
        self.round += 1
        self._trained_on = len(keys)
        model = self.model
        if model.pretrained is None:
            # Round 0: the autoencoder learns the space from random architectures; a function
            # of the seed alone, so a resumed search recomputes the same weights.
            rng = np.random.default_rng(self._round_seed(0))
            self._pool = [self.encoding.sample(rng) for _ in range(self.unlabeled)]
            if self._pool:
                model.pretrain(self._pool, self.pretrain_steps, seed=self._round_seed(0))
        losses = model.fit(archs, fitness, steps=self.train_steps, seed=self._round_seed(self.round),
                           unlabeled=self._pool)
        order = sorted(range(len(keys)), key=lambda i: (-fitness[i], keys[i]))[:self.top_k]
        top = [archs[i] for i in order]
        etas = self.step_sizes()
        decoded = model.ascend(top, etas)
        new, largest = [], 0.0
        seen = set()
        for eta, row in zip(etas.tolist(), decoded, strict=True):
            for arch in row:
                key = str(arch)
                if key not in seen and not self.is_known(arch):
                    seen.add(key)
                    new.append(key)
                    largest = eta
                    if len(new) == self.new_per_round:
                        break
            if len(new) == self.new_per_round:
                break
        decoded_count = len(new)
        if len(new) < self.new_per_round:
            for arch in self._mutations([keys[i] for i in order],
                                        self.new_per_round - len(new), exclude=seen):
                new.append(str(arch))
        self._queue = new
        self.last_round = {"round": self.round, "history": len(keys), **losses,
                           "step_size": largest, "decoded": decoded_count,
                           "mutated": len(new) - decoded_count}

    def step_sizes(self) -> np.ndarray:
        """η = Δη, 2Δη, ..., up to `max_step_size`: the step sizes tried, in order."""
        count = int(math.floor(self.max_step_size / self.step_increment + 1e-9))
        return (self.step_increment * np.arange(1, count + 1)).astype(np.float32)

    def _round_seed(self, number) -> int:
        return int(np.random.SeedSequence([int(self.seed), number, _ROUND_SALT])
                   .generate_state(1)[0])

    def _mutations(self, keys, count, exclude=()):
        """Up to `count` unseen mutations of the best of `keys`, round-robin from the best."""
        fitness = dict(zip(*self._history(), strict=True))
        parents = sorted(keys, key=lambda k: (-fitness.get(k, -math.inf), k))[:self.top_k]
        found, seen = [], set(exclude)
        for attempt in range(count * 20):
            child = self.encoding.mutate(self.encoding.from_string(
                parents[attempt % len(parents)]), self.rng)
            if str(child) not in seen and not self.is_known(child):
                seen.add(str(child))
                found.append(child)
                if len(found) == count:
                    break
        while len(found) < count:
            child = self._random_unseen()
            if child is None:
                break
            found.append(child)
        return found

    # --------------------------------------------------------------- state
    def get_algorithm_state(self):
        return {"queue": list(self._queue), "round": self.round,
                "trained_on": self._trained_on, "last_round": dict(self.last_round)}

    def set_algorithm_state(self, state):
        self._queue = [str(k) for k in state["queue"]]
        self.round = int(state["round"])
        self._trained_on = int(state["trained_on"])
        self.last_round = dict(state.get("last_round", {}))


def _check_model_args(units, num_layers, hidden_units, trade_off, learning_rate, batch_size,
                      max_nodes, target):
    """The `NAOModel` arguments' checks, without building anything."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}.")
    for name, value in (("units", units), ("num_layers", num_layers),
                        ("hidden_units", hidden_units), ("batch_size", batch_size)):
        _positive_int(name, value)
    if max_nodes is not None:
        _positive_int("max_nodes", max_nodes)
    if isinstance(trade_off, bool) or not isinstance(trade_off, (int, float)) \
            or not 0.0 <= trade_off <= 1.0:
        raise ValueError(f"trade_off (λ) must be in [0, 1], got {trade_off!r}; the paper uses "
                         f"{DEFAULT_TRADE_OFF}.")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) \
            or not (learning_rate > 0 and math.isfinite(learning_rate)):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}.")
