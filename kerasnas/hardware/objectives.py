"""Hardware objectives: hard limits, MnasNet's soft reward, and Pareto fronts (pure numpy).

* **Hard limits** (`HardLimits`): a candidate whose latency or size is over a
  limit is rejected, with the reason recorded, and never wins.
* **Soft reward** (`soft_reward`): MnasNet's (Tan et al., CVPR 2019)
  `ACC(m) * (LAT(m) / T) ** w` with `w = -0.07` by default: a model twice as
  slow as the target `T` pays about 5% of its accuracy, one twice as fast gains
  as much, so accuracy and latency trade off smoothly around `T`.
* **Pareto fronts** (`non_dominated_sort`, `crowding_distance`,
  `pareto_front`): NSGA-II's (Deb et al., 2002) fast non-dominated sorting and
  crowding distance, over objectives given as "max" or "min".

Nothing here imports TensorFlow, so oracles can use it.

Example:

>>> round(soft_reward(0.9, latency=2.0, target=1.0), 4)   # 0.9 * 2 ** -0.07
0.8575
>>> pareto_front([(0.9, 3.0), (0.8, 1.0), (0.7, 2.0)], directions=("max", "min"))
[0, 1]
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

#: MnasNet's exponent for the soft latency reward (Tan et al., 2019, Sec. 3: w = alpha = beta = -0.07).
MNAS_W = -0.07


def soft_reward(accuracy, latency, target, w=MNAS_W) -> float:
    """MnasNet's reward `accuracy * (latency / target) ** w`.

    Args:
        accuracy: The model's accuracy (or any score to maximise), a number.
        latency: Its measured (or predicted) latency, > 0.
        target: The target latency `T`, > 0, in the same unit.
        w: The exponent (default `MNAS_W` = -0.07, the paper's soft constraint;
            MnasNet's hard-constraint variant uses `w = -1` over `T` only).

    Returns:
        The reward, a float.
    """
    if not (isinstance(target, (int, float)) and target > 0):
        raise ValueError(f"The target latency must be a positive number, got {target!r}.")
    if not latency > 0:
        raise ValueError(f"Latency must be positive, got {latency!r}.")
    return float(accuracy) * (float(latency) / float(target)) ** float(w)


@dataclasses.dataclass(frozen=True)
class HardLimits:
    """Hard constraints on a candidate's latency and size; None means no limit.

    Args:
        latency_ms: Highest allowed latency in milliseconds (default None).
        model_bytes: Largest allowed `.tflite` size in bytes (default None).

    Example:

    >>> HardLimits(latency_ms=5.0).violations({"latency_ms": 7.5, "model_bytes": 1000})
    ['latency 7.500 ms is over the limit of 5.000 ms']
    """

    latency_ms: float | None = None
    model_bytes: int | None = None

    def __post_init__(self):
        for name in ("latency_ms", "model_bytes"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not value > 0):
                raise ValueError(f"The {name} limit must be a positive number or None, "
                                 f"got {value!r}.")

    @property
    def active(self) -> bool:
        """True if any limit is set."""
        return self.latency_ms is not None or self.model_bytes is not None

    def violations(self, metrics: dict) -> list:
        """Why `metrics` (with `latency_ms` / `model_bytes`) break the limits; [] if they don't."""
        reasons = []
        latency = metrics.get("latency_ms")
        if self.latency_ms is not None and latency is not None and latency > self.latency_ms:
            reasons.append(f"latency {latency:.3f} ms is over the limit of {self.latency_ms:.3f} ms")
        size = metrics.get("model_bytes")
        if self.model_bytes is not None and size is not None and size > self.model_bytes:
            reasons.append(f"size {int(size)} bytes is over the limit of {int(self.model_bytes)} "
                           "bytes")
        return reasons


def _as_minimised(points, directions) -> np.ndarray:
    """Points as an (N, M) array where every objective is to be minimised."""
    array = np.asarray(points, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"points must be a list of equal-length tuples, got shape {array.shape}.")
    if len(directions) != array.shape[1]:
        raise ValueError(f"Got {len(directions)} directions for {array.shape[1]} objectives.")
    signs = []
    for d in directions:
        if d not in ("max", "min"):
            raise ValueError(f"Each direction must be 'max' or 'min', got {d!r}.")
        signs.append(-1.0 if d == "max" else 1.0)
    if not np.all(np.isfinite(array)):
        raise ValueError("Pareto sorting needs finite objective values; drop failed candidates.")
    return array * np.asarray(signs)


def dominates(a, b, directions=("max", "min")) -> bool:
    """True if point `a` is at least as good as `b` in every objective and better in one."""
    pa, pb = _as_minimised([a, b], directions)
    return bool(np.all(pa <= pb) and np.any(pa < pb))


def non_dominated_sort(points, directions=("max", "min")) -> list:
    """NSGA-II's fast non-dominated sorting.

    Args:
        points: N points, each a tuple of M objective values.
        directions: `"max"` or `"min"` for each objective (default accuracy
            up, latency down).

    Returns:
        Fronts as lists of point indices: front 0 is the Pareto front, front 1
        what is left non-dominated once it is removed, and so on.
    """
    p = _as_minimised(points, directions)
    n = len(p)
    if n == 0:
        return []
    # dominated[i, j]: i dominates j.
    le = np.all(p[:, None, :] <= p[None, :, :], axis=2)
    lt = np.any(p[:, None, :] < p[None, :, :], axis=2)
    dominated = le & lt
    count = dominated.sum(axis=0)  # how many points dominate j
    fronts = []
    current = [int(i) for i in np.flatnonzero(count == 0)]
    while current:
        fronts.append(current)
        following = []
        for i in current:
            for j in np.flatnonzero(dominated[i]):
                count[j] -= 1
                if count[j] == 0:
                    following.append(int(j))
        current = sorted(following)
    return fronts


def crowding_distance(points, front, directions=("max", "min")) -> dict:
    """NSGA-II's crowding distance of each point of one front.

    The extremes of every objective get infinity; inner points the sum over
    objectives of the normalised gap between their two neighbours. Larger
    means lonelier, so preferring it keeps the front spread out.

    Returns:
        `{index: distance}` for the indices in `front`.
    """
    p = _as_minimised(points, directions)
    distance = {int(i): 0.0 for i in front}
    if len(front) <= 2:
        return {i: math.inf for i in distance}
    idx = np.asarray(front)
    for m in range(p.shape[1]):
        order = idx[np.argsort(p[idx, m], kind="stable")]
        low, high = p[order[0], m], p[order[-1], m]
        distance[int(order[0])] = distance[int(order[-1])] = math.inf
        if high == low:
            continue
        for k in range(1, len(order) - 1):
            distance[int(order[k])] += (p[order[k + 1], m] - p[order[k - 1], m]) / (high - low)
    return distance


def pareto_front(points, directions=("max", "min")) -> list:
    """Indices of the non-dominated points (sorted), e.g. accuracy up and latency down."""
    fronts = non_dominated_sort(points, directions)
    return sorted(fronts[0]) if fronts else []


def nsga2_rank(points, directions=("max", "min")) -> list:
    """All indices ordered best first: by front, then by crowding distance (largest first)."""
    order = []
    for front in non_dominated_sort(points, directions):
        distance = crowding_distance(points, front, directions)
        order += sorted(front, key=lambda i: (-distance[i], i))
    return order
