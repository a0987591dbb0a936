"""`HPEncoding`: the `Encoding` of any Keras Tuner `build(hp)`, so every kerasnas oracle can drive it.

A Keras Tuner user's hypermodel declares its space through `HyperParameters`
(`Choice`, `Boolean`, `Int`, `Float`, `Fixed`, conditional scopes). This module
turns that space into the shared `Encoding`, one `HPDecision` per
hyperparameter, so aging evolution, the categorical GP and the RL controller
search it unchanged through `propose()` / `observe()`:

* `Choice` / `Boolean` / `Fixed`: their values, the default first in meaning
  (`HPDecision.default` is the hyperparameter's default).
* `Int`: every value of the range and step (`range(min, max + 1, step)`, or
  `min * step**k` with log sampling), or, past `MAX_ENUMERATED` values, a grid of
  `float_resolution` points in the sampling scale.
* `Float`: the step grid when a step is given, else a grid of
  `float_resolution` points evenly spaced in the sampling scale (linear, log or
  reverse_log). Values are plain Python floats on that grid, never off it.

Ordered decisions (`Int`, `Float`, ordered numeric `Choice`) mutate by a
perturbation: a move of a few grid steps drawn from a normal distribution in
the sampling scale, not a jump to any value. For the GP they become
"thermometer" features (one binary column per threshold), so the Hamming
kernel sees the distance between two learning rates, not only whether they
differ. The controller draws one token per grid point.

Conditional hyperparameters (`hp.conditional_scope`, `parent_name` /
`parent_values`) are inactive unless every enclosing condition holds; inactive
ones hold their default, as in kerasnas's own encodings.

Keras Tuner discovers a `build(hp)` lazily, so the space can grow between
trials. New hyperparameters join at the end of the decision list, and an
architecture's string form lists only the values that differ from their
defaults (as JSON), so every string saved before the space grew names the same
configuration afterwards: a trial run before `units2` existed ran with its
default. `HPEncoding.updated(hps)` returns the grown encoding.

Pure Python: importing this module loads neither Keras Tuner nor TensorFlow.

Example:

>>> import numpy as np
>>> enc = HPEncoding([
...     {"class": "Int", "name": "layers", "min_value": 1, "max_value": 3},
...     {"class": "Float", "name": "lr", "min_value": 1e-4, "max_value": 1e-2,
...      "sampling": "log"},
...     {"class": "Choice", "name": "act", "values": ["relu", "tanh"], "default": "tanh"},
... ])
>>> arch = enc.sample(np.random.default_rng(0))
>>> 1e-4 <= arch["lr"] <= 1e-2 and arch["layers"] in (1, 2, 3)
True
>>> str(enc.default())
'{}'
>>> enc.from_string(str(arch)) == arch
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Mapping, Sequence

import numpy as np

from kerasnas.spaces.architecture import Decision, Encoding, register_encoding

#: Points of the grid of a `Float` without step (and of a too-large `Int`), evenly
#: spaced in its sampling scale. 33 points put 15% between neighbours over a
#: hundred-fold log range (1e-4..1e-2), finer than a learning rate needs, while
#: keeping the controller's softmax and the GP's features small.
DEFAULT_FLOAT_RESOLUTION = 33
#: An `Int` (or stepped `Float`) with at most this many values keeps every value;
#: larger ones get the `float_resolution` grid. 256 covers unit counts and layer
#: counts exactly and keeps a controller softmax cheap.
MAX_ENUMERATED = 256
#: Standard deviation of a perturbation, as a fraction of an ordered decision's
#: grid (at least one step): 0.1 moves a 33-point learning rate by ~3 points.
PERTURBATION_SCALE = 0.1
#: Thresholds per ordered decision in the GP's thermometer features; 8 keep the
#: feature count (and the GP's length scales) small at any grid size.
THERMOMETER_BITS = 8

_SAMPLINGS = ("linear", "log", "reverse_log")


@dataclasses.dataclass(frozen=True)
class HPDecision(Decision):
    """A `Decision` made from one Keras Tuner hyperparameter.

    Attributes:
        kind: `"Choice"`, `"Boolean"`, `"Int"`, `"Float"` or `"Fixed"`.
        default_value: The hyperparameter's default (held while inactive).
        ordered: Whether neighbouring choices are close (perturbation mutation,
            thermometer GP features).
        conditions: `((parent name, (values...)), ...)`: active only when every
            parent is active and holds one of its values.
        sampling: `"linear"`, `"log"` or `"reverse_log"` (the scale of draws).
        even: True when the choices are evenly spaced in the sampling scale, so
            drawing an index uniformly is Keras Tuner's distribution; False when
            draws are made in the scale and snapped to the nearest choice.
    """

    kind: str = "Choice"
    default_value: Any = None
    ordered: bool = False
    conditions: tuple = ()
    sampling: str = "linear"
    even: bool = True

    @property
    def default(self):
        return self.default_value

    def scale(self, value) -> float:
        """`value` in the sampling scale (increasing; log for `"log"`)."""
        lo, hi = self.choices[0], self.choices[-1]
        if self.sampling == "log":
            return math.log(value)
        if self.sampling == "reverse_log":
            return -math.log(hi + lo - value)
        return float(value)

    def index(self, value) -> int:
        try:
            return super().index(value)
        except ValueError:
            if self.kind != "Float" or isinstance(value, (bool, str)):
                raise
            # A float off the grid (e.g. rounded on its way back from a worker): nearest point.
            lo, hi = self.choices[0], self.choices[-1]
            if not lo <= float(value) <= hi:
                raise ValueError(f"{value!r} is outside {self.name!r}'s range [{lo}, {hi}].") from None
            target = self.scale(float(value))
            return int(np.argmin([abs(self.scale(c) - target) for c in self.choices]))

    def draw(self, u: float):
        """The value at quantile `u` in [0, 1) of Keras Tuner's sampling distribution."""
        n = len(self.choices)
        if self.even or n == 1:
            return self.choices[min(int(u * n), n - 1)]
        lo, hi = self.scale(self.choices[0]), self.scale(self.choices[-1])
        target = lo + u * (hi - lo)
        return self.choices[int(np.argmin([abs(self.scale(c) - target) for c in self.choices]))]


@register_encoding
class HPEncoding(Encoding):
    """The `Encoding` of a Keras Tuner `HyperParameters` space.

    Build it with `HPEncoding.from_keras_tuner(hp)`; kerasnas oracles do so by
    themselves when the hypermodel is not a kerasnas space.

    Args:
        hyperparameters: One dict per hyperparameter, in declaration order:
            `{"class": "Int"|"Float"|"Choice"|"Boolean"|"Fixed", "name": ...,`
            `"conditions": [[parent, [values...]], ...]}` plus the class's own
            arguments (`min_value`, `max_value`, `step`, `sampling`, `default`,
            `values`, `ordered`, `value`), as `from_keras_tuner` writes them.
        float_resolution: Grid points of a `Float` without step (default 33,
            `DEFAULT_FLOAT_RESOLUTION`).
        max_enumerated: Largest number of values an `Int` keeps exactly
            (default 256, `MAX_ENUMERATED`).

    Example:

    >>> enc = HPEncoding([{"class": "Boolean", "name": "bn"},
    ...                   {"class": "Int", "name": "units", "min_value": 8, "max_value": 32,
    ...                    "step": 8, "conditions": [["bn", [True]]]}])
    >>> [d.choices for d in enc.decisions]
    [(False, True), (8, 16, 24, 32)]
    >>> enc.architecture({"bn": False, "units": 32})["units"]  # inactive: its default
    8
    """

    name = "keras_tuner"

    def __init__(self, hyperparameters: Sequence[Mapping], float_resolution: int =
                 DEFAULT_FLOAT_RESOLUTION, max_enumerated: int = MAX_ENUMERATED):
        if isinstance(float_resolution, bool) or int(float_resolution) != float_resolution \
                or float_resolution < 2:
            raise ValueError(f"float_resolution must be an int >= 2, got {float_resolution!r}.")
        self.hyperparameters = [_plain(dict(spec)) for spec in hyperparameters]
        self.float_resolution = int(float_resolution)
        self.max_enumerated = int(max_enumerated)
        super().__init__(self._decision(spec) for spec in self.hyperparameters)

    @classmethod
    def from_keras_tuner(cls, hyperparameters, **kwargs) -> "HPEncoding":
        """The encoding of a `keras_tuner.HyperParameters` (its `.space`, in order).

        Raises:
            ValueError: a name declared twice under different conditions, or a
                hyperparameter class kerasnas does not know.
        """
        specs = [hp_spec(hp) for hp in hyperparameters.space]
        names = [spec["name"] for spec in specs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"Hyperparameters {repeated} are declared more than once (under different "
                "conditional scopes); kerasnas oracles need one name per hyperparameter. Give "
                "each scope's copy its own name, e.g. f\"{model_type}_units\".")
        return cls(specs, **kwargs)

    def updated(self, hyperparameters) -> "HPEncoding":
        """This encoding, or the grown one if `hyperparameters` gained entries since."""
        if len(hyperparameters.space) == len(self.hyperparameters):
            return self
        return type(self).from_keras_tuner(hyperparameters, float_resolution=self.float_resolution,
                                           max_enumerated=self.max_enumerated)

    def get_config(self):
        return {"hyperparameters": self.hyperparameters,
                "float_resolution": self.float_resolution,
                "max_enumerated": self.max_enumerated}

    # ------------------------------------------------------------ decisions
    def _decision(self, spec: Mapping) -> HPDecision:
        kind, name = spec.get("class"), spec.get("name")
        conditions = tuple((str(p), tuple(v)) for p, v in spec.get("conditions", ()))
        common = {"name": name, "kind": kind, "conditions": conditions}
        if kind == "Boolean":
            return HPDecision(choices=(False, True), default_value=bool(spec.get("default", False)),
                              **common)
        if kind == "Fixed":
            return HPDecision(choices=(spec["value"],), default_value=spec["value"], **common)
        if kind == "Choice":
            values = tuple(spec["values"])
            numeric = not isinstance(values[0], (str, bool))
            ordered = spec.get("ordered")
            ordered = numeric if ordered is None else bool(ordered) and numeric
            default = spec.get("default")
            return HPDecision(choices=values, default_value=values[0] if default is None else default,
                              ordered=ordered, **common)
        if kind in ("Int", "Float"):
            return self._numeric(spec, common)
        raise ValueError(
            f"Hyperparameter {name!r} is a {kind!r}; kerasnas oracles search Choice, Boolean, Int, "
            "Float and Fixed. Express it with one of those."
        )

    def _numeric(self, spec: Mapping, common: dict) -> HPDecision:
        kind, name = common["kind"], common["name"]
        lo, hi = spec["min_value"], spec["max_value"]
        step, sampling = spec.get("step"), spec.get("sampling") or "linear"
        if sampling not in _SAMPLINGS:
            raise ValueError(f"{name!r}: sampling must be one of {_SAMPLINGS}, got {sampling!r}.")
        if hi < lo:
            raise ValueError(f"{name!r}: max_value {hi} is below min_value {lo}.")
        if sampling != "linear" and lo <= 0:
            raise ValueError(f"{name!r}: {sampling} sampling needs min_value > 0, got {lo}.")
        cast = int if kind == "Int" else _float
        even = True
        if hi == lo:
            values = [lo]
        elif step is not None and sampling == "log" and step > 1:
            values = _geometric(lo, hi, step)  # with log sampling, Keras Tuner's step is a factor
        else:
            step = 1 if step is None and kind == "Int" else step
            values = None
            if step is not None:
                if step <= 0:
                    raise ValueError(f"{name!r}: step must be > 0, got {step}.")
                count = int(math.floor((hi - lo) / step + 1e-9)) + 1
                if count <= self.max_enumerated:
                    values = [lo + k * step for k in range(count)]
                    even = sampling == "linear"  # log-sampled steps: draw in log, snap
        if values is None or len(values) > self.max_enumerated:
            # A grid evenly spaced in the sampling scale (snapped to the step for stepped ranges).
            probe = HPDecision(name=name, choices=(_float(lo), _float(hi)), kind="Float",
                               sampling=sampling)
            values = [_unscale(probe, u) for u in np.linspace(0, 1, self.float_resolution)]
            if step is not None and sampling != "log":
                values = [lo + round((v - lo) / step) * step for v in values]
            even = True
        grid = len(values)
        values = sorted({cast(v) for v in values if lo - 1e-12 <= v <= hi + 1e-12})
        even = even and len(values) == grid  # rounding merged points: draw in scale, snap
        default = spec.get("default")
        default = values[0] if default is None else cast(default)
        if default not in values:
            values = sorted(values + [default])
        return HPDecision(choices=tuple(values), default_value=default, ordered=True,
                          sampling=sampling, even=even, **common)

    # ---------------------------------------------------------------- rules
    def active(self, values: Mapping[str, Any]) -> set[str]:
        result = set()
        for d in self.decisions:  # parents are declared before their children
            if all(parent in result and values.get(parent) in allowed
                   for parent, allowed in d.conditions):
                result.add(d.name)
        return result

    def sample(self, rng: np.random.Generator):
        """Each hyperparameter drawn from its own sampling distribution (one uniform each)."""
        draws = rng.random(len(self.decisions))
        return self.architecture({d.name: d.draw(u) for d, u in zip(self.decisions, draws,
                                                                    strict=True)})

    def mutate(self, arch, rng: np.random.Generator):
        """One active hyperparameter changes: ordered ones by a perturbation of a few grid
        steps (normal, `PERTURBATION_SCALE` of the grid), the others to any other value."""
        values = arch.as_dict()
        active = self.active(values)
        candidates = [d for d in self.decisions if d.name in active and len(d.choices) > 1]
        if not candidates:
            raise ValueError(f"{self.name}: nothing to mutate, every active hyperparameter has "
                             "a single value.")
        d = candidates[int(rng.integers(len(candidates)))]
        i, n = d.index(values[d.name]), len(d.choices)
        if d.ordered and n > 2:
            sigma = max(1.0, PERTURBATION_SCALE * (n - 1))
            j = i
            for _ in range(10):
                delta = int(round(rng.normal(0.0, sigma))) or (1 if rng.random() < 0.5 else -1)
                j = min(max(i + delta, 0), n - 1)
                if j != i:
                    break
            if j == i:
                j = i + 1 if i < n - 1 else i - 1
        else:
            j = int(rng.integers(n - 1))
            j += j >= i
        return self.architecture({**values, d.name: d.choices[j]})

    def neighbors(self, arch):
        """One change away: ±1, ±2, ±4 grid steps for ordered hyperparameters, any other
        value for the rest; in a fixed order."""
        values = arch.as_dict()
        active = self.active(values)
        seen, result = {arch}, []
        for d in self.decisions:
            if d.name not in active:
                continue
            i, n = d.index(values[d.name]), len(d.choices)
            if d.ordered and n > 2:
                indices = [i + k for k in (-4, -2, -1, 1, 2, 4) if 0 <= i + k < n]
            else:
                indices = [j for j in range(n) if j != i]
            for j in indices:
                child = self.architecture({**values, d.name: d.choices[j]})
                if child not in seen:
                    seen.add(child)
                    result.append(child)
        return result

    # --------------------------------------------------------------- strings
    def to_string(self, arch) -> str:
        """JSON of the values that differ from their defaults, in declaration order.

        Omitting defaults keeps the string of a configuration the same when
        the space grows (a trial that ran before a hyperparameter existed ran
        with its default).
        """
        return json.dumps({d.name: v for d, v in zip(self.decisions, arch.values, strict=True)
                           if v != d.default or type(v) is not type(d.default)})

    def from_string(self, text: str):
        try:
            given = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"{self.name}: {text!r} is not an HPEncoding string (JSON of "
                             "non-default values).") from None
        unknown = [k for k in given if k not in self._by_name]
        if unknown:
            raise ValueError(f"{self.name}: unknown hyperparameters {unknown} in {text!r}.")
        return self.architecture({d.name: d.default for d in self.decisions} | given)

    # ----------------------------------------------------------- Keras Tuner
    def to_hp_values(self, arch) -> dict:
        """The user's own hyperparameter values (plain int/float/str/bool), nothing added."""
        return dict(zip((d.name for d in self.decisions), arch.values, strict=True))

    def declare(self, hp) -> None:
        raise NotImplementedError(
            "An HPEncoding mirrors a hypermodel's own build(hp); it declares nothing itself.")

    # --------------------------------------------------------- GP features
    def feature_cardinalities(self) -> list[int]:
        """Categories per feature column of `feature_codes` (the last one means inactive)."""
        cards = []
        for d in self.decisions:
            bits = _bits(d)
            cards.extend([3] * bits if bits else [len(d.choices) + 1])
        return cards

    def feature_codes(self, archs) -> np.ndarray:
        """Integer features for the categorical GP: an unordered value's index, or, for an
        ordered one, a thermometer code (one 0/1 column per threshold), so the Hamming
        kernel counts how many thresholds separate two values; inactive: the last category."""
        rows = []
        for arch in archs:
            active = self.active(arch.as_dict())
            row = []
            for d, v in zip(self.decisions, arch.values, strict=True):
                bits = _bits(d)
                if not bits:
                    row.append(d.index(v) if d.name in active else len(d.choices))
                elif d.name not in active:
                    row.extend([2] * bits)
                else:
                    position = d.index(v) / (len(d.choices) - 1)
                    row.extend(int(position >= (k + 0.5) / bits) for k in range(bits))
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(len(rows), len(self.feature_cardinalities()))


def hp_spec(hp) -> dict:
    """The `HPEncoding` dict of one Keras Tuner hyperparameter object (read by attribute)."""
    kind = type(hp).__name__
    spec = {"class": kind, "name": hp.name,
            "conditions": [[c.name, list(c.values)] for c in getattr(hp, "conditions", ())
                           if hasattr(c, "values")]}
    if kind == "Choice":
        spec.update(values=list(hp.values), ordered=hp.ordered, default=hp.default)
    elif kind == "Boolean":
        spec.update(default=bool(hp.default))
    elif kind == "Fixed":
        spec.update(value=hp.value)
    elif kind in ("Int", "Float"):
        spec.update(min_value=hp.min_value, max_value=hp.max_value, step=hp.step,
                    sampling=hp.sampling, default=hp.default)
    return _plain(spec)


def _bits(d: HPDecision) -> int:
    return min(len(d.choices) - 1, THERMOMETER_BITS) if d.ordered and len(d.choices) > 2 else 0


def _geometric(lo, hi, factor):
    values, v = [], lo
    while v <= hi * (1 + 1e-12):
        values.append(v)
        v = v * factor
    return values


def _unscale(d: HPDecision, u: float) -> float:
    lo, hi = d.choices[0], d.choices[-1]
    if d.sampling == "log":
        return lo if u <= 0 else hi if u >= 1 else math.exp(math.log(lo) + u * math.log(hi / lo))
    if d.sampling == "reverse_log":
        return lo if u <= 0 else hi if u >= 1 else hi + lo - math.exp(
            math.log(hi) + u * (math.log(lo) - math.log(hi)))
    return lo + u * (hi - lo)


def _float(v) -> float:
    """A float rounded to 12 significant digits, so grid points print short and reparse."""
    return float(f"{float(v):.12g}")


def _plain(value):
    """Numpy scalars to Python ones, tuples to lists: the JSON-safe form of a spec."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
