"""Crash and resume with real processes and real SIGKILLs (`tests/crash_worker.py`).

A seeded `kerasnas.search` + export is killed at chosen and at random points
(inside the `oracle.json` write that follows a trial's end, during a trial,
the refit, the export) and started again with the same call. Nothing finished
may be lost or run again, no state file may be left unreadable, and the final
leaderboard must equal an uninterrupted run's.
"""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap

import crash_worker as cw
import pytest

TRIALS = 4  # trials of the worker's search: each takes about a second


def test_killed_in_saves_and_trials_resumes_to_the_same_leaderboard(tmp_path):
    reference, _ = cw.reference(tmp_path / "clean", TRIALS)
    run_dir = tmp_path / "killed"
    search = run_dir / "search"

    # 1. SIGKILL inside the oracle.json write right after trial 2 ended (trial.json written).
    killed, _, run = cw.run_once(run_dir, TRIALS, env={cw.KILL_ENV: "2"})
    assert killed, run.output[-2000:]
    assert list(search.glob("oracle.json.killed.tmp")), "the kill did not land in the write"
    first = cw.finished_trials(search)
    assert sorted(first) == ["0", "1"]
    assert cw.damaged_files(run_dir) == []

    # 2. SIGKILL during the next trial's training (1 s after trial 3's line).
    killed, _, run = cw.run_once(run_dir, TRIALS, marker=f"trial 3/{TRIALS}", delay=0.5)
    assert killed, run.output[-2000:]
    assert "Resuming the search" in run.output
    second = cw.finished_trials(search)
    assert cw.lost_or_rerun(first, second) == []
    assert cw.damaged_files(run_dir) == []

    # 3. The same call again finishes: nothing lost or re-run, the uninterrupted leaderboard.
    killed, board, run = cw.run_once(run_dir, TRIALS)
    assert not killed and board is not None, run.output[-2000:]
    assert cw.lost_or_rerun(second, cw.finished_trials(search)) == []
    assert cw.damaged_files(run_dir) == []
    assert board == reference
    assert (run_dir / "export" / "kerasnas_model.keras").exists()


def test_keras_tuner_state_writes_are_never_half_written(tmp_path):
    # Keras Tuner's own save_json (oracle.json, trial.json) goes through kerasnas.infra.atomic
    # once kerasnas is imported. The child process dies by a real signal at an exact point,
    # in the middle of a write: a file size limit of 1 MB (RLIMIT_FSIZE) kills it with
    # SIGXFSZ while it rewrites a 1 MB+ state over a small one. The old state must remain.
    target = tmp_path / "oracle.json"
    script = textwrap.dedent(f"""
        import resource, signal
        import kerasnas.infra.kt_internals
        from keras_tuner.src import utils
        utils.save_json({str(target)!r}, {{"round": 0}})
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it by default
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 ** 20, 2 ** 20))
        utils.save_json({str(target)!r}, {{"round": 1, "values": list(range(300_000))}})
    """)
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=120)
    assert process.returncode == -signal.SIGXFSZ, process.stderr[-2000:]
    assert json.loads(target.read_text()) == {"round": 0}


@pytest.mark.slow
def test_random_kills_lose_nothing_and_match_the_clean_run(tmp_path):
    reference, search_seconds = cw.reference(tmp_path / "clean", 6)
    out = cw.crash_and_resume(tmp_path / "killed", 8, random.Random(1), 6,
                              search_seconds=search_seconds)
    assert out["kills"] == 8
    assert out["lost"] == [] and out["damaged"] == []
    assert out["board"] == reference
