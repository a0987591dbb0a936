"""What keeps the oracles' per-trial cost bounded at 1,000 trials (benchmarks/reliability_scale.py)."""

from __future__ import annotations

import numpy as np

from kerasnas.oracles.bayesian import MAX_GP_POINTS, BayesianOptimization
from kerasnas.oracles.controller import DEFAULT_MAX_COLLISIONS, ReinforceController
from kerasnas.spaces.encodings import NB201Encoding


def _observed(n, seed=0):
    oracle = BayesianOptimization(objective="accuracy", space=NB201Encoding(), seed=seed)
    rng = np.random.default_rng(seed)
    while len(oracle._fitness) < n:
        oracle._fitness[str(oracle.encoding.sample(rng))] = float(rng.random())
    return oracle


def test_the_gp_sees_every_observation_up_to_its_window():
    oracle = _observed(MAX_GP_POINTS)
    assert oracle._gp_keys() == list(oracle._fitness)


def test_past_its_window_the_gp_keeps_the_best_and_the_latest():
    oracle = _observed(MAX_GP_POINTS + 400)
    keys = oracle._gp_keys()
    assert len(keys) == MAX_GP_POINTS
    order = list(oracle._fitness)
    assert keys == [k for k in order if k in set(keys)]  # finishing order kept
    best = sorted(order, key=oracle._fitness.__getitem__, reverse=True)[:MAX_GP_POINTS // 2]
    assert set(best) <= set(keys)
    assert order[-1] in keys and order[-10] in keys  # the latest results are seen
    gp, _ = oracle.fit_surrogate()  # and the surrogate fits on them
    mean, _ = gp.predict(oracle._featurize(dict.fromkeys(keys)))
    assert mean.shape == (MAX_GP_POINTS,) and np.all(np.isfinite(mean))


def test_the_controller_bounds_its_proposals_per_trial():
    oracle = ReinforceController(objective="accuracy", space=NB201Encoding(), seed=0)
    assert oracle.max_collisions == DEFAULT_MAX_COLLISIONS == 32
    assert ReinforceController(objective="accuracy", max_collisions=100).max_collisions == 100
