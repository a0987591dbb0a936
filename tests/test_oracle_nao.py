"""NAO (`kerasnas.oracles.nao`): the autoencoder, the gradient step, seeds, exact resume, errors.

The searches run through a real `keras_tuner.Tuner` on the NAS-Bench-201 table
(lookup instead of training), as tests/test_oracle_resume.py does for the
other oracles; small settings keep each round's training to a fraction of a
second.
"""

import json

import numpy as np
import pytest

from kerasnas.bench.nb201 import NB201LookupTuner, run_search, trial_results
from kerasnas.oracles.nao import NAO, NAOModel, scale_fitness
from kerasnas.spaces.encodings import DenseEncoding, NB201Encoding

# Rounds of 4 proposals after 6 random ones, short training: a 24-trial search runs 5 rounds.
SMALL = {"num_initial": 6, "new_per_round": 4, "top_k": 4, "train_steps": 30,
         "pretrain_steps": 60, "unlabeled": 64}
TRIALS = 24


def _nao(seed, **extra):
    return NAO(objective="accuracy", max_trials=TRIALS, seed=seed, **{**SMALL, **extra})


@pytest.fixture(scope="module")
def nb201_split(nb201_csv):
    """1,000 training and 200 disjoint held-out NB201 cells with their accuracies."""
    from kerasnas.bench.nb201 import load_nb201_table

    table = load_nb201_table(nb201_csv)
    enc = NB201Encoding()
    keys = sorted(table)
    order = np.random.default_rng(0).permutation(len(keys))
    train = [enc.from_string(keys[i]) for i in order[:1000]]
    held = [enc.from_string(keys[i]) for i in order[1000:1200]]
    return table, train, held


@pytest.fixture(scope="module")
def trained(nb201_split):
    table, train, _ = nb201_split
    model = NAOModel(NB201Encoding())
    losses = model.fit(train, [table[str(a)] for a in train], steps=1500, seed=0)
    return model, losses


def test_the_autoencoder_reconstructs_held_out_cells(trained, nb201_split):
    model, losses = trained
    table, train, held = nb201_split
    assert not {str(a) for a in held} & {str(a) for a in train}
    decoded = model.decode(model.encode(held))
    exact = np.mean([a == b for a, b in zip(decoded, held, strict=True)])
    assert exact >= 0.95, f"only {exact:.1%} of 200 held-out cells decode to themselves"
    # And the predictor learned the accuracies: it ranks the held-out cells well.
    from scipy.stats import spearmanr

    rho = spearmanr(model.predict(held), [table[str(a)] for a in held])[0]
    assert rho > 0.5, rho


def test_an_untrained_autoencoder_does_not_reconstruct(nb201_split):
    # What the test above measures is learned: at initialisation almost nothing decodes back.
    _, _, held = nb201_split
    model = NAOModel(NB201Encoding())
    model.reset(0)
    exact = np.mean([a == b for a, b in zip(model.decode(model.encode(held)), held,
                                            strict=True)])
    assert exact < 0.1


def test_the_gradient_step_increases_the_predicted_score(trained, nb201_split):
    model, _ = trained
    table, train, _ = nb201_split
    top = sorted(train, key=lambda a: -table[str(a)])[:16]
    decoded, info = model.ascend(top, [0.05, 0.5, 5.0, 50.0], details=True)
    assert info["moved"].shape == (4, 16, model.units)
    np.testing.assert_allclose(np.linalg.norm(info["moved"], axis=-1), 1.0, atol=1e-5)
    # f(z + η ∂f/∂z) > f(z) for a small step, and larger steps climb further.
    assert np.all(info["moved_score"][0] > info["score"])
    assert np.all(info["moved_score"][1] >= info["moved_score"][0])
    np.testing.assert_allclose(model.predict_embeddings(info["z"]), info["score"], rtol=1e-5)
    # A small step stays on the cell (the decoder's basin); the largest leaves it.
    assert decoded[0] == model.decode(info["z"])
    assert sum(a != b for a, b in zip(decoded[-1], top, strict=True)) >= 8
    assert all(a.encoding == model.encoding for row in decoded for a in row)


def test_fitness_scaling():
    assert scale_fitness([1.0, 3.0, 2.0], "minmax").tolist() == [0.0, 1.0, 0.5]
    assert scale_fitness([5.0, 5.0], "minmax").tolist() == [0.5, 0.5]
    assert scale_fitness([1.0, 3.0, 2.0, 2.0], "rank").tolist() == [0.125, 0.875, 0.5, 0.5]


def test_inactive_decisions_are_left_out_and_decode_to_defaults():
    # A space with inactive decisions (units{i} past num_layers) and graphs of several sizes.
    enc = DenseEncoding(max_layers=3, units=(16, 32))
    rng = np.random.default_rng(1)
    archs = list({str(a): a for a in (enc.sample(rng) for _ in range(200))}.values())
    model = NAOModel(enc, units=32)
    model.fit(archs, [float(a["num_layers"]) for a in archs], steps=400, seed=1)
    decoded = model.decode(model.encode(archs))
    assert np.mean([a == b for a, b in zip(decoded, archs, strict=True)]) > 0.9
    for arch in decoded:
        assert arch == enc.architecture(arch.as_dict())  # canonical: inactive at defaults
    _, _, _, _, active = model._arrays(archs)
    assert active.min() == 0.0 and active.max() == 1.0


def test_model_training_is_a_function_of_data_and_seed():
    enc = NB201Encoding()
    rng = np.random.default_rng(2)
    archs = [enc.sample(rng) for _ in range(40)]
    pool = [enc.sample(rng) for _ in range(40)]
    fitness = rng.random(40)

    def weights(seed):
        model = NAOModel(enc)
        model.pretrain(pool, steps=20, seed=seed)
        model.fit(archs, fitness, steps=20, seed=seed, unlabeled=pool)
        return [v.numpy() for v in model.variables]

    first, again, other = weights(3), weights(3), weights(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_seeded_searches_repeat(nb201_table):
    first = run_search(_nao(11), nb201_table, 18)
    assert run_search(_nao(11), nb201_table, 18) == first
    assert run_search(_nao(12), nb201_table, 18) != first


@pytest.mark.parametrize("crash_at", [8, 14])  # mid-round (queue half used), and a round's end
def test_an_interrupted_search_resumes_exactly(crash_at, nb201_table, tmp_path,
                                               crashing_tuner):
    straight_oracle = _nao(3)
    straight = run_search(straight_oracle, nb201_table, TRIALS, directory=tmp_path / "straight")
    assert straight_oracle.round >= 4

    kwargs = {"directory": str(tmp_path / "resumed"), "project_name": "nb201"}
    crashing = crashing_tuner(_nao(3), nb201_table, crash_at=crash_at, overwrite=True, **kwargs)
    with pytest.raises(KeyboardInterrupt):
        crashing.search(verbose=0)
    assert len(trial_results(crashing.oracle, nb201_table)) == crash_at
    # A new process would build everything again; overwrite=False reloads the project.
    resumed = NB201LookupTuner(_nao(3), nb201_table, overwrite=False, **kwargs)
    resumed.search(verbose=0)
    assert trial_results(resumed.oracle, nb201_table) == straight
    archs = [arch for arch, _ in straight]
    assert len(archs) == len(set(archs)) == TRIALS  # nothing evaluated twice


def test_the_state_round_trip_reproduces_the_next_proposals(nb201_table, tmp_path):
    tuner = NB201LookupTuner(_nao(5), nb201_table, directory=str(tmp_path),
                             project_name="nb201", overwrite=True)
    tuner.search(verbose=0)
    original = tuner.oracle
    state = json.loads(json.dumps(original.get_state()))  # must survive JSON
    assert set(state["kerasnas"]["algorithm"]) == {"queue", "round", "trained_on", "last_round"}

    copy = NAO(objective="accuracy", seed=99, space=NB201Encoding(), **SMALL)
    copy.trials = original.trials
    copy.set_state(state)
    ahead = [original.populate_space(f"next{i}") for i in range(6)]  # crosses a round
    again = [copy.populate_space(f"next{i}") for i in range(6)]
    assert [r["status"] for r in ahead] == ["RUNNING"] * 6
    assert again == ahead


def test_rounds_decode_new_architectures(nb201_table):
    oracle = NAO(objective="accuracy", seed=0, num_initial=10, new_per_round=8, top_k=8,
                 train_steps=60, pretrain_steps=300, unlabeled=256)
    rounds = []
    new_round = oracle._new_round

    def record():
        new_round()
        rounds.append(dict(oracle.last_round))

    oracle._new_round = record
    results = run_search(oracle, nb201_table, 42)
    assert len(rounds) == 4
    assert all(r["decoded"] + r["mutated"] == 8 for r in rounds)
    # Most proposals come from the decoder, not from the mutation fallback.
    assert sum(r["decoded"] for r in rounds) >= 16, rounds
    assert max(acc for _, acc in results) > max(acc for _, acc in results[:10])


class _Stuck:
    """A model whose every step decodes to the architecture it started from."""

    pretrained = ()  # "pretrained": the oracle skips the pretraining

    def fit(self, archs, fitness, **kwargs):
        return {"loss": 0.0, "mse": 0.0, "ce": 0.0}

    def ascend(self, archs, step_sizes):
        return [list(archs) for _ in step_sizes]


class _StuckNAO(NAO):
    model = _Stuck()


def test_no_new_decoded_architecture_falls_back_to_mutations(nb201_table):
    oracle = _StuckNAO(objective="accuracy", max_trials=TRIALS, seed=7, **SMALL)
    results = run_search(oracle, nb201_table, 14)
    assert oracle.last_round["decoded"] == 0
    assert oracle.last_round["mutated"] == SMALL["new_per_round"]
    assert len({a for a, _ in results}) == 14
    top = sorted(results[:6], key=lambda r: -r[1])[:SMALL["top_k"]]
    enc = NB201Encoding()
    # The fallback children are one mutation away from a top architecture.
    for arch, _ in results[6:10]:
        child = enc.from_string(arch)
        assert any(sum(a != b for a, b in zip(child.values, enc.from_string(t).values,
                                              strict=True)) == 1 for t, _ in top)


@pytest.mark.parametrize("kwargs, words", [
    ({"num_initial": 1}, "num_initial"),
    ({"top_k": 0}, "top_k"),
    ({"new_per_round": 2.5}, "new_per_round"),
    ({"max_step_size": 0}, "max_step_size"),
    ({"trade_off": 1.5}, "trade_off"),
    ({"unlabeled": -1}, "unlabeled"),
    ({"train_steps": 0}, "train_steps"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"units": 0}, "units"),
    ({"target": "zscore"}, "target"),
    ({"max_nodes": 0}, "max_nodes"),
])
def test_bad_arguments_raise_clear_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        NAO(objective="accuracy", **kwargs)


def test_bad_model_inputs_raise_clear_errors():
    enc = NB201Encoding()
    rng = np.random.default_rng(0)
    archs = [enc.sample(rng) for _ in range(4)]
    with pytest.raises(TypeError, match="Encoding"):
        NAOModel("nb201")
    model = NAOModel(enc, max_nodes=5)
    with pytest.raises(ValueError, match="max_nodes"):
        model.encode(archs)
    model = NAOModel(enc)
    with pytest.raises(ValueError, match="at least 2"):
        model.fit(archs[:1], [1.0])
    with pytest.raises(ValueError, match="fitness"):
        model.fit(archs, [1.0, 2.0])
    with pytest.raises(ValueError, match="step sizes"):
        model.ascend(archs, [-1.0])
    with pytest.raises(ValueError, match="from_string"):
        model.encode([DenseEncoding().default()])


def test_nao_is_a_named_strategy():
    import kerasnas.oracles
    from kerasnas.automl.names import STRATEGIES

    assert STRATEGIES["nao"] == ("NAO", {})
    assert kerasnas.oracles.NAO is NAO
