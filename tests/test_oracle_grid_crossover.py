"""Crossover (`Encoding.crossover`, `RegularizedEvolution(crossover_rate=...)`) and `GridSearch`.

Searches run through a real `keras_tuner.Tuner`: the NAS-Bench-201 lookup
tuner, or a tuner whose trials score a user's `build(hp)` without training.
"""

import copy
import itertools
import json

import keras_tuner
import numpy as np
import pytest

from kerasnas.automl.names import STRATEGIES
from kerasnas.bench.nb201 import NB201LookupTuner, run_search, trial_results
from kerasnas.oracles import GridSearch, RegularizedEvolution
from kerasnas.oracles.grid import DEFAULT_MAX_SIZE, GridTooLargeError, grid_size
from kerasnas.spaces.architecture import Decision, Encoding
from kerasnas.spaces.encodings import (
    CellEncoding,
    DenseEncoding,
    MacroEncoding,
    NB201Encoding,
    ResidualEncoding,
    SeriesEncoding,
    TableEncoding,
)
from kerasnas.spaces.hp_encoding import HPEncoding

# An HPEncoding with a condition and ordered decisions, as a user's build(hp) declares them.
_HP = HPEncoding([
    {"class": "Choice", "name": "model", "values": ["mlp", "cnn"]},
    {"class": "Int", "name": "layers", "min_value": 1, "max_value": 4},
    {"class": "Int", "name": "filters", "min_value": 8, "max_value": 64, "step": 8,
     "conditions": [["model", ["cnn"]]]},
    {"class": "Float", "name": "lr", "min_value": 1e-4, "max_value": 1e-2, "sampling": "log"},
    {"class": "Boolean", "name": "bn"},
])

ENCODINGS = {
    "macro": MacroEncoding(),
    "cell": CellEncoding(),
    "cell_macro": CellEncoding(num_blocks=2, macro=True, num_cells=2),
    "nb201": NB201Encoding(),
    "dense": DenseEncoding(min_layers=0, learning_rates=(1e-3, 1e-2)),
    "residual": ResidualEncoding(),
    "series": SeriesEncoding(),
    "table": TableEncoding(),
    "hp": _HP,
}


def _differs(a, b):
    return sum(x != y for x, y in zip(a.values, b.values, strict=True))


# ------------------------------------------------------------------ crossover
@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_crossover_child_takes_each_decision_group_from_one_parent(name):
    enc = ENCODINGS[name]
    rng = np.random.default_rng(7)
    groups = enc.crossover_groups()
    new, from_both = 0, 0
    for _ in range(300):
        a, b = enc.sample(rng), enc.sample(rng)
        child = a.crossover(b, rng)
        assert child.encoding == enc and enc.architecture(child.as_dict()) == child  # canonical
        active = enc.active(child.as_dict())
        active_a, active_b = enc.active(a.as_dict()), enc.active(b.as_dict())
        for d in enc.decisions:
            assert child[d.name] in (a[d.name], b[d.name]), d.name
            users = [p for p, act in ((a, active_a), (b, active_b)) if d.name in act]
            if d.name in active and users:
                # An active decision keeps a value a parent used it with (not a filler default).
                assert any(child[d.name] == p[d.name] for p in users), d.name
        for group in groups:  # a group travels whole: all its active values from one parent
            live = [n for n in group if n in active]
            assert any(all(child[n] == p[n] for n in live) for p in (a, b)), group
        new += child != a and child != b
        from_both += _differs(child, a) > 0 and _differs(child, b) > 0
    assert new > 30 and from_both > 30  # not always a copy of one parent


def test_crossover_groups_keep_layers_and_cell_blocks_whole():
    macro = {g for g in MacroEncoding().crossover_groups()}
    assert ("layer2_op", "layer2_width", "layer2_kernel") in macro
    assert ("layer3_skip0", "layer3_skip1") in macro
    cell = CellEncoding().crossover_groups()
    assert ("normal_b1_in1", "normal_b1_op1", "normal_b1_in2", "normal_b1_op2") in cell
    # Every decision is in exactly one group.
    for enc in ENCODINGS.values():
        names = [n for g in enc._crossover_positions() for n in g]
        assert sorted(names) == list(range(len(enc.decisions)))


def test_crossover_of_a_deeper_parent_takes_its_extra_layers():
    enc = DenseEncoding()
    shallow, deep = enc.from_string("32 relu dropout=0.0"), enc.from_string(
        "256-256-256-256 tanh dropout=0.5")
    rng = np.random.default_rng(0)
    deep_children = [c for c in (enc.crossover(shallow, deep, rng) for _ in range(200))
                     if c["num_layers"] == 4]
    assert deep_children
    # Layers 1-3 exist only in the deep parent: they come from it, not the shallow one's filler.
    assert all(c[f"units{i}"] == 256 for c in deep_children for i in (1, 2, 3))


def test_crossover_is_seeded_and_checks_its_arguments():
    enc = NB201Encoding()
    a, b = enc.sample(np.random.default_rng(1)), enc.sample(np.random.default_rng(2))
    children = [enc.crossover(a, b, np.random.default_rng(5)) for _ in range(2)]
    assert children[0] == children[1]
    assert enc.crossover(a, a, np.random.default_rng(3)) == a
    other = NB201Encoding(ops=("none", "skip_connect"))
    with pytest.raises(ValueError, match="crossover needs two Architectures of this encoding"):
        enc.crossover(a, other.default(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="crossover needs two Architectures"):
        enc.crossover(a, str(b), np.random.default_rng(0))

    class Broken(Encoding):
        name = "broken_groups_test"

        def __init__(self, groups):
            self.groups = groups
            super().__init__([Decision("x", (1, 2)), Decision("y", (1, 2))])

        def get_config(self):
            return {"groups": self.groups}

        def crossover_groups(self):
            return self.groups

    for groups, message in (([("x", "z")], "not a decision"), ([("x",), ("x", "y")], "twice")):
        broken = Broken(groups)
        with pytest.raises(ValueError, match=message):
            broken.crossover(broken.default(), broken.default(), np.random.default_rng(0))


# ----------------------------------------------------------------- evolution
ENC = NB201Encoding()


def _evolution(seed, **kwargs):
    kwargs.setdefault("population_size", 5)
    kwargs.setdefault("sample_size", 3)
    kwargs.setdefault("crossover_rate", 0.5)
    return RegularizedEvolution(objective="accuracy", seed=seed, **kwargs)


def _fill(oracle, rng):
    for _ in range(oracle.population_size):
        oracle.observe(oracle.propose(), float(rng.random()))


def test_crossover_children_recombine_two_tournament_winners():
    rng = np.random.default_rng(0)
    plain = _evolution(1, crossover_rate=1.0, mutate_after_crossover=False, space=ENC,
                       population_size=8)
    _fill(plain, rng)
    mixed = 0
    for _ in range(60):
        twin = copy.deepcopy(plain)  # same RNG state: draws what propose() will draw
        twin.rng.random()  # propose()'s draw against crossover_rate
        first, second = twin.select_parents()
        assert first != second or [k for k, _ in plain.population].count(first) > 1
        a, b = ENC.from_string(first), ENC.from_string(second)
        child = plain.propose()
        assert plain.proposal_parent == first  # lineage: the fitter parent
        assert all(v in (a[d.name], b[d.name]) for d, v in zip(ENC.decisions, child.values,
                                                                   strict=True))
        mixed += child != a and child != b
        plain.observe(child, float(rng.random()))
    assert mixed >= 5  # (copies of a parent rejoin the population, which then converges)

    # By default a crossover child is then mutated once, like every other child.
    mutated = _evolution(2, crossover_rate=1.0, space=ENC, population_size=8)
    _fill(mutated, rng)
    for _ in range(30):
        twin = copy.deepcopy(mutated)
        twin.rng.random()
        first, second = twin.select_parents()
        recombined = ENC.crossover(ENC.from_string(first), ENC.from_string(second), twin.rng)
        child = mutated.propose()
        assert _differs(child, recombined) == 1
        mutated.observe(child, float(rng.random()))


def test_second_tournament_draws_from_the_other_members():
    oracle = _evolution(3, space=ENC, population_size=4, sample_size=4)
    archs = [ENC.sample(np.random.default_rng(i)) for i in range(4)]
    for arch, fitness in zip(archs, [1.0, 4.0, 3.0, 2.0], strict=True):
        oracle.observe(arch, fitness)
    # S = P: the best and the second best, whatever the draws.
    assert {oracle.select_parents() for _ in range(10)} == {(str(archs[1]), str(archs[2]))}


def test_crossover_rate_zero_draws_nothing_and_bad_rates_are_refused(nb201_table):
    straight = run_search(RegularizedEvolution(objective="accuracy", seed=4), nb201_table, 30)
    zero = run_search(RegularizedEvolution(objective="accuracy", seed=4, crossover_rate=0.0),
                      nb201_table, 30)
    mixing = run_search(RegularizedEvolution(objective="accuracy", seed=4, crossover_rate=0.5),
                        nb201_table, 30)
    assert zero == straight and mixing != straight
    for rate in (-0.1, 1.5, True, "0.5", None):
        with pytest.raises(ValueError, match="crossover_rate must be a probability"):
            RegularizedEvolution(crossover_rate=rate)
    with pytest.raises(ValueError, match="mutate_after_crossover must be True or False"):
        RegularizedEvolution(mutate_after_crossover=1)


def _interrupted(crashing_tuner, make, table, directory, crash_at):
    """Results of a search killed at trial `crash_at`, then resumed with `overwrite=False`."""
    kwargs = {"directory": str(directory), "project_name": "nb201"}
    crashing = crashing_tuner(make(), table, crash_at=crash_at, overwrite=True, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        crashing.search(verbose=0)
    assert len(trial_results(crashing.oracle, table)) == crash_at
    resumed = NB201LookupTuner(make(), table, overwrite=False, **kwargs)
    resumed.search(verbose=0)
    return resumed.oracle, trial_results(resumed.oracle, table), crashing.oracle


def test_evolution_with_crossover_is_seeded_and_resumes_exactly(nb201_table, tmp_path,
                                                                 crashing_tuner):
    def make(seed=3):
        return _evolution(seed, max_trials=30)

    straight = run_search(make(), nb201_table, 30, directory=tmp_path / "straight")
    assert run_search(make(), nb201_table, 30) == straight
    assert run_search(make(seed=4), nb201_table, 30) != straight
    oracle, resumed, _ = _interrupted(crashing_tuner, make, nb201_table, tmp_path / "resumed", crash_at=17)
    assert resumed == straight
    assert oracle.crossover_rate == 0.5
    archs = [arch for arch, _ in straight]
    assert len(archs) == len(set(archs)) == 30

    # The saved state (through JSON) gives the same next proposals in a fresh oracle.
    state = json.loads(json.dumps(oracle.get_state()))
    assert state["kerasnas"]["algorithm"]["crossover_rate"] == 0.5
    fresh = RegularizedEvolution(objective="accuracy", seed=99, space=NB201Encoding())
    fresh.trials = oracle.trials
    fresh.set_state(state)
    assert fresh.crossover_rate == 0.5 and fresh.population_size == 5
    ahead = [oracle.populate_space(f"next{i}") for i in range(6)]
    assert [fresh.populate_space(f"next{i}") for i in range(6)] == ahead
    # A state saved before crossover existed resumes mutation-only.
    del state["kerasnas"]["algorithm"]["crossover_rate"]
    fresh.set_state(state)
    assert fresh.crossover_rate == 0.0


# ---------------------------------------------------------------------- grid
SMALL_OPS = ("none", "skip_connect")  # 64 cells: a few seconds through Keras Tuner


def _small_grid(**kwargs):
    return GridSearch(objective="accuracy", space=NB201Encoding(ops=SMALL_OPS), **kwargs)


def test_grid_visits_every_architecture_once_across_a_resume_then_stops(nb201_table, tmp_path,
                                                                        crashing_tuner):
    oracle, results, crashed = _interrupted(crashing_tuner, _small_grid, nb201_table, tmp_path, crash_at=37)
    # What was saved at the interruption: the walk's cursor, one index per edge.
    fresh = _small_grid()
    fresh.trials = crashed.trials
    fresh.set_state(json.loads(json.dumps(crashed.get_state())))
    assert fresh.get_algorithm_state() == crashed.get_algorithm_state()
    assert fresh._cursor == [int(i) for i in np.base_repr(38, 2).zfill(6)]
    archs = [arch for arch, _ in results]
    # The fixed order: the odometer over the six edges, the last edge fastest.
    expected = ["|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)
                for ops in itertools.product(SMALL_OPS, repeat=6)]
    assert archs == expected and len(set(archs)) == 64
    assert len(oracle.trials) == 64  # max_trials None: the grid decides, then stops
    assert oracle.populate_space("extra")["status"] == "STOPPED"


def test_grid_counts_match_brute_force_and_sizes():
    """A walk proposes every distinct architecture once; `size()` counts them exactly."""
    small = [
        NB201Encoding(ops=("none", "skip_connect")),
        MacroEncoding(max_layers=3, min_layers=1, ops=("conv", "max_pool"), widths=(16,),
                      kernels=(3, 5)),
        DenseEncoding(max_layers=2, min_layers=0, units=(8, 16), activations=("relu",),
                      dropouts=(0.0, 0.5), learning_rates=(1e-3, 1e-2)),
        CellEncoding(num_blocks=1, ops=("a", "b"), combinations=("add",)),
        ResidualEncoding(blocks=(2, 4), widths=(16,), kernels=(3, 5)),
        SeriesEncoding(rocket_features=(1000,), inception_depths=(3,), blocks=(2,),
                       widths=(16,), kernels=(3,)),
        TableEncoding(layers=(0, 1, 2), widths=(8, 16), dropouts=(0.0,), numerics=("quantile",),
                      embeddings=("ple", "none"), learning_rates=(1e-3,), weight_decays=(0.0,)),
        HPEncoding([{"class": "Boolean", "name": "conv"},
                    {"class": "Int", "name": "k", "min_value": 1, "max_value": 3,
                     "conditions": [["conv", [True]]]},
                    {"class": "Choice", "name": "act", "values": ["relu", "tanh"],
                     "default": "tanh"}]),
    ]
    for enc in small:
        names = [d.name for d in enc.decisions]
        brute = {enc.architecture(dict(zip(names, combo, strict=True)))
                 for combo in itertools.product(*(d.choices for d in enc.decisions))}
        oracle = GridSearch(objective="accuracy", space=enc)
        # Nothing recorded as evaluated: the walk alone never repeats an architecture.
        walked = list(iter(oracle.propose, None))
        assert len(walked) == len(set(walked)) and set(walked) == brute, type(enc).__name__
        assert walked[0] == enc.default()
        if enc.size() is not None:
            assert enc.size() == len(brute) == grid_size(enc)[0]
        else:
            assert grid_size(enc) == (np.prod([len(d.choices) for d in enc.decisions]), False)


def test_grid_refuses_a_too_large_space_before_any_trial(nb201_table, tmp_path):
    with pytest.raises(GridTooLargeError, match=r"15,625 architectures, more than max_size=1,000"):
        GridSearch(objective="accuracy", space=NB201Encoding(), max_size=1000)
    with pytest.raises(GridTooLargeError, match=r"an upper bound.*max_size=100,000"):
        GridSearch(objective="accuracy", space=CellEncoding())
    assert DEFAULT_MAX_SIZE == 100_000
    assert isinstance(GridTooLargeError("x"), ValueError)
    # Without space=, the space is known at the first trial's request: refused then.
    oracle = GridSearch(objective="accuracy", max_size=1000)
    tuner = NB201LookupTuner(oracle, nb201_table, directory=str(tmp_path), project_name="big")
    with pytest.raises(GridTooLargeError, match="pass a larger max_size="):
        tuner.search(verbose=0)
    assert not oracle.trials
    assert GridSearch(objective="accuracy", max_size=15_625, space=NB201Encoding()).grid_size \
        == 15_625


def test_grid_rejects_bad_arguments_and_is_a_named_strategy():
    for bad in (0, -5, 2.5, True, "100", None):
        with pytest.raises(ValueError, match="max_size must be a positive int"):
            GridSearch(max_size=bad)
    assert STRATEGIES["grid"] == ("GridSearch", {})


def test_grid_skips_warm_start_and_rejects_later_activity():
    enc = NB201Encoding(ops=("none", "skip_connect"))
    first = enc.from_string("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    oracle = GridSearch(objective="accuracy", space=enc)
    oracle._fitness[str(first)] = 1.0  # evaluated before (a warm start, or before a resume)
    walked = []
    while (arch := oracle.propose()) is not None:
        walked.append(arch)
        oracle._fitness[str(arch)] = 0.0
    assert len(walked) == 63 and first not in walked

    class Backwards(Encoding):
        """`x` is active only when the later `y` is 2: the walk cannot skip it safely."""

        name = "backwards_activity_test"

        def __init__(self):
            super().__init__([Decision("x", (1, 2)), Decision("y", (1, 2))])

        def active(self, values):
            return {"x", "y"} if values["y"] == 2 else {"y"}

    with pytest.raises(ValueError, match="activity to depend only on earlier decisions"):
        oracle = GridSearch(objective="accuracy", space=Backwards())
        while (arch := oracle.propose()) is not None:
            oracle._fitness[str(arch)] = 0.0


# A user's build(hp) whose space grows as trials build it: units_1 and units_2 appear only
# once a trial builds two or three layers.
def _build(hp):
    for i in range(hp.Int("layers", 1, 3)):
        hp.Choice(f"units_{i}", [8, 16])
    hp.Boolean("bn")


class _BuildTuner(keras_tuner.Tuner):
    """Trials build the user's model (discovering its hyperparameters) and score it by formula."""

    def __init__(self, *args, crash_at=None, **kwargs):
        self.crash_at = crash_at
        super().__init__(*args, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        if self.crash_at is not None and int(trial.trial_id) == self.crash_at:
            raise KeyboardInterrupt
        hp = trial.hyperparameters
        self.hypermodel.build(hp)
        return {"score": hp.get("layers") + hp.get("units_0") / 100 + hp.get("bn") / 1000}


def _configs(oracle):
    full = {"layers": 1, "units_0": 8, "units_1": 8, "units_2": 8, "bn": False}
    return [tuple({**full, **{k: v for k, v in oracle.trials[t].hyperparameters.values.items()
                              if k in full}}.values()) for t in oracle.start_order]


def test_grid_over_a_growing_build_hp_space_runs_each_configuration_once(tmp_path):
    def tuner(crash_at=None, overwrite=True, name="grow"):
        grid = GridSearch(objective=keras_tuner.Objective("score", "max"))
        return _BuildTuner(hypermodel=_build, oracle=grid,
                           directory=str(tmp_path), project_name=name, overwrite=overwrite,
                           crash_at=crash_at)

    straight = tuner(name="straight")
    straight.search(verbose=0)
    configs = _configs(straight.oracle)
    everything = set(itertools.product((1, 2, 3), (8, 16), (8, 16), (8, 16), (False, True)))
    assert len(configs) == len(set(configs)) == 48 and set(configs) == everything
    assert len(straight.oracle.encoding.decisions) == 5  # the space grew to all five

    crashing = tuner(crash_at=20)
    with pytest.raises(KeyboardInterrupt):
        crashing.search(verbose=0)
    resumed = tuner(overwrite=False)
    resumed.search(verbose=0)
    assert _configs(resumed.oracle) == configs
