"""Moving a trained parent's weights into a child model (Keras side of Net2Net).

Two ways, both on functional models built by kerasnas spaces:

* `transfer_weights` - function-preserving (Net2Net). It walks the child's
  graph from the input and tracks, for every tensor, which parent channel each
  child channel copies (a map `g`; widened tensors repeat some parent
  channels). A layer's weights are the parent layer's, indexed by `g`:
  outgoing channels are selected by the output map (Net2Wider's random
  replication), incoming weights are divided by how many times their parent
  channel is repeated, so every consumer sums to the parent's value. BatchNorm
  parameters and statistics follow their channel. Layers of a new group
  (Net2Deeper) are set to the identity: a centre-tap identity kernel, a
  BatchNorm that undoes its own normalisation, an identity (or, before a
  residual `Add`, zero) Dense matrix. Concatenations, skip projections and
  residual additions are handled by the same channel maps.
* `copy_matching_weights` - for any child (a mutation that is not
  function-preserving): every layer whose position and weight shapes are
  unchanged is copied, the rest keeps its fresh initialisation.

Layers are matched by the decision group their weights were created in (the
spaces put each layer's weights in a `keras.name_scope("layer{i}")`), then by
order within the group.

Example:

>>> import numpy as np
>>> from kerasnas.spaces import DenseSpace
>>> from kerasnas.net2net.actions import apply_action, group_map
>>> space = DenseSpace((6,), num_classes=3, units=(8, 16))
>>> parent = space.encoding.from_string("8-8 relu dropout=0.0")
>>> child = apply_action(parent, "widen:0")
>>> p_model, c_model = space.build_architecture(parent), space.build_architecture(child)
>>> report = transfer_weights(p_model, c_model, group_map(parent, "widen:0"), seed=0)
>>> x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
>>> bool(np.abs(p_model(x) - c_model(x)).max() < 1e-5)
True
"""

from __future__ import annotations

import dataclasses
import difflib
import re

import keras
import numpy as np

_GROUP = re.compile(r"^(stem|layer\d+)$")

_PASSTHROUGH = (
    keras.layers.Activation, keras.layers.Dropout, keras.layers.ReLU,
    keras.layers.MaxPooling1D, keras.layers.MaxPooling2D,
    keras.layers.AveragePooling1D, keras.layers.AveragePooling2D,
    keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalMaxPooling1D, keras.layers.GlobalMaxPooling2D,
    keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D,
    keras.layers.Cropping1D, keras.layers.Cropping2D,
)
_CONV = (keras.layers.Conv1D, keras.layers.Conv2D)
_SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)


class TransferError(ValueError):
    """The child cannot compute the parent's function from its weights (a structural mismatch)."""


@dataclasses.dataclass
class TransferReport:
    """What a weight transfer did.

    Attributes:
        mode: `"net2net"` (function-preserving) or `"partial"` (matching layers copied).
        copied: Names of child layers that took the parent's weights unchanged.
        widened: Names of child layers whose weights were remapped to new widths.
        identity: Names of new child layers set to the identity.
        fresh: Names of child layers left at their random initialisation.
    """

    mode: str
    copied: list = dataclasses.field(default_factory=list)
    widened: list = dataclasses.field(default_factory=list)
    identity: list = dataclasses.field(default_factory=list)
    fresh: list = dataclasses.field(default_factory=list)

    @property
    def inherited(self) -> int:
        """Number of child layers whose weights came from the parent."""
        return len(self.copied) + len(self.widened) + len(self.identity)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"inherited": self.inherited}


def weight_group(layer) -> str | None:
    """The decision group (`"stem"`, `"layer3"`) a layer's weights were built in, or None."""
    for weight in layer.weights:
        for part in reversed(weight.path.split("/")[:-2]):
            if _GROUP.match(part):
                return part
        return None
    return None


def _groups(model) -> dict:
    """`{group: [weighted layers in model order]}`; untagged layers under None."""
    groups = {}
    for layer in model.layers:
        if layer.weights:
            groups.setdefault(weight_group(layer), []).append(layer)
    return groups


def _correspond(parent, child, group_map) -> dict:
    """`{id(child layer): parent layer or None}` for every weighted child layer."""
    parent_groups, child_groups = _groups(parent), _groups(child)
    pairs = {}
    for group, layers in child_groups.items():
        source = group_map.get(group, group) if group is not None else None
        if group is not None and source is None:
            pairs.update({id(layer): None for layer in layers})
            continue
        others = parent_groups.get(source, [])
        if len(others) != len(layers):
            raise TransferError(
                f"Child group {group!r} has {len(layers)} weighted layers, parent group "
                f"{source!r} has {len(others)}: the architectures differ by more than a "
                "Net2Net move.")
        for mine, theirs in zip(layers, others, strict=True):
            if type(mine) is not type(theirs):
                raise TransferError(f"Layer {mine.name} ({type(mine).__name__}) faces parent "
                                    f"layer {theirs.name} ({type(theirs).__name__}).")
            pairs[id(mine)] = theirs
    return pairs


class _Maps:
    """Channel maps `g` (child channel -> parent channel) and parent widths, per tensor."""

    def __init__(self, rng):
        self.rng = rng
        self._by_tensor = {}
        self._widen_cache = {}

    def get(self, tensor):
        return self._by_tensor[id(tensor)]

    def set(self, tensor, g, width):
        self._by_tensor[id(tensor)] = (np.asarray(g, dtype=np.int64), int(width))

    def widen(self, parent_width, child_width):
        """Net2Wider's map: the parent's units, then random repeats (one map per width pair)."""
        if child_width < parent_width:
            raise TransferError(f"A layer narrows from {parent_width} to {child_width} "
                                "channels: Net2Net only grows networks.")
        key = (parent_width, child_width)
        if key not in self._widen_cache:
            extra = self.rng.integers(parent_width, size=child_width - parent_width)
            self._widen_cache[key] = np.concatenate([np.arange(parent_width), extra])
        return self._widen_cache[key]


def _counts(g, width):
    counts = np.bincount(g, minlength=width)
    if (counts == 0).any():
        raise TransferError("A parent channel is dropped by the child: not function-preserving.")
    return counts.astype(np.float32)


def _noisy(w, noise, rng, scale_from):
    if not noise:
        return w
    scale = float(np.std(scale_from)) or 1.0
    return w + rng.normal(0.0, noise * scale, size=w.shape).astype(w.dtype)


def transfer_weights(parent: keras.Model, child: keras.Model, group_map=None, *, seed=None,
                     noise: float = 0.0, x_sample=None) -> TransferReport:
    """Sets `child`'s weights so that it computes `parent`'s function (Net2Wider / Net2Deeper).

    Args:
        parent: The trained parent model.
        child: The child model (built by the same space from the child
            architecture); its weights are overwritten.
        group_map: `{child group: parent group or None}` from
            `kerasnas.net2net.actions.group_map`; None (default) matches groups
            by name (a widening).
        seed: Seed of the random replication map (default None).
        noise: Standard deviation, relative to each kernel's own spread, of
            Gaussian noise added to remapped kernels to break the symmetry of
            replicated units (default 0.0: exact function preservation).
        x_sample: A batch of inputs used to give new BatchNorm layers the real
            statistics of their input, so they are the identity in training
            mode too (default None: identity in inference mode only).

    Returns:
        A `TransferReport` (`mode="net2net"`).

    Raises:
        TransferError: The child is not a function-preserving transform of the parent.
    """
    rng = np.random.default_rng(seed)
    pairs = _correspond(parent, child, group_map or {})
    maps = _Maps(rng)
    report = TransferReport("net2net")
    consumers = _consumers(child)
    new_bn = []
    assignments = []  # (layer, weights) applied at the end, so a failure changes nothing
    for depth in sorted(child._nodes_by_depth, reverse=True):  # inputs first
        for node in child._nodes_by_depth[depth]:
            layer = node.operation
            outputs = node.output_tensors
            if isinstance(layer, keras.layers.InputLayer) or node.is_input:
                for t in outputs:
                    maps.set(t, np.arange(t.shape[-1]), t.shape[-1])
                continue
            ins = [maps.get(t) for t in node.input_tensors]
            if not layer.weights:
                g, width = _passthrough(layer, node, ins, maps)
                maps.set(outputs[0], g, width)
                continue
            source = pairs.get(id(layer), "untracked")
            if source is None:
                weights, g, width, _ = _identity(layer, node, ins, consumers, noise, rng)
                report.identity.append(layer.name)
                if isinstance(layer, keras.layers.BatchNormalization):
                    new_bn.append(layer)
            elif source is layer:  # a layer shared by both models (preprocessing)
                g, width = ins[0]
                maps.set(outputs[0], g, width)
                continue
            else:
                if isinstance(source, str):
                    raise TransferError(f"No parent layer for {layer.name}.")
                weights, g, width, changed = _remap(layer, source, ins[0], maps, noise, rng)
                (report.widened if changed else report.copied).append(layer.name)
            assignments.append((layer, weights))
            maps.set(outputs[0], g, width)
    for layer, weights in assignments:
        layer.set_weights(weights)
    if new_bn and x_sample is not None:
        _fit_identity_batchnorm(child, new_bn, x_sample)
    return report


def _consumers(model) -> dict:
    """`{id(tensor): [consuming layers]}` within `model`."""
    result = {}
    for nodes in model._nodes_by_depth.values():
        for node in nodes:
            for t in node.input_tensors:
                result.setdefault(id(t), []).append(node.operation)
    return result


def _passthrough(layer, node, ins, maps):
    """Channel map of a weightless layer's output."""
    if isinstance(layer, keras.layers.Concatenate):
        if layer.axis not in (-1, len(node.output_tensors[0].shape) - 1):
            raise TransferError(f"{layer.name} concatenates along axis {layer.axis}, not channels.")
        parts, offset = [], 0
        for g, width in ins:
            parts.append(g + offset)
            offset += width
        return np.concatenate(parts), offset
    if isinstance(layer, (keras.layers.Add, keras.layers.Average, keras.layers.Maximum,
                          keras.layers.Multiply, keras.layers.Subtract)):
        first = ins[0]
        for g, width in ins[1:]:
            if width != first[1] or not np.array_equal(g, first[0]):
                raise TransferError(f"{layer.name} merges tensors whose channels were widened "
                                    "differently: not function-preserving.")
        return first
    if isinstance(layer, keras.layers.Flatten):
        g, width = ins[0]
        spatial = int(np.prod(node.input_tensors[0].shape[1:-1])) if len(
            node.input_tensors[0].shape) > 2 else 1
        flat = (np.arange(spatial)[:, None] * width + g[None, :]).ravel()
        return flat, spatial * width
    if isinstance(layer, _PASSTHROUGH) or type(layer).__name__ == "Subsample":
        return ins[0]
    raise TransferError(f"Net2Net does not know how {type(layer).__name__} ({layer.name}) "
                        "maps channels.")


def _remap(layer, source, g_in_width, maps, noise, rng):
    """The child's weights from the parent layer `source`, given the input channel map."""
    g_in, p_in = g_in_width
    theirs = [np.asarray(w) for w in source.get_weights()]
    mine_shapes = [tuple(w.shape) for w in layer.weights]
    identity_in = len(g_in) == p_in and np.array_equal(g_in, np.arange(p_in))
    parent_in = source.input.shape[-1]
    if parent_in != p_in:
        raise TransferError(f"{layer.name} reads {p_in} parent channels, but its parent layer "
                            f"{source.name} reads {parent_in}: the graphs differ.")
    if isinstance(layer, keras.layers.Normalization):
        if not identity_in or [w.shape for w in theirs] != mine_shapes:
            raise TransferError(f"{layer.name}: a Normalization layer cannot be widened.")
        return theirs, g_in, p_in, False
    if isinstance(layer, keras.layers.BatchNormalization):
        axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
        if axis not in (-1, len(layer.input.shape) - 1):
            raise TransferError(f"{layer.name} normalises axis {axis}, not channels.")
        weights = [w[g_in] for w in theirs]
        return weights, g_in, p_in, not identity_in
    if isinstance(layer, keras.layers.Dense) or isinstance(layer, _CONV):
        if getattr(layer, "groups", 1) != 1:
            raise TransferError(f"{layer.name}: grouped convolutions are not supported.")
        kernel = theirs[0]
        c_out = mine_shapes[0][-1]
        g_out = np.arange(c_out) if c_out == kernel.shape[-1] else maps.widen(kernel.shape[-1],
                                                                             c_out)
        new = np.take(np.take(kernel, g_in, axis=-2), g_out, axis=-1)
        new = new / _counts(g_in, p_in)[g_in][:, None]
        changed = not identity_in or c_out != kernel.shape[-1]
        if changed:
            new = _noisy(new, noise, rng, kernel)
        weights = [new] + [b[g_out] for b in theirs[1:]]
        return weights, g_out, kernel.shape[-1], changed
    if isinstance(layer, _SEPARABLE):
        depthwise, pointwise = theirs[0], theirs[1]
        mult = depthwise.shape[-1]
        new_dw = np.take(depthwise, g_in, axis=-2)
        h = (g_in[:, None] * mult + np.arange(mult)[None, :]).ravel()  # depthwise output map
        c_out = mine_shapes[1][-1]
        g_out = np.arange(c_out) if c_out == pointwise.shape[-1] else maps.widen(
            pointwise.shape[-1], c_out)
        new_pw = np.take(np.take(pointwise, h, axis=-2), g_out, axis=-1)
        new_pw = new_pw / _counts(h, p_in * mult)[h][:, None]
        changed = not identity_in or c_out != pointwise.shape[-1]
        if changed:
            new_pw = _noisy(new_pw, noise, rng, pointwise)
        weights = [new_dw, new_pw] + [b[g_out] for b in theirs[2:]]
        return weights, g_out, pointwise.shape[-1], changed
    raise TransferError(f"Net2Net does not know how to widen {type(layer).__name__} "
                        f"({layer.name}).")


def _identity(layer, node, ins, consumers, noise=0.0, rng=None):
    """Weights that make a new layer the identity on its input."""
    g, width = ins[0]
    shapes = [tuple(w.shape) for w in layer.weights]
    c_in = node.input_tensors[0].shape[-1]
    if isinstance(layer, keras.layers.BatchNormalization):
        eps = layer.epsilon
        # gamma * (x - 0) / sqrt(1 + eps) + 0 = x in inference mode; `_fit_identity_batchnorm`
        # replaces 0 and 1 with the input's real statistics when a sample is given.
        values = {"gamma": np.sqrt(1.0 + eps), "beta": 0.0, "moving_mean": 0.0,
                  "moving_variance": 1.0}
        weights = [np.full(s, values[_weight_name(w)], dtype=np.float32)
                   for s, w in zip(shapes, layer.weights, strict=True)]
        return weights, g, width, "bn"
    out_channels = shapes[-1][-1] if not isinstance(layer, _SEPARABLE) else shapes[1][-1]
    if out_channels != c_in:
        raise TransferError(f"New layer {layer.name} maps {c_in} to {out_channels} channels: "
                            "an identity layer keeps the width.")
    if isinstance(layer, keras.layers.Dense):
        residual = _feeds_residual(layer, consumers)
        if residual:
            # x + act(0) = x. A ReLU at exactly 0 passes no gradient, so the symmetry noise
            # (when asked for) is what lets this layer start learning.
            kernel = _noisy(np.zeros(shapes[0], np.float32), noise, rng, np.ones(1))
        else:
            kernel = np.eye(c_in, dtype=np.float32)
        return [kernel] + [np.zeros(s, np.float32) for s in shapes[1:]], g, width, "dense"
    if isinstance(layer, _CONV):
        if any(s != 1 for s in layer.strides) or getattr(layer, "groups", 1) != 1:
            raise TransferError(f"New layer {layer.name} is strided or grouped: not an identity.")
        kernel = np.zeros(shapes[0], np.float32)
        centre = tuple((k - 1) // 2 for k in shapes[0][:-2])  # Keras "same" pads (k-1)//2 first
        kernel[centre] = np.eye(c_in, dtype=np.float32)
        return [kernel] + [np.zeros(s, np.float32) for s in shapes[1:]], g, width, "conv"
    raise TransferError(f"Cannot initialise a new {type(layer).__name__} ({layer.name}) to the "
                        "identity.")


def _weight_name(variable):
    return variable.path.rsplit("/", 1)[-1]


def _feeds_residual(layer, consumers):
    """True if `layer`'s output reaches an `Add` (through Dropout): zero-init keeps x + 0."""
    frontier = [layer]
    while frontier:
        current = frontier.pop()
        for consumer in consumers.get(id(current.output), []):
            if isinstance(consumer, keras.layers.Add):
                return True
            if isinstance(consumer, keras.layers.Dropout):
                frontier.append(consumer)
    return False


def _fit_identity_batchnorm(child, layers, x_sample):
    """Gives new BatchNorm layers their input's real statistics, keeping them the identity.

    With gamma = sqrt(var + eps), beta = mean and the running statistics set to
    the same mean and var, the layer is the identity in inference mode, and in
    training mode on batches whose statistics match the sample's.
    """
    inputs = child.inputs[0] if len(child.inputs) == 1 else child.inputs
    probe = keras.Model(inputs, [layer.input for layer in layers])
    # Training-mode statistics: what the BatchNorm sees while the child is fine-tuned. A
    # training call also moves the other BatchNorms' running statistics: put them back.
    saved = [np.asarray(v) for v in child.non_trainable_variables]
    values = probe(np.asarray(x_sample), training=True)
    for variable, value in zip(child.non_trainable_variables, saved, strict=True):
        variable.assign(value)
    values = values if isinstance(values, (list, tuple)) else [values]
    for layer, v in zip(layers, values, strict=True):
        v = np.asarray(v)
        axes = tuple(range(v.ndim - 1))
        mean, var = v.mean(axis=axes), v.var(axis=axes)
        named = {"gamma": np.sqrt(var + layer.epsilon), "beta": mean, "moving_mean": mean,
                 "moving_variance": var}
        layer.set_weights([named[_weight_name(w)].astype(np.float32) for w in layer.weights])


def copy_matching_weights(parent: keras.Model, child: keras.Model) -> TransferReport:
    """Copies every parent layer whose group, position and weight shapes the child keeps.

    Within each decision group (and among untagged layers) the two models'
    weighted layers are aligned by their class and weight shapes (a longest
    common subsequence, so an op swap in one layer does not shift the
    others); aligned layers take the parent's weights, the rest keep theirs.

    Args:
        parent: The trained parent model.
        child: The child model; matching layers are overwritten.

    Returns:
        A `TransferReport` with `mode="partial"`.
    """
    report = TransferReport("partial")
    parent_groups, child_groups = _groups(parent), _groups(child)
    for group, layers in child_groups.items():
        others = parent_groups.get(group, [])
        sig = [_signature(layer) for layer in layers]
        matcher = difflib.SequenceMatcher(None, [_signature(o) for o in others], sig,
                                          autojunk=False)
        matched = set()
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                mine, theirs = layers[block.b + k], others[block.a + k]
                if mine is not theirs:
                    mine.set_weights(theirs.get_weights())
                    report.copied.append(mine.name)
                matched.add(block.b + k)
        report.fresh += [layer.name for k, layer in enumerate(layers) if k not in matched]
    return report


def _signature(layer):
    return (type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights))
