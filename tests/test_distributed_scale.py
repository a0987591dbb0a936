"""Keras Tuner's chief/worker mode with every kerasnas oracle, and lost workers.

The fast test drives the chief's oracle as the gRPC server would (two tuner
ids asking for and ending trials) and checks that a silent worker's trial goes
to the other one. The slow tests launch real processes on 127.0.0.1: a chief
and workers of `python -m kerasnas.bench.scale`, one SIGKILLed mid-trial.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from kerasnas.bench.scale import ORACLES

#: Every process of a launch must be done within this many seconds (TensorFlow's import is
#: ~5-10 s per process; the chief polls Keras Tuner's exit condition every 20 s).
LAUNCH_TIMEOUT_S = 240


def _end(oracle, trial, score=90.0):
    trial.metrics.register("accuracy", direction="max")
    trial.metrics.update("accuracy", score)
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def test_a_silent_workers_trial_goes_to_another_worker(tmp_path):
    from kerasnas.bench.scale import make_oracle
    from kerasnas.oracles import workers

    oracle = make_oracle("evolution", seed=1, max_trials=3, worker_timeout=0.3)
    oracle._set_project_dir(str(tmp_path), "p")
    a = oracle.create_trial("tuner0")  # tuner0 will be lost with this trial
    b = oracle.create_trial("tuner1")
    assert a.status == b.status == "RUNNING"
    _end(oracle, b)
    c = oracle.create_trial("tuner1")
    _end(oracle, c)
    # All 3 trials handed out, one still running: tuner1 is told to wait, not to stop.
    assert oracle.create_trial("tuner1").status == "IDLE"
    time.sleep(0.35)  # tuner0 stays silent past worker_timeout
    retried = oracle.create_trial("tuner1")
    assert retried.trial_id == a.trial_id
    assert retried.hyperparameters.values == a.hyperparameters.values
    assert "tuner0" not in oracle.tuner_ids
    _end(oracle, retried, score=91.0)
    assert oracle.create_trial("tuner1").status == "STOPPED"
    assert not oracle.ongoing_trials and not oracle.tuner_ids  # the chief can exit
    # tuner0 was only slow and reports the trial it lost: ignored, observed once only.
    import keras_tuner

    observed = dict(oracle._fitness)
    late = keras_tuner.engine.trial.Trial(a.hyperparameters.copy(), trial_id=a.trial_id)
    _end(oracle, late, score=50.0)  # as the chief gets it: a fresh copy from the wire
    assert oracle._fitness == observed
    assert oracle.trials[a.trial_id].score == 91.0
    assert [t.status for t in oracle.trials.values()] == ["COMPLETED"] * 3
    assert workers.resolve_timeout(None) is None  # alone (no KERASTUNER_*), detection is off


def test_worker_timeout_is_checked():
    from kerasnas.oracles import workers

    with pytest.raises(ValueError, match=r"worker_timeout.*-1.*worker_timeout=1800"):
        workers.resolve_timeout(-1)


# --------------------------------------------------------------------- real processes
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(tmp_path, oracle, workers=2, max_trials=8, sleep=0.0, worker_timeout=None, seed=0,
           barrier=0):
    """Starts a chief and `workers` workers on 127.0.0.1; returns `{role: Popen}` and paths."""
    env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(_free_port()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out, started = tmp_path / "trials.json", tmp_path / "started.log"
    args = [sys.executable, "-m", "kerasnas.bench.scale", "--oracle", oracle, "--max-trials",
            str(max_trials), "--seed", str(seed), "--directory", str(tmp_path / "run"),
            "--sleep", str(sleep), "--started", str(started), "--out", str(out)]
    if worker_timeout is not None:
        args += ["--worker-timeout", str(worker_timeout)]
    if barrier:
        args += ["--barrier", str(barrier)]
    procs = {}
    for role in ["chief"] + [f"tuner{i}" for i in range(workers)]:
        log = open(tmp_path / f"{role}.log", "wb")
        procs[role] = subprocess.Popen(args, env={**env, "KERASTUNER_TUNER_ID": role},
                                       stdout=log, stderr=subprocess.STDOUT)
    return procs, out, started


def wait_all(procs, tmp_path, timeout=LAUNCH_TIMEOUT_S, expect=None):
    deadline = time.monotonic() + timeout
    try:
        for role, proc in procs.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log = (tmp_path / f"{role}.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"{role} still running after {timeout} s:\n{log}")
            if expect is None or role in expect:
                log = (tmp_path / f"{role}.log").read_text(errors="replace")[-3000:]
                assert proc.returncode == 0, f"{role} exited {proc.returncode}:\n{log}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _check_search(out, max_trials, space):
    from kerasnas.bench.scale import encoding_of

    summary = json.loads(out.read_text())
    trials = summary["trials"]
    assert len(trials) == max_trials
    assert [t["status"] for t in trials] == ["COMPLETED"] * max_trials
    encoding = encoding_of(space)
    archs = [encoding.from_hp_values(t["values"]) for t in trials]
    assert len(set(archs)) == max_trials  # no architecture trained twice
    assert all(type(v) in (int, float, str, bool) for t in trials for v in t["values"].values())
    return trials


@pytest.mark.slow  # 7 launches of 3 TensorFlow processes: ~4 min idle
@pytest.mark.parametrize("oracle", sorted(ORACLES))
def test_every_oracle_runs_as_chief_and_two_workers(oracle, tmp_path):
    max_trials = 10
    # Without the barrier, a worker whose start-up was 3 s faster ran all 10 short trials
    # before the other connected (net2net, idle machine).
    procs, out, _ = launch(tmp_path, oracle, workers=2, max_trials=max_trials, sleep=0.05,
                           barrier=2)
    wait_all(procs, tmp_path)
    trials = _check_search(out, max_trials, ORACLES[oracle][2])
    assert {t["worker"] for t in trials} == {0.0, 1.0}  # both workers ran trials


@pytest.mark.slow  # a chief and 2 workers, one killed: ~40 s idle
@pytest.mark.parametrize("oracle", ["evolution", "ppo"])
def test_a_worker_killed_mid_trial_has_its_trial_retried(oracle, tmp_path):
    max_trials = 8
    procs, out, started = launch(tmp_path, oracle, workers=2, max_trials=max_trials, sleep=1.0,
                                 worker_timeout=4)
    victim = procs["tuner1"]
    deadline = time.monotonic() + LAUNCH_TIMEOUT_S
    killed_trial = None
    while killed_trial is None and time.monotonic() < deadline:
        lines = started.read_text().split("\n") if started.exists() else []
        begun = [line.split() for line in lines if line.startswith("start tuner1 ")]
        if len(begun) >= 2:  # tuner1 is inside its second trial (a 1 s sleep)
            ended = {line.split()[2] for line in lines if line.startswith("end tuner1 ")}
            if begun[-1][2] not in ended:
                victim.send_signal(signal.SIGKILL)
                killed_trial = begun[-1][2]
                break
        time.sleep(0.05)
    assert killed_trial is not None, "tuner1 never started a second trial"
    victim.wait(timeout=30)
    wait_all(procs, tmp_path, expect={"chief", "tuner0"})
    trials = _check_search(out, max_trials, ORACLES[oracle][2])
    retried = next(t for t in trials if t["trial_id"] == killed_trial)
    assert retried["worker"] == 0.0  # finished by the surviving worker
    log = started.read_text()
    assert f"end tuner1 {killed_trial} " not in log
    assert f"end tuner0 {killed_trial} " in log
