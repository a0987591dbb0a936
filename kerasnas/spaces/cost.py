"""Model size and compute: parameter count and multiply-accumulate count.

"FLOPs" here follow the NAS literature (DARTS, NAS-Bench-201, MobileNets):
they are multiply-accumulates (MACs) of one example (batch size 1), not
floating-point operations (one MAC is two of those). Only the layers that
dominate the cost are counted: convolutions (plain, separable, depthwise,
transposed), `Dense`, and custom layers with a `macs(input_shape)` method
(MiniRocket's `RandomKernelFeatures`). Biases, batch normalisation, activations, pooling,
additions and concatenations count as zero.

Example:

>>> import keras
>>> inputs = keras.Input((8, 8, 1))
>>> x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
>>> model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
>>> count_flops(model)   # 8*8 positions * 3*3*1 * 4  +  256 * 2
2816
"""

from __future__ import annotations

import math

import keras


def count_params(model: keras.Model) -> int:
    """Number of weights (trainable and not) of a built model, as a Python int."""
    return int(model.count_params())


def count_flops(model: keras.Model) -> int:
    """Multiply-accumulates of one forward pass at batch size 1 (see the module docs).

    Walks every layer of a functional or sequential model (nested models
    included) and reads each call's input and output shapes.

    Args:
        model: A built Keras model.

    Returns:
        The MAC count as a Python int.

    Raises:
        ValueError: If the model is not built (no known shapes).
    """
    if not model.built:
        raise ValueError("count_flops needs a built model; call it on data or build it first.")
    total = 0
    for layer, in_shape, out_shape in _calls(model):
        total += layer_flops(layer, in_shape, out_shape)
    return int(total)


def layer_flops(layer, input_shape, output_shape) -> int:
    """MACs of one call of `layer` with these shapes (batch axis included, ignored)."""
    layers = keras.layers
    if hasattr(layer, "macs"):  # a custom layer that counts itself (RandomKernelFeatures)
        return int(layer.macs(input_shape))
    if isinstance(layer, (layers.SeparableConv1D, layers.SeparableConv2D)):
        positions = _positions(output_shape)
        channels = input_shape[-1]
        mid = channels * layer.depth_multiplier
        depthwise = positions * math.prod(layer.kernel_size) * mid
        return depthwise + positions * mid * layer.filters
    if isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)):
        return (_positions(output_shape) * math.prod(layer.kernel_size)
                * input_shape[-1] * layer.depth_multiplier)
    if isinstance(layer, (layers.Conv1DTranspose, layers.Conv2DTranspose,
                          layers.Conv3DTranspose)):
        # Every input position scatters a kernel-sized patch of filters.
        return (_positions(input_shape) * math.prod(layer.kernel_size)
                * input_shape[-1] * layer.filters)
    if isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.Conv3D)):
        groups = getattr(layer, "groups", 1)
        return (_positions(output_shape) * math.prod(layer.kernel_size)
                * (input_shape[-1] // groups) * layer.filters)
    if isinstance(layer, layers.Dense):
        return _positions(output_shape) * input_shape[-1] * layer.units
    return 0


def _positions(shape) -> int:
    """Product of the non-batch, non-channel dimensions."""
    return math.prod(int(d) for d in shape[1:-1])


def _calls(model):
    """(layer, input shape, output shape) of every layer call in `model`'s graph.

    Only this model's own calls count, so a layer shared with other models
    (e.g. a preprocessing layer reused by every trial) is counted once.
    """
    graph = model if hasattr(model, "_nodes_by_depth") else getattr(model, "_functional", None)
    if graph is None:  # subclassed model: fall back to each layer's calls
        for layer in model.layers:
            for node in getattr(layer, "_inbound_nodes", []):
                yield from _node_call(node)
        return
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            yield from _node_call(node)


def _node_call(node):
    op, inputs, outputs = node.operation, node.input_tensors, node.output_tensors
    if op is None or not inputs or not outputs:
        return
    if isinstance(op, keras.Model):
        yield from _calls(op)
    else:
        yield op, tuple(inputs[0].shape), tuple(outputs[0].shape)
