"""Net2Net actions on the shared `Architecture` encoding (no Keras).

A Net2Net action turns a parent architecture into a child architecture of the
same encoding whose network can compute exactly the parent's function, given
the parent's weights (Chen et al., "Net2Net", ICLR 2016):

* `widen:i` - layer `i`'s width moves one step up its choices (`MacroEncoding`
  `layer{i}_width` up `widths`; `DenseEncoding` `units{i}` up `units`);
* `deepen:j` - a new layer is inserted right after layer `j`
  (`num_layers` grows by one), with layer `j`'s width, that the weight
  transfer initialises to the identity.

`legal_actions` lists only the actions that are function-preserving in the
network kerasnas's `MacroSpace` / `DenseSpace` build for the child, so an
oracle can propose them without importing Keras. `group_map` says which
parent layer group ("layer{i}", "stem") each child group inherits from; the
Keras side (`kerasnas.net2net.transfer`) uses it to move the weights.

Example:

>>> from kerasnas.spaces.encodings import DenseEncoding
>>> enc = DenseEncoding(units=(16, 32, 64))
>>> parent = enc.from_string("16-32 relu dropout=0.0")
>>> [str(a) for a in legal_actions(parent)]
['widen:0', 'widen:1', 'deepen:0', 'deepen:1']
>>> str(apply_action(parent, Action("deepen", 0)))
'16-16-32 relu dropout=0.0'
"""

from __future__ import annotations

import dataclasses

from kerasnas.spaces.architecture import Architecture
from kerasnas.spaces.encodings import DenseEncoding, MacroEncoding

#: `MacroSpace`'s defaults, which decide where a function-preserving layer may go:
#: the number of stride-2 layers (a new identity layer must not move a reduction) and the
#: stem's width (the input width of layer 0, which decides whether a pool is projected).
DEFAULT_REDUCTION_LAYERS = 2
DEFAULT_STEM_CHANNELS = 16

#: Macro layer families whose first step is a ReLU: an identity layer inserted before one
#: of them keeps the function, since ReLU(ReLU(x)) = ReLU(x).
_RELU_FIRST = ("conv", "sep_conv", "dil_conv")
_POOLS = ("max_pool", "avg_pool")

KINDS = ("widen", "deepen")


class ActionError(ValueError):
    """An action that does not apply to this architecture (or is not function-preserving)."""


@dataclasses.dataclass(frozen=True)
class Action:
    """One Net2Net transformation: `kind` ("widen" or "deepen") at layer `index`.

    Its string form is `"widen:2"` / `"deepen:0"` (`Action.parse` reads it back).
    """

    kind: str
    index: int

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ActionError(f"Unknown Net2Net action {self.kind!r}; use one of {KINDS}.")
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise ActionError(f"Action index must be an int >= 0, got {self.index!r}.")

    def __str__(self):
        return f"{self.kind}:{self.index}"

    @staticmethod
    def parse(text: str) -> "Action":
        kind, _, index = str(text).partition(":")
        if not index.isdigit():
            raise ActionError(f"Cannot parse Net2Net action {text!r}; expected e.g. 'widen:2'.")
        return Action(kind, int(index))


def supports(encoding) -> bool:
    """True for the encodings Net2Net transforms (`MacroEncoding`, `DenseEncoding`)."""
    return isinstance(encoding, (MacroEncoding, DenseEncoding))


def _check_supported(arch: Architecture):
    if not supports(arch.encoding):
        raise ActionError(
            f"Net2Net transforms MacroSpace and DenseSpace architectures; got a "
            f"{arch.encoding.name!r} one. Use another strategy (e.g. 'evolution') for it.")


def _width_decision(arch: Architecture, i: int) -> str:
    return f"layer{i}_width" if isinstance(arch.encoding, MacroEncoding) else f"units{i}"


def macro_reductions(num_layers: int, reduction_layers: int = DEFAULT_REDUCTION_LAYERS):
    """Indices of the stride-2 layers of a macro chain (the rule of `MacroSpace.reductions`)."""
    r = reduction_layers
    return tuple(sorted({k * num_layers // (r + 1) for k in range(1, r + 1)}))


def _next_width(arch: Architecture, i: int):
    decision = arch.encoding.decision(_width_decision(arch, i))
    current = arch[decision.name]
    larger = [w for w in decision.choices if w > current]
    return min(larger) if larger else None


def apply_action(arch: Architecture, action: Action, *, check: bool = True,
                 reduction_layers: int = DEFAULT_REDUCTION_LAYERS,
                 stem_channels: int = DEFAULT_STEM_CHANNELS) -> Architecture:
    """The child architecture `action` makes from `arch`.

    Args:
        arch: A `MacroEncoding` or `DenseEncoding` architecture.
        action: An `Action` (or its string, e.g. `"widen:1"`).
        check: Raise `ActionError` unless the action is function-preserving
            (default True); False only builds the child.
        reduction_layers, stem_channels: The `MacroSpace`'s settings (defaults
            are MacroSpace's own); ignored for dense architectures.

    Returns:
        The child `Architecture` (same encoding).
    """
    _check_supported(arch)
    action = Action.parse(action) if isinstance(action, str) else action
    n = arch["num_layers"]
    if action.index >= n:
        raise ActionError(f"{action}: the architecture has only {n} layers ({arch}).")
    if check and action not in legal_actions(arch, reduction_layers=reduction_layers,
                                             stem_channels=stem_channels):
        raise ActionError(f"{action} is not a function-preserving move for {arch}; "
                          f"legal ones: {[str(a) for a in legal_actions(arch)]}.")
    values = arch.as_dict()
    if action.kind == "widen":
        wider = _next_width(arch, action.index)
        if wider is None:
            raise ActionError(f"{action}: layer {action.index} is already at the widest choice.")
        values[_width_decision(arch, action.index)] = wider
        return arch.encoding.architecture(values)
    if n >= arch.encoding.max_layers:
        raise ActionError(f"{action}: the architecture already has max_layers={n} layers.")
    p = action.index + 1  # the new layer's index
    if isinstance(arch.encoding, DenseEncoding):
        widths = [arch[f"units{i}"] for i in range(n)]
        widths.insert(p, widths[action.index])
        values["num_layers"] = n + 1
        values.update({f"units{i}": w for i, w in enumerate(widths)})
        return arch.encoding.architecture(values)
    enc = arch.encoding
    layers = enc.layers(arch)
    new = {"num_layers": n + 1}
    for old in range(n):
        i = old if old < p else old + 1
        new[f"layer{i}_op"] = arch[f"layer{old}_op"]
        new[f"layer{i}_width"] = arch[f"layer{old}_width"]
        new[f"layer{i}_kernel"] = arch[f"layer{old}_kernel"]
        for s in layers[old]["skips"]:
            new[f"layer{i}_skip{s if s < p else s + 1}"] = True
    new[f"layer{p}_op"] = "conv" if "conv" in enc.ops else enc.ops[0]
    new[f"layer{p}_width"] = arch[f"layer{action.index}_width"]
    new[f"layer{p}_kernel"] = min(enc.kernels)
    values = {d.name: d.default for d in enc.decisions} | new
    return enc.architecture(values)


def legal_actions(arch: Architecture, *, reduction_layers: int = DEFAULT_REDUCTION_LAYERS,
                  stem_channels: int = DEFAULT_STEM_CHANNELS) -> list[Action]:
    """Every function-preserving Net2Net action on `arch`, widen ones first.

    Args:
        arch: A `MacroEncoding` or `DenseEncoding` architecture.
        reduction_layers, stem_channels: The `MacroSpace`'s settings (default
            MacroSpace's own); ignored for dense architectures.

    Returns:
        A list of `Action`s (empty when nothing can grow).
    """
    _check_supported(arch)
    n = arch["num_layers"]
    result = [Action("widen", i) for i in range(n) if _widen_ok(arch, i, stem_channels)]
    if n < arch.encoding.max_layers:
        result += [Action("deepen", j) for j in range(n)
                   if _deepen_ok(arch, j, reduction_layers)]
    return result


def _widen_ok(arch, i, stem_channels):
    wider = _next_width(arch, i)
    if wider is None:
        return False
    n = arch["num_layers"]
    if isinstance(arch.encoding, DenseEncoding):
        if not arch["skip"]:
            return True
        # A residual is projected exactly when the widths differ: widening must not add or
        # remove a projection (a learned projection cannot become the identity, nor back).
        units = [arch[f"units{k}"] for k in range(n)]
        for a, b in ((i - 1, i), (i, i + 1)):
            if 0 <= a and b < n:
                before = units[a] == units[b]
                after = (wider if a == i else units[a]) == (wider if b == i else units[b])
                if before != after:
                    return False
        return True
    layers = arch.encoding.layers(arch)
    # A pool keeps its input width and is followed by a 1x1 projection only when that
    # differs from the layer's width: widening must not add or remove that projection.
    if layers[i]["op"].startswith(_POOLS):
        width_in = (layers[i - 1]["width"] if i else stem_channels) * (1 + len(layers[i]["skips"]))
        if width_in in (layers[i]["width"], wider):
            return False
    if i + 1 < n and layers[i + 1]["op"].startswith(_POOLS):
        copies = 1 + len(layers[i + 1]["skips"])  # skips are projected to layer i's width
        if layers[i + 1]["width"] in (layers[i]["width"] * copies, wider * copies):
            return False
    return True


def _deepen_ok(arch, j, reduction_layers):
    n = arch["num_layers"]
    if isinstance(arch.encoding, DenseEncoding):
        # With residuals the new layer starts at zero weights (h = act(0) + x = x for every
        # activation here); without them it is the identity matrix, which needs x >= 0 and
        # act(x) = x there: ReLU only.
        return bool(arch["skip"]) or arch["activation"] == "relu"
    p = j + 1
    parent, child = macro_reductions(n, reduction_layers), macro_reductions(n + 1, reduction_layers)
    if tuple(r if r < p else r + 1 for r in parent) != child:
        return False  # the new layer would be strided, or move a reduction
    # The new layer (ReLU-Conv-BN set to the identity) outputs ReLU(x): exact only when
    # its consumer applies a ReLU first (the next layer's op, or the head's ReLU).
    return j == n - 1 or arch[f"layer{p}_op"] in _RELU_FIRST


def group_map(parent: Architecture, action: Action) -> dict[str, str | None]:
    """Which parent layer group each child group inherits from (None: a new layer).

    Groups are the name scopes the spaces put around each layer's weights
    (`"layer{i}"`); groups not listed map to the group of the same name.
    """
    action = Action.parse(action) if isinstance(action, str) else action
    if action.kind == "widen":
        return {}
    n, p = parent["num_layers"], action.index + 1
    mapping = {f"layer{p}": None}
    mapping.update({f"layer{old + 1}": f"layer{old}" for old in range(p, n)})
    return mapping


def classify(parent: Architecture, child: Architecture, **space_settings) -> Action | None:
    """The legal Net2Net action that turns `parent` into `child`, or None if there is none.

    Args:
        parent, child: Architectures of the same encoding.
        **space_settings: `reduction_layers`, `stem_channels` (see `legal_actions`).
    """
    if parent.encoding != child.encoding or not supports(parent.encoding):
        return None
    for action in legal_actions(parent, **space_settings):
        if apply_action(parent, action, check=False, **space_settings) == child:
            return action
    return None


def space_settings(space) -> dict:
    """The settings `legal_actions` needs, read from a space object (without importing Keras)."""
    settings = {}
    for name in ("reduction_layers", "stem_channels"):
        value = getattr(space, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            settings[name] = value
    return settings
