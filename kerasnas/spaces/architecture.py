"""The architecture encoding every part of kerasnas shares.

A search space is described, independently of Keras, by an `Encoding`: an
ordered list of categorical `Decision`s (one per architectural choice) plus the
space's rules (which decisions are active, which values are canonical). An
`Architecture` is one assignment of a value to every decision. It is

* canonical: inactive decisions hold their default, so two architectures that
  build the same network compare equal and hash alike;
* hashable and immutable;
* JSON-serialisable (`to_json` / `Architecture.from_json`);
* convertible to and from Keras Tuner hyperparameter values, which are plain
  int/float/str/bool as Keras Tuner's distributed mode requires.

Spaces (Keras `HyperModel`s), oracles, DARTS, Net2Net and predictors all speak
this one type. This module imports neither Keras nor TensorFlow.

Example:

>>> from kerasnas.spaces.encodings import NB201Encoding
>>> import numpy as np
>>> enc = NB201Encoding()
>>> arch = enc.sample(np.random.default_rng(0))
>>> enc.from_string(str(arch)) == arch
True
>>> child = arch.mutate(np.random.default_rng(1))
>>> child != arch
True
>>> mixed = arch.crossover(child, np.random.default_rng(2))  # each edge from one parent
>>> all(v in (arch[d.name], child[d.name]) for d, v in zip(enc.decisions, mixed.values))
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from typing import Any, ClassVar, Iterable, Mapping

import numpy as np

#: Name of the fixed Keras Tuner hyperparameter that tells an oracle which
#: encoding a space uses (its value is `Encoding.key`).
SPACE_HP_NAME = "kerasnas_space"

_ENCODING_CLASSES: dict[str, type["Encoding"]] = {}
# Imported on demand by `Encoding.from_spec`, so loading never depends on earlier imports.
_BUILTIN_ENCODINGS_MODULE = "kerasnas.spaces.encodings"
_ENCODINGS_BY_KEY: dict[str, "Encoding"] = {}


@dataclasses.dataclass(frozen=True)
class Decision:
    """One categorical architectural choice.

    Attributes:
        name: Stable hyperparameter name, e.g. `"normal_b0_op1"`.
        choices: The allowed values (all int, all float, all str or all bool).
            The first choice is the default, used for inactive decisions.
    """

    name: str
    choices: tuple

    def __post_init__(self):
        if not self.choices:
            raise ValueError(f"Decision {self.name!r} has no choices.")
        kinds = {type(c) for c in self.choices}
        if len(kinds) != 1 or kinds.pop() not in (int, float, str, bool):
            raise TypeError(
                f"Decision {self.name!r}: choices must all be int, all float, all str or all "
                f"bool (Keras Tuner's rule); got {self.choices!r}."
            )
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"Decision {self.name!r} has repeated choices {self.choices!r}.")

    @property
    def default(self):
        return self.choices[0]

    def index(self, value) -> int:
        """Position of `value` in `choices` (raises `ValueError` naming the decision)."""
        for i, choice in enumerate(self.choices):
            if choice == value and type(choice) is type(value):
                return i
        # Accept numerically equal values of another numeric type (e.g. numpy ints).
        for i, choice in enumerate(self.choices):
            if not isinstance(choice, (bool, str)) and not isinstance(value, (bool, str)):
                try:
                    if float(choice) == float(value):
                        return i
                except (TypeError, ValueError):
                    pass
        raise ValueError(
            f"{value!r} is not a valid value for {self.name!r}; choose one of {self.choices!r}."
        )


def register_encoding(cls):
    """Class decorator: makes an `Encoding` subclass loadable by its `name`."""
    _ENCODING_CLASSES[cls.name] = cls
    return cls


class Encoding:
    """Base class of a search space's Keras-free description.

    Subclasses set `name`, build `self.decisions` in `__init__`, implement
    `get_config`, and may override `active(values)` (which decisions matter),
    `canonicalize(values)` (extra normalisation), `crossover_groups()` (which
    decisions `crossover` inherits together), `to_string` and `from_string`.
    """

    name: ClassVar[str] = "base"

    decisions: tuple[Decision, ...]

    def __init__(self, decisions: Iterable[Decision]):
        self.decisions = tuple(decisions)
        names = [d.name for d in self.decisions]
        if len(set(names)) != len(names):
            raise ValueError(f"{type(self).__name__}: decision names repeat: {names}")
        self._by_name = {d.name: d for d in self.decisions}
        self._position = {d.name: i for i, d in enumerate(self.decisions)}
        self.key = f"{self.name}-{_short_hash(self.get_config())}"
        _ENCODINGS_BY_KEY.setdefault(self.key, self)

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        """Constructor arguments, JSON-serialisable."""
        return {}

    def to_spec(self) -> dict:
        """`{"name", "config", "module"}`: enough to rebuild the encoding in a fresh process."""
        return {"name": self.name, "config": self.get_config(), "module": type(self).__module__}

    @staticmethod
    def from_spec(spec: Mapping) -> "Encoding":
        """Rebuilds an encoding from `to_spec()` output, in this or a fresh process.

        Encodings register themselves when their module is imported, so a spec
        names its module and loading imports it (kerasnas's own encodings are
        always found). A user's encoding defined in a script (`__main__`) must
        be imported before loading, or live in an importable module.
        """
        name = spec.get("name")
        if name not in _ENCODING_CLASSES:
            for module in (_BUILTIN_ENCODINGS_MODULE, spec.get("module")):
                if module and module != "__main__":
                    try:
                        importlib.import_module(module)
                    except ImportError:
                        pass
        try:
            cls = _ENCODING_CLASSES[name]
        except KeyError:
            raise ValueError(
                f"Unknown encoding {name!r} (defined in module {spec.get('module')!r}); known: "
                f"{sorted(_ENCODING_CLASSES)}. Import the module that defines it (decorated with "
                "@register_encoding) before loading."
            ) from None
        return cls(**spec["config"])

    @staticmethod
    def from_key(key: str) -> "Encoding":
        """The encoding with this `key`, created earlier in this process."""
        try:
            return _ENCODINGS_BY_KEY[key]
        except KeyError:
            raise ValueError(
                f"No encoding with key {key!r} exists in this process. Construct the search "
                "space first, or pass `space=` to the oracle."
            ) from None

    def __eq__(self, other):
        return isinstance(other, Encoding) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ rules
    def decision(self, name: str) -> Decision:
        return self._by_name[name]

    def active(self, values: Mapping[str, Any]) -> set[str]:
        """Names of the decisions that affect the network for `values`."""
        return set(self._by_name)

    def canonicalize(self, values: dict) -> dict:
        """Hook for extra normalisation; inactive decisions are reset by the caller."""
        return values

    def size(self) -> int | None:
        """Number of distinct architectures, if cheap to compute, else None."""
        return None

    # ---------------------------------------------------------- construction
    def architecture(self, values: Mapping[str, Any]) -> "Architecture":
        """Validates `values` (a full assignment) and returns the canonical `Architecture`."""
        missing = [d.name for d in self.decisions if d.name not in values]
        if missing:
            raise ValueError(f"{self.name} architecture is missing decisions {missing}.")
        clean = {d.name: d.choices[d.index(values[d.name])] for d in self.decisions}
        clean = self.canonicalize(clean)
        active = self.active(clean)
        for d in self.decisions:
            if d.name not in active:
                clean[d.name] = d.default
        return Architecture(self, tuple(clean[d.name] for d in self.decisions))

    def default(self) -> "Architecture":
        return self.architecture({d.name: d.default for d in self.decisions})

    def sample(self, rng: np.random.Generator) -> "Architecture":
        """A uniformly random assignment, canonicalised."""
        return self.architecture(
            {d.name: d.choices[int(rng.integers(len(d.choices)))] for d in self.decisions}
        )

    def mutate(self, arch: "Architecture", rng: np.random.Generator) -> "Architecture":
        """One local change: a random active decision takes another value.

        Always returns a valid architecture different from `arch` (raises
        `ValueError` if the space has a single architecture).
        """
        values = arch.as_dict()
        active = self.active(values)  # once, not once per decision
        candidates = [d for d in self.decisions if d.name in active and len(d.choices) > 1]
        if not candidates:
            raise ValueError(f"{self.name}: nothing to mutate in a single-architecture space.")
        for _ in range(100):
            d = candidates[int(rng.integers(len(candidates)))]
            others = [c for c in d.choices if c != values[d.name]]
            child = self.architecture({**values, d.name: others[int(rng.integers(len(others)))]})
            if child != arch:
                return child
        # Every change drawn was normalised away; fall back to the full neighbourhood.
        neighbors = self.neighbors(arch)
        return neighbors[int(rng.integers(len(neighbors)))]

    def neighbors(self, arch: "Architecture") -> list["Architecture"]:
        """Every distinct architecture one decision away from `arch`, in a fixed order."""
        values = arch.as_dict()
        active = self.active(values)
        seen, result = {arch}, []
        for d in self.decisions:
            if d.name not in active:
                continue
            for choice in d.choices:
                if choice == values[d.name]:
                    continue
                child = self.architecture({**values, d.name: choice})
                if child not in seen:
                    seen.add(child)
                    result.append(child)
        return result

    # -------------------------------------------------------------- crossover
    def crossover_groups(self) -> list[tuple[str, ...]]:
        """The units `crossover` inherits whole: groups of decision names, in order.

        Default: every decision on its own (plain uniform crossover). An
        encoding whose decisions only make sense together overrides it, e.g.
        a macro layer's op, width and kernel, or a cell block's two (input,
        op) branches. A decision left out of every group is a group of its own.
        """
        return [(d.name,) for d in self.decisions]

    def _crossover_positions(self) -> tuple[tuple[int, ...], ...]:
        """`crossover_groups()` as decision positions, checked once and cached."""
        cached = self.__dict__.get("_crossover_cache")
        if cached is not None:
            return cached
        groups, seen = [], set()
        for group in self.crossover_groups():
            positions = []
            for name in group:
                if name not in self._position:
                    raise ValueError(f"{type(self).__name__}.crossover_groups names {name!r}, "
                                     f"which is not a decision of the space.")
                if name in seen:
                    raise ValueError(f"{type(self).__name__}.crossover_groups lists {name!r} "
                                     "twice; each decision belongs to at most one group.")
                seen.add(name)
                positions.append(self._position[name])
            if positions:
                groups.append(tuple(positions))
        groups += [(i,) for i, d in enumerate(self.decisions) if d.name not in seen]
        self.__dict__["_crossover_cache"] = cached = tuple(groups)
        return cached

    def crossover(self, a: "Architecture", b: "Architecture",
                  rng: np.random.Generator) -> "Architecture":
        """Uniform crossover of two parents: each group of decisions comes from one of them.

        For every group of `crossover_groups()` one parent is drawn, each with
        probability 1/2 (one uniform draw per group, so the RNG advances the
        same way for any pair). A group inactive in the parent drawn but
        active in the other (the fifth layer when the parent drawn has four)
        is taken from the other, so a decision that was active in a parent
        keeps a value some parent actually used. The child is canonical
        (`architecture()`); it may equal a parent, e.g. when every draw
        picks the same one or when `a == b`.

        Args:
            a: First parent, an `Architecture` of this encoding.
            b: Second parent, of this encoding too.
            rng: The random generator that draws the parent of each group.

        Returns:
            The canonical child `Architecture`.

        Raises:
            ValueError: a parent belongs to another encoding.

        Example:

        >>> from kerasnas.spaces.encodings import NB201Encoding
        >>> enc = NB201Encoding()
        >>> a = enc.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        >>> b = enc.from_string(
        ...     "|skip_connect~0|+|skip_connect~0|skip_connect~1|+"
        ...     "|skip_connect~0|skip_connect~1|skip_connect~2|")
        >>> child = enc.crossover(a, b, np.random.default_rng(0))
        >>> all(v in (a[d.name], b[d.name]) for d, v in zip(enc.decisions, child.values))
        True
        """
        for parent in (a, b):
            if not isinstance(parent, Architecture) or parent.encoding != self:
                space = parent.encoding if isinstance(parent, Architecture) else type(parent)
                raise ValueError(f"{self.name}: crossover needs two Architectures of this "
                                 f"encoding ({self!r}); got one of {space!r}. Parse it with "
                                 "this encoding's from_string first.")
        names = [d.name for d in self.decisions]
        parents = ((a, self.active(a.as_dict())), (b, self.active(b.as_dict())))
        values = list(a.values)
        groups = self._crossover_positions()
        for group, u in zip(groups, rng.random(len(groups)), strict=True):
            drawn, other = parents if u >= 0.5 else parents[::-1]
            donor = drawn
            if (not any(names[i] in drawn[1] for i in group)
                    and any(names[i] in other[1] for i in group)):
                donor = other  # inactive in the parent drawn: the one that uses it
            for i in group:
                values[i] = donor[0].values[i]
        return self.architecture(dict(zip(names, values, strict=True)))

    # ---------------------------------------------------------------- strings
    def to_string(self, arch: "Architecture") -> str:
        """Human-readable form; default `name=value` pairs of active decisions."""
        active = self.active(arch.as_dict())
        return " ".join(f"{d.name}={v}" for d, v in zip(self.decisions, arch.values, strict=True)
                        if d.name in active)

    def from_string(self, text: str) -> "Architecture":
        """Inverse of `to_string`."""
        values = {d.name: d.default for d in self.decisions}
        for token in text.split():
            name, _, raw = token.partition("=")
            if name not in self._by_name:
                raise ValueError(f"{self.name}: unknown decision {name!r} in {text!r}.")
            values[name] = parse_choice(self._by_name[name], raw)
        return self.architecture(values)

    # ------------------------------------------------------------ Keras Tuner
    def to_hp_values(self, arch: "Architecture") -> dict:
        """Keras Tuner values: every decision plus the `kerasnas_space` key."""
        values = dict(zip((d.name for d in self.decisions), arch.values, strict=True))
        values[SPACE_HP_NAME] = self.key
        return values

    def from_hp_values(self, values: Mapping[str, Any]) -> "Architecture":
        """Inverse of `to_hp_values`; extra keys (other hyperparameters) are ignored."""
        return self.architecture({d.name: values[d.name] for d in self.decisions
                                  if d.name in values} | _missing_defaults(self, values))

    def declare(self, hp) -> None:
        """Registers every decision on a `keras_tuner.HyperParameters` object."""
        hp.Fixed(SPACE_HP_NAME, self.key)
        for d in self.decisions:
            if isinstance(d.default, bool):
                hp.Boolean(d.name, default=d.default)
            else:
                hp.Choice(d.name, list(d.choices), default=d.default, ordered=False)

    # --------------------------------------------------------------- vectors
    def one_hot(self, arch: "Architecture") -> np.ndarray:
        """Concatenated one-hot vector of every decision (inactive ones all zero)."""
        active = self.active(arch.as_dict())
        parts = []
        for d, v in zip(self.decisions, arch.values, strict=True):
            part = np.zeros(len(d.choices), dtype=np.float32)
            if d.name in active:
                part[d.index(v)] = 1.0
            parts.append(part)
        return np.concatenate(parts)


@dataclasses.dataclass(frozen=True, eq=False)
class Architecture:
    """One point of a search space: a value for every decision of `encoding`.

    Create it through an `Encoding` (`architecture`, `sample`, `mutate`,
    `from_string`, `from_hp_values`) so it is validated and canonical.
    """

    encoding: Encoding
    values: tuple

    def __getitem__(self, name: str):
        return self.values[self.encoding._position[name]]

    def as_dict(self) -> dict:
        return dict(zip((d.name for d in self.encoding.decisions), self.values, strict=True))

    def __eq__(self, other):
        return (isinstance(other, Architecture) and self.encoding.key == other.encoding.key
                and self.values == other.values)

    def __hash__(self):
        return hash((self.encoding.key, self.values))

    def __str__(self):
        return self.encoding.to_string(self)

    def __repr__(self):
        return f"Architecture({self.encoding.name}: {self})"

    def mutate(self, rng: np.random.Generator) -> "Architecture":
        return self.encoding.mutate(self, rng)

    def neighbors(self) -> list["Architecture"]:
        return self.encoding.neighbors(self)

    def crossover(self, other: "Architecture", rng: np.random.Generator) -> "Architecture":
        """A child taking each group of decisions from `self` or `other` (`Encoding.crossover`)."""
        return self.encoding.crossover(self, other, rng)

    def to_hp_values(self) -> dict:
        return self.encoding.to_hp_values(self)

    def draw(self):
        """This architecture drawn as SVG: a `kerasnas.viz.Drawing` (`.save("arch.svg")`)."""
        from kerasnas.viz.draw import draw_architecture

        return draw_architecture(self)

    def _repr_html_(self):
        """Notebook display: the drawing above the string form."""
        import html

        return f"{self.draw().svg}<pre>{html.escape(str(self))}</pre>"

    def to_json(self) -> str:
        """`{"space": <encoding spec>, "values": {...}}` as a JSON string."""
        return json.dumps({"space": self.encoding.to_spec(), "values": self.as_dict()},
                          sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "Architecture":
        data = json.loads(text)
        return Encoding.from_spec(data["space"]).architecture(data["values"])


def _missing_defaults(encoding: Encoding, values: Mapping) -> dict:
    return {d.name: d.default for d in encoding.decisions if d.name not in values}


def parse_choice(decision: Decision, raw: str):
    """The choice of `decision` whose text is `raw` (what `from_string` parsers use)."""
    for choice in decision.choices:
        if str(choice) == raw:
            return choice
    raise ValueError(
        f"{raw!r} is not a valid value for {decision.name!r}; choose one of {decision.choices!r}."
    )


def _short_hash(config: Mapping) -> str:
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]
