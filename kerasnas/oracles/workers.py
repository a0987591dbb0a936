"""Lost workers in Keras Tuner's chief/worker mode: their trial goes to another worker.

Keras Tuner's chief (`KERASTUNER_TUNER_ID=chief`) hands each worker a trial
and waits for it to end. A worker killed mid-trial (SIGKILL, a pre-empted node,
an out-of-memory kill) never ends it, so on its own the chief waits forever
and never exits. The chief's `ArchitectureOracle` therefore remembers when it
last heard from each worker (asking for a trial, reporting an epoch's metrics);
a worker silent for longer than `worker_timeout` seconds is taken as lost:
its trial goes to Keras Tuner's retry queue, and the next worker that asks
runs it, with the same architecture.

While trials are still running on other workers, a worker that asks for a
trial after the last one was handed out is told to wait (`IDLE`) instead of
to stop, so a lost worker's trial always has a live worker to take it and the
search completes; the chief exits once every trial has ended.

A worker that was only slow (not lost) and reports its trial after it was
handed to another worker: its result is kept if the trial had not ended yet,
and ignored if it had (the trial is never observed twice).

Example (on the chief; every worker runs the same script):

>>> from kerasnas.oracles import RegularizedEvolution
>>> oracle = RegularizedEvolution(objective="val_accuracy", max_trials=100,
...                               worker_timeout=900)    # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import time

from kerasnas.infra import kt_internals

#: Seconds of silence after which a worker counts as lost, in distributed mode. Workers
#: speak when they ask for a trial and after every epoch (Keras Tuner reports each epoch's
#: metrics to the chief), so this must exceed the longest epoch plus a model's build time:
#: 30 minutes covers epochs of tens of minutes without leaving a lost trial idle for long
#: compared with a multi-hour search. Override with `worker_timeout=` or the environment
#: variable `KERASNAS_WORKER_TIMEOUT`.
DEFAULT_WORKER_TIMEOUT = 1800.0

#: Environment variable that sets `worker_timeout` (seconds) for every oracle of a launch.
TIMEOUT_ENV = "KERASNAS_WORKER_TIMEOUT"

#: Seconds the chief lets a waiting worker sleep before it asks again, so waiting
#: workers poll about 5 times a second instead of in a tight loop.
IDLE_WAIT = 0.2


def resolve_timeout(worker_timeout):
    """`worker_timeout` as seconds, or None when lost workers are not detected.

    None (the default) reads `KERASNAS_WORKER_TIMEOUT`, else uses
    `DEFAULT_WORKER_TIMEOUT` in distributed mode (`KERASTUNER_ORACLE_IP` set)
    and nothing in a single process, where no other worker can be lost.
    """
    if worker_timeout is None:
        text = os.environ.get(TIMEOUT_ENV)
        if text is not None:
            try:
                worker_timeout = float(text)
            except ValueError:
                raise ValueError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds; set it "
                                 "to e.g. 1800, or unset it.") from None
        elif "KERASTUNER_ORACLE_IP" in os.environ:
            worker_timeout = DEFAULT_WORKER_TIMEOUT
        else:
            return None
    if isinstance(worker_timeout, bool) or not isinstance(worker_timeout, (int, float)) \
            or not math.isfinite(worker_timeout) or worker_timeout <= 0:
        raise ValueError(f"worker_timeout must be a number of seconds > 0 or None; got "
                         f"{worker_timeout!r}. Pass e.g. worker_timeout=1800 (longer than "
                         "one epoch).")
    return float(worker_timeout)


def _last_seen(oracle) -> dict:
    seen = getattr(oracle, "_kerasnas_last_seen", None)
    if seen is None:
        seen = oracle._kerasnas_last_seen = {}
    return seen


def heard_from_trial(oracle, trial_id) -> None:
    """Records that the worker running `trial_id` is alive (it reported metrics)."""
    for tuner_id, trial in oracle.ongoing_trials.items():
        if trial.trial_id == trial_id:
            _last_seen(oracle)[tuner_id] = time.monotonic()


def reap_lost_workers(oracle, timeout) -> list[str]:
    """Forgets workers silent for over `timeout` s; their trials go to the retry queue.

    Returns the ids of the trials moved.
    """
    now = time.monotonic()
    seen = _last_seen(oracle)
    moved = []
    for tuner_id in sorted(set(oracle.tuner_ids) | set(oracle.ongoing_trials)):
        last = seen.setdefault(tuner_id, now)  # first sight (e.g. after a chief restart)
        if now - last <= timeout:
            continue
        trial = oracle.ongoing_trials.pop(tuner_id, None)
        oracle.tuner_ids.discard(tuner_id)
        _waiting(oracle).discard(tuner_id)
        seen.pop(tuner_id, None)
        if trial is not None and trial.trial_id not in kt_internals.retry_queue(oracle):
            kt_internals.retry_queue(oracle).append(trial.trial_id)
            moved.append(trial.trial_id)
    return moved


def _waiting(oracle) -> set:
    waiting = getattr(oracle, "_kerasnas_waiting", None)
    if waiting is None:
        waiting = oracle._kerasnas_waiting = set()
    return waiting


def create_trial(oracle, create, tuner_id, timeout):
    """`Oracle.create_trial` with lost-worker recovery (`create` is Keras Tuner's own)."""
    import keras_tuner

    if timeout is None:
        return create(tuner_id)
    _last_seen(oracle)[tuner_id] = time.monotonic()
    reap_lost_workers(oracle, timeout)
    waiting = _waiting(oracle)
    waiting.discard(tuner_id)
    full = oracle.max_trials and len(oracle.trials) >= oracle.max_trials
    if full and not kt_internals.retry_queue(oracle) and tuner_id not in oracle.ongoing_trials:
        # Keras Tuner would tell this worker to stop. It waits instead while another worker
        # runs a trial (which may yet need a new home) or is registered without a trial and
        # has not been heard from since (it may be lost between trials: it must time out
        # before the chief can exit).
        busy = set(oracle.ongoing_trials) | (set(oracle.tuner_ids) - waiting)
        if busy - {tuner_id}:
            oracle.tuner_ids.add(tuner_id)
            waiting.add(tuner_id)
            time.sleep(IDLE_WAIT)
            return keras_tuner.engine.trial.Trial(oracle.hyperparameters.copy(), trial_id=None,
                                                  status="IDLE")
    return create(tuner_id)


def is_stale_end(oracle, trial) -> bool:
    """True for the report of a trial that was handed to another worker and has ended since.

    A late report of a trial still waiting for retry is accepted (and the
    trial leaves the retry queue).
    """
    trial_id = trial.trial_id
    running = any(t.trial_id == trial_id for t in oracle.ongoing_trials.values())
    if running:
        return False
    if trial_id in kt_internals.retry_queue(oracle) and trial.status == "COMPLETED":
        kt_internals.retry_queue(oracle).remove(trial_id)
        return False
    stored = oracle.trials.get(trial_id)
    return stored is not None and trial_id in oracle.end_order and \
        stored.status in ("COMPLETED", "FAILED")
