"""Net2Net: function-preserving transforms and weight inheritance (Chen et al., ICLR 2016).

* `kerasnas.net2net.actions` (no Keras): the `Action`s ("widen:i",
  "deepen:j") on `MacroSpace` / `DenseSpace` architectures, which are legal,
  and the child architecture each makes.
* `kerasnas.net2net.transfer` (Keras): moving a trained parent's weights into
  the child model, exactly (`transfer_weights`) or layer by layer
  (`copy_matching_weights`).
* `kerasnas.net2net.transforms` (Keras): `widen` / `deepen` a trained model
  by hand: parent architecture and model in, child architecture and model out.
* `kerasnas.net2net.inherit` (Keras): the `NASTuner` hook that starts a
  child trial from its parent trial's checkpoint.

Importing this package loads no TensorFlow; the Keras names load on first use.
"""

import importlib

from kerasnas.net2net.actions import (
    Action,
    ActionError,
    apply_action,
    classify,
    group_map,
    legal_actions,
)

_LAZY = {
    "transfer_weights": "kerasnas.net2net.transfer",
    "copy_matching_weights": "kerasnas.net2net.transfer",
    "TransferError": "kerasnas.net2net.transfer",
    "TransferReport": "kerasnas.net2net.transfer",
    "widen": "kerasnas.net2net.transforms",
    "deepen": "kerasnas.net2net.transforms",
    "transform": "kerasnas.net2net.transforms",
}

__all__ = ["Action", "ActionError", "apply_action", "classify", "group_map", "legal_actions",
           *sorted(_LAZY)]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'kerasnas.net2net' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
