"""Keras Tuner's chief/worker gRPC mode with a kerasnas oracle, as three real processes."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

# One process per role: the chief serves the oracle, each worker looks trials up in NB201.
SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import keras_tuner
    from kerasnas.bench.nb201 import NB201HyperModel, NB201Lookup, load_nb201_table
    from kerasnas.oracles import RegularizedEvolution
    from kerasnas.spaces.encodings import NB201Encoding

    csv_path, directory, out_path, max_trials = sys.argv[1:5]
    lookup = NB201Lookup(load_nb201_table(csv_path))
    worker = {"chief": -1, "tuner0": 0, "tuner1": 1}[os.environ["KERASTUNER_TUNER_ID"]]

    started = os.path.join(os.path.dirname(out_path), "started.txt")

    class LookupTuner(keras_tuner.Tuner):
        waited = False

        def run_trial(self, trial, *args, **kwargs):
            if not self.waited:  # a worker whose TensorFlow started first cannot run every
                self.waited = True  # trial before the other connects: wait for it (<= 60 s)
                with open(started, "a") as f:
                    f.write(f"{worker}\\n")
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and len(set(open(started).read().split())) < 2:
                    time.sleep(0.1)
            # The worker's number travels to the chief as a metric of the trial.
            return {"accuracy": lookup(lookup.architecture(trial.hyperparameters.values)),
                    "worker": float(worker)}

    oracle = RegularizedEvolution(objective="accuracy", max_trials=int(max_trials),
                                  population_size=4, sample_size=2, seed=3,
                                  space=NB201Encoding())
    tuner = LookupTuner(oracle=oracle, hypermodel=NB201HyperModel(), directory=directory,
                        project_name="distributed")
    tuner.search(verbose=0)
    if worker == -1:
        trials = [{"status": t.status, "values": t.hyperparameters.values,
                   "worker": t.metrics.get_last_value("worker")}
                  for t in tuner.oracle.trials.values()]
        with open(out_path, "w") as f:
            json.dump(trials, f)
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # three TensorFlow processes: ~15 s idle, ~45 s on a loaded machine
def test_chief_and_two_workers_complete_a_search(nb201_csv, tmp_path):
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    out = tmp_path / "trials.json"
    max_trials = 10
    base_env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1",
                "KERASTUNER_ORACLE_PORT": str(_free_port()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, str(script), str(nb201_csv), str(tmp_path / "run"), str(out),
            str(max_trials)]
    procs = {}
    try:
        for role in ("chief", "tuner0", "tuner1"):
            procs[role] = subprocess.Popen(args, env={**base_env, "KERASTUNER_TUNER_ID": role},
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        logs = {}
        for role, proc in procs.items():
            try:
                logs[role] = proc.communicate(timeout=150)[0].decode(errors="replace")
            except subprocess.TimeoutExpired:
                pytest.fail(f"{role} did not finish within 150 s")
        for role, proc in procs.items():
            assert proc.returncode == 0, f"{role} failed:\n{logs[role][-3000:]}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)

    from kerasnas.spaces.encodings import NB201Encoding

    enc = NB201Encoding()
    trials = json.loads(out.read_text())
    assert len(trials) == max_trials
    assert all(t["status"] == "COMPLETED" for t in trials)
    archs = [enc.from_hp_values(t["values"]) for t in trials]  # every value set is valid
    assert len(set(archs)) == max_trials
    assert all(type(v) in (int, float, str, bool) for t in trials for v in t["values"].values())
    assert {t["worker"] for t in trials} == {0.0, 1.0}  # the chief heard from both workers
