"""`GraphEncoder`: a small graph neural network in Keras over `ArchitectureGraph`s.

The one encoder NAO, CTNAS and GHN share. It takes a `GraphBatch`'s three
arrays (node features, adjacency, node mask) and returns an embedding per
node and one per graph.

Message passing runs in both directions of the data flow, as in GHN-2
(Knyazev et al., 2021) and the D-VAE / GATES family of architecture
encoders: at round t, with A the adjacency (A[i, j] = 1 for i -> j),

    m_fwd = D_in^-1 A^T h          # mean over a node's inputs
    m_bwd = D_out^-1 A h           # mean over the nodes it feeds
    h <- h + relu(LN(W_s h + W_f m_fwd + W_b m_bwd))

for `num_layers` rounds (residual updates, layer normalisation), padding
nodes masked to zero throughout. The graph embedding is a projection of
the masked mean of the node embeddings concatenated with the embedding of
the last real node (the output node of every `graph_of` graph).

Example:

>>> import numpy as np
>>> from kerasnas.graphs import GraphFeaturizer, graph_of
>>> from kerasnas.spaces.encodings import NB201Encoding
>>> enc = NB201Encoding()
>>> batch = GraphFeaturizer.for_encoding(enc).architectures(
...     [enc.sample(np.random.default_rng(i)) for i in range(4)])
>>> nodes, graphs = GraphEncoder(units=16)(batch.inputs())
>>> tuple(nodes.shape), tuple(graphs.shape)
((4, 10, 16), (4, 16))
"""

from __future__ import annotations

import keras
from keras import ops

#: Width of the node and graph embeddings (default 64).
DEFAULT_UNITS = 64
#: Message-passing rounds (default 3: NB201's longest path has 7 nodes; 3 rounds in each
#: direction reach every node of a cell from the input or the output node).
DEFAULT_LAYERS = 3


@keras.saving.register_keras_serializable(package="kerasnas")
class GraphEncoder(keras.layers.Layer):
    """Bidirectional message passing over padded graphs.

    Args:
        units: Embedding width (default `DEFAULT_UNITS`, 64).
        num_layers: Message-passing rounds (default `DEFAULT_LAYERS`, 3).
        **kwargs: Passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(features, adjacency, mask)` of shapes `(B, N, F)`, `(B, N, N)`
            and `(B, N)`, as `GraphBatch.inputs()` gives them.

    Returns:
        `(nodes, graphs)`: `(B, N, units)` node embeddings (zero on padding) and
        `(B, units)` graph embeddings.
    """

    def __init__(self, units=DEFAULT_UNITS, num_layers=DEFAULT_LAYERS, **kwargs):
        super().__init__(**kwargs)
        if int(units) != units or units < 1 or int(num_layers) != num_layers or num_layers < 1:
            raise ValueError(f"units and num_layers must be positive ints; got {units!r}, "
                             f"{num_layers!r}.")
        self.units, self.num_layers = int(units), int(num_layers)
        self.embed = keras.layers.Dense(self.units, name="embed")
        self.self_dense = [keras.layers.Dense(self.units, name=f"self{t}")
                           for t in range(self.num_layers)]
        self.forward_dense = [keras.layers.Dense(self.units, use_bias=False, name=f"fwd{t}")
                              for t in range(self.num_layers)]
        self.backward_dense = [keras.layers.Dense(self.units, use_bias=False, name=f"bwd{t}")
                               for t in range(self.num_layers)]
        self.norms = [keras.layers.LayerNormalization(name=f"norm{t}")
                      for t in range(self.num_layers)]
        self.readout = keras.layers.Dense(self.units, activation="tanh", name="readout")

    def build(self, input_shape):
        features_shape = tuple(input_shape[0])
        node_shape = (*features_shape[:-1], self.units)
        self.embed.build(features_shape)
        for t in range(self.num_layers):
            for layer in (self.self_dense[t], self.forward_dense[t], self.backward_dense[t],
                          self.norms[t]):
                layer.build(node_shape)
        self.readout.build((*features_shape[:-2], 2 * self.units))
        self.built = True

    def call(self, inputs):
        features, adjacency, mask = inputs
        mask3 = ops.expand_dims(mask, -1)
        adjacency = adjacency * mask3 * ops.expand_dims(mask, 1)
        transposed = ops.transpose(adjacency, (0, 2, 1))
        in_degree = ops.maximum(ops.sum(transposed, axis=-1, keepdims=True), 1.0)
        out_degree = ops.maximum(ops.sum(adjacency, axis=-1, keepdims=True), 1.0)
        h = self.embed(features) * mask3
        for t in range(self.num_layers):
            m_fwd = ops.matmul(transposed, h) / in_degree
            m_bwd = ops.matmul(adjacency, h) / out_degree
            update = self.self_dense[t](h) + self.forward_dense[t](m_fwd) \
                + self.backward_dense[t](m_bwd)
            h = (h + ops.relu(self.norms[t](update))) * mask3
        count = ops.maximum(ops.sum(mask, axis=-1, keepdims=True), 1.0)
        mean = ops.sum(h, axis=1) / count
        # The last real node: mask[i] - mask[i + 1] is 1 there only (masks are prefixes).
        shifted = ops.concatenate([mask[:, 1:], ops.zeros_like(mask[:, :1])], axis=1)
        last = ops.sum(h * ops.expand_dims(mask - shifted, -1), axis=1)
        return h, self.readout(ops.concatenate([mean, last], axis=-1))

    def compute_output_shape(self, input_shape):
        features_shape = tuple(input_shape[0])
        return (*features_shape[:-1], self.units), (features_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_layers": self.num_layers}
