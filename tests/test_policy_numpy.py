"""The NumPy controller network: gradients against finite differences, Adam, state, no TensorFlow."""

import json
import subprocess
import sys

import numpy as np
import pytest

import kerasnas.oracles.policy
from kerasnas.oracles.policy import ControllerNetwork

POLICY = kerasnas.oracles.policy.__file__

COUNTS = [5, 3, 4, 2]


def _net(tanh_constant, **kwargs):
    return ControllerNetwork(COUNTS, units=6, embedding_dim=5, temperature=1.3,
                             tanh_constant=tanh_constant, seed=2, dtype="float64", **kwargs)


def _batch(seed=0, n=5):
    rng = np.random.default_rng(seed)
    tokens = np.stack([rng.integers(0, k, n) for k in COUNTS], axis=1)
    mask = (rng.random((n, len(COUNTS))) > 0.25).astype("float64")
    return tokens, mask, rng.normal(size=n)


def _check_against_finite_differences(net, loss_and_grads, eps=1e-6):
    grads = net.split(loss_and_grads()[1])
    rng = np.random.default_rng(1)
    for w, g in zip(net.variables, grads, strict=True):
        # Every weight of the small LSTM/head, and the embedding rows the batch uses.
        flat = [int(i) for i in rng.choice(w.size, min(w.size, 40), replace=False)]
        if w is net.embedding:
            flat = [i for i in range(w.size) if g.flat[i] != 0][:40] + flat[:5]
        for i in flat:
            saved = w.flat[i]
            w.flat[i] = saved + eps
            up = loss_and_grads()[0]
            w.flat[i] = saved - eps
            down = loss_and_grads()[0]
            w.flat[i] = saved
            assert abs((up - down) / (2 * eps) - g.flat[i]) < 1e-6 + 1e-4 * abs(g.flat[i]), \
                (w.shape, i)


@pytest.mark.parametrize("tanh_constant", [None, 2.5], ids=["plain", "tanh"])
def test_reinforce_gradients_match_finite_differences(tanh_constant):
    net = _net(tanh_constant)
    tokens, mask, advantages = _batch()
    _check_against_finite_differences(
        net, lambda: net.reinforce_gradients(tokens, mask, advantages, 0.05))


@pytest.mark.parametrize("tanh_constant", [None, 2.5], ids=["plain", "tanh"])
def test_ppo_gradients_match_finite_differences_clipped_or_not(tanh_constant):
    net = _net(tanh_constant)
    tokens, mask, advantages = _batch(3, n=8)
    log_prob, _ = net.log_prob(tokens, mask)
    # Old log-probabilities spread so that some ratios fall outside [0.8, 1.2] and get clipped.
    old = log_prob + np.array([0.0, 0.5, -0.5, 0.05, -0.05, 0.6, -0.7, 0.1])
    ratio = np.exp(log_prob - old)
    assert np.any(np.abs(ratio - 1) > 0.2) and np.any(np.abs(ratio - 1) < 0.2)
    _check_against_finite_differences(
        net, lambda: net.ppo_gradients(tokens, mask, advantages, old, 0.2, 0.05))


def test_masked_decision_takes_no_gradient_through_its_own_choice():
    net = _net(None)
    tokens, mask, advantages = _batch()
    mask[:, -1] = 0.0  # the last decision conditions nothing after it
    grads = net.split(net.reinforce_gradients(tokens, mask, advantages, 0.0)[1])
    head = grads[WEIGHTS.index("head_kernel")]
    assert np.all(head[:, -COUNTS[-1]:] == 0) and np.any(head[:, :-COUNTS[-1]] != 0)


WEIGHTS = ("embedding", "kernel", "recurrent_kernel", "bias", "head_kernel", "head_bias")


def test_adam_steps_lower_the_loss_and_the_state_round_trips_bit_exact():
    net = ControllerNetwork(COUNTS, seed=4, learning_rate=0.05)
    tokens, mask, advantages = _batch(5)
    losses = [net.reinforce_step(tokens, mask, advantages, 0.0) for _ in range(5)]
    assert losses[-1] < losses[0]
    state = json.loads(json.dumps(net.get_state()))
    copy = ControllerNetwork(COUNTS, seed=9, learning_rate=0.05)
    copy.set_state(state)
    # Same weights and Adam moments: the next steps agree to the bit.
    assert net.reinforce_step(tokens, mask, advantages, 0.0) == \
        copy.reinforce_step(tokens, mask, advantages, 0.0)
    for a, b in zip(net.variables + net.optimizer_variables,
                    copy.variables + copy.optimizer_variables, strict=True):
        np.testing.assert_array_equal(a, b)


def test_float32_state_loads_into_a_float64_network_and_bad_states_are_refused():
    net = ControllerNetwork(COUNTS, seed=4)  # float32, the TensorFlow version's format
    wide = _net(None)
    other = ControllerNetwork(COUNTS, units=6, embedding_dim=5, seed=0)
    wide.set_state(other.get_state())
    np.testing.assert_array_equal(wide.kernel, other.kernel.astype("float64"))
    with pytest.raises(ValueError, match="expected .* network size changed"):
        wide.set_state(net.get_state())


def test_sampling_follows_the_uniforms_and_needs_no_tensorflow():
    # Loaded by path: `kerasnas.oracles` itself imports Keras Tuner, which imports TensorFlow.
    code = ("import importlib.util, sys, numpy as np\n"
            f"spec = importlib.util.spec_from_file_location('policy', {str(POLICY)!r})\n"
            "policy = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(policy)\n"
            "ControllerNetwork = policy.ControllerNetwork\n"
            "net = ControllerNetwork([5, 5, 3], seed=0)\n"
            "u = np.random.default_rng(0).random((64, 3))\n"
            "t = net.sample(u)\n"
            "net.ppo_step(t, np.ones(t.shape), np.ones(64), net.log_prob(t, np.ones(t.shape))[0],"
            " 0.2, 0.01)\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "print((np.diff(t[np.argsort(u[:, 0]), 0]) >= 0).all())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"  # inverse CDF: larger uniforms, larger first tokens


def test_a_grown_network_keeps_the_policy_of_the_shared_decisions():
    from kerasnas.oracles.controller import grow_network

    old = ControllerNetwork([5, 3], seed=1)
    old.reinforce_step(np.array([[1, 2]]), np.ones((1, 2)), np.ones(1), 0.0)
    grown = grow_network(old, ControllerNetwork([5, 3, 4], seed=2))
    before, _ = old.log_prob(np.array([[1, 2], [4, 0]]), np.ones((2, 2)))
    after, _ = grown.log_prob(np.array([[1, 2, 3], [4, 0, 1]]), np.array([[1, 1, 0]] * 2))
    np.testing.assert_array_equal(before, after)


def test_ppo_update_equals_log_prob_then_ppo_steps():
    tokens, mask, advantages = _batch(7, n=8)
    first, second = _net(2.5), _net(2.5)
    old, _ = first.log_prob(tokens, mask)
    for _ in range(3):
        first.ppo_step(tokens, mask, advantages, old, 0.2, 0.01)
    second.ppo_update(tokens, mask, advantages, 0.2, 0.01, epochs=3)
    np.testing.assert_array_equal(first.kernel, second.kernel)
