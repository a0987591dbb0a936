"""Pareto-aware regularized evolution: accuracy and latency at once, NSGA-II style.

Regularized evolution (`evolution.py`) with one change: the tournament picks
its parent by NSGA-II's order (Deb et al., 2002) on two objectives, the
trial's score (up) and a cost metric such as `latency_ms` (down), instead of
by score alone. Among the `sample_size` drawn members the parent is the one on
the lowest non-dominated front, ties broken by the largest crowding distance,
so children are bred from the whole accuracy-latency front and spread along it
rather than crowding at its most accurate end. Aging is unchanged.

The cost is read from each finished trial's metrics (recorded by
`NASTuner(hardware=HardwareObjective(...))`); `pareto_front()` returns the
non-dominated architectures found so far, best score first.

Example:

>>> from kerasnas.oracles import ParetoEvolution
>>> oracle = ParetoEvolution(objective="val_accuracy", cost_metric="latency_ms",
...                          max_trials=40, seed=1)
>>> # NASTuner(oracle, space, hardware=HardwareObjective("int8"), ...)
"""

from __future__ import annotations

import math

from kerasnas.hardware.objectives import nsga2_rank, pareto_front
from kerasnas.oracles.evolution import RegularizedEvolution


class ParetoEvolution(RegularizedEvolution):
    """Aging evolution whose tournament ranks members by (score up, cost down).

    Args:
        objective: The accuracy-like objective (default None: set by the tuner).
        cost_metric: The trial metric to minimise alongside it (default
            `"latency_ms"`; `"model_bytes"`, `"params"` or `"flops"` work too).
        **kwargs: `max_trials`, `population_size`, `sample_size`, `space`,
            `seed`; see `RegularizedEvolution`.
    """

    def __init__(self, objective=None, cost_metric="latency_ms", **kwargs):
        if not isinstance(cost_metric, str) or not cost_metric:
            raise ValueError(f"cost_metric must be a metric name such as 'latency_ms', got "
                             f"{cost_metric!r}.")
        super().__init__(objective=objective, **kwargs)
        self.cost_metric = cost_metric
        self._cost: dict[str, float] = {}  # str(arch) -> cost of every finished architecture

    def end_trial(self, trial):
        stored = self.trials.get(trial.trial_id, trial)
        metrics = getattr(stored, "metrics", None) or trial.metrics
        if not metrics.exists(self.cost_metric) and trial.status == "COMPLETED":
            raise ValueError(
                f"ParetoEvolution needs the metric {self.cost_metric!r} in every trial; trial "
                f"{trial.trial_id} has none. Record it with NASTuner(hardware=HardwareObjective())"
                " or choose cost_metric='params' or 'flops'.")
        super().end_trial(trial)

    def _record_end(self, trial):
        if trial.metrics.exists(self.cost_metric):  # also on resume (`oracles/recovery.py`)
            key = str(self.architecture_of(trial))
            self._cost[key] = float(trial.metrics.get_last_value(self.cost_metric))
        super()._record_end(trial)

    def _tournament(self, members, size) -> int:
        """The NSGA-II best of `size` distinct random `members` (both of crossover's too)."""
        members = list(members)
        picks = [members[int(i)] for i in self.rng.choice(len(members), size=size,
                                                          replace=False)]
        points = [(self.population[i][1], self._cost_of(self.population[i][0])) for i in picks]
        return picks[nsga2_rank(points)[0]]

    def _cost_of(self, key) -> float:
        cost = self._cost.get(key, math.inf)
        return cost if math.isfinite(cost) else 1e300

    def pareto_front(self) -> list:
        """`(architecture string, fitness, cost)` of the non-dominated finished architectures."""
        keys = [k for k in self._fitness if k in self._cost]
        points = [(self._fitness[k], self._cost[k]) for k in keys]
        front = pareto_front(points) if points else []
        return sorted(((keys[i], *points[i]) for i in front), key=lambda p: -p[1])

    def get_algorithm_state(self):
        return {**super().get_algorithm_state(), "cost_metric": self.cost_metric,
                "cost": dict(self._cost)}

    def set_algorithm_state(self, state):
        super().set_algorithm_state(state)
        self.cost_metric = state["cost_metric"]
        self._cost = {k: float(v) for k, v in state["cost"].items()}
