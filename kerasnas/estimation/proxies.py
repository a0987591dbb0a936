"""Zero-cost proxies: score an untrained Keras model from one minibatch, in seconds.

Each proxy is a function `f(model, x, y=None, *, training=False) -> float`
computed on a built (untrained) model and one batch `x` (and labels `y` for the
proxies that need a loss). Higher is predicted better, except `params` and
`flops`, which are the model's cost.

* `naswot` (Mellor et al., ICML 2021, "Neural Architecture Search without
  Training"): for each example, the binary code `c` of which units of every
  ReLU in the model receive a positive input; `K_H = c cᵀ + (1 − c)(1 − c)ᵀ`
  (the number of ReLUs two examples agree on); the score is `log|K_H|`, by
  `slogdet` in float64. Distinct activation patterns for distinct examples
  (a well-conditioned `K_H`) predict a trainable network.
* `synflow` (Tanaka et al., 2020): with every weight replaced by its absolute
  value, batch-norm statistics set to identity and an all-ones input, `R` is
  the sum of the (pre-softmax) outputs; the score is `Σ θ · ∂R/∂θ` over the
  kernels. Data-free: `x` only gives the input shape.
* `grad_norm` (Abdelfattah et al., ICLR 2021): `Σ_layers ‖∂L/∂W‖₂` over the
  kernels for the batch's loss.
* `snip` (Lee et al., 2019; as a proxy by Abdelfattah et al.): `Σ |W ⊙ ∂L/∂W|`
  over the kernels.
* `jacob_cov` (Mellor et al., 2020, first version of NASWOT): the correlation
  matrix `Σ_J` of the per-example input gradients `J = ∂(Σ outputs)/∂x`, with
  eigenvalues `λ`; the score is `−Σ (log(λ + k) + 1/(λ + k))`, `k = 1e-5`.
* `params` and `flops`: parameter and multiply-accumulate counts
  (`kerasnas.spaces.cost`).

All proxies run the model in inference mode by default (`training=False`):
every example is then processed on its own (batch-norm uses its stored
statistics, dropout is off), so a score is deterministic and does not depend
on the order of the examples in the batch. Which model a seed builds is fixed
by `score_architecture(..., seed=)`.

Example:

>>> import numpy as np
>>> from kerasnas.spaces import MacroSpace
>>> from kerasnas.estimation import naswot, score_architecture
>>> space = MacroSpace((8, 8, 1), num_classes=10)
>>> x = np.random.default_rng(0).normal(size=(32, 8, 8, 1)).astype("float32")
>>> model = space.build_architecture(space.sample(np.random.default_rng(1)))
>>> score = naswot(model, x)                                      # doctest: +SKIP
>>> score_architecture(space, space.sample(np.random.default_rng(1)), x, seed=3)  # doctest: +SKIP
{'naswot': ..., 'synflow': ..., 'grad_norm': ..., 'snip': ..., 'jacob_cov': ..., ...}
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf

from kerasnas.spaces.cost import count_flops, count_params

#: `jacob_cov`'s regulariser `k` of the eigenvalues, from Mellor et al. (2020).
JACOB_COV_K = 1e-5
#: Variable names holding normalisation statistics: reset to identity for synflow.
_MEAN_NAMES = ("moving_mean", "mean")
_VAR_NAMES = ("moving_variance", "variance")


# ---------------------------------------------------------------- checks
def _check(model, x, *, need_batch=2):
    if not isinstance(model, keras.Model):
        raise TypeError(f"A zero-cost proxy scores a keras.Model; got {type(model).__name__}.")
    if not model.built or not model.inputs:
        raise ValueError("The model must be a built functional model (e.g. from "
                         "space.build_architecture(arch)); build it on an input first.")
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"x must be a numeric array; got dtype {x.dtype}.")
    expected = tuple(model.inputs[0].shape[1:])
    if x.ndim != len(expected) + 1 or any(e is not None and e != s
                                         for e, s in zip(expected, x.shape[1:], strict=True)):
        raise ValueError(f"x must be a batch of shape (n, {', '.join(map(str, expected))}) to "
                         f"match the model's input; got {x.shape}.")
    if len(x) < need_batch:
        raise ValueError(f"x must hold at least {need_batch} examples (one minibatch, e.g. 64); "
                         f"got {len(x)}.")
    return x.astype(np.float32)


def _call(model, x, training):
    """`model(x)` with `x` wrapped as the model's inputs were declared (no structure warning)."""
    if isinstance(getattr(model, "_inputs_struct", None), (list, tuple)):
        x = [x]
    return model(x, training=training)


def _is_relu(layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        return (layer.max_value is None and float(layer.negative_slope) == 0.0
                and float(layer.threshold) == 0.0)
    return getattr(layer, "activation", None) is keras.activations.relu


def _relu_outputs(model):
    """Symbolic outputs of every ReLU (standalone or fused into a layer) of `model`'s graph."""
    outputs = []
    for depth in sorted(model._nodes_by_depth, reverse=True):  # inputs first
        for node in model._nodes_by_depth[depth]:
            if node.operation is not None and _is_relu(node.operation) and node.output_tensors:
                outputs.extend(node.output_tensors)
    return outputs


# ---------------------------------------------------------------- NASWOT
def relu_codes(model, x, *, training=False) -> np.ndarray:
    """The binary codes of NASWOT: `(n_examples, n_relu_units)` of 0/1 (float64).

    Unit `j` of example `i` is 1 when the ReLU's input is > 0, i.e. when its
    output is > 0 (the same for a ReLU).

    Raises:
        ValueError: If the model has no ReLU (NASWOT is then undefined).
    """
    x = _check(model, x)
    outputs = _relu_outputs(model)
    if not outputs:
        raise ValueError("naswot needs a model with ReLU activations (layers.ReLU, "
                         "Activation('relu') or activation='relu'); this one has none.")
    probe = keras.Model(model.inputs, outputs)
    values = _call(probe, x, training)
    values = values if isinstance(values, (list, tuple)) else [values]
    n = len(x)
    return np.concatenate([np.reshape(np.asarray(v) > 0, (n, -1)) for v in values],
                          axis=1).astype(np.float64)


def naswot(model, x, y=None, *, training=False) -> float:
    """NASWOT's `log|K_H|` (see the module docs), computed in float64.

    Args:
        model: A built, untrained Keras model with ReLUs.
        x: One minibatch of inputs, `(n, *input_shape)`; Mellor et al. use n = 128.
        y: Unused (NASWOT needs no labels).
        training: Run the model in training mode (default False, see module docs).

    Returns:
        `log|K_H|` as a float; `-inf` when `K_H` is singular (two examples
        with the same code, e.g. duplicated inputs).
    """
    c = relu_codes(model, x, training=training)
    k = c @ c.T + (1.0 - c) @ (1.0 - c).T
    sign, logdet = np.linalg.slogdet(k)
    return float(logdet) if sign > 0 else float("-inf")


# ---------------------------------------------------------------- gradients
def _kernels(model):
    """Trainable weights of rank >= 2: the conv / dense kernels the pruning proxies sum over."""
    return [v for v in model.trainable_variables if len(v.shape) >= 2]


def _loss_fn(model, y):
    loss = getattr(model, "loss", None)
    if loss is not None and not isinstance(loss, (list, dict)):
        fn = keras.losses.get(loss)
        if fn is not None:
            return fn
    out_dim = model.outputs[0].shape[-1]
    if y is not None and np.asarray(y).dtype.kind in "iub" and out_dim and out_dim > 1:
        return keras.losses.SparseCategoricalCrossentropy()
    return keras.losses.MeanSquaredError()


def _loss_gradients(model, x, y, training):
    x = _check(model, x)
    if y is None:
        raise ValueError("grad_norm and snip need labels: pass y, the minibatch's targets.")
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"x and y must hold the same number of examples; got {len(x)} and "
                         f"{len(y)}.")
    kernels = _kernels(model)
    if not kernels:
        raise ValueError("The model has no trainable kernels to score.")
    loss_fn = _loss_fn(model, y)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, _call(model, x, training))
    grads = tape.gradient(loss, kernels)
    return kernels, [np.zeros(v.shape) if g is None else np.asarray(g, dtype=np.float64)
                     for v, g in zip(kernels, grads, strict=True)]


def grad_norm(model, x, y=None, *, training=False) -> float:
    """`Σ_layers ‖∂L/∂W‖₂` over the kernels, for the loss of the batch `(x, y)`."""
    _, grads = _loss_gradients(model, x, y, training)
    return float(sum(np.sqrt(np.sum(g * g)) for g in grads))


def snip(model, x, y=None, *, training=False) -> float:
    """SNIP saliency `Σ |W ⊙ ∂L/∂W|` over the kernels, for the loss of the batch `(x, y)`."""
    kernels, grads = _loss_gradients(model, x, y, training)
    return float(sum(np.sum(np.abs(np.asarray(w, dtype=np.float64) * g))
                     for w, g in zip(kernels, grads, strict=True)))


@contextlib.contextmanager
def _logits(model):
    """Makes the last layer linear while in the block: proxies read logits, not softmax.

    The softmax outputs of a classifier sum to 1, so their sum (what synflow's R
    and jacob_cov's J differentiate) would be constant.
    """
    layer = model.layers[-1]
    old = getattr(layer, "activation", None)
    swap = old is not None and old is not keras.activations.linear
    if swap:
        layer.activation = keras.activations.linear
    try:
        yield
    finally:
        if swap:
            layer.activation = old


def synflow(model, x, y=None, *, training=False) -> float:
    """SynFlow `Σ θ · ∂R/∂θ` over the kernels, `R` from an all-ones input (see module docs).

    The model's weights are changed only while the score is computed and are
    restored afterwards (also when it fails).
    """
    x = _check(model, x, need_batch=1)
    saved = [np.array(v) for v in model.variables]
    try:
        for v in model.variables:
            name = v.path.split("/")[-1]
            if v.trainable:
                v.assign(np.abs(np.asarray(v)))
            elif name in _MEAN_NAMES:
                v.assign(np.zeros(v.shape, dtype=v.dtype))
            elif name in _VAR_NAMES:
                v.assign(np.ones(v.shape, dtype=v.dtype))
        kernels = _kernels(model)
        ones = np.ones((1,) + x.shape[1:], dtype=np.float32)
        with _logits(model), tf.GradientTape() as tape:
            r = tf.reduce_sum(_call(model, ones, training))
        grads = tape.gradient(r, kernels)
        return float(sum(np.sum(np.asarray(w, dtype=np.float64) * np.asarray(g, np.float64))
                         for w, g in zip(kernels, grads, strict=True) if g is not None))
    finally:
        for v, value in zip(model.variables, saved, strict=True):
            v.assign(value)


def jacob_cov(model, x, y=None, *, training=False) -> float:
    """`−Σ (log(λ + k) + 1/(λ + k))` over the eigenvalues of the input-Jacobian correlation.

    Returns NaN when an example's input gradient is constant (its correlation
    is undefined).
    """
    x = _check(model, x)
    xt = tf.constant(x)
    with _logits(model), tf.GradientTape() as tape:
        tape.watch(xt)
        out = _call(model, xt, training)
        total = tf.reduce_sum(out)
    jac = np.asarray(tape.gradient(total, xt), dtype=np.float64).reshape(len(x), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jac)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    eig = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(eig + JACOB_COV_K) + 1.0 / (eig + JACOB_COV_K)))


def params(model, x=None, y=None, *, training=False) -> float:
    """Parameter count (a cost, not a quality score; larger models often rank higher)."""
    return float(count_params(model))


def flops(model, x=None, y=None, *, training=False) -> float:
    """Multiply-accumulates of one example (`kerasnas.spaces.cost.count_flops`)."""
    return float(count_flops(model))


#: Every proxy by name, in the order `score_model` computes them by default.
PROXIES = {
    "naswot": naswot,
    "synflow": synflow,
    "grad_norm": grad_norm,
    "snip": snip,
    "jacob_cov": jacob_cov,
    "params": params,
    "flops": flops,
}
#: Proxies that need labels `y`.
NEEDS_LABELS = ("grad_norm", "snip")


def check_proxy_names(proxies, y):
    """`proxies` as a tuple; raises ValueError for unknown names or label proxies without `y`."""
    names = tuple(proxies)
    unknown = [p for p in names if p not in PROXIES]
    if unknown:
        raise ValueError(f"Unknown proxies {unknown}; choose from {sorted(PROXIES)}.")
    if y is None and any(p in NEEDS_LABELS for p in names):
        raise ValueError(f"Proxies {[p for p in names if p in NEEDS_LABELS]} need labels: pass y, "
                         "or leave them out of `proxies`.")
    return names


def score_model(model, x, y=None, proxies=None, *, training=False) -> dict[str, float]:
    """`{proxy name: score}` for one model and one batch (default: every proxy y allows)."""
    if proxies is None:
        proxies = [p for p in PROXIES if y is not None or p not in NEEDS_LABELS]
    names = check_proxy_names(proxies, y)
    return {name: PROXIES[name](model, x, y, training=training) for name in names}


def score_architecture(space, arch, x, y=None, proxies=None, *, seed=0,
                       training=False) -> dict[str, float]:
    """Builds `arch` in `space` with weights drawn from `seed` and scores it.

    Args:
        space: A kerasnas space (`NASHyperModel`).
        arch: An `Architecture` of the space (or its string).
        x, y: One minibatch (`y` for the label-based proxies).
        proxies: Proxy names (default: all that `y` allows).
        seed: Seed of the initial weights (default 0), so a score repeats.
        training: See the module docs (default False).

    Example:

    >>> score_architecture(space, arch, x[:64], y[:64], ["naswot", "snip"], seed=1)  # doctest: +SKIP
    {'naswot': 812.4, 'snip': 3.1}
    """
    names = check_proxy_names(proxies if proxies is not None else
                         [p for p in PROXIES if y is not None or p not in NEEDS_LABELS], y)
    keras.utils.set_random_seed(int(seed))
    model = space.build_architecture(space.architecture(arch))
    return score_model(model, x, y, names, training=training)
