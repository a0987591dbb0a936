"""DARTS (kerasnas.darts): derive, the bilevel train step, second order, end-to-end search.

Steps run eagerly (`model.train_step(batch)`) on tiny supernets: on 2 CPU cores
that is faster than tracing the step, and it lets a test restore every variable
and replay one step with another batch.
"""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from kerasnas import darts  # noqa: E402
from kerasnas.darts.derive import derive  # noqa: E402
from kerasnas.darts.model import DartsModel  # noqa: E402
from kerasnas.darts.supernet import build_supernet, supernet_ops  # noqa: E402
from kerasnas.spaces import CellSpace, NB201Space  # noqa: E402
from kerasnas.spaces.encodings import CellEncoding, NB201Encoding  # noqa: E402

SMALL_OPS = ("none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3")


def tiny_nb201(shape=(8, 8, 1), ops=SMALL_OPS, num_classes=10):
    return NB201Space(shape, num_classes, channels=2, cells_per_stage=1, ops=ops)


def batch(x, y, start, size=16):
    return tf.constant(x[start:start + size]), tf.constant(y[start:start + size])


def snapshot(model):
    variables = model.variables + model.optimizer.variables + model.alpha_optimizer.variables
    return variables, [np.array(v.numpy()) for v in variables]


def restore(saved):
    for v, value in zip(*saved, strict=True):
        v.assign(value)


def values(variables):
    return [np.array(v.numpy()) for v in variables]


def same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


def make_model(space, order=1, seed=1, alpha_lr=None, w_lr=None):
    keras.utils.set_random_seed(seed)
    alpha_opt = None if alpha_lr is None else keras.optimizers.Adam(alpha_lr, beta_1=0.5)
    model = DartsModel(build_supernet(space), order=order, alpha_optimizer=alpha_opt, seed=seed)
    if w_lr is None:
        model.compile_search(steps=50)
    else:
        model.compile(optimizer=keras.optimizers.SGD(w_lr, momentum=0.9))
    return model


# ------------------------------------------------------------------ derive
def test_derive_nb201_hand_set_alpha_takes_argmax_per_edge_none_allowed():
    enc = NB201Encoding()
    alpha = np.zeros((6, 5))
    for e in range(6):
        alpha[e, e % 5] = 2.0          # edge e prefers op e % 5; edge 0 and 5 prefer `none`
    arch = derive(enc, {"cell": alpha}, enc.ops)
    assert str(arch) == ("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|"
                         "avg_pool_3x3~1|none~2|")


def test_derive_cell_keeps_two_strongest_non_none_edges_and_their_best_op():
    enc = CellEncoding(num_blocks=2)
    ops = supernet_ops(enc.ops)        # none + the 7 DARTS ops
    col = {op: k for k, op in enumerate(ops)}
    normal = np.zeros((5, len(ops)))   # rows: b0 <- 0, 1; b1 <- 0, 1, 2
    normal[0, col["sep_conv_3x3"]] = 1.0
    normal[1, col["dil_conv_5x5"]] = 2.0
    normal[1, col["none"]] = 9.0       # `none` never counts, however strong
    normal[2, col["max_pool_3x3"]] = 3.0
    normal[3, col["none"]] = 20.0      # input 1 of block 1: only `none` is strong -> dropped
    normal[4, col["skip_connect"]] = 2.5
    reduce = np.zeros((5, len(ops)))
    reduce[:, col["avg_pool_3x3"]] = 1.0
    arch = derive(enc, {"normal": normal, "reduce": reduce}, ops)
    assert arch["normal_b0_in1"] == 0 and arch["normal_b0_op1"] == "sep_conv_3x3"
    assert arch["normal_b0_in2"] == 1 and arch["normal_b0_op2"] == "dil_conv_5x5"
    assert (arch["normal_b1_in1"], arch["normal_b1_op1"]) == (0, "max_pool_3x3")
    assert (arch["normal_b1_in2"], arch["normal_b1_op2"]) == (2, "skip_connect")
    assert arch["normal_b0_comb"] == "add"
    assert {arch["reduce_b1_op1"], arch["reduce_b1_op2"]} == {"avg_pool_3x3"}
    assert "none" not in str(arch)
    assert darts.count_op(arch, "skip_connect", "normal") == 1


# ------------------------------------------------------- the bilevel step
def test_finite_difference_hvp_matches_nested_tapes(digits):
    """On a softplus supernet: with ReLU the gradient is piecewise constant at the scale of ε
    (measured: it jumps by ~30 % within ±1e-3 along v), so neither side is a derivative there."""
    keras.utils.set_random_seed(1)
    net = build_supernet(tiny_nb201())
    for layer in net.network.layers:
        if isinstance(layer, keras.layers.Activation):
            layer.activation = keras.activations.softplus
    keras.utils.set_random_seed(1)
    model = DartsModel(net, order=2, seed=1)
    model.compile_search(steps=50)
    xt, yt = batch(digits.x_train, digits.y_train, 0)
    xv, yv = batch(digits.x_val, digits.y_val, 0)
    with tf.GradientTape() as tape:
        val_loss = model.loss_on(xv, yv)
    v = tape.gradient(val_loss, model.w)                       # ∇w L_val, as in the algorithm
    w_before = values(model.w)
    approx = model.finite_difference_hvp(xt, yt, v)
    assert same(values(model.w), w_before)                    # weights restored
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = model.loss_on(xt, yt)
        grads = inner.gradient(loss, model.w)
        dot = tf.add_n([tf.reduce_sum(g * u) for g, u in zip(grads, v, strict=True)])
    exact = outer.gradient(dot, model.alphas)
    a = np.concatenate([np.ravel(t) for t in approx])
    e = np.concatenate([np.ravel(t) for t in exact])
    cosine = a @ e / (np.linalg.norm(a) * np.linalg.norm(e))
    assert np.linalg.norm(e) > 0
    assert cosine >= 0.99, cosine


def test_alpha_learns_from_validation_batch_and_w_from_training_batch(digits):
    model = make_model(tiny_nb201())
    x, y = digits.x_train, digits.y_train
    train_a, train_b = batch(x, y, 0), batch(x, y, 16)
    val_a, val_b = batch(x, y, 32), batch(x, y, 48)
    saved = snapshot(model)

    def step(train, val):
        restore(saved)
        model.train_step((train, val))
        return values(model.alphas), values(model.w), values(model.bn_moving)

    alpha, w, moving = step(train_a, val_a)
    alpha_t, w_t, _ = step(train_b, val_a)     # other training batch
    alpha_v, _, _ = step(train_a, val_b)       # other validation batch
    assert same(alpha, alpha_t)                # α does not see the training batch (first order)
    assert not same(alpha, alpha_v)            # ... but moves with the validation batch
    assert not same(w, w_t)
    # With α frozen, w and BatchNorm's statistics depend on the training batch only.
    restore(saved)
    model.alpha_optimizer.learning_rate.assign(0.0)
    saved = snapshot(model)                    # the snapshot holds the learning rate too
    _, w, moving = step(train_a, val_a)
    _, w_v, moving_v = step(train_a, val_b)
    assert same(w, w_v) and same(moving, moving_v)


def test_each_optimizer_touches_only_its_own_variables(digits):
    model = make_model(tiny_nb201(), alpha_lr=0.01, w_lr=0.0)
    data = (batch(digits.x_train, digits.y_train, 0), batch(digits.x_val, digits.y_val, 0))
    alpha0, w0 = values(model.alphas), values(model.w)
    model.train_step(data)
    assert same(values(model.w), w0)           # w lr 0: the α optimizer left w alone
    assert not same(values(model.alphas), alpha0)
    model = make_model(tiny_nb201(), alpha_lr=0.0, w_lr=0.05)
    alpha0, w0 = values(model.alphas), values(model.w)
    model.train_step(data)
    assert same(values(model.alphas), alpha0)  # α lr 0: the w optimizer left α alone
    assert not same(values(model.w), w0)
    alpha_ids = {id(a) for a in model.alphas}
    assert alpha_ids.isdisjoint(id(v) for v in model.w)


def test_second_order_differs_from_first_order_and_restores_w(digits):
    model = make_model(tiny_nb201(), order=1)
    data = (batch(digits.x_train, digits.y_train, 0), batch(digits.x_val, digits.y_val, 0))
    start = snapshot(model)
    model.train_step(data)
    first = values(model.alphas)
    restore(start)
    model.order = 2
    w0 = values(model.w)
    model.second_order_alpha_gradient(*data[0], *data[1])
    assert same(values(model.w), w0)           # w' and w± were undone
    restore(start)
    model.train_step(data)
    second = values(model.alphas)
    assert all(np.isfinite(a).all() for a in second)
    assert max(np.abs(a - b).max() for a, b in zip(first, second, strict=True)) > 1e-7


def test_bad_arguments_fail_before_training(digits):
    space = tiny_nb201()
    with pytest.raises(ValueError, match="order must be 1"):
        darts.search(space, digits.x_train, digits.y_train, order=3)
    with pytest.raises(ValueError, match="do not match the space's input_shape"):
        darts.search(space, digits.x_train.reshape(-1, 64), digits.y_train)
    with pytest.raises(ValueError, match="integer labels"):
        darts.search(space, digits.x_train, digits.y_train + 5)
    with pytest.raises(TypeError, match="CellSpace or an NB201Space"):
        build_supernet(object())


# --------------------------------------------------------------- end to end
@pytest.mark.slow
def test_search_cellspace_2d_derives_an_architecture_that_builds_trains_saves(digits, tmp_path):
    space = CellSpace((8, 8, 1), 10, channels=2, num_cells=3, num_blocks=2,
                      ops=("sep_conv_3x3", "max_pool_3x3", "skip_connect"))
    result = darts.search(space, digits.x_train[:128], digits.y_train[:128], epochs=2,
                          batch_size=32, order=2, seed=0, run_eagerly=True)
    assert result.architecture.encoding == space.encoding
    assert len(result.alpha_trajectory) == 2
    rows = np.array(result.alpha_trajectory[-1]["normal"])
    assert rows.shape == (5, 4) and np.allclose(rows.sum(axis=1), 1.0, atol=1e-4)
    assert all(np.isfinite(v).all() for v in result.history.values())
    model = space.build_architecture(result.architecture)
    model.fit(digits.x_train[:64], digits.y_train[:64], epochs=1, verbose=0)
    path = tmp_path / "derived.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(digits.x_val[:4], verbose=0),
                               model.predict(digits.x_val[:4], verbose=0), atol=1e-5)


@pytest.mark.slow
def test_search_nb201_1d_traced_step_derives_an_architecture_that_builds():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 96)
    t = np.arange(16)
    x = np.sin(t[None] * (0.3 + 0.9 * y[:, None]))[..., None] + 0.3 * rng.normal(size=(96, 16, 1))
    space = tiny_nb201(shape=(16, 1), num_classes=2)
    result = darts.search(space, x, y, epochs=1, batch_size=32, seed=0)     # traced train_step
    assert all(np.isfinite(v).all() for v in result.history.values())
    model = space.build_architecture(result.architecture)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.output_shape == (None, 2)
