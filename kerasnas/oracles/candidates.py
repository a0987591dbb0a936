"""The candidate pool that model-based strategies score: local moves around the best, plus random.

`BayesianOptimization` and `PredictorGuided` (kerasnas.estimation.guided) both
optimise their acquisition over the same pool, following BANANAS (White et al.,
2021), whose ablations found mutation-based acquisition optimisation to beat
random candidate pools on NAS benchmarks:

* every neighbour (one decision changed) of each of the `top_k` best
  architectures so far, at most `max_neighbors` of them per architecture
  (a random subset when there are more);
* `num_mutations` two-step mutations of each of those architectures;
* `num_random_candidates` uniform samples of the space;

leaving out anything already evaluated, failed or running. Pure numpy, no Keras.

Example:

>>> import numpy as np
>>> from kerasnas.spaces.encodings import NB201Encoding
>>> enc, rng = NB201Encoding(), np.random.default_rng(0)
>>> best = str(enc.sample(rng))
>>> pool = candidate_pool(enc, {best: 1.0}, set(), rng, top_k=1, num_mutations=0,
...                       num_random_candidates=0)
>>> len(pool)  # the 6 edges x 4 other operations of NB201
24
"""

from __future__ import annotations


def candidate_pool(encoding, fitness, known, rng, *, top_k, num_mutations,
                   num_random_candidates, max_neighbors=None, parents=None) -> dict:
    """`{str(arch): arch}`: unknown neighbours and mutations of the best, and random ones.

    Args:
        encoding: The space's `Encoding`.
        fitness: `{str(arch): fitness}` of the finished architectures (higher is better).
        known: Strings of architectures to leave out (evaluated, failed, running).
        rng: The `numpy.random.Generator` every random choice is drawn from.
        top_k: Best architectures whose neighbourhoods join the pool.
        num_mutations: Two-step mutations per parent.
        num_random_candidates: Uniform samples added to the pool.
        max_neighbors: Neighbours kept per parent; larger neighbourhoods are
            subsampled without replacement (default None: all).
        parents: Strings of extra parents whose neighbourhoods and mutations
            join the pool after the `top_k` best (default None: none).

    Returns:
        Dict from architecture string to `Architecture`, in the order added.
    """
    known = set(known)
    pool = {}

    def add(arch):
        key = str(arch)
        if key not in known and key not in pool:
            pool[key] = arch

    ranked = sorted(fitness, key=fitness.__getitem__, reverse=True)[:top_k]
    for key in ranked + [k for k in (parents or ()) if k not in ranked]:
        parent = encoding.from_string(key)
        neighbors = encoding.neighbors(parent)
        if max_neighbors is not None and len(neighbors) > max_neighbors:
            keep = rng.choice(len(neighbors), max_neighbors, replace=False)
            neighbors = [neighbors[i] for i in sorted(keep)]
        for arch in neighbors:
            add(arch)
        for _ in range(num_mutations):
            add(parent.mutate(rng).mutate(rng))
    for _ in range(num_random_candidates):
        add(encoding.sample(rng))
    return pool
