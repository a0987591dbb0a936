"""`Supernet`: one set of shared weights that holds every architecture of a space.

The base class holds what every space's supernet shares: the training loop
(one sampled path per step, `oneshot.sampling`), BatchNorm recalibration, the
one-shot score of an architecture, and the export of a sub-network's weights
into the model the space builds. A subclass (`ResidualSupernet`, ...) says how
the shared variables are laid out and how one path runs through them.

How a path runs (single-path one-shot, Guo et al. 2020; elastic width, depth
and kernel size as in Once-for-All, Cai et al. 2020):

* each decision that only sizes a layer (width, kernel size) is a slice of a
  shared kernel taken at run time (`w[:c_in, :c_out]`, the centre `k x k` of
  the largest kernel), so a path costs what its sub-network costs;
* decisions that change the graph's structure (depth, where a network
  reduces) each get their own compiled step, sharing the same variables
  (`structure(arch)` is the key);
* the optimiser is Adam applied only where a gradient is non-zero, so a step
  never moves the weights its path did not use (plain Adam's momentum would).

BatchNorm statistics of a shared layer mix every path that trained it, so a
sub-network's are recalibrated before it is scored: the statistics of
`CALIBRATION_EXAMPLES` training examples through that path (Once-for-All's
remedy), in the same pass that scores it. The trainable weights never change when scoring.

Example:

>>> from kerasnas.oneshot import supernet_for
>>> net = supernet_for(space, seed=0)                     # doctest: +SKIP
>>> net.train(x_train, y_train, seconds=30)               # doctest: +SKIP
>>> net.score(arch, x_train, x_val, y_val)                # doctest: +SKIP
{'accuracy': 0.93, 'loss': 0.25}
>>> model = space.build_architecture(arch)                # doctest: +SKIP
>>> net.load_into(model, arch, x_train)                   # doctest: +SKIP
"""

from __future__ import annotations

import math
import time

import numpy as np

from kerasnas.oneshot.sampling import PathSampler

#: Training examples per step (default 64).
BATCH_SIZE = 64
#: Adam's step size (default 1e-3, Keras's Adam default and the spaces' learning rate).
LEARNING_RATE = 1e-3
#: Training examples whose statistics recalibrate a sub-network's BatchNorm, as one batch
#: (default 256; Once-for-All uses 2,000 images of ImageNet, but on 2 CPU cores scoring
#: time is the one-shot search's cost).
CALIBRATION_EXAMPLES = 256
#: Examples per forward pass when scoring (default 512).
EVAL_BATCH = 512


class Supernet:
    """Shared weights of a space's architectures and their one-shot scores.

    Args:
        space: The kerasnas space (`NASHyperModel`) whose architectures this holds.
        seed: Seeds the initial weights, the paths and the batches (default 0).
        rule: Path sampling, `"uniform"` (default) or `"sandwich"` (see
            `kerasnas.oneshot.sampling`).
        learning_rate: Adam's step size (default `LEARNING_RATE`), cosine-decayed
            over the training time or steps.
        batch_size: Examples per step (default `BATCH_SIZE`).
        allowed: `{decision: value}` every trained path keeps (few-shot
            sub-supernets; default None: the whole space).

    Attributes:
        record: What training did: steps, seconds, paths trained, final loss.
    """

    def __init__(self, space, *, seed=0, rule="uniform", learning_rate=LEARNING_RATE,
                 batch_size=BATCH_SIZE, allowed=None):
        import tensorflow as tf

        self.space = space
        self.encoding = space.encoding
        self.classification = space.num_classes is not None
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.sampler = PathSampler(self.encoding, rule, allowed)
        self.learning_rate = float(learning_rate)
        self.batch_size = int(batch_size)
        self._tf = tf
        self._random = tf.random.Generator.from_seed(self.seed)
        self.weights: dict[str, object] = {}     # name -> tf.Variable (trainable)
        self.statistics: dict[str, object] = {}  # name -> tf.Variable (BatchNorm mean / var)
        self._init_rng = np.random.default_rng(self.seed + 1)
        self.build_weights()
        self._adam = {name: (tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v)))
                      for name, v in self.weights.items()}
        self._step = tf.Variable(0.0)
        self._functions: dict = {}
        self._calibrated: dict = {}  # structure key -> BatchNorm names in graph order
        self.record = {"steps": 0, "seconds": 0.0, "paths": 0, "loss": None,
                       "rule": rule, "structures": 0}

    # ------------------------------------------------------------ subclasses
    def build_weights(self) -> None:
        """Creates every shared variable (`self.add_weight`, `self.add_statistics`)."""
        raise NotImplementedError

    def structure(self, arch):
        """The hashable key of `arch`'s graph structure (one compiled step per key)."""
        raise NotImplementedError

    def path(self, arch) -> tuple:
        """`arch`'s run-time inputs to its structure's graph (ints and floats)."""
        raise NotImplementedError

    def scoring_key(self, arch):
        """Architectures with one key get one one-shot score: by default the structure and
        the path; a subclass leaves out what only acts in training (dropout)."""
        return (self.structure(arch), self.path(arch))

    def forward(self, x, key, path, mode: str, collected=None):
        """Outputs of the path on a preprocessed batch `x`.

        `mode` is `"train"` (batch statistics, dropout), `"score"` (statistics of
        the calibration rows, see `batch_norm`, which appends `(name, mean,
        variance)` of each BatchNorm to `collected`) or `"eval"` (the stored
        statistics). Returns the head's outputs (probabilities or the regression
        targets in the user's units).
        """
        raise NotImplementedError

    def standalone_weights(self, arch) -> list:
        """`[(scope, kind, arrays)]`: the weights of `arch`'s model in the space, layer by
        layer in the order the space creates them within each name scope (`"stem"`,
        `"block0"`, ..., `"head"`); kind `"conv"`, `"bn"` or `"dense"`, arrays as that
        layer's `get_weights()`."""
        raise NotImplementedError

    # ------------------------------------------------------------- variables
    def add_weight(self, name, shape, fan_in=None, fan_out=None, init="glorot"):
        """A trainable variable; `"glorot"` (Keras's default kernel init), `"zeros"`, `"ones"`."""
        tf = self._tf
        if init == "glorot":
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            value = self._init_rng.uniform(-limit, limit, size=shape)
        elif init == "ones":
            value = np.ones(shape)
        else:
            value = np.zeros(shape)
        self.weights[name] = tf.Variable(value.astype("float32"), name=name)
        return self.weights[name]

    def add_statistics(self, name, channels):
        """BatchNorm's moving mean and variance of `channels` (variables `name/mean`,
        `name/var`), and its trainable scale and offset (`name/gamma`, `name/beta`)."""
        tf = self._tf
        self.add_weight(f"{name}/gamma", (channels,), init="ones")
        self.add_weight(f"{name}/beta", (channels,), init="zeros")
        self.statistics[f"{name}/mean"] = tf.Variable(np.zeros(channels, "float32"))
        self.statistics[f"{name}/var"] = tf.Variable(np.ones(channels, "float32"))

    def batch_norm(self, x, name, channels, mode, collected):
        """BatchNorm over all but the last axis on the first `channels` channels of `name`.

        `"train"`: batch statistics. `"score"`: the statistics of the batch's first
        `self.calibration_rows` rows (the calibration examples) normalise every row,
        and are appended to `collected`. `"eval"`: the stored statistics.
        """
        tf = self._tf
        from kerasnas.spaces.ops import BN_EPSILON

        gamma = self.weights[f"{name}/gamma"][:channels]
        beta = self.weights[f"{name}/beta"][:channels]
        axes = list(range(len(x.shape) - 1))
        if mode == "eval":
            mean = self.statistics[f"{name}/mean"][:channels]
            var = self.statistics[f"{name}/var"][:channels]
        elif mode == "score":
            mean, var = tf.nn.moments(x[:self.calibration_rows], axes)
            collected.append((name, mean, var))
        else:
            mean, var = tf.nn.moments(x, axes)
        return (x - mean) * tf.math.rsqrt(var + BN_EPSILON) * gamma + beta

    def skippable(self, active, h, block, mode, collected):
        """`block(h, collected)` where the run-time bool `active` holds, else `h` (one graph
        for several depths). In `"score"` mode a skipped block's BatchNorm statistics come
        out as they are stored, so recalibration leaves them unchanged."""
        tf = self._tf
        if mode != "score":
            return tf.cond(active, lambda: block(h, None), lambda: h)
        names = []

        def run():
            inner = []
            out = block(h, inner)
            names.extend(name for name, _, _ in inner)
            return [out] + [t for _, m, v in inner for t in (m, v)]

        def skip():  # traced after run(), so the names are known
            kept = [h]
            for name in names:
                kept += [self.statistics[f"{name}/mean"].read_value(),
                         self.statistics[f"{name}/var"].read_value()]
            return kept

        out = tf.cond(active, run, skip)
        for k, name in enumerate(names):
            collected.append((name, out[1 + 2 * k], out[2 + 2 * k]))
        return out[0]

    def dropout(self, x, rate, mode):
        """Inverted dropout at run-time `rate` (training steps only)."""
        if mode != "train":
            return x
        tf = self._tf
        keep = tf.cast(self._random.uniform(tf.shape(x)) >= rate, x.dtype)
        return x * keep / (1.0 - rate)

    # ---------------------------------------------------------------- graphs
    def preprocess(self, x):
        for layer in self.space.preprocessing:
            x = layer(x)
        return x

    def head(self, features, channels, name="head"):
        """The space's head on the first `channels` features: softmax, or the regression
        output mapped back to the user's units (`target_scale`)."""
        tf = self._tf
        out = tf.matmul(features, self.weights[f"{name}/kernel"][:channels]) \
            + self.weights[f"{name}/bias"]
        if self.classification:
            return tf.nn.softmax(out)
        if self.space.target_scale is not None:
            mean, variance = self.space.target_scale
            out = out * tf.sqrt(tf.constant(variance, tf.float32)) + tf.constant(mean, tf.float32)
        return out

    def loss_of(self, outputs, y):
        tf = self._tf
        if self.classification:
            picked = tf.gather(outputs, tf.cast(y, tf.int32), batch_dims=1)
            return -tf.reduce_mean(tf.math.log(tf.maximum(picked, 1e-7)))
        y = tf.reshape(tf.cast(y, tf.float32), tf.shape(outputs))
        return tf.reduce_mean(tf.square(outputs - y))

    def _function(self, key, mode):
        if (key, mode) in self._functions:
            return self._functions[(key, mode)]
        tf = self._tf
        names = list(self.weights)
        variables = [self.weights[n] for n in names]

        if mode == "train":
            def step(x, y, learning_rate, *path):
                with tf.GradientTape() as tape:
                    outputs = self.forward(self.preprocess(x), key, path, "train")
                    loss = self.loss_of(outputs, y)
                grads = tape.gradient(loss, variables)
                self._step.assign_add(1.0)
                self._adam_update(names, variables, grads, learning_rate)
                return loss
        elif mode == "score":
            def step(x, calibration_rows, *path):
                collected = []
                self.calibration_rows = calibration_rows  # read by batch_norm while tracing
                outputs = self.forward(self.preprocess(x), key, path, "score", collected)
                self._calibrated[key] = [name for name, _, _ in collected]  # at trace time
                return outputs[calibration_rows:], [(m, v) for _, m, v in collected]
        else:
            def step(x, *path):
                return self.forward(self.preprocess(x), key, path, "eval")
        function = tf.function(step, reduce_retracing=True, autograph=False)
        self._functions[(key, mode)] = function
        self.record["structures"] = len({k for k, _ in self._functions})
        return function

    def _adam_update(self, names, variables, grads, learning_rate, beta1=0.9, beta2=0.999,
                     epsilon=1e-7):
        tf = self._tf
        t = self._step
        correction = tf.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
        for name, var, grad in zip(names, variables, grads, strict=True):
            if grad is None:
                continue
            m, v = self._adam[name]
            used = tf.cast(tf.not_equal(grad, 0.0), tf.float32)  # this path's weights only
            m.assign(m + used * (1.0 - beta1) * (grad - m))
            v.assign(v + used * (1.0 - beta2) * (tf.square(grad) - v))
            var.assign_sub(used * learning_rate * correction * m / (tf.sqrt(v) + epsilon))

    # ------------------------------------------------------------- training
    def train(self, x, y, *, seconds=None, steps=None, callback=None):
        """Trains the shared weights on `(x, y)` for `seconds` of wall time or `steps` steps.

        Each step draws its path(s) from the sampler and one batch of
        `batch_size` examples; the step size follows a cosine from
        `learning_rate` to 0 over the seconds (or steps).

        Args:
            x, y: Training examples (as the space takes them) and targets
                (class indices or values).
            seconds: Wall-clock seconds to train (compiling included).
            steps: Number of steps instead of (or besides) `seconds`.
            callback: Optional `callback(step, loss)` after each step.

        Returns:
            `self.record`.
        """
        if seconds is None and steps is None:
            raise ValueError("train needs seconds= or steps= (how long to train the supernet).")
        tf = self._tf
        x, y = np.asarray(x, "float32"), np.asarray(y)
        start = time.monotonic()
        done, loss = 0, None
        batch = min(self.batch_size, len(x))
        while True:
            elapsed = time.monotonic() - start
            if seconds is not None and elapsed >= seconds:
                break
            if steps is not None and done >= steps:
                break
            progress = max(elapsed / seconds if seconds else 0.0, done / steps if steps else 0.0)
            rate = tf.constant(self.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress)),
                               tf.float32)
            rows = self.rng.choice(len(x), size=batch, replace=False)
            xb, yb = tf.constant(x[rows]), tf.constant(y[rows])
            for arch in self.sampler.step(self.rng):
                step = self._function(self.structure(arch), "train")
                loss = float(step(xb, yb, rate, *self._path_tensors(arch)))
                self.record["paths"] += 1
            done += 1
            if callback is not None:
                callback(done, loss)
        self.record["steps"] += done
        self.record["seconds"] += time.monotonic() - start
        self.record["loss"] = loss
        return self.record

    def _path_tensors(self, arch):
        tf = self._tf
        return tuple(tf.constant(v, tf.float32 if isinstance(v, float) else tf.int32)
                     for v in self.path(arch))

    # -------------------------------------------------------------- scoring
    def _calibration(self, x, examples):
        order = np.random.default_rng(self.seed + 2).permutation(len(x))[:examples]
        return np.asarray(x, "float32")[order]

    def _score_pass(self, arch, x_train, x_eval, examples):
        """One pass: BatchNorm statistics of `examples` training examples (a fixed
        permutation's first), stored for `arch`'s path, and the outputs on `x_eval` with them."""
        tf = self._tf
        arch = self.space.architecture(arch)
        calibration = self._calibration(x_train, examples)
        batch = np.concatenate([calibration, np.asarray(x_eval, "float32")])
        key = self.structure(arch)
        step = self._function(key, "score")
        outputs, stats = step(tf.constant(batch), tf.constant(len(calibration)),
                              *self._path_tensors(arch))
        for name, (mean, var) in zip(self._calibrated[key], stats, strict=True):
            for which, value in (("mean", mean), ("var", var)):
                variable = self.statistics[f"{name}/{which}"]
                value = value.numpy()
                if len(value) < variable.shape[0]:
                    value = np.concatenate([value, variable.numpy()[len(value):]])
                variable.assign(value)
        return outputs.numpy()

    def recalibrate(self, arch, x, examples=CALIBRATION_EXAMPLES):
        """Sets the BatchNorm statistics of `arch`'s path to those of `examples` training
        examples through it (the first of a fixed permutation of `x`), as one batch.
        Only BatchNorm statistics change."""
        self._score_pass(arch, x, x[:0], examples)

    def predict(self, arch, x):
        """The path's outputs on `x` with its current (recalibrated) statistics."""
        tf = self._tf
        x = np.asarray(x, "float32")
        step = self._function(self.structure(arch), "eval")
        path = self._path_tensors(arch)
        return np.concatenate([step(tf.constant(x[i:i + EVAL_BATCH]), *path).numpy()
                               for i in range(0, len(x), EVAL_BATCH)])

    def score(self, arch, x_train, x_val, y_val, examples=CALIBRATION_EXAMPLES) -> dict:
        """One-shot score of `arch`: its BatchNorm recalibrated on `examples` of `x_train`,
        then evaluated on the validation data, in one pass. Returns `{"accuracy", "loss"}`
        (classification) or `{"loss"}` (the MSE)."""
        outputs = self._score_pass(arch, x_train, x_val, examples)
        y_val = np.asarray(y_val)
        if self.classification:
            picked = outputs[np.arange(len(y_val)), y_val.astype(int)]
            return {"accuracy": float(np.mean(outputs.argmax(-1) == y_val)),
                    "loss": float(-np.mean(np.log(np.maximum(picked, 1e-7))))}
        return {"loss": float(np.mean((outputs - y_val.reshape(outputs.shape)) ** 2))}

    @staticmethod
    def rank_key(scores: dict) -> tuple:
        """Sort key, higher is better: accuracy then lower loss (classification), lower loss."""
        return (scores.get("accuracy", 0.0), -scores["loss"])

    # --------------------------------------------------------------- export
    def load_into(self, model, arch, x_train=None):
        """Copies `arch`'s sub-network weights into `model` (the space's
        `build_architecture(arch)`); with `x_train`, recalibrates first.

        Raises:
            ValueError: `model`'s conv / BatchNorm / Dense layers do not match `arch`'s
                sub-network (another architecture, or another space).
        """
        import keras

        arch = self.space.architecture(arch)
        if x_train is not None:
            self.recalibrate(arch, x_train)
        wanted = self.standalone_weights(arch)
        kinds = {"conv": (keras.layers.Conv1D, keras.layers.Conv2D),
                 "bn": (keras.layers.BatchNormalization,), "dense": (keras.layers.Dense,)}
        groups: dict = {}  # (scope, kind) -> the model's layers in creation order
        for layer in model.layers:
            kind = next((k for k, classes in kinds.items() if isinstance(layer, classes)), None)
            if kind is not None and layer.weights:
                scope = layer.weights[0].path.split("/")[0]
                groups.setdefault((scope, kind), []).append(layer)
        for layers in groups.values():
            layers.sort(key=_creation_order)
        fix = "pass the model space.build_architecture(arch) builds for this architecture"
        expected = {}
        for scope, kind, _ in wanted:
            expected[(scope, kind)] = expected.get((scope, kind), 0) + 1
        found = {key: len(layers) for key, layers in groups.items()}
        if found != expected:
            raise ValueError(f"The model's conv / BatchNorm / Dense layers per scope {found} "
                             f"differ from the sub-network of {arch} ({expected}): {fix}.")
        taken: dict = {}
        for scope, kind, arrays in wanted:
            index = taken.get((scope, kind), 0)
            taken[(scope, kind)] = index + 1
            layer = groups[(scope, kind)][index]
            shapes = [tuple(w.shape) for w in layer.get_weights()]
            if shapes != [a.shape for a in arrays]:
                raise ValueError(f"Layer {layer.name} has weights {shapes}, the sub-network of "
                                 f"{arch} {[a.shape for a in arrays]} there: {fix}.")
            layer.set_weights(arrays)
        return model

    def get_state(self) -> dict:
        """Every variable as numpy (weights `w:`, BatchNorm statistics `s:`, Adam's moments
        `m:` / `v:`, its step `step`), for `set_state` (few-shot snapshots, saving)."""
        state = {f"w:{k}": v.numpy() for k, v in self.weights.items()}
        state.update({f"s:{k}": v.numpy() for k, v in self.statistics.items()})
        for name, (m, v) in self._adam.items():
            state[f"m:{name}"], state[f"v:{name}"] = m.numpy(), v.numpy()
        state["step"] = self._step.numpy()
        return state

    def set_state(self, state: dict) -> None:
        """Loads what `get_state` returned (of a supernet of the same space)."""
        for name, var in self.weights.items():
            var.assign(state[f"w:{name}"])
        for name, var in self.statistics.items():
            var.assign(state[f"s:{name}"])
        for name, (m, v) in self._adam.items():
            m.assign(state[f"m:{name}"])
            v.assign(state[f"v:{name}"])
        self._step.assign(state["step"])

    def variable(self, name):
        """The current value of a trainable or statistics variable, as numpy."""
        source = self.weights if name in self.weights else self.statistics
        return source[name].numpy()


def _creation_order(layer) -> int:
    """A Keras layer's auto-name counter (`conv2d_3` -> 3, `conv2d` -> 0): the order in
    which layers of one class were created (`model.layers` is in graph order instead)."""
    tail = layer.name.rsplit("_", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 0
