"""Which sub-network of a supernet trains at each step (pure Python, no TensorFlow).

Single-path one-shot training (Guo et al., 2020) samples one path per step,
uniformly: every decision of the space's `Encoding` takes each of its choices
with the same probability, independently. The sandwich rule (Yu & Huang,
"Universally Slimmable Networks", 2019; used by Once-for-All and BigNAS) also
trains the largest and the smallest network every step, so the extremes of the
space, which uniform sampling rarely draws, keep learning.

Example:

>>> import numpy as np
>>> from kerasnas.spaces.encodings import ResidualEncoding
>>> sampler = PathSampler(ResidualEncoding(), rule="sandwich")
>>> [str(a) for a in sampler.step(np.random.default_rng(0))][:2]
['8x64 k7 dilation=none downsample=by_size dropout=0.0', '2x16 k3 dilation=none downsample=by_size dropout=0.0']
"""

from __future__ import annotations

import numbers

import numpy as np

#: Path-sampling rules: `"uniform"` (one path per step) and `"sandwich"` (largest, smallest
#: and one uniform path per step).
RULES = ("uniform", "sandwich")
#: Decisions that regularise rather than size a network: the sandwich rule's largest and
#: smallest networks take their default (the first choice) instead of an extreme.
REGULARISERS = ("dropout",)


def check_rule(rule) -> str:
    """`rule` if it is one of `RULES`, else a ValueError naming them."""
    if rule not in RULES:
        raise ValueError(f"Unknown path-sampling rule {rule!r}; choose one of {list(RULES)}.")
    return rule


class PathSampler:
    """Draws the sub-networks a supernet trains.

    Args:
        encoding: The space's `Encoding`.
        rule: `"uniform"` (default: one uniformly drawn path per step) or
            `"sandwich"` (the largest, the smallest and one uniform path per step;
            largest and smallest take each numeric decision's largest / smallest
            choice, the others their default).
        allowed: Optional `{decision: value}` the paths must keep (a few-shot
            sub-supernet owns only the architectures with that value).
    """

    def __init__(self, encoding, rule="uniform", allowed=None):
        self.encoding = encoding
        self.rule = check_rule(rule)
        self.allowed = dict(allowed or {})
        for name, value in self.allowed.items():
            encoding.decision(name).index(value)  # raises for a decision or value not in the space

    def draw(self, rng: np.random.Generator):
        """One uniformly drawn architecture: each decision uniform and independent."""
        values = {d.name: d.choices[int(rng.integers(len(d.choices)))]
                  for d in self.encoding.decisions}
        values.update(self.allowed)
        return self.encoding.architecture(values)

    def extreme(self, largest: bool):
        """The largest (or smallest) network of the space: each numeric decision at its
        largest (smallest) choice, regularisers and non-numeric decisions at their default."""
        values = {}
        for d in self.encoding.decisions:
            numeric = all(isinstance(c, numbers.Real) and not isinstance(c, bool)
                          for c in d.choices)
            if numeric and d.name not in REGULARISERS:
                values[d.name] = max(d.choices) if largest else min(d.choices)
            else:
                values[d.name] = d.default
        values.update(self.allowed)
        return self.encoding.architecture(values)

    def step(self, rng: np.random.Generator) -> list:
        """The architectures one training step takes, in order."""
        if self.rule == "sandwich":
            return [self.extreme(True), self.extreme(False), self.draw(rng)]
        return [self.draw(rng)]


__all__ = ["PathSampler", "RULES", "check_rule"]
