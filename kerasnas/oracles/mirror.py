"""IRLAS's mirror stimuli function: a reward for resembling an expert network's topology.

Guo et al., "IRLAS: Inverse Reinforcement Learning for Architecture Search"
(CVPR 2019) reward the controller for sampling networks whose topology
resembles an expert-designed one (ResNeXt in the paper), added to the accuracy
reward. The paper reads a network as a sequence of states s_t (its layers and
their connections), summarises it by its feature count

    mu(x) = sum_t gamma^t phi(s_t),

and learns the mirror stimuli function by inverse reinforcement learning with
feature matching (Abbeel & Ng, 2004): weights w that separate the expert's
feature count mu_E from those of the architectures the agent produces, so
the reward follows the features in which the agent still differs from the
expert rather than imposing the expert outright.

Here, all in NumPy from the shared graph view (`kerasnas.graphs.graph_of`):

* The graph is reduced to its live topology: nodes labelled `none` / `zero`
  (an NB201 edge that carries nothing) are removed with their edges, then
  every node not on a path from the input to the output. Each remaining
  node t, in topological order, is a state with features phi(s_t): its
  operation (one-hot over the encoding's vocabulary), its in- and
  out-degree (one-hot, capped at `MAX_DEGREE`), for each incoming edge the
  pair (operation of the source, operation of the node): which operation
  feeds which, the topology the paper mirrors; and its numeric attributes
  (width, kernel, stride, ..., log-scaled as `GraphFeaturizer` scales them),
  since IRLAS's layer states carry the layer's kernel size too.
* The mirror stimuli score is the weighted Ruzicka (weighted Jaccard)
  similarity of the feature counts,

      m(x) = sum_k w_k min(mu_k(x), mu_k^E) / sum_k w_k max(mu_k(x), mu_k^E),

  1 for the expert's own topology and less for every other. (The paper's
  score is linear, w . mu(x), which can rank a network with more of the
  expert's features above the expert itself.)
* Feature matching sets the weights: with mu_bar the mean feature count of
  the architectures the agent has produced (`observe`), w_k is proportional
  to |mu_k^E - mu_bar_k| (the direction of the max-margin solution for one
  agent point, made non-negative), mixed with uniform weights
  (`UNIFORM_SHARE`) so no feature is ignored; before any observation the
  weights are uniform. `similarity(x)` is the plain, uniformly weighted
  score, which benchmarks report as the topology similarity to the expert.

`resolve_expert(encoding, "auto")` gives a ResNet-like design of the spaces
that have one (`EXPERTS`): NB201's ResNet cell, ResidualSpace's small ResNet,
DenseSpace's residual MLP, a MacroSpace chain of 3x3 convolutions with a
shortcut every two layers; other spaces have none and it says so.

Example:

>>> from kerasnas.spaces.encodings import NB201Encoding
>>> enc = NB201Encoding()
>>> mirror = MirrorStimuli(enc, "auto")
>>> mirror.score(mirror.expert)
1.0
>>> mirror.score(enc.default()) < 1.0  # every edge `none`: no data flows
True
"""

from __future__ import annotations

import math

import numpy as np

from kerasnas.graphs.view import ATTRIBUTES

#: Operation labels that carry no data (an NB201 edge `none`, a DARTS `zero`): removed with
#: their edges before the topology is read.
ZERO_OPS = ("none", "zero")
#: Degrees above this count as this (NB201's sum nodes take at most 3 inputs).
MAX_DEGREE = 3
#: Discount gamma of the feature count over the states. IRLAS discounts along its layer
#: sequence; `graph_of`'s topological order puts parallel branches in an arbitrary order, so
#: the counts are undiscounted (1.0) by default.
DEFAULT_DISCOUNT = 1.0
#: Share of uniform weight mixed into the feature-matching weights, so a feature the agent
#: already matches still counts (0: pure feature matching; 1: plain similarity).
UNIFORM_SHARE = 0.5
#: Feature counts kept per `MirrorStimuli` (a controller sees the same architectures again and
#: again as cached answers); the cache starts afresh when full.
FEATURE_CACHE = 4096

#: ResNet-like expert designs per encoding name ("auto"). NB201: the cell of its ResNet
#: (Dong & Yang, 2020; `ResNet_CODE` of their code): node 1 = conv3x3(node 0), node 2 =
#: conv3x3(node 1), node 3 = skip(node 0) + skip(node 2), two 3x3 convolutions in a chain
#: plus the identity shortcut. (With `none~2` instead of `skip_connect~2` the convolutions
#: would feed nothing and the cell would be the identity.) Residual:
#: ResidualSpace's image hand design ("a small ResNet", `spaces/residual.py`). Dense:
#: DenseSpace's wide residual MLP (`spaces/dense.py`). Macro: built by `_macro_expert`.
EXPERTS = {
    "nb201": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
    "residual": "4x32 k3 dilation=none downsample=by_size dropout=0.0",
    "dense": "256-256 relu dropout=0.25 skip",
}


def resolve_expert(encoding, expert):
    """The expert `Architecture` of `encoding`: `expert` itself, parsed from a string, or
    with `"auto"` the space's ResNet-like design (`EXPERTS`).

    Raises:
        ValueError: `expert` is not an architecture of `encoding`, or `"auto"` and the
            space has no ResNet-like design (pass an architecture or its string then).
    """
    if isinstance(expert, str) and expert == "auto":
        name = getattr(encoding, "name", type(encoding).__name__)
        if name == "macro":
            return _macro_expert(encoding)
        text = EXPERTS.get(name)
        if text is None:
            raise ValueError(
                f"expert='auto' has no ResNet-like design for the {name!r} space (known: "
                f"{', '.join(sorted([*EXPERTS, 'macro']))}); pass expert=<an architecture of "
                "the space or its string>, e.g. one of the space's hand_designs().")
        try:
            return encoding.from_string(text)
        except ValueError as err:
            raise ValueError(f"expert='auto': the {name!r} space's ResNet-like design {text!r} "
                             f"is outside this space ({err}); pass expert=<an architecture of "
                             "the space or its string>.") from None
    if isinstance(expert, str):
        try:
            return encoding.from_string(expert)
        except ValueError as err:
            raise ValueError(f"expert {expert!r} is not an architecture of this space: {err}. "
                             "Pass an Architecture of the searched space, its string, or "
                             "'auto'.") from None
    if getattr(expert, "encoding", None) is None or expert.encoding.key != encoding.key:
        raise ValueError(f"expert must be an Architecture of the searched space, its string, "
                         f"or 'auto'; got {expert!r}.")
    return expert


def _macro_expert(encoding):
    """A ResNet-like chain: 3x3 convolutions of the middle width, each layer from the third
    on also fed by the layer two before it (a shortcut around every pair)."""
    if "conv" not in encoding.ops or not encoding.skips or encoding.max_layers < 3:
        raise ValueError("expert='auto' needs a MacroSpace with 'conv' among its ops, skips "
                         "and at least 3 layers for its ResNet-like chain; pass "
                         "expert=<an architecture of the space or its string>.")
    kernel = 3 if 3 in encoding.kernels else encoding.kernels[0]
    width = encoding.widths[len(encoding.widths) // 2]
    n = encoding.max_layers
    values = {d.name: d.default for d in encoding.decisions}
    values["num_layers"] = n
    for i in range(n):
        values.update({f"layer{i}_op": "conv", f"layer{i}_width": width,
                       f"layer{i}_kernel": kernel})
        if i >= 2:
            values[f"layer{i}_skip{i - 2}"] = True
    return encoding.architecture(values)


def live_topology(graph):
    """`(nodes, edges)` of `graph` without data-free nodes (`ZERO_OPS`) and without the
    nodes that are then on no path from the input (node 0) to the output (the last)."""
    n = graph.num_nodes
    alive = np.array([op not in ZERO_OPS for op in graph.ops])
    edges = [(s, t) for s, t in graph.edges if alive[s] and alive[t]]
    forward = np.zeros(n, bool)
    forward[0] = alive[0]
    for s, t in sorted(edges):  # sources come first: nodes are in topological order
        forward[t] |= forward[s]
    backward = np.zeros(n, bool)
    backward[n - 1] = alive[n - 1]
    for s, t in sorted(edges, reverse=True):
        backward[s] |= backward[t]
    keep = forward & backward
    nodes = [i for i in range(n) if keep[i]]
    return nodes, [(s, t) for s, t in edges if keep[s] and keep[t]]


class TopologyFeatures:
    """The feature count mu(x) of architectures of one encoding (see the module docs).

    Args:
        encoding: The `Encoding`.
        discount: gamma, the discount over the states in topological order
            (default `DEFAULT_DISCOUNT`, 1.0).
        input_shape: For encodings whose graph depends on it (default None).
    """

    def __init__(self, encoding, discount=DEFAULT_DISCOUNT, input_shape=None):
        from kerasnas.graphs.view import vocabulary_of

        if not 0.0 < float(discount) <= 1.0:
            raise ValueError(f"discount must be in (0, 1]; got {discount!r}.")
        self.encoding, self.discount, self.input_shape = encoding, float(discount), input_shape
        self.vocabulary = tuple(vocabulary_of(encoding))
        self._position = {op: i for i, op in enumerate(self.vocabulary)}
        v, d = len(self.vocabulary), MAX_DEGREE + 1
        self._degree_in, self._degree_out, self._pairs = v, v + d, v + 2 * d
        self._attributes = v + 2 * d + v * v
        self.size = self._attributes + len(ATTRIBUTES)

    def __call__(self, arch) -> np.ndarray:
        from kerasnas.graphs.view import graph_of

        graph = graph_of(arch, self.input_shape)
        nodes, edges = live_topology(graph)
        other = self._position["other"]
        op = [self._position.get(label, other) for label in graph.ops]
        indegree, outdegree = np.zeros(graph.num_nodes, int), np.zeros(graph.num_nodes, int)
        sources = {i: [] for i in nodes}
        for s, t in edges:
            outdegree[s] += 1
            indegree[t] += 1
            sources[t].append(s)
        mu = np.zeros(self.size)
        v = len(self.vocabulary)
        for step, i in enumerate(nodes):  # state s_t, phi(s_t) discounted by gamma^t
            weight = self.discount ** step
            mu[op[i]] += weight
            mu[self._degree_in + min(indegree[i], MAX_DEGREE)] += weight
            mu[self._degree_out + min(outdegree[i], MAX_DEGREE)] += weight
            for s in sources[i]:
                mu[self._pairs + op[s] * v + op[i]] += weight
            for j, name in enumerate(ATTRIBUTES):
                value = graph.attributes[i].get(name)
                if value:
                    mu[self._attributes + j] += weight * math.log2(1.0 + abs(value))
        return mu


class MirrorStimuli:
    """IRLAS's mirror stimuli function of an expert architecture (see the module docs).

    Args:
        encoding: The `Encoding` of the searched space.
        expert: The expert: an `Architecture` of `encoding`, its string, or `"auto"`
            (the space's ResNet-like design, `resolve_expert`).
        discount: gamma of the feature count (default `DEFAULT_DISCOUNT`, 1.0).
        uniform_share: Uniform weight mixed into the feature-matching weights
            (default `UNIFORM_SHARE`, 0.5).
        input_shape: For encodings whose graph depends on it (default None).

    Example:

    >>> from kerasnas.spaces.encodings import NB201Encoding
    >>> enc = NB201Encoding()
    >>> mirror = MirrorStimuli(enc, "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+"
    ...                             "|skip_connect~0|none~1|skip_connect~2|")
    >>> mirror.observe(enc.from_string("|avg_pool_3x3~0|+|none~0|avg_pool_3x3~1|+"
    ...                                "|avg_pool_3x3~0|none~1|none~2|"))
    >>> round(mirror.similarity(mirror.expert), 3)
    1.0
    """

    def __init__(self, encoding, expert="auto", discount=DEFAULT_DISCOUNT,
                 uniform_share=UNIFORM_SHARE, input_shape=None):
        if not 0.0 <= float(uniform_share) <= 1.0:
            raise ValueError(f"uniform_share must be in [0, 1]; got {uniform_share!r}.")
        self.encoding = encoding
        self.expert = resolve_expert(encoding, expert)
        self.features = TopologyFeatures(encoding, discount, input_shape)
        self.uniform_share = float(uniform_share)
        self.expert_features = self.features(self.expert)
        if not self.expert_features.any():
            raise ValueError(f"The expert {self.expert} has no live topology (no data reaches "
                             "its output); choose another expert.")
        self._agent_sum = np.zeros(self.features.size)  # sum of mu over observed archs
        self._agent_count = 0
        self._weights = None
        self._cache: dict[str, np.ndarray] = {}

    def _features(self, arch) -> np.ndarray:
        key = str(arch)
        mu = self._cache.get(key)
        if mu is None:
            if len(self._cache) >= FEATURE_CACHE:
                self._cache = {}
            mu = self._cache[key] = self.features(arch)
        return mu

    @property
    def weights(self) -> np.ndarray:
        """w: uniform before any observation, then feature matching (see the module docs)."""
        if self._weights is None:
            uniform = np.ones(self.features.size)
            if self._agent_count == 0:
                self._weights = uniform
            else:
                gap = np.abs(self.expert_features - self._agent_sum / self._agent_count)
                total = gap.sum()
                matched = gap * (self.features.size / total) if total > 0 else uniform
                self._weights = (self.uniform_share * uniform
                                 + (1.0 - self.uniform_share) * matched)
        return self._weights

    def _ruzicka(self, mu, w):
        upper = (w * np.maximum(mu, self.expert_features)).sum()
        return float((w * np.minimum(mu, self.expert_features)).sum() / upper) if upper else 0.0

    def score(self, arch) -> float:
        """m(x) in [0, 1] under the current weights; 1 for the expert's topology."""
        return self._ruzicka(self._features(arch), self.weights)

    def similarity(self, arch) -> float:
        """The uniformly weighted score: topology similarity to the expert, in [0, 1]."""
        return self._ruzicka(self._features(arch), 1.0)

    def observe(self, arch) -> None:
        """Adds an architecture the agent produced to mu_bar (feature matching)."""
        self._agent_sum += self._features(arch)
        self._agent_count += 1
        self._weights = None

    def get_state(self) -> dict:
        """mu_bar's sum and count (JSON floats round-trip exactly)."""
        return {"agent_sum": [float(x) for x in self._agent_sum], "agent_count": self._agent_count}

    def set_state(self, state: dict) -> None:
        agent_sum = np.asarray(state["agent_sum"], np.float64)
        if agent_sum.shape != self._agent_sum.shape:
            raise ValueError(f"The saved mirror stimuli state has {agent_sum.size} features, "
                             f"this one {self._agent_sum.size}: another space or expert?")
        self._agent_sum, self._agent_count = agent_sum, int(state["agent_count"])
        self._weights = None
