"""Search without training (Mellor et al., ICML 2021): score N random architectures, keep the best.

Example:

>>> from kerasnas.spaces import MacroSpace
>>> space = MacroSpace((8, 8, 1), 10)
>>> ranked = search_without_training(space, x[:64], n=50, seed=0)   # doctest: +SKIP
>>> best_arch, best_score = ranked[0]                                # doctest: +SKIP
>>> model = space.build_architecture(best_arch)   # then train only this one
"""

from __future__ import annotations

import numpy as np

from kerasnas.estimation.proxies import NEEDS_LABELS, PROXIES, score_architecture


def search_without_training(space, x, y=None, *, n=100, proxy="naswot", seed=0):
    """Scores `n` distinct random architectures of `space` with one zero-cost proxy.

    Args:
        space: A kerasnas space (`NASHyperModel`).
        x, y: One minibatch (`y` only for `grad_norm` / `snip`).
        n: Architectures to sample and score (default 100, as NASWOT's
            N = 100 setting; fewer if the space has fewer).
        proxy: Proxy name (default `"naswot"`, the best zero-cost proxy on
            digits and signals in `benchmarks/estimation.py`).
        seed: Seed of the sampling and of every model's weights (default 0).

    Returns:
        `[(Architecture, score), ...]` best first (NaN scores last).
    """
    if proxy not in PROXIES:
        raise ValueError(f"Unknown proxy {proxy!r}; choose from {sorted(PROXIES)}.")
    if proxy in NEEDS_LABELS and y is None:
        raise ValueError(f"Proxy {proxy!r} needs labels: pass y.")
    if int(n) < 1:
        raise ValueError(f"n must be >= 1; got {n!r}.")
    rng = np.random.default_rng(seed)
    seen, archs = set(), []
    for _ in range(50 * int(n)):
        arch = space.sample(rng)
        if str(arch) not in seen:
            seen.add(str(arch))
            archs.append(arch)
        if len(archs) == int(n):
            break
    scored = []
    for i, arch in enumerate(archs):
        s = score_architecture(space, arch, x, y, [proxy], seed=int(seed) + i)[proxy]
        scored.append((arch, s))
    scored.sort(key=lambda p: (np.isnan(p[1]), -p[1] if not np.isnan(p[1]) else 0.0))
    return scored
