"""Few-shot NAS (Zhao et al., ICML 2021): K sub-supernets, each owning part of the space.

One supernet's shared weights must serve every architecture at once, and the
co-adaptation between paths makes its ranking unreliable. Few-shot NAS splits
the space on one decision: sub-supernet `j` owns exactly the architectures whose
decision takes its `j`-th value, starts from the trained one-shot supernet's
weights, and is fine-tuned on paths of its sub-space only. A candidate is
scored by the sub-supernet that owns it. (The paper splits on the operations
of one edge of a cell; kerasnas splits on any decision: which one ranks best is
measured in `benchmarks/weight_sharing.py`.)

The K sub-supernets share the base supernet's compiled graphs: their weights
are K snapshots, swapped into the base's variables when one of them trains or
scores, so splitting costs no recompilation.

Example:

>>> base = supernet_for(space); base.train(x, y, seconds=40)            # doctest: +SKIP
>>> few = FewShotSupernet(base, "num_blocks")                          # doctest: +SKIP
>>> few.train(x, y, seconds=20)   # split evenly over the sub-supernets # doctest: +SKIP
>>> few.score(arch, x, x_val, y_val)                                   # doctest: +SKIP
"""

from __future__ import annotations

from kerasnas.oneshot.sampling import PathSampler


class FewShotSupernet:
    """Sub-supernets split from a trained `Supernet` on the values of one decision.

    Args:
        base: The trained one-shot `Supernet`; its variables hold whichever
            sub-supernet was used last (`activate`).
        decision: The decision to split on (one sub-supernet per choice).

    Attributes:
        values: The decision's choices, one sub-supernet each.
        record: Fine-tuning steps per value.
    """

    def __init__(self, base, decision):
        self.base = base
        self.space = base.space
        self.decision = base.encoding.decision(decision)
        self.values = tuple(self.decision.choices)
        snapshot = base.get_state()
        self._weights = {value: {k: v.copy() for k, v in snapshot.items()}
                         for value in self.values}
        self._active = None
        self.record = {"decision": self.decision.name, "steps": {str(v): 0 for v in self.values}}

    def owner(self, arch):
        """The value of the sub-supernet that owns `arch` (its value of the decision)."""
        return self.space.architecture(arch)[self.decision.name]

    def owns(self, value, arch) -> bool:
        """True if sub-supernet `value` owns `arch`."""
        return self.owner(arch) == value

    def activate(self, value) -> None:
        """Loads sub-supernet `value`'s weights into the base supernet's variables."""
        if value == self._active:
            return
        if self._active is not None:
            self._weights[self._active] = self.base.get_state()
        self.base.set_state(self._weights[value])
        self._active = value

    def train(self, x, y, *, seconds=None, steps=None):
        """Fine-tunes each sub-supernet for `seconds / K` (or `steps / K`) on paths of its
        own sub-space, one after the other."""
        k = len(self.values)
        sampler = self.base.sampler
        try:
            for value in self.values:
                self.activate(value)
                self.base.sampler = PathSampler(self.base.encoding, sampler.rule,
                                                {**sampler.allowed, self.decision.name: value})
                before = self.base.record["steps"]
                self.base.train(x, y, seconds=None if seconds is None else seconds / k,
                                steps=None if steps is None else max(1, steps // k))
                self.record["steps"][str(value)] += self.base.record["steps"] - before
        finally:
            self.base.sampler = sampler
        return self.record

    # The scoring interface of `Supernet`, routed to the owner.
    def scoring_key(self, arch):
        return (self.owner(arch), self.base.scoring_key(arch))

    def rank_key(self, scores):
        return self.base.rank_key(scores)

    def score(self, arch, x_train, x_val, y_val) -> dict:
        """`Supernet.score` by the sub-supernet that owns `arch`."""
        self.activate(self.owner(arch))
        return self.base.score(arch, x_train, x_val, y_val)

    def load_into(self, model, arch, x_train=None):
        """`Supernet.load_into` from the sub-supernet that owns `arch`."""
        self.activate(self.owner(arch))
        return self.base.load_into(model, arch, x_train)


def split_values(encoding, decision) -> dict:
    """`{value: [architectures]}` of an enumerable encoding split on `decision` (for tests
    and benchmarks: the sub-spaces a `FewShotSupernet` owns)."""
    from itertools import product

    names = [d.name for d in encoding.decisions]
    groups: dict = {v: [] for v in encoding.decision(decision).choices}
    seen = set()
    for values in product(*(d.choices for d in encoding.decisions)):
        arch = encoding.architecture(dict(zip(names, values, strict=True)))
        if arch not in seen:
            seen.add(arch)
            groups[arch[decision]].append(arch)
    return groups


__all__ = ["FewShotSupernet", "split_values"]
