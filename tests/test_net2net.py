"""Net2Net: function-preserving transforms, weight inheritance in the trial loop, the oracle."""

import json
import os

import keras_tuner
import numpy as np
import pytest

from kerasnas.net2net import inherit as weight_inheritance
from kerasnas.net2net.actions import (
    Action,
    ActionError,
    apply_action,
    classify,
    group_map,
    legal_actions,
    macro_reductions,
)
from kerasnas.net2net.transfer import TransferError, copy_matching_weights, transfer_weights
from kerasnas.net2net.transforms import deepen, transform, widen
from kerasnas.oracles import Net2NetSearch, RegularizedEvolution
from kerasnas.oracles.lineage import PARENT_HP
from kerasnas.spaces import DenseSpace, MacroSpace
from kerasnas.tuner.loop import NASTuner

TOL = 1e-5


def _macro(shape):
    return MacroSpace(shape, num_classes=3, widths=(4, 8, 16), max_layers=5, stem_channels=4)


def _dense(skip_activation="relu"):
    return DenseSpace((6,), num_classes=3, units=(4, 8, 16), max_layers=5,
                      activations=(skip_activation,), dropouts=(0.0, 0.25))


#: Parents covering every layer kind: conv, separable and dilated convs, pools with and
#: without their projection, skip concatenations (with pooled skips), BatchNorm, Dense,
#: residual Dense with and without projections.
MACRO_PARENTS = [
    "conv_3x3:4 > sep_conv_5x5:8 > dil_conv_3x3:4+0 > conv_5x5:8+0,1",
    # Four layers: every insertion would move a stride-2 layer or precede a pool.
    "max_pool_3x3:8 > sep_conv_3x3:4 > avg_pool_5x5:8+0 > dil_conv_5x5:4",
    "dil_conv_3x3:8 > conv_3x3:4 > conv_3x3:4",
]
DENSE_PARENTS = ["4-8-4 relu dropout=0.25", "4-16-8 relu dropout=0.0 skip", "8-4 relu dropout=0.0"]


def _randomise(model, rng):
    """Random weights and BatchNorm statistics, so 'equal outputs' is a real check."""
    for layer in model.layers:
        if layer.weights and not type(layer).__name__ == "Normalization":
            layer.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") ** 2 + 0.1
                               if "variance" in v.path or "gamma" in v.path
                               else rng.normal(0.0, 0.5, w.shape).astype("float32")
                               for w, v in zip(layer.get_weights(), layer.weights, strict=True)])


def _cases():
    for shape in ((16, 2), (8, 8, 2)):
        for text in MACRO_PARENTS:
            yield pytest.param(_macro, shape, text, id=f"{len(shape) - 1}d-{text[:22]}")
    for text in DENSE_PARENTS:
        yield pytest.param(_dense, None, text, id=f"tabular-{text}")


def _space(factory, shape):
    return factory(shape) if shape is not None else factory()


def _inputs(space, rng, n=6):
    return rng.normal(size=(n, *space.input_shape)).astype("float32")


@pytest.mark.parametrize("factory, shape, text", list(_cases()))
def test_every_legal_action_preserves_the_function(factory, shape, text):
    space = _space(factory, shape)
    rng = np.random.default_rng(0)
    parent = space.encoding.from_string(text)
    model = space.build_architecture(parent, compile=False)
    _randomise(model, rng)
    x = _inputs(space, rng)
    expected = np.asarray(model(x, training=False))
    actions = legal_actions(parent)
    assert {a.kind for a in actions} == ({"widen"} if "avg_pool_5x5" in text  # see below
                                         else {"widen", "deepen"})
    for action in actions:
        child, child_model, report = transform(space, model, parent, action, seed=1)
        assert space.encoding.from_string(str(child)) == child  # an ordinary architecture
        assert child.encoding == parent.encoding
        got = np.asarray(child_model(x, training=False))
        assert np.abs(got - expected).max() <= TOL, (str(parent), str(action))
        assert report.mode == "net2net" and report.inherited > 0
        if action.kind == "widen":
            assert report.widened and child_model.count_params() > model.count_params()
        else:
            assert child["num_layers"] == parent["num_layers"] + 1 and report.identity


def _roomy_macro(shape):
    return MacroSpace(shape, num_classes=3, widths=tuple(range(4, 26, 2)), max_layers=8,
                      stem_channels=4)


def _roomy_dense():
    return DenseSpace((6,), num_classes=3, units=(4, 6, 8, 10, 12), max_layers=8,
                      dropouts=(0.0, 0.25))


@pytest.mark.parametrize("factory, shape, start", [
    (_roomy_macro, (16, 2), "conv_3x3:4 > sep_conv_3x3:4"),
    (_roomy_macro, (8, 8, 2), "conv_3x3:4 > dil_conv_3x3:4 > conv_3x3:4+0"),
    (_roomy_dense, None, "4-4 relu dropout=0.25"),
], ids=["1d", "2d", "tabular"])
def test_a_chain_of_ten_random_transforms_preserves_the_function(factory, shape, start):
    space = _space(factory, shape)
    rng = np.random.default_rng(3)
    arch = space.encoding.from_string(start)
    model = space.build_architecture(arch, compile=False)
    _randomise(model, rng)
    x = _inputs(space, rng)
    expected = np.asarray(model(x, training=False))
    first = arch
    for step in range(10):
        actions = legal_actions(arch)
        assert actions, f"nothing to grow after {step} steps from {first}"
        action = actions[int(rng.integers(len(actions)))]
        arch, model, _ = transform(space, model, arch, action, seed=step, x_sample=x)
        assert space.encoding.from_string(str(arch)) == arch
    assert np.abs(np.asarray(model(x, training=False)) - expected).max() <= TOL
    assert arch != first


def test_transformed_model_is_the_model_the_child_architecture_builds():
    space = _macro((16, 2))
    parent = space.encoding.from_string(MACRO_PARENTS[0])
    model = space.build_architecture(parent, compile=False)
    for action in legal_actions(parent):
        child, child_model, _ = transform(space, model, parent, action)
        rebuilt = space.build_architecture(space.encoding.from_string(str(child)), compile=False)
        assert [type(layer).__name__ for layer in child_model.layers] == \
            [type(layer).__name__ for layer in rebuilt.layers]
        assert [w.shape for w in child_model.weights] == [w.shape for w in rebuilt.weights]


def test_widen_and_deepen_helpers_and_noise():
    space = _dense()
    rng = np.random.default_rng(0)
    parent = space.encoding.from_string("4-8 relu dropout=0.0")
    model = space.build_architecture(parent, compile=False)
    _randomise(model, rng)
    x = _inputs(space, rng)
    wide, wide_model, _ = widen(space, model, parent, layer=0)
    assert str(wide) == "8-8 relu dropout=0.0"
    deep, deep_model, _ = deepen(space, wide_model, wide, after=1)
    assert str(deep) == "8-8-8 relu dropout=0.0"
    assert np.abs(np.asarray(deep_model(x)) - np.asarray(model(x))).max() <= TOL
    _, noisy, _ = widen(space, model, parent, layer=0, noise=0.05, seed=0)
    change = np.abs(np.asarray(noisy(x)) - np.asarray(model(x))).max()
    assert 0 < change < 0.1


def test_deepen_with_a_sample_gives_batchnorm_the_real_statistics():
    space = _macro((16, 2))
    rng = np.random.default_rng(0)
    parent = space.encoding.from_string("conv_3x3:4 > conv_3x3:8 > conv_3x3:8")
    model = space.build_architecture(parent, compile=False)
    _randomise(model, rng)
    x = _inputs(space, rng, n=64)
    _, child, report = deepen(space, model, parent, after=2, x_sample=x)
    new_bn = [layer for layer in child.layers if layer.name in report.identity
              and "batch_norm" in layer.name]
    assert len(new_bn) == 1
    assert np.abs(np.asarray(new_bn[0].moving_mean)).max() > 1e-3  # not the 0/1 defaults
    # In training mode (batch statistics) the inserted layer is still about the identity.
    diff = np.abs(np.asarray(child(x, training=True)) - np.asarray(model(x, training=True)))
    assert diff.max() < 1e-3


def test_illegal_moves_are_refused_with_the_reason():
    enc = _macro((16, 2)).encoding
    arch = enc.from_string("conv_3x3:16 > avg_pool_3x3:16")
    assert Action("widen", 0) not in legal_actions(arch)  # already widest
    with pytest.raises(ActionError, match="not a function-preserving move"):
        apply_action(arch, "widen:0")
    # Before a pool (no leading ReLU) an identity layer would change the function.
    assert Action("deepen", 0) not in legal_actions(arch)
    with pytest.raises(ActionError, match="expected e.g. 'widen:2'"):
        Action.parse("grow")
    with pytest.raises(ActionError, match="MacroSpace and DenseSpace"):
        from kerasnas.spaces.encodings import NB201Encoding

        legal_actions(NB201Encoding().default())
    dense = _dense("tanh").encoding.from_string("4-8 tanh dropout=0.0")
    assert [a.kind for a in legal_actions(dense)] == ["widen", "widen"]  # tanh: no identity


def test_macro_reductions_follow_the_space():
    space = MacroSpace((16, 2), num_classes=3, reduction_layers=3)
    for n in range(1, 9):
        assert macro_reductions(n, 3) == space.reductions(n)


def test_group_map_and_classify():
    enc = _macro((16, 2)).encoding
    parent = enc.from_string("conv_3x3:4 > conv_3x3:8 > conv_3x3:8+0 > conv_3x3:16+1")
    child = apply_action(parent, "deepen:1")
    assert str(child) == \
        "conv_3x3:4 > conv_3x3:8 > conv_3x3:8 > conv_3x3:8+0 > conv_3x3:16+1"
    assert group_map(parent, "deepen:1") == {"layer2": None, "layer3": "layer2",
                                             "layer4": "layer3"}
    assert classify(parent, child) == Action("deepen", 1)
    other = enc.from_string("sep_conv_3x3:4 > conv_3x3:8 > conv_3x3:8+0 > conv_3x3:16+1")
    assert classify(parent, other) is None


def test_narrowing_is_not_net2net_but_matching_layers_are_copied():
    space = _dense()
    parent = space.encoding.from_string("8-8-8 relu dropout=0.0")
    child = space.encoding.from_string("8-4-8 relu dropout=0.0")
    p_model = space.build_architecture(parent, compile=False)
    c_model = space.build_architecture(child, compile=False)
    with pytest.raises(TransferError, match="narrows"):
        transfer_weights(p_model, c_model)
    report = copy_matching_weights(p_model, c_model)
    assert report.mode == "partial" and len(report.copied) == 2 and len(report.fresh) == 2
    np.testing.assert_array_equal(c_model.layers[1].get_weights()[0],
                                  p_model.layers[1].get_weights()[0])


# ----------------------------------------------------------------- the trial loop

def _tabular(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x[:80], y[:80], x[80:], y[80:]


def _tuner(tmp_path, oracle, space, overwrite=True, **kwargs):
    return NASTuner(oracle, space, epochs=1, directory=str(tmp_path), project_name="n2n",
                    overwrite=overwrite, verbose=0, **kwargs)


def test_net2net_search_grows_children_from_their_parents_weights(tmp_path):
    """Lineage, exact inheritance, and scratch when the parent checkpoint is gone."""
    space = _dense()
    xt, yt, xv, yv = _tabular()
    oracle = Net2NetSearch(objective="val_accuracy", max_trials=4, seed=1, space=space)
    tuner = _tuner(tmp_path, oracle, space)
    tuner.search(xt, yt, validation_data=(xv, yv))
    trials = [oracle.trials[t] for t in oracle.start_order]
    assert str(space.encoding.from_hp_values(trials[0].hyperparameters.values)) == \
        "4 relu dropout=0.0"  # the seed: the smallest network
    children = trials[1:]
    assert children and all(t.hyperparameters.values.get(PARENT_HP) for t in children)
    for trial in children:
        record = weight_inheritance.read_record(tuner, trial.trial_id)
        assert record["mode"] == "net2net" and record["action"]
        assert trial.metrics.get_last_value("inherited_exact") == 1.0
        parent = oracle.trials[trial.hyperparameters.values[PARENT_HP]]
        p_arch = space.encoding.from_hp_values(parent.hyperparameters.values)
        c_arch = space.encoding.from_hp_values(trial.hyperparameters.values)
        assert str(apply_action(p_arch, record["action"])) == str(c_arch)
    # A child really starts from its parent's weights: rebuilt now, it computes the
    # parent checkpoint's function (up to the symmetry noise); fresh weights do not.
    child = children[-1]
    parent = oracle.trials[child.hyperparameters.values[PARENT_HP]]
    parent_model = space.build_architecture(
        space.encoding.from_hp_values(parent.hyperparameters.values))
    parent_model.load_weights(tuner.checkpoint_path(parent.trial_id))
    fresh = tuner.hypermodel.build(child.hyperparameters.copy())
    before = np.abs(np.asarray(fresh(xv)) - np.asarray(parent_model(xv))).max()
    weight_inheritance.inherit(tuner, child, fresh, xt)
    after = np.abs(np.asarray(fresh(xv)) - np.asarray(parent_model(xv))).max()
    assert after < 1e-2 < before

    # A missing parent checkpoint means training from scratch, said in the record.
    os.remove(tuner.checkpoint_path(parent.trial_id))
    model = tuner.hypermodel.build(child.hyperparameters.copy())
    start = [w.copy() for w in model.get_weights()]
    metrics = weight_inheritance.inherit(tuner, child, model, xt)
    assert metrics == {"inherited_layers": 0.0, "inherited_exact": 0.0}
    record = weight_inheritance.read_record(tuner, child.trial_id)
    assert record["mode"] == "scratch" and "checkpoint" in record["reason"]
    assert all(np.array_equal(a, b) for a, b in zip(start, model.get_weights(), strict=True))


def test_resume_keeps_the_lineage(tmp_path):
    space = _dense()
    xt, yt, xv, yv = _tabular()
    first = Net2NetSearch(objective="val_accuracy", max_trials=2, seed=4, space=space)
    _tuner(tmp_path, first, space).search(xt, yt, validation_data=(xv, yv))
    lineage = {t: first.trials[t].hyperparameters.values.get(PARENT_HP) for t in first.trials}
    second = Net2NetSearch(objective="val_accuracy", max_trials=4, seed=4, space=space)
    tuner = _tuner(tmp_path, second, space, overwrite=False)
    assert second._trial_of == first._trial_of
    tuner.search(xt, yt, validation_data=(xv, yv))
    assert len(second.trials) == 4
    for tid, parent in lineage.items():
        assert second.trials[tid].hyperparameters.values.get(PARENT_HP) == parent
    new = [t for t in second.trials if t not in lineage]
    assert all(second.trials[t].hyperparameters.values.get(PARENT_HP) in second.trials
               for t in new)


def test_net2net_oracle_drives_a_plain_keras_tuner(tmp_path):
    space = _dense()
    xt, yt, xv, yv = _tabular()
    oracle = Net2NetSearch(objective="val_accuracy", max_trials=3, seed=2, space=space,
                           policy="evolution")
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory=str(tmp_path),
                              project_name="plain")
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=1, verbose=0)
    archs = [space.encoding.from_hp_values(oracle.trials[t].hyperparameters.values)
             for t in oracle.start_order]
    assert len(archs) == 3
    for arch in archs[1:]:  # each is one Net2Net move from an earlier one
        assert any(classify(a, arch) is not None for a in archs)


def test_evolution_children_inherit_matching_layers(tmp_path):
    space = _dense()
    xt, yt, xv, yv = _tabular()
    oracle = RegularizedEvolution(objective="val_accuracy", max_trials=3, seed=0,
                                  population_size=2, sample_size=1)
    tuner = _tuner(tmp_path, oracle, space, inherit_weights=True)
    tuner.search(xt, yt, validation_data=(xv, yv))
    records = [weight_inheritance.read_record(tuner, t) for t in oracle.start_order[2:]]
    assert records and all(r is not None and r["mode"] in ("net2net", "partial")
                           for r in records)
    assert all(r["inherited"] >= 1 for r in records)  # at least the head or one layer
    with pytest.raises(ValueError, match="inherit_weights must be"):
        _tuner(tmp_path, oracle, space, inherit_weights="yes")


@pytest.mark.parametrize("factory", [_macro, _roomy_macro])
def test_the_seed_network_can_grow_to_the_deepest_one(factory):
    enc = factory((16, 2)).encoding
    arch = Net2NetSearch(objective="val_accuracy", space=enc, seed=0).seed_network()
    assert arch["num_layers"] < enc.max_layers
    while arch["num_layers"] < enc.max_layers:
        deeper = [a for a in legal_actions(arch) if a.kind == "deepen"]
        assert deeper, f"{arch} cannot grow deeper"
        arch = apply_action(arch, deeper[-1])


def test_reinforce_policy_prefers_actions_that_improved():
    enc = _dense().encoding
    oracle = Net2NetSearch(objective="val_accuracy", space=enc, seed=0, learning_rate=5.0)
    seed = oracle.propose()
    oracle._fitness[str(seed)] = 0.5
    oracle._trial_of[str(seed)] = "0"
    for _ in range(30):
        child = oracle.propose()
        kind = oracle._inflight[str(child)]["action"].split(":")[0]
        oracle.observe(child, 0.9 if kind == "deepen" else 0.1)
    deepen_logits = oracle.logits[1, 0]
    widen_logits = oracle.logits[0, 0]
    assert deepen_logits > widen_logits
    state = json.loads(json.dumps(oracle.get_algorithm_state()))
    again = Net2NetSearch(objective="val_accuracy", space=enc, seed=0)
    again.set_algorithm_state(state)
    np.testing.assert_allclose(again.logits, oracle.logits)


@pytest.mark.slow
def test_one_liner_runs_net2net_on_a_macro_space(digits, tmp_path):
    import kerasnas

    result = kerasnas.search(digits.x_train, digits.y_train, strategy="net2net", max_trials=3,
                             epochs=1, directory=str(tmp_path / "run"), seed=1, verbose=0,
                             min_steps=0, cv_folds=None)
    archs = [r.architecture for r in result.history]
    assert archs[0] == "conv_3x3:16 > conv_3x3:16 > conv_3x3:16"  # smallest that can deepen
    assert len(archs) == 3
