"""Net2Net transformation search (Chen et al., ICLR 2016; Cai et al., EAS, AAAI 2018).

The search grows networks instead of sampling them::

    evaluate the seed network (a small one of the space)
    repeat:
        parent <- one of the `parents` best finished trials, at random
        action <- a function-preserving move on it ("widen:i", "deepen:j"),
                  drawn by the policy among those whose child is new
        child  <- action(parent)        # same encoding: an ordinary trial
        fine-tune child from the parent's transformed weights; observe it
        policy update (REINFORCE): reward = fitness(child) - fitness(parent)

The policy is EAS's idea in its simplest form: a softmax over a logit per
(kind, layer index), trained by REINFORCE with a moving-average baseline on
the child's improvement over its parent; `policy="evolution"` draws actions
uniformly instead. The oracle imports no Keras: it only proposes
architectures and marks each child with its parent trial
(`oracles/lineage.py`); `NASTuner` loads the parent's checkpoint and applies
the transform (`kerasnas.net2net`).

Example:

>>> from kerasnas.oracles import Net2NetSearch
>>> oracle = Net2NetSearch(objective="val_accuracy", max_trials=20, seed=1)
>>> # NASTuner(oracle, MacroSpace(...), epochs=3).search(x, y, validation_data=...)
"""

from __future__ import annotations

import keras_tuner
import numpy as np

from kerasnas.net2net.actions import (
    KINDS,
    Action,
    apply_action,
    legal_actions,
    space_settings,
    supports,
)
from kerasnas.oracles.base import ArchitectureOracle

POLICIES = ("reinforce", "evolution")
#: Parents are drawn from this many best trials: EAS grows the best network; a few keep
#: the search from stalling when the best one cannot grow (default 3).
DEFAULT_PARENTS = 3
#: REINFORCE step size on the action logits; rewards are accuracy differences (~0.01-0.1),
#: so 1.0 moves a logit by about the reward (default 1.0).
DEFAULT_LEARNING_RATE = 1.0
#: Decay of the reward baseline's moving average (default 0.8: about the last 5 children).
DEFAULT_BASELINE_DECAY = 0.8


class Net2NetSearch(ArchitectureOracle):
    """Grows a seed network by Net2Wider / Net2Deeper moves; children inherit weights.

    Args:
        objective: As in Keras Tuner (default None: set by the tuner).
        max_trials: Number of trials (default 100).
        seed_architecture: The first network: an `Architecture` or its string
            (default None: the smallest of the space that can grow deeper -
            narrowest widths, the first op and smallest kernel, no skips,
            the fewest layers that admit a function-preserving insertion).
        policy: `"reinforce"` (default, EAS-style learned action policy) or
            `"evolution"` (uniformly random legal actions).
        parents: Parents are drawn uniformly from this many best finished
            trials (default 3, `DEFAULT_PARENTS`); when none of them can grow,
            the other finished trials are tried, best first.
        learning_rate: REINFORCE step size (default 1.0, `DEFAULT_LEARNING_RATE`).
        baseline_decay: Moving-average decay of the reward baseline
            (default 0.8, `DEFAULT_BASELINE_DECAY`).
        **kwargs: `space`, `seed` and the rest of `ArchitectureOracle`'s
            arguments. With a `MacroSpace` as `space`, its `reduction_layers`
            and `stem_channels` decide which moves preserve the function;
            without one, MacroSpace's defaults are assumed.
    """

    #: Children ask the tuner for their parent's weights (`NASTuner(inherit_weights="auto")`).
    inherits_weights = True

    def __init__(self, objective=None, max_trials=100, seed_architecture=None,
                 policy="reinforce", parents=DEFAULT_PARENTS,
                 learning_rate=DEFAULT_LEARNING_RATE, baseline_decay=DEFAULT_BASELINE_DECAY,
                 **kwargs):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}.")
        if isinstance(parents, bool) or not isinstance(parents, int) or parents < 1:
            raise ValueError(f"parents must be a positive int, got {parents!r}.")
        if not learning_rate > 0 or not 0 <= baseline_decay < 1:
            raise ValueError("learning_rate must be > 0 and baseline_decay in [0, 1); got "
                             f"{learning_rate!r}, {baseline_decay!r}.")
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.seed_architecture = None if seed_architecture is None else str(seed_architecture)
        self.policy = policy
        self.parents = int(parents)
        self.learning_rate = float(learning_rate)
        self.baseline_decay = float(baseline_decay)
        self.settings = space_settings(self._space) if self._space is not None else {}
        self.logits = None  # (kind, layer index) -> logit, created with the encoding
        self.baseline = 0.0
        self._inflight: dict[str, dict] = {}  # str(child) -> {parent_fitness, action, available}
        # Parents whose every child is known. Known only grows, so a parent never leaves this
        # set; `propose` skips them without listing their moves again (late in a search most
        # finished networks are here, and listing them all cost ~0.5 s a trial at 1,000).
        # Derived, not saved: a resumed search rebuilds it and proposes the same children.
        self._exhausted: set[str] = set()

    # ---------------------------------------------------------------- seed
    def seed_network(self):
        """The first architecture: `seed_architecture`, or the space's smallest network."""
        enc = self.encoding
        if not supports(enc):
            raise keras_tuner.errors.FatalError(
                f"Net2NetSearch grows MacroSpace and DenseSpace networks; this space is "
                f"{enc.name!r}. Search space='macro' or 'dense' (kerasnas.search(..., "
                "space='macro')), or pick another strategy (e.g. 'evolution') for this space.")
        if self.seed_architecture is not None:
            return enc.from_string(self.seed_architecture)
        values = {d.name: d.default for d in enc.decisions}
        for d in enc.decisions:
            if d.name.endswith(("_width", "_kernel")) or d.name.startswith("units"):
                values[d.name] = min(d.choices)
        # The fewest layers from which the network can still grow deeper: in a MacroSpace a
        # 2-layer chain has no function-preserving insertion (every one moves a stride-2 layer).
        for n in range(enc.min_layers, enc.max_layers + 1):
            arch = enc.architecture({**values, "num_layers": n})
            if n == enc.max_layers or any(a.kind == "deepen"
                                          for a in legal_actions(arch, **self.settings)):
                return arch
        return arch

    def _ensure_logits(self):
        if self.logits is None:
            self.logits = np.zeros((len(KINDS), self.encoding.max_layers))

    # ------------------------------------------------------------ strategy
    def propose(self):
        self._ensure_logits()
        if not self._fitness:
            seed = self.seed_network()
            if self.is_known(seed):
                return None  # the seed is running (wait) or failed (the base samples one)
            return seed
        ranked = sorted(self._fitness, key=self._fitness.get, reverse=True)
        # The `parents` best in random order; when none of them can grow, the rest by fitness.
        top = min(self.parents, len(ranked))
        order = [int(k) for k in self.rng.permutation(top)] + list(range(top, len(ranked)))
        for k in order:
            if ranked[k] in self._exhausted:
                continue
            parent = self.encoding.from_string(ranked[k])
            children = {}
            for action in legal_actions(parent, **self.settings):
                child = apply_action(parent, action, check=False, **self.settings)
                if not self.is_known(child):
                    children[action] = child
            if not children:
                self._exhausted.add(ranked[k])
                continue
            available = list(children)
            action = available[self._draw(available)]
            child = children[action]
            self._inflight[str(child)] = {
                "parent_fitness": self._fitness[ranked[k]], "action": str(action),
                "available": [str(a) for a in available]}
            self.proposal_parent = parent
            return child
        return None

    def _probabilities(self, actions):
        z = np.array([self.logits[KINDS.index(a.kind), a.index] for a in actions])
        if self.policy == "evolution":
            z = np.zeros_like(z)
        p = np.exp(z - z.max())
        return p / p.sum()

    def _draw(self, actions) -> int:
        return int(self.rng.choice(len(actions), p=self._probabilities(actions)))

    def observe(self, arch, fitness):
        info = self._inflight.pop(str(arch), None)
        if info is None or self.policy != "reinforce":
            return
        self._ensure_logits()
        # REINFORCE with a baseline: theta += lr * (R - b) * grad log pi(a).
        reward = float(fitness) - float(info["parent_fitness"])
        advantage = reward - self.baseline
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
        available = [Action.parse(a) for a in info["available"]]
        chosen = Action.parse(info["action"])
        for a, p in zip(available, self._probabilities(available), strict=True):
            grad = (1.0 if a == chosen else 0.0) - p
            self.logits[KINDS.index(a.kind), a.index] += self.learning_rate * advantage * grad

    # --------------------------------------------------------------- state
    def checkpoints_needed(self):
        """Trials whose weights a child may still inherit: every finished network that can
        still grow into one not yet tried (`propose` may fall back to any of them)."""
        needed = set()
        for key, trial_id in self._trial_of.items():
            parent = self.encoding.from_string(key)
            if any(not self.is_known(apply_action(parent, action, check=False, **self.settings))
                   for action in legal_actions(parent, **self.settings)):
                needed.add(trial_id)
        return needed

    def get_algorithm_state(self):
        return {"policy": self.policy, "parents": self.parents,
                "seed_architecture": self.seed_architecture, "settings": self.settings,
                "logits": None if self.logits is None else self.logits.tolist(),
                "baseline": self.baseline, "inflight": self._inflight}

    def set_algorithm_state(self, state):
        self._exhausted = set()  # re-derived from the restored trials
        self.policy = state["policy"]
        self.parents = state["parents"]
        self.seed_architecture = state["seed_architecture"]
        self.settings = dict(state["settings"])
        self.logits = None if state["logits"] is None else np.array(state["logits"])
        self.baseline = float(state["baseline"])
        self._inflight = dict(state["inflight"])
