"""`PredictorGuided`: a search strategy that trains only what a performance predictor ranks best.

After `num_initial_points` random architectures, every proposal:

1. fits the predictor (`kerasnas.estimation.predictors`: `"gp"`, `"mlp_ensemble"`
   as in BANANAS, `"ranker"` as in ReNAS) to every finished architecture;
2. scores a pool of candidates far larger than what is trained: every
   neighbour (one decision changed) and `num_mutations` two-step mutations of
   the `top_k` best architectures so far, plus `num_random_candidates`
   uniform samples, with anything evaluated, failed or running left out;
3. proposes the candidate with the highest predicted score (plus
   `exploration` times the ensemble's spread, for the MLP predictors).

It is an `ArchitectureOracle`, so it runs in a plain `keras_tuner.Tuner`, resumes,
and composes with `SuccessiveHalving` and pre-screening like any other strategy.
`kerasnas.search(..., predictor="gp")` uses it. Pure numpy: no Keras.

Example:

>>> import keras_tuner
>>> from kerasnas.spaces.encodings import NB201Encoding
>>> oracle = PredictorGuided(objective=keras_tuner.Objective("accuracy", "max"),
...                          predictor="gp", max_trials=50, space=NB201Encoding(), seed=1)
>>> oracle.predictor_name
'gp'
"""

from __future__ import annotations

import numpy as np

from kerasnas.estimation.predictors import PREDICTORS, make_predictor
from kerasnas.oracles.base import ArchitectureOracle

#: Predictor used when none is named (default "ranker": on the NAS-Bench-201 table at 50
#: queries it had the best mean of the three, 10 seeds each: ranker 94.33, gp 94.28,
#: mlp_ensemble 94.10; over 93 seeds the ranker's mean is 94.27, below BayesianOptimization's
#: 94.30; `benchmarks/estimation_guided.py`, see benchmarks/README.md).
DEFAULT_PREDICTOR = "ranker"


def check_predictor(name) -> str:
    """`name` if it is a predictor of `kerasnas.estimation.predictors`, else a ValueError."""
    if name not in PREDICTORS:
        raise ValueError(f"Unknown predictor {name!r}; choose one of {sorted(PREDICTORS)}.")
    return name


class PredictorGuided(ArchitectureOracle):
    """Predictor-guided search (see the module docs).

    Args:
        objective, max_trials: As for every kerasnas oracle.
        predictor: `"ranker"` (default), `"gp"` or `"mlp_ensemble"`.
        num_initial_points: Random architectures before the predictor takes
            over (default 10, the fewest the predictors were measured at).
        top_k: Best architectures whose neighbourhoods join the pool (default 5).
        num_mutations: Two-step mutations per top architecture (default 10).
        num_random_candidates: Uniform samples added to the pool (default 100).
        exploration: Weight of the ensemble's spread in the acquisition, for
            `"mlp_ensemble"` / `"ranker"` (default 0.0: the predicted score only).
        **kwargs: Passed to `ArchitectureOracle` (`space`, `seed`, `warm_start`, ...).
    """

    def __init__(self, objective=None, max_trials=100, predictor=DEFAULT_PREDICTOR, *,
                 num_initial_points=10, top_k=5, num_mutations=10, num_random_candidates=100,
                 exploration=0.0, **kwargs):
        self.predictor_name = check_predictor(predictor)
        for name, value, low in (("num_initial_points", num_initial_points, 2),
                                 ("top_k", top_k, 1), ("num_mutations", num_mutations, 0),
                                 ("num_random_candidates", num_random_candidates, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
        if not np.isfinite(exploration) or exploration < 0:
            raise ValueError(f"exploration must be a finite number >= 0; got {exploration!r}.")
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.num_initial_points = int(num_initial_points)
        self.top_k = int(top_k)
        self.num_mutations = int(num_mutations)
        self.num_random_candidates = int(num_random_candidates)
        self.exploration = float(exploration)

    def propose(self):
        if len(self._fitness) < self.num_initial_points:
            return self._random_unseen()
        history = self.history
        seed = int(self.rng.integers(2**31 - 1))
        model = make_predictor(self.predictor_name, self.encoding, seed=seed)
        model.fit([a for a, _ in history], [f for _, f in history])
        pool = list(self._candidates().values())
        if not pool:
            return self._random_unseen()
        score = model.predict(pool)
        if self.exploration and hasattr(model, "predict_std"):
            score = score + self.exploration * model.predict_std(pool)
        return pool[int(np.argmax(score))]

    def _candidates(self) -> dict:
        """`{str(arch): arch}`: unknown neighbours / mutations of the best, and random ones."""
        known = set(self._fitness) | self._failed | set(self._pending.values())
        pool = {}

        def add(arch):
            key = str(arch)
            if key not in known and key not in pool:
                pool[key] = arch

        ranked = sorted(self._fitness, key=self._fitness.__getitem__, reverse=True)
        for key in ranked[:self.top_k]:
            parent = self.encoding.from_string(key)
            for arch in self.encoding.neighbors(parent):
                add(arch)
            for _ in range(self.num_mutations):
                add(parent.mutate(self.rng).mutate(self.rng))
        for _ in range(self.num_random_candidates):
            add(self.encoding.sample(self.rng))
        return pool
