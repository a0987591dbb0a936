"""The NAS-Bench-201 table loader and the lookup tuner that runs any oracle without training."""

import keras_tuner
import numpy as np
import pytest

from kerasnas.bench.nb201 import (
    NB201Lookup,
    best_at,
    best_so_far,
    load_nb201_table,
    run_search,
)
from kerasnas.oracles import RandomSearch
from kerasnas.spaces.encodings import NB201Encoding


@pytest.fixture
def table(nb201_table):
    return nb201_table


def test_table_loads_every_cell(table):
    assert len(table) == 15625
    assert max(table.values()) == pytest.approx(94.3733)
    best = max(table, key=table.get)
    assert NB201Encoding().from_string(best)["edge_1_0"] == "nor_conv_3x3"


def test_missing_table_names_the_path(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_nb201_table(missing)


def test_malformed_table_is_rejected(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("arch,acc\n|nor_conv_3x3~0|+|bogus|,90.1\n")
    with pytest.raises(ValueError, match="line 2"):
        load_nb201_table(bad)
    no_arch = tmp_path / "no_arch.csv"
    no_arch.write_text("cell,acc\nx,1\n")
    with pytest.raises(ValueError, match="`arch` column"):
        load_nb201_table(no_arch)


def test_incomplete_table_is_rejected(tmp_path, nb201_csv):
    part = tmp_path / "part.csv"
    part.write_text("".join(nb201_csv.read_text().splitlines(keepends=True)[:101]))
    with pytest.raises(ValueError, match="holds 100 cells"):
        load_nb201_table(part)


@pytest.mark.parametrize("make_oracle", [
    lambda: RandomSearch(objective="accuracy", seed=4),
    lambda: keras_tuner.oracles.RandomSearchOracle(objective="accuracy", seed=5),
], ids=["kerasnas", "keras_tuner"])
def test_lookup_tuner_runs_an_oracle(table, tmp_path, make_oracle):
    timings = []
    results = run_search(make_oracle(), table, max_trials=20, directory=tmp_path,
                         timings=timings)
    assert len(results) == 20
    archs = [arch for arch, _ in results]
    assert len(set(archs)) == 20
    assert all(acc == table[arch] for arch, acc in results)
    assert len(timings) == 20
    assert all(total >= io >= 0 for total, io in timings)
    assert (tmp_path / "nb201" / "trial_19" / "trial.json").exists()


def test_same_seed_same_search(table):
    first = run_search(RandomSearch(objective="accuracy", seed=7), table, 10)
    again = run_search(RandomSearch(objective="accuracy", seed=7), table, 10)
    assert first == again


def test_wrong_objective_is_rejected(table):
    oracle = RandomSearch(objective="val_loss", seed=1)
    with pytest.raises(ValueError, match="objective='accuracy'"):
        run_search(oracle, table, 5)


def test_lookup_accepts_strings_architectures_and_hp_values(table):
    lookup = NB201Lookup(table)
    arch = lookup.encoding.sample(np.random.default_rng(3))
    assert lookup(arch) == lookup(str(arch)) == lookup(arch.to_hp_values()) == table[str(arch)]
    assert lookup.optimum == max(table.values())


def test_best_so_far_curves():
    assert best_so_far([1.0, 3.0, 2.0, 4.0]).tolist() == [1.0, 3.0, 3.0, 4.0]
    results = [("a", 1.0), ("b", 3.0), ("c", 2.0)]
    assert best_at(results, 1) == 1.0
    assert best_at(results, 3) == 3.0
    with pytest.raises(ValueError, match="budget"):
        best_at(results, 4)
