"""Net2Wider / Net2Deeper on a trained model: parent in, function-equal child out.

Each transform maps a parent `Architecture` of a `MacroSpace` or `DenseSpace`
to a child `Architecture` of the same encoding, builds the child with the
space (so it is an ordinary architecture: it rebuilds from its string,
resumes, exports) and fills its weights from the parent so both compute the
same function (in inference mode, with `noise=0`).

Example:

>>> import numpy as np
>>> from kerasnas.spaces import MacroSpace
>>> from kerasnas.net2net import widen, deepen
>>> space = MacroSpace((16, 2), num_classes=3, widths=(8, 16), max_layers=4)
>>> arch = space.encoding.from_string("conv_3x3:8 > sep_conv_3x3:8 > conv_3x3:8")
>>> model = space.build_architecture(arch)
>>> wide_arch, wide_model, _ = widen(space, model, arch, layer=0)
>>> str(wide_arch)
'conv_3x3:16 > sep_conv_3x3:8 > conv_3x3:8'
>>> deep_arch, deep_model, _ = deepen(space, wide_model, wide_arch, after=2)
>>> str(deep_arch)
'conv_3x3:16 > sep_conv_3x3:8 > conv_3x3:8 > conv_3x3:8'
>>> x = np.random.default_rng(0).normal(size=(4, 16, 2)).astype("float32")
>>> bool(np.abs(model(x) - deep_model(x)).max() < 1e-5)
True
"""

from __future__ import annotations

from kerasnas.net2net.actions import Action, apply_action, group_map, space_settings
from kerasnas.net2net.transfer import TransferReport, transfer_weights


def transform(space, model, arch, action, *, seed=None, noise=0.0, x_sample=None):
    """Applies one Net2Net `action` to a trained model.

    Args:
        space: The `MacroSpace` / `DenseSpace` that built `model`.
        model: The trained parent model (left unchanged).
        arch: The parent's `Architecture` (or its string).
        action: An `Action` or its string, e.g. `"widen:1"`, `"deepen:0"`.
        seed: Seed of Net2Wider's random unit replication (default None).
        noise: Relative std of the symmetry-breaking noise added to remapped
            kernels (default 0.0: the child computes exactly the parent's function).
        x_sample: Inputs giving a new BatchNorm layer its real statistics
            (default None: identity in inference mode only).

    Returns:
        `(child_arch, child_model, report)`: the child `Architecture`, its
        compiled Keras model and a `TransferReport`.
    """
    arch = space.architecture(arch)
    action = Action.parse(action) if isinstance(action, str) else action
    child = apply_action(arch, action, **space_settings(space))
    child_model = space.build_architecture(child)
    report = transfer_weights(model, child_model, group_map(arch, action), seed=seed,
                              noise=noise, x_sample=x_sample)
    return child, child_model, report


def widen(space, model, arch, layer: int, **kwargs) -> tuple:
    """Net2Wider: layer `layer` takes the next larger width; see `transform`."""
    return transform(space, model, arch, Action("widen", int(layer)), **kwargs)


def deepen(space, model, arch, after: int, **kwargs) -> tuple:
    """Net2Deeper: an identity layer is inserted after layer `after`; see `transform`."""
    return transform(space, model, arch, Action("deepen", int(after)), **kwargs)


__all__ = ["TransferReport", "deepen", "transform", "widen"]
