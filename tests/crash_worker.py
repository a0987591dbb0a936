"""A tiny seeded `kerasnas.search` plus an export, run as its own process so it can be SIGKILLed.

    python tests/crash_worker.py RUN_DIR [MAX_TRIALS] [STRATEGY]

It is the same call every time: run it, kill it at any point, run it again, and
it resumes `RUN_DIR/search` and exports into `RUN_DIR/export`. Phase markers on
stdout tell a harness where it is (`READY` once imports are done, Keras's
`Refitting ...` line, `EXPORT`), and the last line is `RESULT <json>`: the
leaderboard `[trial_id, architecture, status, score]` in trial order.
Used by `tests/test_crash_resume.py` and `benchmarks/reliability_crash.py`, which
drive it with the harness below (`run_once`, `finished_trials`, `damaged_files`).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

WORKER = Path(__file__).resolve()

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def data():
    """120 examples of 8 features, 3 classes from a fixed linear rule (no download)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 8)).astype("float32")
    y = np.argmax(x[:, :3] + 0.3 * rng.normal(size=(120, 3)), axis=1)
    return x, y


#: Set to K to SIGKILL the worker in the middle of the `oracle.json` write that follows
#: the K-th trial's end (its trial.json already says COMPLETED): the gap between two
#: state files that `kerasnas.oracles.recovery` closes on resume.
KILL_ENV = "CRASH_WORKER_KILL_IN_ORACLE_SAVE"


def _kill_in_oracle_save(after_trials):
    """Wraps `kerasnas.infra.atomic.write_text`: half of the chosen write reaches its temporary
    file, then the process SIGKILLs itself (a real signal, at an exact point)."""
    import kerasnas.infra.atomic

    write_text = kerasnas.infra.atomic.write_text
    ended = []

    def killing_write(path, text, **kwargs):
        name = os.path.basename(os.fspath(path))
        if name == "trial.json" and '"status": "COMPLETED"' in text:
            ended.append(path)
        elif name == "oracle.json" and len(ended) == after_trials:
            with open(os.fspath(path) + ".killed.tmp", "w") as f:
                f.write(text[: len(text) // 2])
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return write_text(path, text, **kwargs)

    kerasnas.infra.atomic.write_text = killing_write


def main(run_dir, max_trials=6, strategy="evolution"):
    import kerasnas
    from kerasnas.deploy.export import next_version

    if os.environ.get(KILL_ENV):
        _kill_in_oracle_save(int(os.environ[KILL_ENV]))

    print("READY", flush=True)
    run_dir = Path(run_dir)
    x, y = data()
    result = kerasnas.search(
        x, y, max_trials=max_trials, strategy=strategy, space="dense", seed=3, epochs=2,
        min_steps=0, cv_folds=None, early_stopping=None, directory=run_dir / "search",
        baseline_fallback=False,  # the refit is one of the phases a kill lands in
        strategy_args={"population_size": 3, "sample_size": 2} if strategy == "evolution"
        else None)
    print("EXPORT", flush=True)
    export = run_dir / "export"
    result.export(export, formats=("keras", "savedmodel"), version=next_version(export))
    board = [[r.trial_id, r.architecture, r.status, r.score] for r in result.history]
    print("RESULT " + json.dumps(board), flush=True)


# ------------------------------------------------------------------ harness
class Run:
    """One worker process; `lines` are `(seconds since start, text)` of its stdout."""

    def __init__(self, run_dir, *args, env=None):
        self.started = time.monotonic()
        self.lines = []
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), str(run_dir), *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    def seen(self, marker):
        """Seconds since start at which a line containing `marker` appeared, or None."""
        return next((t for t, text in list(self.lines) if marker in text), None)

    def wait_for(self, marker, timeout):
        """Waits until `marker` appears (True) or the process ends or `timeout` passes (False)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.seen(marker) is not None:
                return True
            if self.process.poll() is not None:
                self._reader.join(5)
                return self.seen(marker) is not None
            time.sleep(0.02)
        return False

    def kill(self):
        """SIGKILL now; True if the process was still running."""
        if self.process.poll() is not None:
            return False
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        return True

    def finish(self, timeout):
        """Waits for the end; returns the decoded `RESULT` leaderboard (None if none)."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._reader.join(5)
        result = [text for _, text in self.lines if text.startswith("RESULT ")]
        return json.loads(result[-1][len("RESULT "):]) if result else None

    @property
    def output(self):
        return "\n".join(text for _, text in self.lines)


def run_once(run_dir, *args, marker=None, delay=None, timeout=300, env=None):
    """Runs the worker; with `marker`, SIGKILLs it `delay` s after that line appears.

    Returns `(killed, leaderboard or None, Run)`; `killed` is False when the
    process ended (or never printed `marker`) before the kill; a worker that
    killed itself (`KILL_ENV`) counts as killed.
    """
    run = Run(run_dir, *args, env=env)
    if marker is not None and run.wait_for(marker, timeout):
        end = time.monotonic() + delay
        while time.monotonic() < end and run.process.poll() is None:
            time.sleep(0.005)
        if run.kill():
            return True, None, run
    board = run.finish(timeout)
    if run.process.returncode == -signal.SIGKILL:
        return True, None, run
    if run.process.returncode != 0:
        raise RuntimeError(f"worker failed (exit {run.process.returncode}):\n{run.output[-3000:]}")
    return False, board, run


#: Where a kill lands: after which marker, and the most seconds after it.
PHASES = {"trial": ("READY", None), "refit": ("Refitting", 4.0), "export": ("EXPORT", 4.0)}


def random_kill(run_dir, rng, *args, search_seconds=20.0, timeout=300):
    """One run killed at a random point of a random phase; returns `(phase, killed, board)`."""
    phase = rng.choice(sorted(PHASES))
    marker, most = PHASES[phase]
    delay = rng.uniform(0.0, search_seconds if most is None else most)
    killed, board, _ = run_once(run_dir, *args, marker=marker, delay=delay, timeout=timeout)
    return phase, killed, board


def finished_trials(search_dir):
    """`{trial_id: (trial.json mtime_ns, status, score)}` of every trial that ended."""
    found = {}
    for path in Path(search_dir).glob("trial_*/trial.json"):
        state = json.loads(path.read_text())
        if state["status"] in ("COMPLETED", "FAILED"):
            found[state["trial_id"]] = (path.stat().st_mtime_ns, state["status"], state["score"])
    return found


def lost_or_rerun(before, after):
    """Trial ids finished in `before` whose record is gone or rewritten in `after`."""
    return sorted(t for t, record in before.items() if after.get(t) != record)


def damaged_files(run_dir):
    """Every state file under `run_dir` that does not load: JSON that does not parse, a
    `.keras` that is not a whole zip archive, a SavedModel version without its graph."""
    bad = []
    for path in Path(run_dir).rglob("*.json"):
        if ".tmp" in path.name:  # a temporary file a kill left behind: never read
            continue
        try:
            json.loads(path.read_text())
        except (OSError, ValueError) as err:
            bad.append(f"{path}: {err}")
    for path in Path(run_dir).rglob("*.keras"):
        if ".tmp" in path.name:
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                if archive.testzip() is not None:
                    bad.append(f"{path}: corrupt member")
        except (OSError, zipfile.BadZipFile) as err:
            bad.append(f"{path}: {err}")
    export = Path(run_dir) / "export" / "kerasnas_model"
    for version in export.glob("[0-9]*") if export.is_dir() else ():
        if not (version / "saved_model.pb").exists():
            bad.append(f"{version}: no saved_model.pb")
    return bad


def reference(run_dir, *args, timeout=300):
    """An uninterrupted run: `(leaderboard, seconds from READY to Refitting)`."""
    _, board, run = run_once(run_dir, *args, timeout=timeout)
    return board, run.seen("Refitting") - run.seen("READY")


def crash_and_resume(run_dir, kills, rng, *args, search_seconds=20.0, timeout=300):
    """Kills the worker `kills` times at random points, then lets it finish.

    Returns a dict: `kills` (how many landed before the end), `phases` (where),
    `lost` (finished trials lost or re-run across all runs), `damaged` (files
    that did not load after any kill), `runs`, and `board` (the final leaderboard).
    """
    search = Path(run_dir) / "search"
    landed, phases, lost, damaged, runs = 0, [], set(), [], 0
    board = None
    before = {}
    while board is None:
        if landed < kills:
            phase, killed, board = random_kill(run_dir, rng, *args,
                                               search_seconds=search_seconds, timeout=timeout)
        else:
            phase, (killed, board, _) = None, run_once(run_dir, *args, timeout=timeout)
        runs += 1
        if killed:
            landed += 1
            phases.append(phase)
        damaged += damaged_files(run_dir)
        after = finished_trials(search) if search.exists() else {}
        lost.update(lost_or_rerun(before, after))
        before = after
        if runs > 4 * kills + 10:
            raise RuntimeError("the worker never finished")
    return {"kills": landed, "phases": phases, "lost": sorted(lost), "damaged": damaged,
            "runs": runs, "board": board}


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], *(int(a) if a.isdigit() else a for a in args[1:]))
