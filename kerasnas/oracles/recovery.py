"""Crash recovery of an `ArchitectureOracle`: what a kill between two state writes leaves behind.

A search's state lives in several files: one `trial_XX/trial.json` per trial
and `oracle.json` (Keras Tuner's queues plus the strategy's own state). Each
file is written atomically (`kerasnas.infra.atomic`), but no write covers two files,
so a process killed by SIGKILL can stop between two of them. Two such gaps
exist, and `finish_recorded_ends` (run by `ArchitectureOracle.reload`) closes
both when the search resumes:

* a trial's end: its `trial.json` says COMPLETED (or FAILED), but the process
  died before `oracle.json` recorded the end. Keras Tuner alone would re-run
  that trial; here its end is recorded now, exactly as `end_trial` would have
  (end order, the strategy's `observe`), so nothing is lost or run twice.
* a trial's start: its `trial.json` exists but `oracle.json` never heard of it.
  It is dropped; its id and architecture come again from the restored state.

`one_save` makes `end_trial` write `oracle.json` once, after the strategy has
observed the result, instead of Keras Tuner's write before it.

Example:

>>> with one_save(oracle):                                        # doctest: +SKIP
...     keras_tuner.Oracle.end_trial(oracle, trial)               # its save() waits
"""

from __future__ import annotations

import contextlib

from kerasnas.infra import kt_internals

_ENDED = ("COMPLETED", "FAILED")


@contextlib.contextmanager
def one_save(oracle):
    """Within the block, `oracle.save()` does nothing; one real save follows the block."""
    if "save" in vars(oracle):  # already inside one_save (nested end_trial): the outer saves
        yield
        return
    oracle.save = lambda: None
    try:
        yield
    finally:
        del oracle.save
    oracle.save()


def finish_recorded_ends(oracle) -> list[str]:
    """Reconciles a reloaded oracle with its trial files; returns the ids it changed.

    Args:
        oracle: An `ArchitectureOracle` right after Keras Tuner's `reload()`
            (which has already sent every trial `oracle.json` listed as running
            to the retry queue).
    """
    changed = []
    started = set(oracle.start_order)
    for trial_id in [t for t in oracle.trials if t not in started]:
        del oracle.trials[trial_id]  # created, but the kill came before oracle.json knew it
        changed.append(trial_id)
    for trial_id in list(kt_internals.retry_queue(oracle)):
        trial = oracle.trials.get(trial_id)
        if trial is None or trial.status not in _ENDED:
            continue  # really interrupted (or INVALID awaiting its retry): it runs again
        kt_internals.retry_queue(oracle).remove(trial_id)
        if trial_id not in oracle.end_order:
            oracle.end_order.append(trial_id)
        kt_internals.count_run(oracle, trial_id)
        kt_internals.record_end(oracle, trial)
        changed.append(trial_id)
    if changed:
        oracle.save()
    return changed


__all__ = ["finish_recorded_ends", "one_save"]
