"""Cheap, training-free features of an architecture, as extra inputs of a performance predictor.

White et al. (2021, "How powerful are performance predictors in NAS?") found
that a predictor fed the architecture encoding *and* zero-cost features beats
either alone. `zero_cost_features(space, x)` returns the callable that
`make_predictor(..., features=)` / `PredictorGuided(..., features=)` take:
it builds each architecture (weights seeded), computes the named proxies of
`kerasnas.estimation.proxies` on one minibatch, caches them, and returns them
transformed by `feature_vector` (logarithms of the counts and of synflow,
whose values span orders of magnitude; a singular NASWOT kernel, −inf, as 0).

Example:

>>> from kerasnas.estimation import make_predictor
>>> feats = zero_cost_features(space, x[:64])                       # doctest: +SKIP
>>> model = make_predictor("ranker", space.encoding, features=feats)  # doctest: +SKIP
>>> model.fit(trained_archs, accuracies).predict(candidates)         # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

#: Features used when none are named (default: the parameter and FLOP counts). They are free
#: (no minibatch, no forward pass, no labels; cost 0.0000 of a training in
#: benchmarks/estimation.py) and were the two best single estimates on the 60 digits
#: architectures (Kendall tau 0.69 and 0.58). Adding naswot and synflow did not raise the
#: ranker's T = 40 ranking there (0.58 vs 0.61) nor on the 60 signals architectures (0.42 vs
#: 0.45): see benchmarks/README.md. Chosen on those same architectures.
DEFAULT_FEATURES = ("params", "flops")

_LOG = ("params", "flops", "synflow", "grad_norm", "snip")


def feature_vector(scores, names=DEFAULT_FEATURES) -> np.ndarray:
    """The predictor inputs for one architecture from its `{proxy: score}` (see module docs)."""
    out = []
    for name in names:
        if name not in scores:
            raise ValueError(f"No {name!r} score for this architecture; it has {sorted(scores)}.")
        v = float(scores[name])
        if name == "naswot" and v == -np.inf:
            v = 0.0  # a singular kernel: below every finite log-determinant
        elif name in _LOG and np.isfinite(v):
            v = float(np.log(max(v, 1e-12)))
        if not np.isfinite(v):
            raise ValueError(f"The {name!r} score is {v}; a predictor needs finite features. "
                             f"Leave {name!r} out of the features.")
        out.append(v)
    return np.asarray(out, dtype=np.float64)


def zero_cost_features(space, x=None, y=None, names=DEFAULT_FEATURES, *, seed=0):
    """A `features` callable: architectures -> `(n, len(names))` zero-cost features.

    Args:
        space: The kerasnas space (`NASHyperModel`) the architectures belong to.
        x, y: One minibatch for the data-dependent proxies (default None: only
            `params` / `flops` can be named; `y` for `grad_norm` / `snip`).
        names: Proxy names of `kerasnas.estimation.proxies` (default
            `DEFAULT_FEATURES`).
        seed: Seed of every model's initial weights (default 0), so features repeat.

    Returns:
        A callable `f(archs) -> np.ndarray`; each architecture is built and
        scored once (results are cached by its string).
    """
    from kerasnas.estimation.proxies import PROXIES, check_proxy_names

    names = tuple(names)
    if not names:
        raise ValueError("names must name at least one proxy, e.g. ('params', 'flops').")
    unknown = [n for n in names if n not in PROXIES]
    if unknown:
        raise ValueError(f"Unknown proxies {unknown}; choose from {sorted(PROXIES)}.")
    if x is None and any(n not in ("params", "flops") for n in names):
        raise ValueError(f"Proxies {[n for n in names if n not in ('params', 'flops')]} need "
                         "a minibatch: pass x (and y for grad_norm / snip).")
    check_proxy_names(names, y)
    cache: dict[str, np.ndarray] = {}

    def features(archs):
        import keras

        rows = []
        for arch in archs:
            key = str(arch)
            if key not in cache:
                keras.utils.set_random_seed(int(seed))
                model = space.build_architecture(space.architecture(key))
                scores = {n: PROXIES[n](model, x, y) for n in names}
                cache[key] = feature_vector(scores, names)
            rows.append(cache[key])
        return np.stack(rows)

    return features
