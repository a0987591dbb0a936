"""RegularizedEvolution: aging, one mutation per child, tournaments, and real searches."""

import copy

import keras_tuner
import numpy as np
import pytest
from scipy.special import gammaln

from kerasnas.bench.nb201 import run_search
from kerasnas.oracles import RegularizedEvolution
from kerasnas.spaces.encodings import NB201Encoding

ENC = NB201Encoding()


def _distance(a, b):
    return sum(x != y for x, y in zip(a.values, b.values, strict=True))


def _oracle(**kwargs):
    kwargs.setdefault("seed", 0)
    return RegularizedEvolution(objective="accuracy", space=ENC, **kwargs)


def _random_archs(n, seed=0):
    rng = np.random.default_rng(seed)
    archs = []
    while len(archs) < n:
        arch = ENC.sample(rng)
        if arch not in archs:
            archs.append(arch)
    return archs



def test_aging_removes_the_oldest_not_the_worst():
    oracle = _oracle(population_size=3, sample_size=2)
    archs = _random_archs(4)
    # The oldest member is the fittest, the second oldest the worst.
    for arch, fitness in zip(archs, [95.0, 80.0, 85.0, 90.0], strict=True):
        oracle.observe(arch, fitness)
    assert [f for _, f in oracle.population] == [80.0, 85.0, 90.0]
    assert [key for key, _ in oracle.population] == [str(a) for a in archs[1:]]


def test_population_never_exceeds_its_size():
    oracle = _oracle(population_size=5, sample_size=2)
    for i, arch in enumerate(_random_archs(30)):
        oracle.observe(arch, float(i % 7))
        assert len(oracle.population) == min(i + 1, 5)


def test_initial_population_is_random_then_children_are_one_mutation_from_the_parent():
    oracle = _oracle(population_size=8, sample_size=3, seed=3)
    rng = np.random.default_rng(1)
    for _ in range(8):
        arch = oracle.propose()
        oracle.observe(arch, float(rng.random()))
    for _ in range(50):
        # A copy with the same RNG state draws the same tournament as propose() will.
        parent = ENC.from_string(copy.deepcopy(oracle).select_parent())
        child = oracle.propose()
        assert _distance(child, parent) == 1
        oracle.observe(child, float(rng.random()))


def test_tournament_picks_the_best_of_its_sample():
    oracle = _oracle(population_size=6, sample_size=3, seed=5)
    archs = _random_archs(6)
    fitness = [3.0, 1.0, 6.0, 2.0, 5.0, 4.0]
    for arch, f in zip(archs, fitness, strict=True):
        oracle.observe(arch, f)
    by_key = dict(oracle.population)
    for _ in range(200):
        twin = copy.deepcopy(oracle.rng)
        picks = twin.choice(6, size=3, replace=False)
        parent = oracle.select_parent()
        assert by_key[parent] == max(fitness[i] for i in picks)
    # S = P always mutates the fittest living member.
    greedy = _oracle(population_size=6, sample_size=6)
    for arch, f in zip(archs, fitness, strict=True):
        greedy.observe(arch, f)
    assert {greedy.select_parent() for _ in range(20)} == {str(archs[2])}


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="cannot exceed population_size"):
        RegularizedEvolution(population_size=4, sample_size=5)
    with pytest.raises(ValueError, match="population_size must be a positive int"):
        RegularizedEvolution(population_size=0)
    with pytest.raises(ValueError, match="sample_size must be a positive int"):
        RegularizedEvolution(sample_size=2.5)


def _expected_best_of_random(values, n):
    """E[max] of `n` distinct uniformly random table entries, computed exactly."""
    values = np.sort(np.asarray(values))
    k = np.arange(1, len(values) + 1)
    # log C(k, n) - log C(N, n); C(k, n) = 0 for k < n.
    log_cdf = np.full(len(values), -np.inf)
    ok = k >= n
    log_cdf[ok] = (gammaln(k[ok] + 1) - gammaln(k[ok] - n + 1)
                   - gammaln(len(values) + 1) + gammaln(len(values) - n + 1))
    cdf = np.exp(log_cdf)
    return float(np.sum(values * np.diff(cdf, prepend=0.0)))


def test_evolution_beats_random_search_on_nb201(nb201_table):
    table = nb201_table
    random_mean = _expected_best_of_random(list(table.values()), 100)
    assert 93.8 < random_mean < 93.95  # what 100 random queries find on average
    evolution = [max(a for _, a in run_search(_oracle(seed=s), table, 100)) for s in range(3)]
    assert np.mean(evolution) > random_mean + 0.25


def test_evolution_drives_a_keras_tuner_search_on_digits(tmp_path, digits):
    from kerasnas.spaces import NB201Space

    space = NB201Space((8, 8, 1), num_classes=10, channels=4, cells_per_stage=1)
    oracle = RegularizedEvolution(objective="val_accuracy", max_trials=2, population_size=1,
                                  sample_size=1, seed=2)
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory=tmp_path,
                              project_name="evo")
    tuner.search(digits.x_train[:64], digits.y_train[:64], epochs=1, batch_size=32,
                 validation_data=(digits.x_val[:32], digits.y_val[:32]), verbose=0)
    trials = [oracle.trials[t] for t in oracle.start_order]
    assert [t.status for t in trials] == ["COMPLETED"] * 2
    founder, child = (space.encoding.from_hp_values(t.hyperparameters.values) for t in trials)
    # A random founder, then its child, one decision away; the founder has aged out.
    assert _distance(child, founder) == 1
    assert oracle.population == [(str(child), trials[1].score)]
