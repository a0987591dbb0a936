"""`DartsModel`: the bilevel DARTS search as a Keras `train_step` (Liu et al. 2019, Algorithm 1).

Each step reads a training batch and a validation batch and does

1. the α step on the validation batch: α ← α − η_α ∇α L_val(w − ξ ∇w L_train(w, α), α),
   with ξ = 0 for the first-order approximation, and ξ = the current w learning
   rate for the second order;
2. the w step on the training batch: w ← w − η_w ∇w L_train(w, α).

Second order (eq. 7-8): with w' = w − ξ ∇w L_train(w, α),

    ∇α L_val(w', α) − ξ · [∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)] / 2ε,
    w± = w ± ε ∇w' L_val(w', α),   ε = 0.01 / ‖∇w' L_val(w', α)‖,

the Hessian-vector product by central finite differences. The weights are
restored afterwards, and the BatchNorm moving statistics are put back after
the whole α step, so only the w step's training batch moves them.

The optimizers are the paper's: w by SGD (momentum 0.9, cosine-decayed learning
rate, weight decay 3e-4, gradient norm clipped at 5), α by Adam (3e-4,
β = (0.5, 0.999), weight decay 1e-3). Keras applies weight decay decoupled
(AdamW / SGDW style), PyTorch's DARTS as an L2 term; at these rates the two
differ little. BatchNorm is non-affine during search: its γ, β are in neither
optimizer's list and stay at 1 and 0.

PC-DARTS's edge normalisation (Xu et al., ICLR 2020, eq. 4), with
`edge_normalisation=True`: node `j` sums its incoming mixed edges weighted by
`softmax(β_j)`, one more architecture variable per edge, trained with α by the
same optimizer; the mixing weight of op `o` on edge `(i, j)` becomes
`softmax(β_j)_i · softmax(α_(i,j))_o`, and the derived cell keeps the edges
strongest under that product (`kerasnas.darts.derive`).

Example:

>>> from kerasnas.spaces import NB201Space
>>> from kerasnas.darts.supernet import build_supernet
>>> model = DartsModel(build_supernet(NB201Space((8, 8, 1), 10, channels=4, cells_per_stage=1)))
>>> model.compile_search(steps=100)
>>> model.fit(train_val_dataset, epochs=2)          # doctest: +SKIP
>>> model.derive()                                  # doctest: +SKIP
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasnas.darts.derive import derive
from kerasnas.darts.supernet import Supernet

#: Paper defaults (Liu et al. 2019, section 3.1.2).
W_LEARNING_RATE = 0.025       # η_w at the start of the cosine schedule
W_MIN_LEARNING_RATE = 0.001   # η_w at its end
W_MOMENTUM = 0.9
W_WEIGHT_DECAY = 3e-4
W_CLIPNORM = 5.0
ALPHA_LEARNING_RATE = 3e-4
ALPHA_BETAS = (0.5, 0.999)
ALPHA_WEIGHT_DECAY = 1e-3
ALPHA_INIT_STDDEV = 1e-3      # α ~ 1e-3 · N(0, 1)
HVP_EPSILON = 0.01            # ε = 0.01 / ‖∇w' L_val‖


class DartsModel(keras.Model):
    """The supernet with its architecture weights α and the bilevel `train_step`.

    `fit` takes a dataset of `((x_train, y_train), (x_val, y_val))` pairs
    (`kerasnas.darts.search.paired_dataset` makes one). Call `compile_search`
    (or `compile` with your own w optimizer) before `fit`.

    Args:
        supernet: A `Supernet` from `build_supernet`.
        order: 1 (first-order, ξ = 0) or 2 (second-order unrolled step). Default 1:
            the paper's second order costs about 2.5x per step for a small gain.
        alpha_optimizer: The α optimizer (default None: the paper's Adam).
        seed: Seed of α's initialisation (default None: random).
        edge_normalisation: PC-DARTS's β per edge (default False: DARTS).
    """

    def __init__(self, supernet: Supernet, order: int = 1, alpha_optimizer=None, seed=None,
                 edge_normalisation=False, **kwargs):
        super().__init__(**kwargs)
        if order not in (1, 2) or isinstance(order, bool):
            raise ValueError(f"order must be 1 (first-order DARTS) or 2 (second-order), got {order!r}.")
        self.supernet = supernet
        self.network = supernet.network
        self.order = int(order)
        init = keras.initializers.RandomNormal(stddev=ALPHA_INIT_STDDEV, seed=seed)
        self.alphas = [self.add_weight(shape=(n, len(supernet.ops)), initializer=init,
                                       name=f"alpha_{name}", trainable=True)
                       for name, n in supernet.edges.items()]
        self.edge_normalisation = bool(edge_normalisation)
        #: PC-DARTS's β, one per edge of each cell type (empty without edge normalisation).
        self.betas = [self.add_weight(shape=(n,), initializer=init, name=f"beta_{name}",
                                      trainable=True)
                      for name, n in supernet.edges.items()] if self.edge_normalisation else []
        #: Everything the architecture step trains: α, then β.
        self.arch_variables = self.alphas + self.betas
        self.alpha_optimizer = alpha_optimizer or keras.optimizers.Adam(
            ALPHA_LEARNING_RATE, beta_1=ALPHA_BETAS[0], beta_2=ALPHA_BETAS[1],
            weight_decay=ALPHA_WEIGHT_DECAY)
        affine = set()
        moving = []
        for layer in self.network.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                affine.update(id(v) for v in (layer.gamma, layer.beta) if v is not None)
                moving += [layer.moving_mean, layer.moving_variance]
        #: w: the network's trainable weights except BatchNorm's γ, β (non-affine search BN).
        self.w = [v for v in self.network.trainable_variables if id(v) not in affine]
        self.bn_moving = moving
        space = supernet.space
        if space.num_classes is None:
            self.loss_fn = keras.losses.MeanSquaredError()
            self.metric = keras.metrics.MeanAbsoluteError(name="mae")
        else:
            self.loss_fn = keras.losses.SparseCategoricalCrossentropy()
            self.metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        #: True while α is frozen (the warm-up: only w trains). Read when the step is
        #: traced, so change it with `freeze_alpha`, which retraces.
        self.alpha_frozen = False
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.val_loss_tracker = keras.metrics.Mean(name="alpha_val_loss")

    # ------------------------------------------------------------ setup
    def compile_search(self, steps: int, learning_rate=W_LEARNING_RATE,
                       min_learning_rate=W_MIN_LEARNING_RATE, **kwargs):
        """Compiles with the paper's w optimizer, its cosine schedule spanning `steps` steps.

        Args:
            steps: Total w steps of the search (epochs × steps per epoch).
            learning_rate: η_w at the start (default 0.025, the paper's).
            min_learning_rate: η_w at the end (default 0.001, the paper's).
            **kwargs: Passed to `compile` (e.g. `jit_compile`).
        """
        schedule = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=max(int(steps), 1), alpha=min_learning_rate / learning_rate)
        optimizer = keras.optimizers.SGD(schedule, momentum=W_MOMENTUM, weight_decay=W_WEIGHT_DECAY,
                                         global_clipnorm=W_CLIPNORM)
        self.compile(optimizer=optimizer, **kwargs)

    def compile(self, optimizer="sgd", **kwargs):
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.w)
        self.alpha_optimizer.build(self.arch_variables)

    def freeze_alpha(self, frozen: bool = True) -> None:
        """Freezes (or unfreezes) α: while frozen a step is the w step only, no α step.

        The warm-up of `kerasnas.darts.search(warmup_epochs=...)` uses it: α learned
        against still-untrained convolutions favours parameter-free ops. The step
        function is rebuilt (retraced) when the setting changes, also inside `fit`.

        Example:

        >>> model.freeze_alpha(True)      # doctest: +SKIP
        >>> model.fit(data, epochs=2)     # w only  # doctest: +SKIP
        >>> model.freeze_alpha(False)     # doctest: +SKIP
        """
        frozen = bool(frozen)
        if frozen != self.alpha_frozen:
            self.alpha_frozen = frozen
            if getattr(self, "train_function", None) is not None:
                self.make_train_function(force=True)

    @property
    def metrics(self):
        return [self.loss_tracker, self.val_loss_tracker, self.metric]

    # --------------------------------------------------------- forward
    def mixing_weights(self, batch_size):
        """softmax(α) per cell type (times each edge's normalised β with edge
        normalisation), tiled to `(batch, E, K)`."""
        weights = [tf.nn.softmax(a) for a in self.alphas]
        if self.edge_normalisation:
            weights = [w * self.edge_weights(name, beta)[:, None] for w, name, beta
                       in zip(weights, self.supernet.edges, self.betas, strict=True)]
        return [tf.tile(w[None], [batch_size, 1, 1]) for w in weights]

    def edge_weights(self, cell, beta):
        """`softmax(β_j)` over each node's incoming edges, as one weight per edge `(E,)`."""
        parts = [None] * self.supernet.edges[cell]
        for rows in self.supernet.nodes[cell]:
            normalised = tf.nn.softmax(tf.gather(beta, list(rows)))
            for k, row in enumerate(rows):
                parts[row] = normalised[k]
        return tf.stack(parts)

    def call(self, x, training=False):
        return self.network([x, *self.mixing_weights(tf.shape(x)[0])], training=training)

    def loss_on(self, x, y):
        """L(w, α) on one batch, BatchNorm in training mode (batch statistics), as in search."""
        return self.loss_fn(y, self(x, training=True))

    # ------------------------------------------------------------ steps
    def train_step(self, data):
        (x_train, y_train), (x_val, y_val) = data
        if not self.alpha_frozen:       # a Python switch: the step is retraced when it flips
            self.alpha_step(x_train, y_train, x_val, y_val)
        # w step on the training batch, with the new α.
        with tf.GradientTape() as tape:
            pred = self(x_train, training=True)
            loss = self.loss_fn(y_train, pred)
        self.optimizer.apply(self._gradients(tape, loss, self.w), self.w)
        self.loss_tracker.update_state(loss)
        self.metric.update_state(y_train, pred)
        return {m.name: m.result() for m in self.metrics}

    def alpha_step(self, x_train, y_train, x_val, y_val):
        """The α step on the validation batch (first or second order); BatchNorm statistics kept."""
        saved_moving = [tf.identity(v.value) for v in self.bn_moving]
        if self.order == 1:
            val_loss, alpha_grads = self.first_order_alpha_gradient(x_val, y_val)
        else:
            val_loss, alpha_grads = self.second_order_alpha_gradient(x_train, y_train, x_val, y_val)
        self.alpha_optimizer.apply(alpha_grads, self.arch_variables)
        for v, saved in zip(self.bn_moving, saved_moving, strict=True):
            v.assign(saved)
        self.val_loss_tracker.update_state(val_loss)

    def test_step(self, data):
        x, y = data[:2]
        pred = self(x, training=False)
        self.loss_tracker.update_state(self.loss_fn(y, pred))
        self.metric.update_state(y, pred)
        return {m.name: m.result() for m in (self.loss_tracker, self.metric)}

    def first_order_alpha_gradient(self, x_val, y_val):
        """`(L_val, ∇α L_val(w, α))`: the first-order approximation (ξ = 0)."""
        with tf.GradientTape() as tape:
            loss = self.loss_on(x_val, y_val)
        return loss, self._gradients(tape, loss, self.arch_variables)

    def second_order_alpha_gradient(self, x_train, y_train, x_val, y_val, xi=None):
        """`(L_val(w'), ∇α L_val(w', α) − ξ · HVP)` for the unrolled w' = w − ξ ∇w L_train(w, α).

        Args:
            xi: The virtual step ξ (default None: the w optimizer's current learning rate).
        """
        xi = tf.cast(self.optimizer.learning_rate if xi is None else xi, tf.float32)
        w0 = [tf.identity(v.value) for v in self.w]
        with tf.GradientTape() as tape:
            train_loss = self.loss_on(x_train, y_train)
        for v, g in zip(self.w, self._gradients(tape, train_loss, self.w), strict=True):
            v.assign_sub(xi * g)                                        # w'
        with tf.GradientTape() as tape:
            val_loss = self.loss_on(x_val, y_val)
        grads = self._gradients(tape, val_loss, self.arch_variables + self.w)
        d_alpha, d_w = grads[:len(self.arch_variables)], grads[len(self.arch_variables):]
        hvp = self.finite_difference_hvp(x_train, y_train, d_w, w0)  # leaves w restored to w0
        return val_loss, [da - xi * h for da, h in zip(d_alpha, hvp, strict=True)]

    def finite_difference_hvp(self, x_train, y_train, vector, w0=None):
        """∇²_{α,w} L_train(w, α) · v ≈ [∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)] / 2ε.

        `w± = w0 ± ε v` with ε = 0.01 / ‖v‖; the weights hold `w0` on return.

        Args:
            vector: `v`, one tensor per w variable.
            w0: The point (default None: the weights' current values).

        Returns:
            One tensor per architecture variable (α, then β).
        """
        w0 = [tf.identity(v.value) for v in self.w] if w0 is None else w0
        eps = HVP_EPSILON / (tf.linalg.global_norm(vector) + 1e-12)
        grads = []
        for sign in (1.0, -1.0):
            for v, w, d in zip(self.w, w0, vector, strict=True):
                v.assign(w + sign * eps * d)
            with tf.GradientTape() as tape:
                loss = self.loss_on(x_train, y_train)
            grads.append(self._gradients(tape, loss, self.arch_variables))
        for v, w in zip(self.w, w0, strict=True):
            v.assign(w)
        return [(gp - gm) / (2.0 * eps) for gp, gm in zip(*grads, strict=True)]

    @staticmethod
    def _gradients(tape, loss, variables):
        return tape.gradient(loss, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    # ------------------------------------------------------------ results
    def alpha_values(self) -> dict[str, np.ndarray]:
        """Cell type -> α as a numpy array `(E, K)` (raw, before softmax)."""
        names = self.supernet.edges
        return {name: np.array(a.numpy()) for name, a in zip(names, self.alphas, strict=True)}

    def edge_values(self) -> dict[str, np.ndarray] | None:
        """Cell type -> the normalised edge weights `softmax(β_j)_i` `(E,)`, or None
        without edge normalisation."""
        if not self.edge_normalisation:
            return None
        return {name: self.edge_weights(name, beta).numpy()
                for name, beta in zip(self.supernet.edges, self.betas, strict=True)}

    def derive(self):
        """The discrete `Architecture` α (and β) prefer (see `kerasnas.darts.derive`)."""
        return derive(self.supernet.space.encoding, self.alpha_values(), self.supernet.ops,
                      edge_weights=self.edge_values())
