"""ReinforceController: real Keras Tuner searches, policy learning, exact resume."""

import json

import keras_tuner
import numpy as np
import pytest

from kerasnas.bench.nb201 import NB201LookupTuner, trial_results
from kerasnas.oracles import ReinforceController
from kerasnas.spaces import DenseSpace
from kerasnas.spaces.encodings import NB201_OPS, NB201Encoding

ENC = NB201Encoding()
CONV = NB201_OPS.index("nor_conv_3x3")


def _oracle(**kwargs):
    kwargs.setdefault("seed", 0)
    kwargs.setdefault("space", ENC)
    return ReinforceController(objective="accuracy", **kwargs)


def _conv_count(arch):
    """Synthetic reward: how many of the six edges are `nor_conv_3x3`."""
    return float(sum(v == "nor_conv_3x3" for v in arch.values))


def _drive(oracle, rounds, reward=_conv_count):
    proposals = []
    for _ in range(rounds):
        arch = oracle.propose()
        oracle.observe(arch, reward(arch))
        proposals.append(str(arch))
    return proposals


def _conv_probabilities(oracle):
    """P(nor_conv_3x3) of every decision along the all-conv sequence."""
    return np.array([p[CONV] for p in oracle.network.probabilities([CONV] * 6)])



def test_search_with_keras_tuner_over_a_kerasnas_space_on_digits(digits, tmp_path):
    import keras

    # The rewards come from training: seeded here, they do not depend on which tests ran
    # before in this worker (three equal rewards would leave no advantage to update on).
    keras.utils.set_random_seed(0)
    x_train = digits.x_train.reshape(len(digits.x_train), -1)
    x_val = digits.x_val.reshape(len(digits.x_val), -1)
    space = DenseSpace((64,), num_classes=10, max_layers=2, units=(8, 16))
    oracle = ReinforceController(objective="val_accuracy", max_trials=3, seed=1)
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory=tmp_path,
                              project_name="reinforce")
    tuner.search(x_train, digits.y_train, validation_data=(x_val, digits.y_val), epochs=1,
                 batch_size=64, verbose=0)

    trials = list(oracle.trials.values())
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials)
    for trial in trials:
        assert all(type(v) in (int, float, str, bool) for v in trial.hyperparameters.values.values())
        space.encoding.from_hp_values(trial.hyperparameters.values)  # a valid architecture
    assert oracle.updates >= 1  # the policy trained on the results
    model = tuner.get_best_models(1)[0]
    assert model.predict(x_val[:4], verbose=0).shape == (4, 10)


@pytest.mark.parametrize("ppo", [False, True], ids=["reinforce", "ppo"])
def test_policy_learns_to_prefer_the_rewarded_token(ppo):
    oracle = _oracle(ppo=ppo, seed=3)
    before = _conv_probabilities(oracle)
    proposals = _drive(oracle, 80)
    after = _conv_probabilities(oracle)
    # Uniform-ish at the start; a wrong gradient sign would push these down instead.
    assert np.all(np.abs(before - 0.2) < 0.1)
    assert after.mean() > 0.6 and np.sum(after > before + 0.3) >= 4
    late = [_conv_count(ENC.from_string(p)) for p in proposals[-20:]]
    early = [_conv_count(ENC.from_string(p)) for p in proposals[:20]]
    assert np.mean(late) > np.mean(early) + 1.5


def test_inactive_decisions_are_masked_out_of_the_log_probability():
    from kerasnas.spaces.encodings import DenseEncoding

    enc = DenseEncoding(max_layers=2, units=(8, 16))
    oracle = ReinforceController(objective="accuracy", space=enc, seed=2)
    tokens, mask = oracle._tokens_and_mask(enc.from_string("16 relu dropout=0.0"))
    assert mask == [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]  # one layer: units1 did not matter
    # A masked decision's own choice adds nothing (here the last one, which conditions no other).
    net = _oracle().network
    mask = np.array([[1, 1, 1, 1, 1, 0]] * 2, "float32")
    log_prob, _ = net.log_prob(np.array([[3] * 6, [3] * 5 + [0]]), mask)
    assert log_prob[0] == log_prob[1]
    full, _ = net.log_prob(np.array([[3] * 6, [3] * 5 + [0]]), np.ones_like(mask))
    assert full[0] != full[1]


@pytest.mark.parametrize("ppo", [False, True], ids=["reinforce", "ppo"])
def test_state_round_trip_continues_the_same_policy(ppo):
    original = _oracle(ppo=ppo, seed=5)
    _drive(original, 13)  # mid-batch for PPO, mid-queue for the sampler
    state = json.loads(json.dumps(original.get_state()))
    assert state["kerasnas"]["algorithm"]["baseline"] is not None
    restored = _oracle(ppo=ppo, seed=99)
    restored.set_state(state)
    assert restored.updates == original.updates
    # Same proposals, and (optimizer state included) the same updates after them.
    assert _drive(restored, 25) == _drive(original, 25)
    np.testing.assert_array_equal(restored.network.variables[0],
                                  original.network.variables[0])


def test_same_seed_same_search_different_seed_different_search():
    first = _drive(_oracle(seed=4), 10)
    assert _drive(_oracle(seed=4), 10) == first
    assert _drive(_oracle(seed=6), 10) != first


def test_resumed_keras_tuner_search_repeats_the_uninterrupted_one(nb201_table, tmp_path):
    table = nb201_table

    def search(max_trials, directory, overwrite):
        oracle = ReinforceController(objective="accuracy", max_trials=max_trials, seed=7)
        tuner = NB201LookupTuner(oracle, table, directory=directory, project_name="nb201",
                                 overwrite=overwrite)
        tuner.search(verbose=0)
        return [arch for arch, _ in trial_results(tuner.oracle, table)]

    straight = search(12, tmp_path / "straight", True)
    search(5, tmp_path / "resumed", True)
    assert search(12, tmp_path / "resumed", False) == straight
    assert len(set(straight)) == 12


def test_bad_arguments_fail_early():
    with pytest.raises(ValueError, match="reward must be one of"):
        _oracle(reward="accuracy")
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        _oracle(learning_rate=0)
    with pytest.raises(ValueError, match="baseline_decay must be in"):
        _oracle(baseline_decay=1.0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        _oracle(ppo=True, batch_size=0)
    with pytest.raises(ValueError, match="entropy_weight must be >= 0"):
        _oracle(entropy_weight=-1)


def test_restoring_state_of_another_space_names_the_problem():
    small = ReinforceController(objective="accuracy", space=NB201Encoding(ops=NB201_OPS[:3]),
                                seed=1)
    _drive(small, 3)
    oracle = _oracle()
    with pytest.raises(ValueError, match="search space or the network size changed"):
        oracle.set_state(json.loads(json.dumps(small.get_state())))
        oracle.propose()


@pytest.mark.slow
def test_beats_random_search_on_nas_bench_201(nb201_table):
    from kerasnas.bench.nb201 import best_at, run_search
    from kerasnas.oracles import RandomSearch

    table = nb201_table
    seeds = range(1, 6)
    controller = [best_at(run_search(_oracle(seed=s, space=None), table, 100), 100)
                  for s in seeds]
    random = [best_at(run_search(RandomSearch(objective="accuracy", seed=s), table, 100), 100)
              for s in seeds]
    assert np.mean(controller) > np.mean(random)
