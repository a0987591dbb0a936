"""Bounded disk: keep the checkpoints of the best trials (and of parents that may have children).

Keras Tuner keeps every trial's best-epoch weights (`trial_XX/checkpoint.weights.h5`),
so a long search's folder grows with every trial. `NASTuner(keep_checkpoints=k)`
calls `prune` after each trial: it deletes the checkpoint of every finished
trial outside the `k` best, except those a later trial may still load:

* a parent a child can still inherit weights from (when inheritance is on:
  `inherit_weights=True`, or `"auto"` with an oracle that asks for it), as
  the oracle says through `ArchitectureOracle.checkpoints_needed()` (the
  population of aging evolution, every Net2Net network that can still grow;
  a strategy that cannot tell keeps them all);
* a trial `SuccessiveHalving` may promote (it continues from the checkpoint):
  all are kept.

Everything else about a pruned trial (its `trial.json`, metrics, curves) stays:
the leaderboard and the report are unchanged; only `tuner.load_model(trial)` of
a pruned trial is no longer possible (the refit rebuilds from the architecture).

Example:

>>> tuner = NASTuner(oracle, space, keep_checkpoints=5)     # doctest: +SKIP
"""

from __future__ import annotations

import os

from kerasnas.tuner.features import TunerFeature


def check_option(keep_checkpoints):
    """`keep_checkpoints` as a positive int or None (keep all); a clear error otherwise."""
    if keep_checkpoints is None:
        return None
    if isinstance(keep_checkpoints, bool) or not isinstance(keep_checkpoints, int) \
            or keep_checkpoints < 1:
        raise ValueError(f"keep_checkpoints must be an int >= 1 (the best trials whose weights "
                         f"are kept) or None to keep all, got {keep_checkpoints!r}.")
    return keep_checkpoints


def needed(tuner) -> set[str] | None:
    """Trial ids a later trial may load weights from; None if every one may be."""
    from kerasnas.estimation.halving import SuccessiveHalving

    oracle = tuner.oracle
    if isinstance(oracle, SuccessiveHalving):
        return None
    inherit = tuner.inherit_weights
    if inherit is False or (inherit == "auto" and not getattr(oracle, "inherits_weights", False)):
        return set()
    ask = getattr(oracle, "checkpoints_needed", None)
    return None if ask is None else ask()


class CheckpointPruning(TunerFeature):
    """The `NASTuner` feature of `keep_checkpoints=k`: prunes after every trial (None: keeps all)."""

    def __init__(self, keep=None):
        self.keep = check_option(keep)

    def on_trial_end(self, tuner, trial):
        prune(tuner, self.keep)


def prune(tuner, k) -> list[str]:
    """Deletes the checkpoints outside the `k` best trials' (and those a later trial may
    still load); returns the pruned trial ids. Nothing when `k` is None."""
    if k is None:
        return []
    keep = needed(tuner)
    if keep is None:
        return []
    oracle = tuner.oracle
    best = [t.trial_id for t in oracle.get_best_trials(k) if t.status == "COMPLETED"]
    keep = set(keep) | set(best) | {t.trial_id for t in oracle.ongoing_trials.values()}
    pruned = []
    for trial_id, trial in oracle.trials.items():
        if trial_id in keep or trial.status in ("RUNNING", "INVALID"):
            continue
        path = tuner.checkpoint_path(trial_id)
        if os.path.exists(path):
            os.remove(path)
            pruned.append(trial_id)
    return pruned


__all__ = ["CheckpointPruning", "check_option", "needed", "prune"]
