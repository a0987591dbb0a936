"""Every kerasnas oracle drives a user's own Keras Tuner `build(hp)` through `HPEncoding`.

The searches run through real `keras_tuner.Tuner`s over a `build(hp)` that
uses Int (with step), Float (log and stepped), Choice, Boolean and a
conditional scope, and whose space grows after the first trials (`units1`,
`units2` and `extra` appear only once some trial needs them).
"""

import importlib
import json
import math

import keras
import keras_tuner as kt
import numpy as np
import pytest

from kerasnas.spaces.hp_encoding import HPEncoding

_ORACLES = {
    "random": ("kerasnas.oracles.random_search", "RandomSearch", {}),
    "evolution": ("kerasnas.oracles.evolution", "RegularizedEvolution",
                  {"population_size": 4, "sample_size": 2}),
    "bayesian": ("kerasnas.oracles.bayesian", "BayesianOptimization",
                 {"num_initial_points": 4}),
    "reinforce": ("kerasnas.oracles.controller", "ReinforceController", {"sample_size": 4}),
    "ppo": ("kerasnas.oracles.controller", "ReinforceController",
            {"ppo": True, "batch_size": 3, "sample_size": 4}),
}
UNITS = [4, 8, 16]
TRIALS = 12


def _oracle(name, seed=3, trials=TRIALS):
    module, cls, kwargs = _ORACLES[name]
    return getattr(importlib.import_module(module), cls)(
        objective=kt.Objective("score", "max"), max_trials=trials, seed=seed, **kwargs)


def build(hp):
    """A Keras Tuner user's hypermodel, written as such a user would."""
    model = keras.Sequential([keras.Input((8,))])
    for i in range(hp.Int("layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Choice(f"units{i}", UNITS),
                                     activation=hp.Choice("act", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        with hp.conditional_scope("dropout", [True]):
            model.add(keras.layers.Dropout(hp.Float("rate", 0.1, 0.5, step=0.1)))
    if hp.get("units0") == 16:
        model.add(keras.layers.Dense(hp.Int("extra", 8, 64, step=8)))
    model.add(keras.layers.Dense(2, activation="softmax"))
    lr = hp.Float("lr", 1e-4, 1e-2, sampling="log")
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy")
    return model


def score(values):
    """A known optimum: 3 layers of 16 tanh units, no dropout, lr = 1e-3, extra = 40."""
    s = -abs(math.log10(values["lr"]) + 3.0) + (values["act"] == "tanh")
    s += sum(values.get(f"units{i}", 4) / 16 for i in range(values["layers"]))
    s -= values["dropout"] * 0.5 + abs(values.get("extra", 40) - 40) / 100
    return float(s)


class SyntheticTuner(kt.Tuner):
    """Builds the user's model (so Keras Tuner discovers the space) and scores it by `score`."""

    def __init__(self, *args, crash_at=None, **kwargs):
        self.crash_at = crash_at
        super().__init__(*args, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        if self.crash_at is not None and int(trial.trial_id) == self.crash_at:
            raise KeyboardInterrupt  # escapes Keras Tuner like a real interruption
        self.hypermodel.build(trial.hyperparameters)
        return {"score": score(trial.hyperparameters.values)}


def _search(oracle, directory, crash_at=None, overwrite=True):
    tuner = SyntheticTuner(oracle=oracle, hypermodel=build, directory=str(directory),
                           project_name="user", overwrite=overwrite, crash_at=crash_at)
    tuner.search(verbose=0)
    return tuner


def _values(oracle):
    return [oracle.trials[t].hyperparameters.values for t in sorted(oracle.trials)]


# ------------------------------------------------------------------ the encoding
def _space():
    hp = kt.HyperParameters()
    hp.Int("layers", 1, 3)
    hp.Int("width", 8, 64, step=8)
    hp.Int("big", 1, 4096, sampling="log")
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Float("rate", 0.0, 0.5, step=0.1)
    hp.Choice("act", ["relu", "tanh"], default="tanh")
    hp.Boolean("bn")
    with hp.conditional_scope("bn", [True]):
        hp.Float("momentum", 0.01, 0.999, sampling="reverse_log")
    hp.Fixed("optimizer", "adam")
    return hp


def test_decisions_keep_range_step_and_defaults():
    enc = HPEncoding.from_keras_tuner(_space())
    d = {x.name: x for x in enc.decisions}
    assert d["layers"].choices == (1, 2, 3)
    assert d["width"].choices == tuple(range(8, 65, 8))
    assert d["rate"].choices == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    assert d["lr"].choices[0] == 1e-4 and d["lr"].choices[-1] == 1e-2
    assert len(d["lr"].choices) == 33
    ratios = np.diff(np.log(d["lr"].choices))  # evenly spaced in log scale
    assert np.allclose(ratios, ratios[0], rtol=1e-6)
    assert d["act"].default == "tanh" and d["optimizer"].choices == ("adam",)
    assert enc.default()["act"] == "tanh"
    assert d["momentum"].conditions == (("bn", (True,)),)


def test_samples_follow_each_sampling():
    enc = HPEncoding.from_keras_tuner(_space())
    rng = np.random.default_rng(0)
    archs = [enc.sample(rng) for _ in range(3000)]
    lr = np.array([a["lr"] for a in archs])
    big = np.array([a["big"] for a in archs])
    # Log-uniform: median at the geometric mean, each decade about a half.
    assert 6e-4 < np.median(lr) < 1.6e-3
    assert 0.45 < np.mean(lr < 1e-3) < 0.55
    assert 40 < np.median(big) < 100  # sqrt(4096) = 64; uniform would give ~2048
    momentum = np.array([a["momentum"] for a in archs if a["bn"]])
    assert 0.88 < np.median(momentum) < 0.93  # reverse_log: 1.009 - sqrt(0.01 * 0.999)
    assert all(float(a["rate"]) * 10 == pytest.approx(round(a["rate"] * 10)) for a in archs)


def test_inactive_conditionals_hold_defaults_and_strings_round_trip():
    enc = HPEncoding.from_keras_tuner(_space())
    rng = np.random.default_rng(1)
    for _ in range(200):
        arch = enc.sample(rng)
        if not arch["bn"]:
            assert arch["momentum"] == 0.01
        assert enc.from_string(str(arch)) == arch
        assert json.loads(json.dumps(arch.to_hp_values())) == arch.to_hp_values()
        assert all(type(v) in (int, float, str, bool) for v in arch.to_hp_values().values())
    off = enc.architecture({**enc.default().as_dict(), "bn": False, "momentum": 0.99})
    assert off["momentum"] == 0.01


def test_float_mutation_is_a_local_perturbation():
    enc = HPEncoding.from_keras_tuner(_space())
    lr = enc.decision("lr")
    rng = np.random.default_rng(2)
    start = enc.architecture({**enc.default().as_dict(), "lr": lr.choices[16]})
    steps = []
    for _ in range(2000):
        child = enc.mutate(start, rng)
        assert child != start
        if child["lr"] != start["lr"]:
            steps.append(abs(lr.index(child["lr"]) - 16))
    assert steps and np.median(steps) <= 4 and max(steps) < 16  # not a jump anywhere
    assert len([a for a in enc.neighbors(start) if a["lr"] != start["lr"]]) == 6


def test_strings_survive_a_growing_space():
    hp = kt.HyperParameters()
    hp.Int("layers", 1, 3)
    small = HPEncoding.from_keras_tuner(hp)
    arch = small.architecture({"layers": 2})
    hp.Choice("units1", UNITS)
    big = small.updated(hp)
    assert big is not small and big.updated(hp) is big
    assert str(big.from_string(str(arch))) == str(arch)  # same key before and after growing
    assert big.from_string(str(arch))["units1"] == 4


def test_a_name_repeated_under_two_scopes_is_named():
    hp = kt.HyperParameters()
    hp.Choice("model", ["a", "b"])
    for kind in ("a", "b"):
        with hp.conditional_scope("model", [kind]):
            hp.Int("units", 1, 4)
    with pytest.raises(ValueError, match=r"\['units'\] are declared more than once"):
        HPEncoding.from_keras_tuner(hp)


def test_unknown_hyperparameter_class_is_named():
    with pytest.raises(ValueError, match="'Range'.*Choice, Boolean, Int"):
        HPEncoding([{"class": "Range", "name": "r"}])


# -------------------------------------------------------- oracles on a kt.Tuner
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "ppo" else n
                                  for n in sorted(_ORACLES)])
def test_oracle_drives_a_user_build_hp(name, tmp_path):
    tuner = _search(_oracle(name), tmp_path)
    oracle = tuner.oracle
    initial = {"layers", "units0", "act", "dropout", "rate", "lr"}
    names = [h.name for h in oracle.hyperparameters.space]
    assert set(names) > initial  # the space grew after the first trial ...
    assert [d.name for d in oracle.encoding.decisions] == names  # ... and the encoding with it
    values = _values(oracle)
    assert len(values) == TRIALS
    assert all(oracle.trials[t].status == "COMPLETED" for t in oracle.trials)
    assert len({json.dumps({k: v[k] for k in names if k in v}, sort_keys=True)
                for v in values}) == TRIALS  # never the same configuration twice
    for v in values:
        assert v["layers"] in (1, 2, 3) and type(v["layers"]) is int
        assert all(v[f"units{i}"] in UNITS for i in range(v["layers"]))
        assert v["act"] in ("relu", "tanh") and type(v["dropout"]) is bool
        assert 1e-4 <= v["lr"] <= 1e-2 and type(v["lr"]) is float
        rate = v.get("rate", 0.1)
        assert rate in (0.1, 0.2, 0.3, 0.4, 0.5)
        if not v["dropout"]:
            assert rate == 0.1  # inactive: its default
        if "extra" in v:
            assert v["extra"] % 8 == 0 and 8 <= v["extra"] <= 64
        assert all(type(x) in (int, float, str, bool) for x in v.values())


# The controller retraces its policy graphs each time the space grows: ~20-40 s per run here.
_SLOW = {"reinforce", "ppo"}


def _params():
    return [pytest.param(n, marks=pytest.mark.slow) if n in _SLOW else n for n in sorted(_ORACLES)]


@pytest.mark.parametrize("name", _params())
def test_resume_from_before_the_space_grew_repeats_the_proposals(name, tmp_path):
    straight = _values(_search(_oracle(name), tmp_path / "straight").oracle)
    crashing = SyntheticTuner(oracle=_oracle(name), hypermodel=build, crash_at=2,
                              directory=str(tmp_path / "resumed"), project_name="user",
                              overwrite=True)
    with pytest.raises(KeyboardInterrupt):
        crashing.search(verbose=0)
    saved = json.loads((tmp_path / "resumed" / "user" / "oracle.json").read_text())
    saved_names = {h["config"]["name"] for h in saved["hyperparameters"]["space"]}
    resumed = _search(_oracle(name), tmp_path / "resumed", overwrite=False).oracle
    final_names = {h.name for h in resumed.hyperparameters.space}
    assert saved_names < final_names  # the state was saved before the space grew
    assert _values(resumed) == straight


def test_kerasnas_spaces_keep_their_own_encoding():
    from kerasnas.oracles import RandomSearch
    from kerasnas.spaces.encodings import NB201Encoding

    oracle = RandomSearch(objective=kt.Objective("score", "max"), max_trials=1, seed=0)
    hp = kt.HyperParameters()
    NB201Encoding().declare(hp)
    oracle.update_space(hp)
    assert isinstance(oracle.encoding, NB201Encoding)


@pytest.mark.slow  # real training: ~10 s idle, ~25 s on a loaded machine
def test_real_training_search_on_tiny_data(tmp_path):
    from kerasnas.oracles import RegularizedEvolution

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    oracle = RegularizedEvolution(objective="val_loss", max_trials=3, population_size=2,
                                  sample_size=1, seed=1)
    tuner = kt.Tuner(oracle=oracle, hypermodel=build, directory=str(tmp_path),
                     project_name="fit", overwrite=True)
    tuner.search(x, y, validation_data=(x, y), epochs=1, batch_size=32, verbose=0)
    assert [t.status for t in oracle.trials.values()] == ["COMPLETED"] * 3
    model = tuner.get_best_models(1)[0]
    assert model.predict(x[:4], verbose=0).shape == (4, 2)


# ------------------------------------------------------------------ distributed
_DISTRIBUTED = '''
import json, os, sys
import keras_tuner as kt
from kerasnas.oracles import BayesianOptimization

directory, out_path = sys.argv[1:3]
worker = {"chief": -1, "tuner0": 0, "tuner1": 1}[os.environ["KERASTUNER_TUNER_ID"]]

def build(hp):  # a user's space: Int, log Float, Choice, Boolean and a conditional scope
    hp.Int("layers", 1, 3)
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Choice("act", ["relu", "tanh"])
    if hp.Boolean("dropout"):
        with hp.conditional_scope("dropout", [True]):
            hp.Float("rate", 0.1, 0.5, step=0.1)

class UserTuner(kt.Tuner):
    def run_trial(self, trial, *args, **kwargs):
        self.hypermodel.build(trial.hyperparameters)
        v = trial.hyperparameters.values
        return {"score": v["layers"] - abs(v["lr"] - 1e-3) * 100, "worker": float(worker)}

oracle = BayesianOptimization(objective=kt.Objective("score", "max"), max_trials=10,
                              num_initial_points=4, seed=3)
tuner = UserTuner(oracle=oracle, hypermodel=build, directory=directory, project_name="dist")
tuner.search(verbose=0)
if worker == -1:
    with open(out_path, "w") as f:
        json.dump([{"status": t.status, "values": t.hyperparameters.values,
                    "worker": t.metrics.get_last_value("worker")}
                   for t in tuner.oracle.trials.values()], f)
'''


@pytest.mark.slow  # three TensorFlow processes: ~15 s idle, ~60 s on a loaded machine
def test_chief_and_two_workers_search_a_user_hypermodel(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    script, out = tmp_path / "search.py", tmp_path / "trials.json"
    script.write_text(_DISTRIBUTED)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(port), "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, str(script), str(tmp_path / "run"), str(out)]
    procs = {}
    try:
        for role in ("chief", "tuner0", "tuner1"):
            procs[role] = subprocess.Popen(args, env={**env, "KERASTUNER_TUNER_ID": role},
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        logs = {role: proc.communicate(timeout=240)[0].decode(errors="replace")
                for role, proc in procs.items()}
        for role, proc in procs.items():
            assert proc.returncode == 0, f"{role} failed:\n{logs[role][-3000:]}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    trials = json.loads(out.read_text())
    assert len(trials) == 10 and all(t["status"] == "COMPLETED" for t in trials)
    assert {t["worker"] for t in trials} == {0.0, 1.0}
    for t in trials:
        v = t["values"]
        assert all(type(x) in (int, float, str, bool) for x in v.values())
        assert v["layers"] in (1, 2, 3) and 1e-4 <= v["lr"] <= 1e-2
        if not v["dropout"]:
            assert v.get("rate", 0.1) == 0.1
