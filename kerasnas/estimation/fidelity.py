"""Down-scaled proxies: search narrower, shallower, lower-resolution networks; refit at full size.

As in NASNet and DARTS (search with 8 cells of 16 channels, evaluate with 20
cells of 36), a space with a fidelity knob builds a smaller version of each
architecture during the search; the architecture itself (its encoding) is the
same, so the winner is rebuilt at full size for the refit. Knobs:

* `width`: multiplier of every layer's channels (`MacroSpace`, `ResidualSpace`,
  `CellSpace`), in (0, 1]; channels are rounded and never below 1.
* `cells`: number of cells (`CellSpace` with shared cells, `macro=False`).
* `resolution`: images are resized by this factor in (0, 1] right after the
  preprocessing (any space, image inputs only).

`set_downscale(space, spec)` fixes the knobs and `restore(space)` clears them;
`trial_metrics(space)` is what `NASTuner` records with each trial
(`fidelity_width`, `fidelity_cells`, `fidelity_resolution`), beside its `params`.
Pure Python: the spaces read `space.fidelity` when they build.

Example:

>>> from kerasnas.spaces import MacroSpace
>>> space = MacroSpace((8, 8, 1), num_classes=10)
>>> set_downscale(space, {"width": 0.5, "resolution": 0.5})
{'width': 0.5, 'resolution': 0.5}
>>> small = space.build_architecture(arch)       # doctest: +SKIP
>>> restore(space)
>>> full = space.build_architecture(arch)        # doctest: +SKIP
"""

from __future__ import annotations

import numbers

#: What `downscale=True` means (default: half the channels, as NASNet's search network
#: is about half its evaluation network's width; depth and resolution unchanged).
DEFAULT_DOWNSCALE = {"width": 0.5}
#: Every knob a space may support.
KNOBS = ("width", "cells", "resolution")


def check_downscale(spec) -> dict | None:
    """`spec` as a dict of knobs (None when off), checked without a space.

    Accepts None / False (off), True (`DEFAULT_DOWNSCALE`), a float in (0, 1]
    (a width multiplier) or a dict with the keys of `KNOBS`.
    """
    if spec is None or spec is False:
        return None
    if spec is True:
        return dict(DEFAULT_DOWNSCALE)
    if isinstance(spec, numbers.Real):
        spec = {"width": spec}
    if not isinstance(spec, dict):
        raise TypeError(f"downscale must be None, True, a width multiplier in (0, 1] or a dict "
                        f"of {list(KNOBS)}; got {spec!r}.")
    unknown = sorted(set(spec) - set(KNOBS))
    if unknown:
        raise ValueError(f"Unknown downscale knob(s) {unknown}; the knobs are {list(KNOBS)}.")
    out = {}
    for name in ("width", "resolution"):
        if name in spec:
            value = spec[name]
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not 0.0 < float(value) <= 1.0:
                raise ValueError(f"downscale {name} must be a number in (0, 1] (a shrink "
                                 f"factor); got {value!r}.")
            out[name] = float(value)
    if "cells" in spec:
        value = spec["cells"]
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"downscale cells must be an int >= 1 (cells of the search "
                             f"network); got {value!r}.")
        out["cells"] = int(value)
    if not out:
        raise ValueError(f"downscale needs at least one knob of {list(KNOBS)}; got {spec!r}.")
    return out


def supported_knobs(space) -> tuple:
    """The knobs `space` supports (its class's `FIDELITY_KNOBS`, `resolution` for images)."""
    knobs = tuple(getattr(type(space), "FIDELITY_KNOBS", ()))
    if getattr(space, "spatial_rank", 0) == 2 and hasattr(space, "fidelity"):
        knobs += ("resolution",)
    if "cells" in knobs and getattr(space, "macro", False):
        knobs = tuple(k for k in knobs if k != "cells")  # one decision set per cell
    return knobs


def set_downscale(space, spec) -> dict:
    """Makes `space` build its architectures down-scaled by `spec`; returns the knobs set."""
    spec = check_downscale(spec)
    if spec is None:
        restore(space)
        return {}
    knobs = supported_knobs(space)
    missing = sorted(set(spec) - set(knobs))
    if missing:
        raise ValueError(f"{type(space).__name__} has no downscale knob {missing} for this input "
                         f"(it supports {list(knobs) or 'none'}). Width: MacroSpace, "
                         "ResidualSpace, CellSpace; cells: CellSpace(macro=False); resolution: "
                         "image inputs.")
    if spec.get("cells") is not None and spec["cells"] > space.num_cells:
        raise ValueError(f"downscale cells={spec['cells']} is more than the space's "
                         f"num_cells={space.num_cells}; a proxy must be smaller.")
    space.fidelity = dict(spec)
    return dict(spec)


def restore(space) -> None:
    """Back to full size (what the refit trains)."""
    if hasattr(space, "fidelity"):
        space.fidelity = {}


def trial_metrics(space) -> dict:
    """`fidelity_*` metrics of a trial built by `space` (empty when it builds at full size)."""
    fidelity = getattr(space, "fidelity", None)
    if not fidelity:
        return {}
    return {"fidelity_width": float(fidelity.get("width", 1.0)),
            "fidelity_cells": float(fidelity.get("cells", getattr(space, "num_cells", 0))),
            "fidelity_resolution": float(fidelity.get("resolution", 1.0))}
