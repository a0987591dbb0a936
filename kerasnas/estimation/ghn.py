"""GHN: a graph hypernetwork predicts every parameter of an architecture it never saw.

Knyazev et al., "Parameter Prediction for Unseen Deep Architectures" (NeurIPS
2021; GHN-2, after Zhang et al.'s GHN, ICLR 2019). An architecture is a
computational graph; a graph neural network embeds each of its nodes, and a
decoder turns each node's embedding into that node's parameter tensors. The
hypernetwork H_θ is trained on the task itself: for a meta-batch of sampled
architectures a_1..a_M and a minibatch (x, y),

    w_m = H_θ(a_m)                         # all parameters of a_m, one forward pass
    L(θ) = 1/M Σ_m CE(f(x; a_m, w_m), y)   # the task loss of each predicted network
    θ <- Adam(θ, ∂L/∂θ)                    # back-propagated through w_m into H_θ

so once trained it gives any architecture of the space (or any model of the same
input and classes) parameters without a single training step: their accuracy
ranks architectures like a zero-cost proxy, and they are a starting point for
training.

The method as implemented here, after the reference code (facebookresearch/ppuda):

* Graph: `kerasnas.graphs.graph_of_model(model)`, one node per Keras layer (its
  type, fused activation, width / kernel / stride attributes). Each trainable
  variable belongs to its layer's node: the graph's non-input nodes follow
  `model.layers` without the `InputLayer`s, which `_plan` verifies layer by layer.
  GHN-2's shape encoder is four more node features: the log-sizes of the node's
  largest parameter tensor `(k_h, k_w, c_in, c_out)`.
* Encoder: the project's one GNN, `kerasnas.graphs.GraphEncoder`, message passing
  along and against the data flow. GHN-2 runs a gated GNN (a GRU cell, nodes updated
  one at a time in topological order, forward then backward) with virtual edges,
  messages from nodes up to s_max = 50 hops away weighted 1/s. Here every round
  updates all nodes at once, so a node's view is limited by the number of rounds;
  virtual edges extend it the same way: the adjacency holds 1/s for every pair at
  s <= `virtual_edges` hops (default `VIRTUAL_EDGES`), and the encoder's mean over a
  node's neighbours becomes GHN-2's 1/s-weighted sum, normalised.
* Decoder (GHN-2's `ConvDecoder`): per tensor, the node's embedding with the
  tensor's role (kernel, depthwise / pointwise kernel, bias, gamma, beta) and its own
  log-shape goes through a dense layer to a `(K, K, hid)` map, then per position two
  dense layers to `c_in x c_out`: a fixed `(K, K, C, C')` tensor (K = `max_kernel`,
  C = `max_channels`, C' = max(C, classes)). Every kernel is its leading slice
  (`[:k_h, :k_w, :c_in, :c_out]`; 1D and dense kernels are `(k, 1, c_in, c_out)` and
  `(1, 1, c_in, c_out)`), tiled along any axis that is larger than the prediction, as
  the reference tiles beyond its 64 channels. Vectors (biases, gamma, beta) come
  from a second, small decoder of C' values, sliced or tiled the same way.
* Normalisation (GHN-2's fan-in scheme, so the predicted network's activations keep
  their scale at any width): kernels w <- w * sqrt(β / fan_in), β = 2 where a ReLU
  may follow and β = 1 for depthwise kernels and the classifier; BatchNorm gamma
  2σ(w / 2) ∈ (0, 2); biases and beta tanh(w / 5) ∈ (-1, 1).
* BatchNorm: gamma and beta are predicted (as in GHN-2). During training the
  predicted networks run in training mode (batch statistics), as in the paper. The
  moving statistics are not parameters the hypernetwork can predict (they describe
  the data through the predicted weights), so a predicted model is recalibrated:
  its moving mean and variance are set to the batch statistics of
  `CALIBRATION_EXAMPLES` training examples through it (one pass in training mode,
  inverted through each layer's momentum), and it is then scored in inference mode.
  GHN-2 instead evaluates with BatchNorm in training mode on each test batch; the
  recalibration gives the same statistics without making a score depend on how the
  validation data is batched, and `load_into` leaves a model Keras can evaluate.
* Meta-batching: `meta_batch` architectures share each minibatch (GHN-2: 8 on
  CIFAR-10; 4 here, for 2 CPU cores). Architectures are sampled from the space
  (`encoding.sample`); each is built once and cached, and once the cache holds
  `pool_size` of them, further steps draw from the cache, because building a Keras
  model costs more than a training step (GHN-2 samples from DeepNets-1M's million).

What differs from the paper, besides the above: a small hypernetwork (64-unit
embeddings, a `(5, 5, 32, 32)` decoder maximum: the digits spaces' widths) trained
for minutes on one small data set instead of days on CIFAR-10 / ImageNet over
DeepNets-1M. Predicted parameters are therefore a ranking signal and a start, not
a replacement for training.

Use:

* `GraphHyperNetwork(space).fit(x, y)`; `predict_parameters(model)` (values of
  `model.trainable_variables`), `load_into(model)` (sets them and the recalibrated
  BatchNorm statistics), `score(archs or models, x_val, y_val)` (accuracy with
  predicted parameters, no training);
* `ghn_scorer(ghn, x_val, y_val)`: a `score(arch)` for
  `kerasnas.estimation.Prescreen`, so any oracle discards the proposals the GHN ranks
  lowest, as with the zero-cost proxies;
* `GHNScores(ghn, x_val, y_val, initialise=False)`: the tuner feature that records
  each trial's `ghn_accuracy` and, with `initialise=True`, starts the trial from the
  predicted parameters.

Example:

>>> from kerasnas.spaces import MacroSpace
>>> space = MacroSpace((8, 8, 1), num_classes=10, max_layers=4, widths=(8, 16, 32))
>>> ghn = GraphHyperNetwork(space, seed=0).fit(x_train, y_train)        # doctest: +SKIP
>>> ghn.score([space.sample(s) for s in range(3)], x_val, y_val)        # doctest: +SKIP
[0.61, 0.48, 0.70]
>>> oracle.prescreen = Prescreen(ghn_scorer(ghn, x_val, y_val), name="ghn")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasnas.graphs import GraphEncoder, GraphFeaturizer, graph_of_model
from kerasnas.graphs.view import STRUCTURAL_OPS
from kerasnas.spaces.architecture import Architecture
from kerasnas.tuner.features import TunerFeature

#: Node embedding width (default 64: twice GHN-2's 32, which serves 1M architectures on a
#: GPU; the embedding is a small part of the cost here, the predicted networks the rest).
DEFAULT_UNITS = 64
#: Message-passing rounds of the `GraphEncoder` (default 4: with virtual edges of up to
#: `VIRTUAL_EDGES` hops, 4 rounds reach 4 x 4 = 16 layers each way, about a digits
#: MacroSpace model's depth; GHN-2's sequential traversal reaches every node).
DEFAULT_GNN_LAYERS = 4
#: Virtual edges: nodes up to this many hops apart exchange messages weighted 1/hops
#: (default 4; GHN-2 uses up to 50 on DeepNets-1M's deeper graphs; 1 turns them off).
VIRTUAL_EDGES = 4
#: Largest kernel size the decoder predicts (default 5: the spaces' kernels are 1, 3, 5;
#: larger kernels are tiled).
MAX_KERNEL = 5
#: Largest channel count the decoder predicts per tensor (default 32: the digits spaces'
#: largest width; wider tensors, e.g. after a concatenation, are tiled as in GHN-2).
MAX_CHANNELS = 32
#: Hidden sizes of the convolution decoder: the per-position map, then its 1x1 layer
#: (default (32, 64); GHN-2's are (4 hid, 8 hid) = (128, 256), for 64 x 64 channels).
DECODER_HIDDEN = (32, 64)
#: Architectures per training step, sharing one minibatch (default 4; GHN-2: 8).
META_BATCH = 4
#: Training examples per step (default 64, GHN-2's CIFAR-10 batch size).
BATCH_SIZE = 64
#: Adam step size (default 1e-3, GHN-2's).
LEARNING_RATE = 1e-3
#: Decoupled weight decay of Adam (default 1e-5, GHN-2's).
WEIGHT_DECAY = 1e-5
#: Gradient norm clipping (default 5, GHN-2's).
GRAD_CLIP = 5.0
#: Training steps of `fit` (default 300: about 5 minutes on a heavily loaded 2-core CPU for
#: the digits MacroSpace, pool included; the loss still falls, see benchmarks/ghn.py).
DEFAULT_STEPS = 300
#: Distinct architectures built for training (default 400: on 8 held-out digits architectures
#: after 300 steps, a pool of 40 / 100 / 400 / 1,200 (a new one every draw) gave mean
#: predicted-parameter accuracy 0.39 / 0.57 / 0.62 / 0.63 in 147 / 224 / 320 / 456 s: diversity
#: matters, and building a model (0.15-0.3 s) is what a larger pool costs).
POOL_SIZE = 400
#: Training steps an architecture runs eagerly before its step is compiled (default 8: tracing
#: a digits model's step costs 6-11 eager steps on a loaded 2-core CPU, so only architectures
#: drawn more often than that gain; most of a large pool is drawn fewer times).
COMPILE_AFTER = 8
#: Training examples whose statistics recalibrate a predicted model's BatchNorm (default
#: 256, as for the supernets' one-shot scores).
CALIBRATION_EXAMPLES = 256
#: Examples per forward pass when scoring (default 512).
EVAL_BATCH = 512
#: Log-shape features per node and per tensor: `(k_h, k_w, c_in, c_out)`.
SHAPE_FEATURES = 4
#: Roles of a parameter tensor the decoder is told (a Keras variable's name); anything
#: else is "other".
ROLES = ("kernel", "depthwise_kernel", "pointwise_kernel", "bias", "gamma", "beta",
         "embeddings", "other")
#: Layer labels `graph_of_model` gives the layers kerasnas spaces use, so the node
#: vocabulary is fixed before training (any other layer is "other").
LAYER_OPS = (
    "activation:relu", "activation:gelu", "activation:tanh", "add", "averagepooling1d",
    "averagepooling2d", "batchnormalization", "concatenate", "conv1d", "conv2d",
    "cropping1d", "cropping2d", "dense", "dense:relu", "dense:softmax", "dropout",
    "globalaveragepooling1d", "globalaveragepooling2d", "layernormalization",
    "maxpooling1d", "maxpooling2d", "normalization", "resizing", "separableconv1d",
    "separableconv2d", "subsample", "zero", "zeropadding1d", "zeropadding2d")


@dataclasses.dataclass
class _Tensor:
    """How one trainable variable is predicted."""

    node: int
    role: int
    shape: tuple
    gain: float  # β of the fan-in normalisation
    features: np.ndarray  # log-shape, SHAPE_FEATURES values


@dataclasses.dataclass
class _Plan:
    """A built model as the hypernetwork reads it."""

    model: object
    features: np.ndarray  # (N, F) node features
    adjacency: np.ndarray  # (N, N), virtual edges included
    tensors: list  # one _Tensor per model.trainable_variables
    statistics: list  # (index of moving mean, of moving variance, momentum) per BatchNorm
    step: object = None  # the compiled training step of this network (`_network_step`)
    uses: int = 0  # training steps it took part in


def _as_4d(shape) -> tuple:
    """A kernel's shape as `(k_h, k_w, c_in, c_out)`."""
    if len(shape) == 1:
        return (1, 1, 1, shape[0])
    if len(shape) == 2:
        return (1, 1, *shape)
    if len(shape) == 3:
        return (shape[0], 1, shape[1], shape[2])
    return tuple(shape)


def _log_shape(shape) -> np.ndarray:
    return np.log2(1.0 + np.asarray(_as_4d(shape), np.float32))


def _positive_int(value, what) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive int; got {value!r}.")
    return int(value)


def _hops(adjacency: np.ndarray, cutoff: int) -> np.ndarray:
    """`(N, N)` with 1/s for every pair i -> j at s <= cutoff hops along the edges, else 0."""
    n = len(adjacency)
    out = np.zeros_like(adjacency)
    reach = np.eye(n, dtype=bool)
    frontier = np.eye(n, dtype=bool)
    step = adjacency > 0
    for s in range(1, cutoff + 1):
        frontier = (frontier.astype(np.float32) @ step.astype(np.float32)) > 0
        new = frontier & ~reach
        out[new] = 1.0 / s
        reach |= new
        if not new.any():
            break
    return out


@contextlib.contextmanager
def _quiet_tracing():
    """TensorFlow's "N calls triggered tf.function retracing" warning off in the block: each
    architecture's step is its own function, traced once on purpose."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


class GraphHyperNetwork:
    """A GHN-2 style hypernetwork over a kerasnas space's models.

    Args:
        space: A kerasnas classification space (`NASHyperModel` with `num_classes`);
            training samples its architectures.
        units: Node embedding width (default `DEFAULT_UNITS`, 64).
        num_layers: `GraphEncoder` rounds (default `DEFAULT_GNN_LAYERS`, 4).
        virtual_edges: Largest hop count of a virtual edge (default `VIRTUAL_EDGES`, 4;
            1: the data-flow edges only).
        max_kernel, max_channels: Size of the decoder's fixed tensor (defaults
            `MAX_KERNEL`, 5, and `MAX_CHANNELS`, 32); larger tensors are tiled.
        meta_batch: Architectures per step (default `META_BATCH`, 4).
        batch_size: Examples per step (default `BATCH_SIZE`, 64).
        learning_rate: Adam's step size (default `LEARNING_RATE`, 1e-3).
        pool_size: Distinct architectures built for training (default `POOL_SIZE`).
        seed: Seed of the hypernetwork's initial weights, the architectures and the
            minibatches (default 0): the same seed and steps train the same GHN.

    Attributes:
        losses: Mean training loss of each step so far.
        train_seconds: Seconds spent in `fit` so far.

    Example:

    >>> ghn = GraphHyperNetwork(space, seed=0).fit(x_train, y_train, steps=200)  # doctest: +SKIP
    >>> model = space.build_architecture(arch)                                  # doctest: +SKIP
    >>> ghn.load_into(model).evaluate(x_val, y_val)                             # doctest: +SKIP
    """

    def __init__(self, space, *, units=DEFAULT_UNITS, num_layers=DEFAULT_GNN_LAYERS,
                 virtual_edges=VIRTUAL_EDGES, max_kernel=MAX_KERNEL, max_channels=MAX_CHANNELS,
                 meta_batch=META_BATCH, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE,
                 pool_size=POOL_SIZE, seed=0):
        from kerasnas.spaces.base import NASHyperModel

        if not isinstance(space, NASHyperModel):
            raise TypeError(f"GraphHyperNetwork needs a kerasnas space (a NASHyperModel such as "
                            f"MacroSpace(...)); got {space!r}.")
        if space.num_classes is None:
            raise ValueError("GraphHyperNetwork scores classification spaces (accuracy of the "
                             "predicted parameters); this space is a regression space. Pass "
                             "num_classes to the space.")
        self.space = space
        self.num_classes = space.num_classes
        self.units = _positive_int(units, "units")
        self.num_layers = _positive_int(num_layers, "num_layers")
        self.virtual_edges = _positive_int(virtual_edges, "virtual_edges")
        self.max_kernel = _positive_int(max_kernel, "max_kernel")
        self.max_channels = _positive_int(max_channels, "max_channels")
        self.meta_batch = _positive_int(meta_batch, "meta_batch")
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.pool_size = _positive_int(pool_size, "pool_size")
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) \
                or not learning_rate > 0:
            raise ValueError(f"learning_rate must be a positive number; got {learning_rate!r}.")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"seed must be an int; got {seed!r}.")
        self.seed = int(seed)
        self.learning_rate = float(learning_rate)
        self.out_channels = max(self.max_channels, self.num_classes)  # C' (the classifier fits)
        self.featurizer = GraphFeaturizer([*STRUCTURAL_OPS, *LAYER_OPS])
        self.num_features = self.featurizer.num_features + SHAPE_FEATURES
        self.losses: list[float] = []
        self.train_seconds = 0.0
        self._rng = np.random.default_rng(self.seed)
        self._pool: list[Architecture] = []
        self._built: dict = {}  # Architecture -> _Plan (each model is built once)
        self._calibration = None  # training examples for BatchNorm recalibration
        self._build_networks(self.learning_rate)

    # -------------------------------------------------------------- networks
    def _build_networks(self, learning_rate):
        keras.utils.set_random_seed(self.seed)
        k, hid0, hid1 = self.max_kernel, *DECODER_HIDDEN
        self.encoder = GraphEncoder(self.units, self.num_layers, name="ghn_encoder")
        self.encoder.build(((None, None, self.num_features), (None, None, None), (None, None)))
        tensor_in = self.units + len(ROLES) + SHAPE_FEATURES
        dense = keras.layers.Dense
        # GHN-2's ConvDecoder: embedding -> (K, K, hid0) map -> 1x1 -> 1x1 to c_in * c_out.
        self.decoder = [dense(hid0 * k * k, activation="relu", name="ghn_dec_map"),
                        dense(hid1, activation="relu", name="ghn_dec_hidden"),
                        dense(self.max_channels * self.out_channels, name="ghn_dec_out")]
        self.decoder[0].build((None, tensor_in))
        self.decoder[1].build((None, k, k, hid0))
        self.decoder[2].build((None, k, k, hid1))
        # GHN-2's decoder_1d: embedding -> hidden -> C' values (biases, gamma, beta).
        self.decoder_1d = [dense(hid1, activation="relu", name="ghn_dec1d_hidden"),
                           dense(self.out_channels, name="ghn_dec1d_out")]
        self.decoder_1d[0].build((None, tensor_in))
        self.decoder_1d[1].build((None, hid1))
        unused = {id(v) for v in self.encoder.readout.trainable_variables}  # graph embedding
        self.variables = [*(v for v in self.encoder.trainable_variables if id(v) not in unused),
                          *(v for layer in self.decoder + self.decoder_1d
                            for v in layer.trainable_variables)]
        self.optimizer = keras.optimizers.Adam(learning_rate, weight_decay=WEIGHT_DECAY,
                                               global_clipnorm=GRAD_CLIP)
        self.optimizer.build(self.variables)
        self._raw = self._raw_function()
        # One compiled update (fixed shapes, traced once): eager Adam costs a third of a step.
        self._apply = tf.function(lambda grads: self.optimizer.apply(grads, self.variables))

    def count_params(self) -> int:
        """Number of the hypernetwork's own parameters."""
        return int(sum(np.prod(v.shape) for v in self.variables))

    # ------------------------------------------------------------ models
    def _model_of(self, arch) -> _Plan:
        arch = self.space.architecture(arch)
        if arch not in self._built:
            model = self.space.build_architecture(arch, compile=False)
            self._built[arch] = self._plan(model)
        return self._built[arch]

    def _plan(self, model) -> _Plan:
        """Reads `model`'s graph and maps each trainable variable to its layer's node."""
        if not isinstance(model, keras.Model):
            raise TypeError(f"Expected a keras.Model or an architecture of the space; got "
                            f"{model!r}.")
        shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
        if shape != tuple(self.space.input_shape):
            raise ValueError(f"The model's input shape {model.input_shape} is not the space's "
                             f"(None, *{self.space.input_shape}): the GHN predicts parameters for "
                             "models of its space's data only.")
        if tuple(model.output_shape) != (None, self.num_classes):
            raise ValueError(f"The model's output shape {model.output_shape} is not "
                             f"(None, {self.num_classes}), the space's classes.")
        graph = graph_of_model(model)
        layers = [layer for layer in model.layers
                  if not isinstance(layer, keras.layers.InputLayer)]
        nodes = [i for i, op in enumerate(graph.ops[:-1]) if op != "input"]
        labels = [graph.ops[i].split(":")[0] for i in nodes]
        if labels != [type(layer).__name__.lower() for layer in layers]:
            raise ValueError("The model's layer graph does not list its layers in the order of "
                             "model.layers, so its variables cannot be matched to graph nodes; "
                             "pass a functional or sequential model.")
        owner = {}
        for layer, node in zip(layers, nodes, strict=True):
            for v in layer.trainable_variables:
                owner.setdefault(id(v), (node, layer))
        head = next(layer for layer in reversed(layers) if layer.trainable_variables)
        node_shape = np.zeros((graph.num_nodes, SHAPE_FEATURES), np.float32)
        tensors = []
        for v in model.trainable_variables:
            if id(v) not in owner:
                raise ValueError(f"Variable {v.path} belongs to no layer of the model's graph; "
                                 "the GHN predicts layer weights only.")
            node, layer = owner[id(v)]
            vshape = tuple(int(d) for d in v.shape)
            if not 1 <= len(vshape) <= 4:
                raise ValueError(f"Variable {v.path} has shape {vshape}; the GHN predicts "
                                 "tensors of rank 1 to 4 only.")
            role = ROLES.index(v.name) if v.name in ROLES else ROLES.index("other")
            gain = 1.0 if (layer is head or ROLES[role] == "depthwise_kernel") else 2.0
            features = _log_shape(vshape)
            if len(vshape) > 1 and features.sum() > node_shape[node].sum():
                node_shape[node] = features  # the node's largest kernel (shape encoder)
            tensors.append(_Tensor(node, role, vshape, gain, features))
        for t in tensors:  # weightless-kernel nodes (BatchNorm) take their vectors' shape
            if not node_shape[t.node].any():
                node_shape[t.node] = t.features
        index = {id(v): i for i, v in enumerate(model.non_trainable_variables)}
        statistics = [(index[id(layer.moving_mean)], index[id(layer.moving_variance)],
                       float(layer.momentum)) for layer in layers
                      if isinstance(layer, keras.layers.BatchNormalization)
                      and id(layer.moving_mean) in index]
        features = np.concatenate([self.featurizer.node_features(graph), node_shape], axis=1)
        adjacency = _hops(graph.adjacency(), self.virtual_edges)
        return _Plan(model, features, adjacency, tensors, statistics)

    # ---------------------------------------------------------- prediction
    def _inputs(self, plans):
        """The GNN's padded arrays of `plans` and, per tensor, its node's row in the
        flattened `(B * N, units)` embeddings with its role and log-shape."""
        n = max(len(p.features) for p in plans)
        feats = np.zeros((len(plans), n, self.num_features), np.float32)
        adj = np.zeros((len(plans), n, n), np.float32)
        mask = np.zeros((len(plans), n), np.float32)
        rows = {True: ([], []), False: ([], [])}  # kernel? -> (rows, role + shape)
        for b, p in enumerate(plans):
            k = len(p.features)
            feats[b, :k], adj[b, :k, :k], mask[b, :k] = p.features, p.adjacency, 1.0
            for t in p.tensors:
                index, info = rows[len(t.shape) > 1]
                index.append(b * n + t.node)
                info.append(np.concatenate([np.eye(len(ROLES), dtype=np.float32)[t.role],
                                            t.features]))
        width = len(ROLES) + SHAPE_FEATURES
        arrays = [np.asarray(rows[kind][0], np.int32) for kind in (True, False)]
        infos = [np.asarray(rows[kind][1], np.float32).reshape(-1, width)
                 for kind in (True, False)]
        return feats, adj, mask, arrays[0], infos[0], arrays[1], infos[1]

    def _raw_function(self):
        """The compiled hypernetwork: GNN, then both decoders on every tensor's row."""
        def raw(feats, adj, mask, kernel_rows, kernel_info, vector_rows, vector_info):
            h, _ = self.encoder((feats, adj, mask))
            h = ops.reshape(h, (-1, self.units))
            kernels = self._decode_kernels(ops.concatenate(
                [ops.take(h, kernel_rows, axis=0), kernel_info], axis=1))
            vectors = self._decode_vectors(ops.concatenate(
                [ops.take(h, vector_rows, axis=0), vector_info], axis=1))
            return kernels, vectors

        spec = tf.TensorSpec
        width = len(ROLES) + SHAPE_FEATURES
        return tf.function(raw, input_signature=[
            spec((None, None, self.num_features), tf.float32),
            spec((None, None, None), tf.float32), spec((None, None), tf.float32),
            spec((None,), tf.int32), spec((None, width), tf.float32),
            spec((None,), tf.int32), spec((None, width), tf.float32)])

    @staticmethod
    def _slots(plans):
        """Per plan, its rows `(kernels, vectors)` in the raw predictions of `_inputs`."""
        slots, k, v = [], 0, 0
        for p in plans:
            nk = sum(len(t.shape) > 1 for t in p.tensors)
            slots.append((slice(k, k + nk), slice(v, v + len(p.tensors) - nk)))
            k, v = k + nk, v + len(p.tensors) - nk
        return slots

    def _values(self, plan, kernels, vectors) -> list:
        """`plan`'s trainable values from its rows of the raw predictions."""
        values, k, v = [], 0, 0
        for t in plan.tensors:
            if len(t.shape) > 1:
                values.append(self._fit(kernels[k], t))
                k += 1
            else:
                values.append(self._fit(vectors[v], t))
                v += 1
        return values

    def _predict(self, plans) -> list:
        """Predicted values of each plan's trainable variables."""
        with _quiet_tracing():
            kernels, vectors = self._raw(*self._inputs(plans))
        return [self._values(p, kernels[ks], vectors[vs])
                for p, (ks, vs) in zip(plans, self._slots(plans), strict=True)]

    def _decode_kernels(self, x):
        k = self.max_kernel
        x = ops.reshape(self.decoder[0](x), (-1, k, k, DECODER_HIDDEN[0]))
        x = self.decoder[2](self.decoder[1](x))
        return ops.reshape(x, (-1, k, k, self.max_channels, self.out_channels))

    def _decode_vectors(self, x):
        return self.decoder_1d[1](self.decoder_1d[0](x))

    @staticmethod
    def _tile(w, target):
        """`w` sliced to `target` along each axis, tiled first where `target` is larger."""
        reps = [max(1, math.ceil(t / s)) for t, s in zip(target, w.shape, strict=True)]
        if any(r > 1 for r in reps):
            w = ops.tile(w, reps)
        return w[tuple(slice(0, t) for t in target)]

    def _fit(self, w, t: _Tensor):
        """The decoder's fixed-size prediction `w` as variable `t`: sliced / tiled to its
        shape and normalised (GHN-2's fan-in scheme)."""
        role = ROLES[t.role]
        if len(t.shape) == 1:
            w = self._tile(w, t.shape)
            if role == "gamma":
                return 2.0 * ops.sigmoid(0.5 * w)  # BatchNorm scale in (0, 2), 1 at w = 0
            return ops.tanh(0.2 * w)  # biases and beta in (-1, 1)
        kh, kw, c_in, c_out = _as_4d(t.shape)
        w = ops.reshape(self._tile(w, (kh, kw, c_in, c_out)), t.shape)
        fan_in = kh * kw * (1 if role == "depthwise_kernel" else c_in)
        return w * math.sqrt(t.gain / fan_in)

    # -------------------------------------------------------------- training
    def fit(self, x, y, *, steps=DEFAULT_STEPS, seconds=None, exclude=(), verbose=False):
        """Trains the hypernetwork on `(x, y)`, sampling the space's architectures.

        Args:
            x, y: Training examples `(n, *space.input_shape)` and integer labels.
            steps: Training steps (default `DEFAULT_STEPS`); each one predicts
                `meta_batch` architectures' parameters and runs them on one minibatch.
            seconds: Optional time budget: stop after the step that passes it.
            exclude: Architectures (or their strings) never trained on, e.g. the ones
                the GHN will be evaluated on (default none).
            verbose: Print the loss every 50 steps (default False).

        Returns:
            `self`, trained further (a second `fit` continues).
        """
        x, y = self._check_data(x, y, "fit")
        steps = _positive_int(steps, "steps")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(
                seconds, numbers.Real) or not seconds > 0):
            raise ValueError(f"seconds must be a positive number or None; got {seconds!r}.")
        if isinstance(exclude, (str, Architecture)):
            exclude = [exclude]
        excluded = {self.space.architecture(a) for a in exclude}
        if self._calibration is None:
            order = np.random.default_rng(self.seed).permutation(len(x))
            self._calibration = x[order[:CALIBRATION_EXAMPLES]]
        start = time.perf_counter()
        order, position = self._rng.permutation(len(x)), 0
        for step in range(steps):
            if position + self.batch_size > len(x):
                order, position = self._rng.permutation(len(x)), 0
            batch = order[position:position + self.batch_size]
            position += self.batch_size
            plans = [self._model_of(self._draw(excluded)) for _ in range(self.meta_batch)]
            self.losses.append(self._step(plans, x[batch], y[batch]))
            if verbose and (step + 1) % 50 == 0:
                print(f"GHN step {len(self.losses)}: loss {np.mean(self.losses[-50:]):.3f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
            if seconds is not None and time.perf_counter() - start >= seconds:
                break
        self.train_seconds += time.perf_counter() - start
        return self

    def _draw(self, excluded) -> Architecture:
        """A new architecture of the space while the pool is filling, else one of the pool."""
        if len(self._pool) < self.pool_size:
            for _ in range(100):  # a small space may hold fewer than pool_size new ones
                arch = self.space.encoding.sample(self._rng)
                if arch not in excluded and arch not in self._pool:
                    self._pool.append(arch)
                    return arch
            if not self._pool:
                raise ValueError("Every architecture sampled from the space is excluded; "
                                 "exclude fewer.")
            self.pool_size = len(self._pool)  # the space is exhausted: train on what it has
        return self._pool[int(self._rng.integers(len(self._pool)))]

    def _step(self, plans, x, y) -> float:
        """One meta-batch: the GHN's raw predictions under a tape, each network's loss and
        gradient by its own compiled step, then the chain rule back into the GHN."""
        with tf.GradientTape() as tape, _quiet_tracing():
            kernels, vectors = self._raw(*self._inputs(plans))
        losses, d_kernels, d_vectors = [], [], []
        for plan, (ks, vs) in zip(plans, self._slots(plans), strict=True):
            with _quiet_tracing():
                loss, dk, dv = self._network_step(plan)(kernels[ks], vectors[vs], x, y)
            losses.append(loss)
            d_kernels.append(dk)
            d_vectors.append(dv)
        m = float(len(plans))  # L = 1/M Σ_m L_m
        grads = tape.gradient([kernels, vectors], self.variables, output_gradients=[
            ops.concatenate(d_kernels, axis=0) / m, ops.concatenate(d_vectors, axis=0) / m])
        self._apply([g if g is not None else ops.zeros_like(v)
                     for g, v in zip(grads, self.variables, strict=True)])
        return float(np.mean([float(v) for v in losses]))

    def _network_step(self, plan):
        """`plan`'s `(kernels, vectors, x, y) -> (loss, d kernels, d vectors)`: its predicted
        parameters, the task loss of the network run with them in training mode, and that
        loss's gradient with respect to its raw predictions. Eager for the first
        `COMPILE_AFTER` uses, then compiled (tracing costs about as many eager steps)."""
        model = plan.model

        def step(kernels, vectors, x, y):
            with tf.GradientTape() as tape:
                tape.watch([kernels, vectors])
                values = self._values(plan, kernels, vectors)
                non_trainable = [v.value for v in model.non_trainable_variables]
                outputs, _ = model.stateless_call(values, non_trainable, x, training=True)
                loss = ops.mean(keras.losses.sparse_categorical_crossentropy(y, outputs))
            dk, dv = tape.gradient(loss, [kernels, vectors])
            return loss, ops.zeros_like(kernels) if dk is None else dk, \
                ops.zeros_like(vectors) if dv is None else dv

        plan.uses += 1
        if plan.uses <= COMPILE_AFTER:
            return step
        if plan.step is None:
            plan.step = tf.function(step, reduce_retracing=True)
        return plan.step

    # ------------------------------------------------------------------ use
    def predict_parameters(self, model) -> list:
        """Predicted values of `model.trainable_variables` (NumPy arrays of their shapes).

        Args:
            model: A built Keras model with the space's input shape and classes (e.g.
                `space.build_architecture(arch)`), or an architecture of the space.
        """
        plan = self._plan(model) if isinstance(model, keras.Model) else self._model_of(model)
        return [np.asarray(v) for v in self._predict([plan])[0]]

    def load_into(self, model, x=None):
        """Sets `model`'s trainable variables to the predicted values and its BatchNorm
        moving statistics to those of the recalibration examples (the first
        `CALIBRATION_EXAMPLES` of `x`, default: of the training data of `fit`).

        Returns:
            `model`.
        """
        plan = self._plan(model)
        trainable = self._predict([plan])[0]
        non_trainable = self._recalibrate(plan, trainable, self._calibration_batch(x))
        for variable, value in zip(model.trainable_variables, trainable, strict=True):
            variable.assign(value)
        for variable, value in zip(model.non_trainable_variables, non_trainable, strict=True):
            variable.assign(value)
        return model

    def score(self, items, x_val, y_val, *, x_calibration=None):
        """Validation accuracy with predicted parameters (BatchNorm recalibrated), no training.

        Args:
            items: An architecture of the space (or its string), a built model, or a
                list of them.
            x_val, y_val: Validation examples and labels.
            x_calibration: Examples for the BatchNorm recalibration (default: the
                training data of `fit`).

        Returns:
            The accuracy (a float), or a list of them for a list of items.
        """
        single = isinstance(items, (str, dict, Architecture, keras.Model))
        items = [items] if single else list(items)
        x_val, y_val = self._check_data(x_val, y_val, "score")
        calibration = self._calibration_batch(x_calibration)
        plans = [self._plan(i) if isinstance(i, keras.Model) else self._model_of(i)
                 for i in items]  # every item checked before anything runs
        scores = []
        for start in range(0, len(plans), self.meta_batch):
            chunk = plans[start:start + self.meta_batch]
            for plan, values in zip(chunk, self._predict(chunk), strict=True):
                stats = self._recalibrate(plan, values, calibration)
                outputs = np.concatenate([
                    np.asarray(plan.model.stateless_call(values, stats, x_val[i:i + EVAL_BATCH],
                                                         training=False)[0])
                    for i in range(0, len(x_val), EVAL_BATCH)])
                scores.append(float(np.mean(outputs.argmax(-1) == y_val)))
        return scores[0] if single else scores

    def _recalibrate(self, plan, values, x) -> list:
        """The model's non-trainable values with each BatchNorm's moving statistics set to
        the batch statistics of `x` through the predicted network (training mode)."""
        model = plan.model
        old = [v.value for v in model.non_trainable_variables]
        _, new = model.stateless_call(values, old, x, training=True)
        out = list(old)
        for mean_i, var_i, momentum in plan.statistics:
            # Keras updates m <- momentum * m + (1 - momentum) * batch; solve for batch.
            for i in (mean_i, var_i):
                out[i] = (new[i] - momentum * old[i]) / (1.0 - momentum)
        return out

    def _calibration_batch(self, x):
        if x is not None:
            x = self._check_x(x, "x_calibration")
            return x[:CALIBRATION_EXAMPLES]
        if self._calibration is None:
            raise ValueError("No examples to recalibrate BatchNorm with: call fit(x, y) first, "
                             "or pass x_calibration (training examples).")
        return self._calibration

    # ------------------------------------------------------------ saving
    def get_config(self) -> dict:
        """The constructor's arguments, except `space` (JSON-serialisable)."""
        return {"units": self.units, "num_layers": self.num_layers,
                "virtual_edges": self.virtual_edges, "max_kernel": self.max_kernel,
                "max_channels": self.max_channels, "meta_batch": self.meta_batch,
                "batch_size": self.batch_size, "learning_rate": self.learning_rate,
                "pool_size": self.pool_size, "seed": self.seed}

    def save(self, path) -> None:
        """Writes the trained hypernetwork (configuration, weights, recalibration examples,
        losses) to `path` (a `.npz` file), so a resumed search scores with the same GHN
        without training it again. Adam's moments are not saved."""
        import json

        arrays = {f"w{i}": np.asarray(v) for i, v in enumerate(self.variables)}
        if self._calibration is not None:
            arrays["calibration"] = self._calibration
        np.savez(path, config=json.dumps(self.get_config()),
                 space=json.dumps(self.space.get_config()), losses=np.asarray(self.losses),
                 train_seconds=self.train_seconds, **arrays)

    @classmethod
    def load(cls, path, space) -> "GraphHyperNetwork":
        """The hypernetwork `save` wrote, over `space` (the space it was trained on).

        Raises:
            ValueError: `space`'s configuration differs from the saved one.
        """
        import json

        with np.load(path, allow_pickle=False) as data:
            saved_space = json.loads(str(data["space"]))
            if json.loads(json.dumps(space.get_config())) != saved_space:
                raise ValueError(f"{path} holds a GHN of another space ({saved_space}); pass "
                                 "the space it was trained on.")
            ghn = cls(space, **json.loads(str(data["config"])))
            for i, variable in enumerate(ghn.variables):
                variable.assign(data[f"w{i}"])
            if "calibration" in data:
                ghn._calibration = np.asarray(data["calibration"])
            ghn.losses = [float(v) for v in data["losses"]]
            ghn.train_seconds = float(data["train_seconds"])
        return ghn

    # ------------------------------------------------------------ checks
    def _check_x(self, x, what):
        x = np.asarray(x, np.float32)
        if x.ndim != len(self.space.input_shape) + 1 or x.shape[1:] != self.space.input_shape \
                or len(x) == 0:
            raise ValueError(f"{what} must be a non-empty array of shape (n, "
                             f"{', '.join(map(str, self.space.input_shape))}), the space's "
                             f"input; got shape {x.shape}.")
        return x

    def _check_data(self, x, y, what):
        x = self._check_x(x, f"{what}: x")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(f"{what}: y must hold one integer label per example ({len(x)}); "
                             f"got shape {y.shape}.")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= self.num_classes:
            raise ValueError(f"{what}: y must be integer labels in [0, {self.num_classes}); got "
                             f"{y.dtype} values in [{y.min()}, {y.max()}].")
        return x, y.astype(np.int64)


def ghn_scorer(ghn, x_val, y_val):
    """`score(arch) -> float` (higher is better) for `kerasnas.estimation.Prescreen`: the
    validation accuracy of `arch` with the parameters a trained `ghn` predicts.

    Raises:
        ValueError: `ghn` was not trained yet (its scores would rank nothing).

    Example:

    >>> oracle.prescreen = Prescreen(ghn_scorer(ghn, x_val, y_val), name="ghn")  # doctest: +SKIP
    """
    if not isinstance(ghn, GraphHyperNetwork):
        raise TypeError(f"ghn_scorer needs a GraphHyperNetwork; got {ghn!r}.")
    if not ghn.losses:
        raise ValueError("The GraphHyperNetwork is untrained: call ghn.fit(x, y) first.")
    x_val, y_val = ghn._check_data(x_val, y_val, "ghn_scorer")
    cache: dict = {}

    def score(arch):
        key = str(arch)
        if key not in cache:
            cache[key] = ghn.score(arch, x_val, y_val)
        return cache[key]

    return score


class GHNScores(TunerFeature):
    """Records each trial's `ghn_accuracy`; optionally starts the trial from the GHN's
    predicted parameters.

    Args:
        ghn: A trained `GraphHyperNetwork` of the tuner's space.
        x_val, y_val: Validation data of the score.
        initialise: Load the predicted parameters (and recalibrated BatchNorm
            statistics) into each trial's model before training (default False).

    Example:

    >>> tuner = NASTuner(oracle, space, features=[GHNScores(ghn, x_val, y_val)])  # doctest: +SKIP
    """

    def __init__(self, ghn, x_val, y_val, *, initialise=False):
        self.score = ghn_scorer(ghn, x_val, y_val)
        self.ghn = ghn
        self.initialise = bool(initialise)

    def on_model_built(self, tuner, trial, model, x):
        from kerasnas.tuner.loop import trial_architecture

        arch = trial_architecture(tuner.hypermodel, trial)
        metrics = {"ghn_accuracy": self.score(arch)}
        if self.initialise:
            self.ghn.load_into(model)
            metrics["ghn_initialised"] = 1.0
        return metrics


__all__ = ["GHNScores", "GraphHyperNetwork", "ghn_scorer"]
