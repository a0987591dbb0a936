"""Seeded random graph generators and RandWire's DAG of a random graph (pure numpy).

NAGO (Ru, Esperança & Carlucci, 2020) draws every level of its networks from a
random graph generator, as RandWire (Xie et al., 2019) draws its stages. The
three classic generators, written here over a `numpy.random.Generator` so a
seed fixes the graph on every platform:

* `watts_strogatz(n, k, p, rng)`, WS(k, p): a ring lattice of `n` nodes, each
  joined to its `k / 2` nearest neighbours on either side, then each lattice
  edge `(u, u + j)` (ring by ring, `j = 1 .. k/2`, node by node) rewired with
  probability `p` to `(u, w)`, `w` uniform over the nodes `u` is not yet
  joined to (Watts & Strogatz, 1998). `n * k / 2` edges; `p = 0` is the
  lattice. When `k >= n - 1` every node is joined to every other: the
  complete graph, which no rewiring changes.
* `erdos_renyi(n, p, rng)`, ER(p): each of the `n (n - 1) / 2` pairs is an
  edge with probability `p`, independently (Gilbert's G(n, p)).
* `barabasi_albert(n, m, rng)`, BA(m): `m` nodes without edges, then each new
  node joins `m` distinct earlier nodes drawn with probability proportional to
  their degree (the first new node joins all `m`). `m (n - m)` edges; `m` is
  capped at `n - 1`.

`to_dag(n, edges)` turns an undirected graph into RandWire's DAG: nodes keep
their index order, every edge points from the lower index to the higher one,
a unique input node (0) feeds every node without predecessors and a unique
output node (`n + 1`) is fed by every node without successors, so a
disconnected graph becomes parallel branches.

Example:

>>> import numpy as np
>>> edges = watts_strogatz(6, 2, 0.0, np.random.default_rng(0))
>>> edges                                   # p = 0: the ring lattice
((0, 1), (0, 5), (1, 2), (2, 3), (3, 4), (4, 5))
>>> dag = to_dag(6, edges)
>>> dag.predecessors(dag.output), dag.sources()
((6,), (1,))
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

#: The generators by name: `"ws"` Watts-Strogatz, `"er"` Erdős-Rényi, `"ba"` Barabási-Albert.
GENERATORS = ("ws", "er", "ba")


def _edges(adjacent) -> tuple:
    """Sorted `(i, j)` pairs, `i < j`, of adjacency sets."""
    return tuple(sorted((i, j) for i, others in enumerate(adjacent) for j in others if i < j))


def complete_graph(n: int) -> tuple:
    """Every pair `(i, j)`, `i < j`, of `n` nodes."""
    return tuple(itertools.combinations(range(n), 2))


def watts_strogatz(n: int, k: int, p: float, rng: np.random.Generator) -> tuple:
    """WS(k, p) on `n` nodes: the lattice of `k // 2` neighbours per side, rewired with prob. `p`.

    Args:
        n: Number of nodes (>= 1).
        k: Neighbours per node in the lattice (an even number; odd counts act as `k - 1`).
        p: Rewiring probability, in [0, 1].
        rng: The random generator (one uniform draw per lattice edge, in order).

    Returns:
        The undirected edges, `(i, j)` pairs with `i < j`, sorted.
    """
    half = k // 2
    if half * 2 >= n - 1:
        return complete_graph(n)
    adjacent = [set() for _ in range(n)]
    for u in range(n):
        for j in range(1, half + 1):
            v = (u + j) % n
            adjacent[u].add(v)
            adjacent[v].add(u)
    for j in range(1, half + 1):  # the nearest ring first, then the next, as in the paper
        for u in range(n):
            if rng.random() >= p:
                continue
            free = [w for w in range(n) if w != u and w not in adjacent[u]]
            if not free:  # u is already joined to every node
                continue
            v, w = (u + j) % n, free[int(rng.integers(len(free)))]
            adjacent[u].discard(v)
            adjacent[v].discard(u)
            adjacent[u].add(w)
            adjacent[w].add(u)
    return _edges(adjacent)


def erdos_renyi(n: int, p: float, rng: np.random.Generator) -> tuple:
    """ER(p) on `n` nodes: every pair an edge with probability `p` (one draw per pair, in order).

    Returns:
        The undirected edges, `(i, j)` pairs with `i < j`, sorted.
    """
    pairs = complete_graph(n)
    draws = rng.random(len(pairs))
    return tuple(pair for pair, u in zip(pairs, draws, strict=True) if u < p)


def barabasi_albert(n: int, m: int, rng: np.random.Generator) -> tuple:
    """BA(m) on `n` nodes: preferential attachment of each new node to `m` earlier ones.

    Args:
        n: Number of nodes (>= 1).
        m: Edges of each new node; capped at `n - 1` (a node can join at most every other).
        rng: The random generator.

    Returns:
        The undirected edges, `(i, j)` pairs with `i < j`, sorted: `m (n - m)` of them.
    """
    m = min(m, n - 1)
    if m < 1:
        return ()
    degree = np.zeros(n)
    edges = [(i, m) for i in range(m)]  # the first new node joins the m initial ones
    degree[:m] += 1
    degree[m] = m
    for v in range(m + 1, n):
        # P(join i) = deg(i) / sum_j deg(j), m distinct targets.
        targets = rng.choice(v, size=m, replace=False, p=degree[:v] / degree[:v].sum())
        for i in sorted(int(t) for t in targets):
            edges.append((i, v))
            degree[i] += 1
        degree[v] = m
    return tuple(sorted(edges))


def generate(generator: str, n: int, rng: np.random.Generator, *, k: int = 2,
             p: float = 0.5, m: int = 1) -> tuple:
    """The undirected edges of `generator` (`"ws"`, `"er"` or `"ba"`) on `n` nodes.

    Args:
        generator: One of `GENERATORS`.
        n: Number of nodes (>= 1).
        rng: The random generator.
        k: WS's lattice degree.
        p: WS's rewiring probability, or ER's edge probability.
        m: BA's edges per new node.

    Example:

    >>> import numpy as np
    >>> len(generate("ba", 5, np.random.default_rng(0), m=2))   # m (n - m)
    6
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"A random graph needs n >= 1 nodes; got n={n!r}.")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1]; got p={p!r}.")
    if generator == "ws":
        return watts_strogatz(int(n), int(k), float(p), rng)
    if generator == "er":
        return erdos_renyi(int(n), float(p), rng)
    if generator == "ba":
        return barabasi_albert(int(n), int(m), rng)
    raise ValueError(f"Unknown graph generator {generator!r}; choose one of {GENERATORS}.")


@dataclasses.dataclass(frozen=True)
class RandomDAG:
    """RandWire's DAG of a random graph: node 0 the input, `1..num_nodes` the graph's nodes
    (in index order), `num_nodes + 1` the output.

    Attributes:
        num_nodes: The graph's nodes (without the input and output nodes).
        edges: `(source, target)` pairs with `source < target`, sorted.
    """

    num_nodes: int
    edges: tuple

    @property
    def input(self) -> int:
        return 0

    @property
    def output(self) -> int:
        return self.num_nodes + 1

    def nodes(self) -> range:
        """The graph's own nodes, in topological (index) order."""
        return range(1, self.num_nodes + 1)

    def predecessors(self, node: int) -> tuple:
        """The nodes with an edge into `node`, ascending."""
        return tuple(s for s, t in self.edges if t == node)

    def successors(self, node: int) -> tuple:
        return tuple(t for s, t in self.edges if s == node)

    def sources(self) -> tuple:
        """The graph's nodes the input feeds (those without a predecessor in the graph)."""
        return self.successors(self.input)

    def sinks(self) -> tuple:
        """The graph's nodes that feed the output."""
        return self.predecessors(self.output)


def to_dag(n: int, edges) -> RandomDAG:
    """RandWire's DAG of an undirected graph on nodes `0..n-1` (see the module docs)."""
    inner = sorted({(min(i, j) + 1, max(i, j) + 1) for i, j in edges if i != j})
    has_input = {t for _, t in inner}
    has_output = {s for s, _ in inner}
    dag = [(0, v) for v in range(1, n + 1) if v not in has_input]
    dag += inner
    dag += [(v, n + 1) for v in range(1, n + 1) if v not in has_output]
    return RandomDAG(int(n), tuple(sorted(dag)))
