"""IRLAS's mirror stimuli function and ReinforceController's topology reward (`expert=`)."""

import json

import numpy as np
import pytest

from kerasnas.bench.nb201 import NB201LookupTuner, run_search, trial_results
from kerasnas.graphs.view import graph_of
from kerasnas.oracles import ReinforceController
from kerasnas.oracles.mirror import EXPERTS, MirrorStimuli, live_topology, resolve_expert
from kerasnas.spaces.encodings import (
    CellEncoding,
    DenseEncoding,
    MacroEncoding,
    NB201Encoding,
    ResidualEncoding,
    TableEncoding,
)

ENC = NB201Encoding()
RESNET = EXPERTS["nb201"]


def _archs(n, seed):
    rng = np.random.default_rng(seed)
    return [ENC.sample(rng) for _ in range(n)]


def test_live_topology_drops_what_carries_no_data():
    # ResNet's cell: conv -> conv -> (+ skip from the input); the `none` edges vanish.
    graph = graph_of(ENC.from_string(RESNET))
    nodes, edges = live_topology(graph)
    assert [graph.ops[i] for i in nodes] == ["input", "nor_conv_3x3", "sum", "nor_conv_3x3",
                                             "sum", "skip_connect", "skip_connect", "output"]
    assert len(edges) == 8
    # A conv whose only consumer is `none` is dead: node 3 takes skip(node 0) alone.
    dead = graph_of(ENC.from_string("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+"
                                    "|skip_connect~0|none~1|none~2|"))
    assert [dead.ops[i] for i in live_topology(dead)[0]] == ["input", "skip_connect", "output"]
    assert live_topology(graph_of(ENC.default()))[0] == []  # every edge `none`


@pytest.mark.parametrize("encoding", [NB201Encoding(), MacroEncoding(), DenseEncoding(),
                                      ResidualEncoding()], ids=lambda e: e.name)
def test_mirror_score_is_maximal_for_the_expert(encoding):
    mirror = MirrorStimuli(encoding, "auto")
    rng = np.random.default_rng(0)
    # Others: architectures whose graph differs (without an input shape, a residual stack's
    # `downsample` does not show in its graph).
    others = [a for a in (encoding.sample(rng) for _ in range(300))
              if graph_of(a) != graph_of(mirror.expert)]
    assert mirror.score(mirror.expert) == 1.0
    scores = [mirror.score(a) for a in others]
    assert max(scores) < 1.0 and np.mean(scores) < 0.8
    # Still so once feature matching has reweighted the features.
    for a in others[:50]:
        mirror.observe(a)
    assert not np.allclose(mirror.weights, 1.0)
    assert mirror.score(mirror.expert) == 1.0
    assert max(mirror.score(a) for a in others) < 1.0
    assert mirror.similarity(mirror.expert) == 1.0


def test_feature_matching_weights_the_features_the_agent_misses():
    mirror = MirrorStimuli(ENC, RESNET)
    pools = ENC.from_string("|avg_pool_3x3~0|+|none~0|avg_pool_3x3~1|+"
                            "|skip_connect~0|none~1|skip_connect~2|")
    for _ in range(5):
        mirror.observe(pools)  # the agent has the expert's topology, not its convolutions
    conv = mirror.features._position["nor_conv_3x3"]
    skip = mirror.features._position["skip_connect"]
    assert mirror.weights[conv] > mirror.weights[skip]
    # A convolutional cell unlike ResNet now scores closer to the expert than before.
    convs = ENC.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|"
                            "nor_conv_3x3~2|")
    assert mirror.score(convs) > mirror.similarity(convs)


def _observe_all(oracle, archs, fitness):
    for arch, f in zip(archs, fitness, strict=True):
        oracle.observe(arch, f)


def test_topology_reward_is_added_to_the_advantage_as_documented():
    archs = _archs(12, 1)
    fitness = list(np.random.default_rng(2).uniform(80, 94, len(archs)))
    plain = ReinforceController(objective="accuracy", space=ENC, seed=0)
    irlas = ReinforceController(objective="accuracy", space=ENC, seed=0, expert="auto",
                                mirror_weight=0.7)
    _observe_all(plain, archs, fitness)
    _observe_all(irlas, archs, fitness)
    # Recomputed by hand: A = A_accuracy + lambda (m(x) - m_b), m_b a moving average.
    mirror, baseline, expected = MirrorStimuli(ENC, RESNET), None, []
    for arch in archs:
        m = mirror.score(arch)
        mirror.observe(arch)
        if baseline is None:
            expected.append(0.0)
            baseline = m
        else:
            expected.append(0.7 * (m - baseline))
            baseline = 0.9 * baseline + 0.1 * m
    got = [b["advantage"] - a["advantage"] for a, b in zip(plain._batch, irlas._batch,
                                                             strict=True)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.abs(expected).max() > 0.05
    # mirror_weight=0: the same advantages as without the option.
    zero = ReinforceController(objective="accuracy", space=ENC, seed=0, expert="auto",
                               mirror_weight=0.0)
    _observe_all(zero, archs, fitness)
    assert [o["advantage"] for o in zero._batch] == [o["advantage"] for o in plain._batch]


def test_without_an_expert_the_state_and_the_search_are_unchanged():
    plain = ReinforceController(objective="accuracy", space=ENC, seed=4)
    _observe_all(plain, _archs(3, 3), [90.0, 91.0, 92.0])
    state = plain.get_algorithm_state()
    assert "mirror" not in state
    assert sorted(state) == ["baseline", "batch", "deviation", "network", "observed", "queue",
                             "update_due", "updates"]


def test_topology_reward_alone_moves_the_policy_towards_the_expert():
    # Equal fitness for everything: only the mirror term gives an advantage.
    oracle = ReinforceController(objective="accuracy", space=ENC, seed=5, expert="auto",
                                 mirror_weight=3.0)
    mirror = MirrorStimuli(ENC, RESNET)
    proposals = []
    for _ in range(150):
        arch = oracle.propose()
        oracle.observe(arch, 90.0)
        proposals.append(arch)
    early = np.mean([mirror.similarity(a) for a in proposals[:30]])
    late = np.mean([mirror.similarity(a) for a in proposals[-30:]])
    assert late > early + 0.1, (early, late)


class _CrashingTuner(NB201LookupTuner):
    def __init__(self, *args, crash_at, **kwargs):
        self.crash_at = crash_at
        super().__init__(*args, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        if int(trial.trial_id) == self.crash_at:
            raise KeyboardInterrupt
        return super().run_trial(trial, *args, **kwargs)


@pytest.mark.parametrize("ppo", [False, True], ids=["reinforce", "ppo"])
def test_interrupted_search_with_topology_reward_resumes_exactly(nb201_table, tmp_path, ppo):
    def make():  # no space: the expert is resolved once the tuner's hyperparameters are known
        return ReinforceController(objective="accuracy", max_trials=24, seed=3, expert="auto",
                                   ppo=ppo, batch_size=4)

    straight = run_search(make(), nb201_table, 24, directory=tmp_path / "straight")
    kwargs = {"directory": str(tmp_path / "resumed"), "project_name": "nb201"}
    crashing = _CrashingTuner(make(), nb201_table, crash_at=13, overwrite=True, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        crashing.search(verbose=0)
    state = crashing.oracle.get_algorithm_state()["mirror"]
    assert state["baseline"] is not None and state["stimuli"]["agent_count"] > 0
    resumed = NB201LookupTuner(make(), nb201_table, overwrite=False, **kwargs)
    resumed.search(verbose=0)
    assert trial_results(resumed.oracle, nb201_table) == straight
    # The option changes the search (else the test above would prove nothing about it).
    plain = run_search(ReinforceController(objective="accuracy", max_trials=24, seed=3, ppo=ppo,
                                           batch_size=4), nb201_table, 24)
    assert plain != straight


def test_state_round_trip_with_topology_reward():
    original = ReinforceController(objective="accuracy", space=ENC, seed=6, expert="auto")
    for arch, f in zip(_archs(9, 7), np.linspace(80, 94, 9), strict=True):
        original.observe(arch, float(f))
    state = json.loads(json.dumps(original.get_state()))
    copy = ReinforceController(objective="accuracy", space=ENC, seed=1, expert="auto")
    copy.set_state(state)
    for arch, f in zip(_archs(6, 8), np.linspace(85, 90, 6), strict=True):
        for oracle in (original, copy):
            oracle.observe(arch, float(f))
    assert [o["advantage"] for o in copy._batch] == [o["advantage"] for o in original._batch]
    np.testing.assert_array_equal(copy.mirror.weights, original.mirror.weights)


def test_bad_experts_are_refused_clearly():
    with pytest.raises(ValueError, match="no ResNet-like design for the 'cell' space"):
        ReinforceController(objective="accuracy", space=CellEncoding(), expert="auto")
    with pytest.raises(ValueError, match="no ResNet-like design for the 'table' space"):
        resolve_expert(TableEncoding(), "auto")
    with pytest.raises(ValueError, match="is not an architecture of this space"):
        ReinforceController(objective="accuracy", space=ENC, expert="resnet18")
    with pytest.raises(ValueError, match="must be an Architecture of the searched space"):
        ReinforceController(objective="accuracy", space=ENC, expert=DenseEncoding().default())
    with pytest.raises(ValueError, match="outside this space"):
        resolve_expert(DenseEncoding(units=(8, 16)), "auto")
    with pytest.raises(ValueError, match="mirror_weight must be a finite number >= 0"):
        ReinforceController(objective="accuracy", expert="auto", mirror_weight=-1)
    with pytest.raises(ValueError, match="expert must be None, an Architecture"):
        ReinforceController(objective="accuracy", expert=3)
    with pytest.raises(ValueError, match="no live topology"):
        MirrorStimuli(ENC, ENC.default())
    # Without a space the expert is resolved at the first proposal, before any trial runs.
    oracle = ReinforceController(objective="accuracy", expert="auto", seed=0)
    oracle._space = CellEncoding()
    with pytest.raises(ValueError, match="no ResNet-like design"):
        oracle.propose()
