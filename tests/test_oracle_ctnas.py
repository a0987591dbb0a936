"""CTNAS: the antisymmetric comparator, its rewards, and searches through Keras Tuner."""

import json

import numpy as np
import pytest

from kerasnas.bench.nb201 import NB201LookupTuner, run_search, trial_results
from kerasnas.oracles import CTNAS
from kerasnas.oracles.comparator import ArchitectureComparator
from kerasnas.spaces.encodings import NB201_OPS, MacroEncoding, NB201Encoding

ENC = NB201Encoding()
CONV = NB201_OPS.index("nor_conv_3x3")


def _known_order(arch):
    """A synthetic ground truth: 3x3 convolutions are best, then 1x1, `none` is worst."""
    worth = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 2.0, "skip_connect": 1.0,
             "avg_pool_3x3": 0.5, "none": 0.0}
    return sum(worth[v] for v in arch.values) + 0.1 * (arch["edge_3_0"] == "nor_conv_3x3")


def _archs(n, seed):
    rng = np.random.default_rng(seed)
    return [ENC.sample(rng) for _ in range(n)]


def _assert_antisymmetric(nac, a, b):
    forward, backward = nac.logits(a, b), nac.logits(b, a)
    np.testing.assert_array_equal(forward, -backward)  # h(a, b) = -h(b, a), bit for bit
    np.testing.assert_allclose(nac.prob(a, b) + nac.prob(b, a), 1.0, rtol=0, atol=1e-15)
    p = nac.prob_matrix(a + b)
    np.testing.assert_allclose(p + p.T, 1.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(np.diag(p), 0.5)


def test_comparator_is_antisymmetric_untrained_and_trained():
    nac = ArchitectureComparator(ENC, seed=3)
    a, b = _archs(40, 1), _archs(40, 2)
    _assert_antisymmetric(nac, a, b)
    assert np.std(nac.logits(a, b)) > 0  # not trivially antisymmetric (all zero)
    train = _archs(30, 3)
    nac.fit(train, [_known_order(x) for x in train], steps=30)
    _assert_antisymmetric(nac, a, b)
    # Graphs of other sizes (macro chains of 2-6 layers) too.
    macro = MacroEncoding()
    rng = np.random.default_rng(4)
    other = ArchitectureComparator(macro, seed=0)
    _assert_antisymmetric(other, [macro.sample(rng) for _ in range(10)],
                          [macro.sample(rng) for _ in range(10)])


def test_trained_comparator_orders_held_out_pairs_better_than_chance():
    train, test_a, test_b = _archs(60, 10), _archs(300, 11), _archs(300, 12)
    nac = ArchitectureComparator(ENC, seed=0)
    before = nac.prob(test_a, test_b)
    nac.fit(train, [_known_order(x) for x in train], steps=100)
    truth = np.array([_known_order(a) > _known_order(b) for a, b in zip(test_a, test_b, strict=True)])
    tie = np.array([_known_order(a) == _known_order(b) for a, b in zip(test_a, test_b, strict=True)])
    correct = ((nac.prob(test_a, test_b) > 0.5) == truth)[~tie].mean()
    untrained = ((before > 0.5) == truth)[~tie].mean()
    assert correct > 0.8, correct  # about 0.9 measured; chance is 0.5
    assert correct > untrained + 0.2
    # score() (mean win rate in a set) ranks the held-out architectures by the known order.
    from kerasnas.estimation.ranking import kendall_tau

    assert kendall_tau(nac.score(test_a[:60]), [_known_order(a) for a in test_a[:60]]) > 0.6


def test_comparator_ranks_held_out_nb201_cells(nb201_table):
    keys = sorted(nb201_table)
    order = np.random.default_rng(0).permutation(len(keys))
    train = [ENC.from_string(keys[i]) for i in order[:50]]
    test = [ENC.from_string(keys[i]) for i in order[50:350]]
    nac = ArchitectureComparator(ENC, seed=0).fit(train, [nb201_table[str(a)] for a in train],
                                                  steps=150)
    from kerasnas.estimation.ranking import kendall_tau

    tau = kendall_tau(nac.score(test), [nb201_table[str(a)] for a in test])
    assert tau > 0.5, tau  # about 0.68 measured (BayesianOptimization's GP: 0.65 from 150)


def test_comparator_state_round_trip_continues_exactly():
    train = _archs(40, 5)
    scores = [_known_order(x) for x in train]
    nac = ArchitectureComparator(ENC, seed=1).fit(train, scores, steps=5)
    state = json.loads(json.dumps(nac.get_state()))
    copy = ArchitectureComparator(ENC, seed=2)
    copy.set_state(state)
    probe_a, probe_b = _archs(20, 6), _archs(20, 7)
    np.testing.assert_array_equal(copy.prob(probe_a, probe_b), nac.prob(probe_a, probe_b))
    nac.fit(train, scores, steps=5)  # weights, Adam moments and batch draws continue alike
    copy.fit(train, scores, steps=5)
    np.testing.assert_array_equal(copy.prob(probe_a, probe_b), nac.prob(probe_a, probe_b))
    with pytest.raises(ValueError, match="other weight shapes"):
        ArchitectureComparator(ENC, units=8).set_state(state)


def test_comparator_reward_moves_the_policy_towards_preferred_architectures():
    oracle = CTNAS(objective="accuracy", space=ENC, seed=0, policy_steps=0)
    train = _archs(60, 8)
    oracle.comparator.fit(train, [_known_order(x) for x in train], steps=100)
    # A middling baseline (the comparator is sure that nearly everything beats an all-skip
    # cell, which would leave no spread in the rewards).
    baseline = ENC.from_string("|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+"
                               "|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|")
    preferred = ENC.architecture({d.name: "nor_conv_3x3" for d in ENC.decisions})

    def log_p(arch):
        tokens, mask = oracle._tokens_and_mask(arch)
        return float(oracle.network.log_prob(np.array([tokens]), np.array([mask]))[0][0])

    before = [p[CONV] for p in oracle.network.probabilities([CONV] * 6)]
    start = log_p(preferred)
    for _ in range(40):
        oracle._policy_step(baseline)
    after = [p[CONV] for p in oracle.network.probabilities([CONV] * 6)]
    assert oracle.updates == 40
    # Uniform-ish before (1/5 each); the comparator prefers 3x3 convolutions on every edge.
    assert np.all(np.abs(np.array(before) - 0.2) < 0.1)
    assert np.mean(after) > 0.45 and np.sum(np.array(after) > np.array(before) + 0.1) >= 5
    assert log_p(preferred) > start + 2.0
    # Samples of the trained policy beat the baseline in the comparator's eyes more often.
    _, samples = oracle._sample(200)
    assert np.mean([_known_order(a) for a in samples]) > np.mean(
        [_known_order(a) for a in _archs(200, 9)]) + 1.0


def _make(seed, **kwargs):
    kwargs.setdefault("num_initial_points", 6)
    kwargs.setdefault("max_trials", 24)
    return CTNAS(objective="accuracy", seed=seed, **kwargs)


def test_seeded_searches_repeat(nb201_table):
    first = run_search(_make(11), nb201_table, 14)
    assert run_search(_make(11), nb201_table, 14) == first
    assert run_search(_make(12), nb201_table, 14) != first
    archs = [a for a, _ in first]
    assert len(set(archs)) == len(archs)


@pytest.mark.parametrize("ppo", [False, True], ids=["reinforce", "ppo"])
def test_interrupted_search_resumes_exactly(nb201_table, tmp_path, ppo, crashing_tuner):
    trials = 20
    straight = run_search(_make(3, ppo=ppo), nb201_table, trials, directory=tmp_path / "straight")
    kwargs = {"directory": str(tmp_path / "resumed"), "project_name": "nb201"}
    crashing = crashing_tuner(_make(3, ppo=ppo, max_trials=trials), nb201_table, crash_at=12,
                              overwrite=True, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        crashing.search(verbose=0)
    assert len(trial_results(crashing.oracle, nb201_table)) == 12
    assert crashing.oracle.comparator.steps > 0  # the comparator had trained before the crash
    resumed = NB201LookupTuner(_make(3, ppo=ppo, max_trials=trials), nb201_table,
                               overwrite=False, **kwargs)
    resumed.search(verbose=0)
    assert trial_results(resumed.oracle, nb201_table) == straight
    for trial in resumed.oracle.trials.values():
        assert all(type(v) in (int, float, str, bool) for v in trial.hyperparameters.values.values())


def test_state_round_trip_reproduces_next_proposals(nb201_table, tmp_path):
    tuner = NB201LookupTuner(_make(5, max_trials=14), nb201_table, directory=str(tmp_path),
                             project_name="nb201", overwrite=True)
    tuner.search(verbose=0)
    original = tuner.oracle
    state = json.loads(json.dumps(original.get_state()))
    assert state["kerasnas"]["algorithm"]["ctnas"]["baseline"] is not None
    copy = _make(99, space=NB201Encoding())  # the seed comes back from the state
    copy.trials = original.trials
    copy.set_state(state)
    ahead = [original.populate_space(f"next{i}") for i in range(3)]
    again = [copy.populate_space(f"next{i}") for i in range(3)]
    assert [r["status"] for r in ahead] == ["RUNNING"] * 3
    assert again == ahead


def test_bad_arguments_fail_early():
    with pytest.raises(ValueError, match="num_candidates must be an int >= 1"):
        CTNAS(num_candidates=0)
    with pytest.raises(ValueError, match="num_initial_points must be an int >= 2"):
        CTNAS(num_initial_points=1)
    with pytest.raises(ValueError, match="comparator_learning_rate must be a finite number"):
        CTNAS(comparator_learning_rate=-1.0)
    with pytest.raises(ValueError, match="comparator_units must be an int"):
        CTNAS(comparator_units=0)
    with pytest.raises(ValueError, match="CTNAS does not take reward"):
        CTNAS(reward="raw")
    with pytest.raises(ValueError, match="learning_rate must be > 0"):  # the controller's
        CTNAS(learning_rate=0)
    nac = ArchitectureComparator(ENC)
    a = _archs(3, 0)
    with pytest.raises(ValueError, match="at least two architectures with different scores"):
        nac.fit(a, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="one number per architecture"):
        nac.fit(a, [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        nac.fit(a, [1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="pair up"):
        nac.prob(a, a[:2])
    with pytest.raises(ValueError, match="not an architecture of the comparator's encoding"):
        nac.fit(a + [MacroEncoding().default()], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="must be a kerasnas Encoding"):
        ArchitectureComparator("nb201")


def test_strategy_name_builds_ctnas():
    import kerasnas.oracles
    from kerasnas.automl.names import STRATEGIES

    class_name, kwargs = STRATEGIES["ctnas"]
    assert isinstance(getattr(kerasnas.oracles, class_name)(**kwargs), CTNAS)
