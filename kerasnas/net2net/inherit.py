"""Weight inheritance in the trial loop: a child trial starts from its parent trial's weights.

`NASTuner`'s `WeightInheritance` feature calls `inherit(tuner, trial, model, x)`
right after building the child's model. The parent is the trial named in the child's
`kerasnas/parent_trial` value (set by the oracle, see `oracles/lineage.py`).
The parent model is rebuilt from its hyperparameters and its best-epoch
checkpoint is loaded, then:

* if the child is a legal Net2Net move of the parent (`widen:i`,
  `deepen:j`), its weights are set so it computes the parent's function
  (`transfer_weights`, plus `SYMMETRY_NOISE`);
* otherwise every layer whose position and shapes are unchanged is copied
  (`copy_matching_weights`) and the rest keeps its fresh initialisation;
* a missing parent trial or checkpoint means training from scratch, never
  a failure.

What happened is written to `<trial dir>/inheritance.json` and returned as
trial metrics: `inherited_layers` (how many layers came from the parent,
0 for scratch) and `inherited_exact` (1 when the child started as an exact
Net2Net transform).

Example:

>>> tuner = NASTuner(oracle, space, inherit_weights=True)   # doctest: +SKIP
>>> tuner.search(x, y, validation_data=(xv, yv))            # doctest: +SKIP
>>> json.load(open(tuner.get_trial_dir("03") + "/inheritance.json"))["mode"]  # doctest: +SKIP
'net2net'
"""

from __future__ import annotations

import json
import os
import warnings
import zlib

import numpy as np

from kerasnas.net2net.actions import classify, group_map, space_settings
from kerasnas.net2net.transfer import TransferError, copy_matching_weights, transfer_weights
from kerasnas.oracles.lineage import INHERIT_HP, parent_trial
from kerasnas.tuner.features import TunerFeature

#: Relative std of the noise added to widened kernels: Net2Net's symmetry breaking, so
#: replicated units can drift apart. 1e-3 of a kernel's spread changes outputs by about
#: 1e-3 relative, far below what a fine-tuning epoch moves (default 1e-3).
SYMMETRY_NOISE = 1e-3
#: Examples used for new BatchNorm statistics and the output check (default 256).
SAMPLE_SIZE = 256
#: File, in the child's trial directory, that records what was inherited.
RECORD_FILE = "inheritance.json"

OPTIONS = (True, False, "auto")


def check_option(value):
    """Validates `NASTuner(inherit_weights=...)`."""
    if value not in OPTIONS or (value != "auto" and not isinstance(value, bool)):
        raise ValueError(f"inherit_weights must be True, False or 'auto' (inherit when the "
                         f"oracle asks for it, as Net2NetSearch does); got {value!r}.")
    return value


class WeightInheritance(TunerFeature):
    """The `NASTuner` feature of `inherit_weights=` (True, False or "auto", see `check_option`)."""

    def __init__(self, option="auto"):
        self.option = check_option(option)

    def on_model_built(self, tuner, trial, model, x):
        return inherit(tuner, trial, model, x, option=self.option)


def wants_inheritance(trial, option="auto") -> bool:
    """True if this trial has a parent and `option` (`inherit_weights`) asks to inherit its weights."""
    values = trial.hyperparameters.values
    if option is False or parent_trial(values) is None:
        return False
    return option is True or bool(values.get(INHERIT_HP))


def inherit(tuner, trial, model, x=None, option="auto") -> dict:
    """Loads the parent trial's weights into `model` (the child's); returns trial metrics.

    Args:
        tuner: The running `NASTuner` (or any Keras Tuner tuner).
        trial: The child's `keras_tuner.engine.trial.Trial`.
        model: The child's freshly built model; its weights are overwritten.
        x: Training inputs (a numpy array) for new BatchNorm statistics and
            the output check (default None).
        option: `inherit_weights`: True, False or "auto" (default: when the
            oracle asks, through the child's `kerasnas/inherit` value).

    Returns:
        `{}` when the trial does not inherit, else `{"inherited_layers": n,
        "inherited_exact": 0.0 or 1.0}`.
    """
    if not wants_inheritance(trial, option):
        return {}
    parent_id = parent_trial(trial.hyperparameters.values)
    record = {"parent_trial": parent_id, "mode": "scratch"}
    sample = x[:SAMPLE_SIZE] if isinstance(x, np.ndarray) else None
    try:
        parent = tuner.oracle.get_trial(parent_id)
    except (KeyError, ValueError):
        parent = None
    checkpoint = tuner.checkpoint_path(parent_id)
    if parent is None:
        record["reason"] = f"parent trial {parent_id} is not in this project"
    elif not os.path.exists(checkpoint):
        record["reason"] = f"parent checkpoint {checkpoint} is missing (pruned or never saved)"
    else:
        parent_model = tuner.hypermodel.build(parent.hyperparameters.copy())
        with warnings.catch_warnings():  # the checkpoint's optimizer state is not needed
            warnings.simplefilter("ignore", UserWarning)
            parent_model.load_weights(checkpoint)
        record.update(_transfer(tuner, trial, parent, parent_model, model, sample))
    _write(tuner, trial, record)
    return {"inherited_layers": float(record.get("inherited", 0)),
            "inherited_exact": float(record["mode"] == "net2net")}


def _transfer(tuner, trial, parent, parent_model, model, sample):
    encoding = getattr(tuner.hypermodel, "encoding", None)
    action = None
    if encoding is not None:
        parent_arch = encoding.from_hp_values(parent.hyperparameters.values)
        child_arch = encoding.from_hp_values(trial.hyperparameters.values)
        action = classify(parent_arch, child_arch, **space_settings(tuner.hypermodel))
    report = None
    if action is not None:
        try:
            report = transfer_weights(parent_model, model, group_map(parent_arch, action),
                                      seed=_seed(trial.trial_id), noise=SYMMETRY_NOISE,
                                      x_sample=sample)
        except TransferError as err:
            fallback = str(err)
    if report is None:
        report = copy_matching_weights(parent_model, model)
    result = {"mode": report.mode, "inherited": report.inherited, "copied": report.copied,
              "widened": report.widened, "identity": report.identity, "fresh": report.fresh}
    if action is not None:
        result["action"] = str(action)
        if report.mode == "partial":
            result["reason"] = f"{action} could not be applied exactly: {fallback}"
    if report.mode == "net2net" and sample is not None and len(sample):
        probe = sample[:64]
        change = np.abs(np.asarray(model(probe, training=False))
                        - np.asarray(parent_model(probe, training=False))).max()
        result["max_output_change"] = float(change)
    return result


def _seed(trial_id) -> int:
    return zlib.crc32(str(trial_id).encode())


def _write(tuner, trial, record):
    directory = tuner.get_trial_dir(trial.trial_id)
    os.makedirs(directory, exist_ok=True)
    from kerasnas.infra.atomic import write_json

    write_json(os.path.join(directory, RECORD_FILE), record, indent=1)


def read_record(tuner, trial_id) -> dict | None:
    """The `inheritance.json` of a trial, or None if it did not inherit."""
    path = os.path.join(tuner.get_trial_dir(trial_id), RECORD_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)
