"""Lineage: which finished trial a proposed child came from (pure Python, no Keras).

An oracle that derives a child from a parent (regularized evolution, Net2Net)
sets `ArchitectureOracle.proposal_parent` in `propose()`. The base class then
adds two values to the child trial's hyperparameters, which Keras Tuner saves
in the trial (so the lineage survives resume and reaches distributed workers):

* `kerasnas/parent_trial`: the id of the trial that evaluated the parent;
* `kerasnas/inherit`: whether the oracle asks for weight inheritance (the
  tuner's `inherit_weights="auto"` follows it).

Example:

>>> from kerasnas.oracles.lineage import PARENT_HP, parent_trial
>>> parent_trial({PARENT_HP: "007", "num_layers": 3})
'007'
"""

from __future__ import annotations

#: Trial value naming the parent trial's id.
PARENT_HP = "kerasnas/parent_trial"
#: Trial value: True when the oracle wants the child to start from its parent's weights.
INHERIT_HP = "kerasnas/inherit"


def lineage_values(oracle, parent) -> dict:
    """The lineage values of a child of `parent` (an `Architecture`, its string, or None).

    Empty when there is no parent or the parent never finished as a trial.
    """
    if parent is None:
        return {}
    trial_id = oracle._trial_of.get(str(parent))
    if trial_id is None:
        return {}
    return {PARENT_HP: str(trial_id), INHERIT_HP: bool(getattr(oracle, "inherits_weights", False))}


def parent_trial(values) -> str | None:
    """The parent trial id recorded in a trial's hyperparameter values, or None."""
    parent = values.get(PARENT_HP)
    return None if parent is None else str(parent)
