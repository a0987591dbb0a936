"""Every kerasnas oracle: exact resume, repeatable seeds, no re-evaluation, plain hp values.

The searches run through a real `keras_tuner.Tuner` on the NAS-Bench-201 table
(lookup instead of training), so Keras Tuner's own persistence is exercised.
Oracles that are not in the package (yet) are left out of the parametrization.
"""

import importlib
import json

import pytest

from kerasnas.bench.nb201 import (
    NB201LookupTuner,
    run_search,
    trial_results,
)
from kerasnas.spaces.encodings import NB201Encoding

# (module, class, keyword arguments) of every kerasnas strategy; small settings so
# each one's learned part is active within the few trials a test runs.
_ORACLES = {
    "random": ("kerasnas.oracles.random_search", "RandomSearch", {}),
    "evolution": ("kerasnas.oracles.evolution", "RegularizedEvolution",
                  {"population_size": 5, "sample_size": 3}),
    "bayesian": ("kerasnas.oracles.bayesian", "BayesianOptimization",
                 {"num_initial_points": 5}),
    "reinforce": ("kerasnas.oracles.controller", "ReinforceController", {}),
    "ppo": ("kerasnas.oracles.controller", "ReinforceController",
            {"ppo": True, "batch_size": 4}),
}


def _available():
    found = {}
    for name, (module, cls, kwargs) in _ORACLES.items():
        try:
            found[name] = (getattr(importlib.import_module(module), cls), kwargs)
        except (ImportError, AttributeError):
            continue
    return found


AVAILABLE = _available()
TRIALS = 24



@pytest.fixture
def table(nb201_table):
    return nb201_table


def _make(name, seed, **extra):
    cls, kwargs = AVAILABLE[name]
    return cls(objective="accuracy", max_trials=TRIALS, seed=seed, **kwargs, **extra)


@pytest.mark.parametrize("name", sorted(AVAILABLE))
def test_interrupted_search_resumes_exactly(name, table, tmp_path, crashing_tuner):
    straight = run_search(_make(name, seed=3), table, TRIALS, directory=tmp_path / "straight")

    kwargs = {"directory": str(tmp_path / "resumed"), "project_name": "nb201"}
    crashing = crashing_tuner(_make(name, seed=3), table, crash_at=13, overwrite=True, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        crashing.search(verbose=0)
    assert len(trial_results(crashing.oracle, table)) == 13
    # A new process would build everything again; overwrite=False reloads the project.
    resumed = NB201LookupTuner(_make(name, seed=3), table, overwrite=False, **kwargs)
    resumed.search(verbose=0)
    assert trial_results(resumed.oracle, table) == straight

    # Duplicates are answered from the cache, never evaluated again.
    archs = [arch for arch, _ in straight]
    assert len(archs) == TRIALS == len(set(archs))
    # Keras Tuner's distributed mode needs plain values.
    for trial in resumed.oracle.trials.values():
        for value in trial.hyperparameters.values.values():
            assert type(value) in (int, float, str, bool)


@pytest.mark.parametrize("name", sorted(AVAILABLE))
def test_seed_makes_searches_repeatable(name, table):
    first = run_search(_make(name, seed=11), table, 15)
    assert run_search(_make(name, seed=11), table, 15) == first
    assert run_search(_make(name, seed=12), table, 15) != first


@pytest.mark.parametrize("name", sorted(AVAILABLE))
def test_state_round_trip_reproduces_next_proposals(name, table, tmp_path):
    tuner = NB201LookupTuner(_make(name, seed=5), table, directory=str(tmp_path),
                             project_name="nb201", overwrite=True)
    tuner.search(verbose=0)
    original = tuner.oracle
    state = json.loads(json.dumps(original.get_state()))  # must survive JSON

    copy = _make(name, seed=99, space=NB201Encoding())  # the seed comes back from the state
    copy.trials = original.trials
    copy.set_state(state)
    ahead = [original.populate_space(f"next{i}") for i in range(4)]
    again = [copy.populate_space(f"next{i}") for i in range(4)]
    assert [r["status"] for r in ahead] == ["RUNNING"] * 4
    assert again == ahead
    proposed = [NB201Encoding().from_hp_values(r["values"]) for r in ahead]
    assert not any(str(arch) in {a for a, _ in trial_results(original, table)}
                   for arch in proposed)
