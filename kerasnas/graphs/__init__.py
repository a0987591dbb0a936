"""The graph view of architectures and the graph neural network over it.

* `view` (Keras-free): `ArchitectureGraph`, `graph_of` (any `Architecture`),
  `graph_of_model` (a built Keras model), `GraphFeaturizer` / `GraphBatch`
  (padded arrays), `register_graph` (the rule of a new encoding).
* `encoder` (Keras): `GraphEncoder`, the bidirectional message-passing network
  NAO, CTNAS and GHN share.

Names load lazily, so `import kerasnas.graphs` loads no TensorFlow.
"""

from kerasnas.infra.lazy import lazy_attributes

_VIEW = ("ATTRIBUTES", "ArchitectureGraph", "GraphBatch", "GraphBuilder", "GraphFeaturizer",
         "decision_chain", "graph_of", "graph_of_hypermodel", "graph_of_model", "register_graph",
         "vocabulary_of")
_LAZY = {**{name: "kerasnas.graphs.view" for name in _VIEW},
         "GraphEncoder": "kerasnas.graphs.encoder"}
__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
