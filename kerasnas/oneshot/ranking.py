"""Using a trained supernet: rank candidates, screen an oracle's proposals, start trials from it.

* `supernet_for(space)`: the supernet of a space (`has_supernet` says whether
  there is one).
* `rank_candidates(net, candidates, ...)`: one-shot scores of many
  architectures, best first. Architectures that only differ in what acts in
  training (dropout) share one evaluation (`Supernet.scoring_key`) and tie.
* `oneshot_scorer(net, ...)`: a `score(arch) -> float` for
  `kerasnas.estimation.Prescreen`, so any kerasnas oracle discards the proposals
  the supernet ranks lowest, the way zero-cost pre-screening does.
* `OneShotScores`: the tuner feature that records each trial's one-shot score
  (`oneshot_accuracy` / `oneshot_loss`) and, with `initialise=True`, starts the
  trial from the supernet's weights.

Example:

>>> net = supernet_for(space, seed=0)                                   # doctest: +SKIP
>>> net.train(x, y, seconds=30)                                         # doctest: +SKIP
>>> ranked = rank_candidates(net, [space.sample(s) for s in range(200)],
...                          x, x_val, y_val)                           # doctest: +SKIP
>>> ranked[0]                                                           # doctest: +SKIP
(Architecture(...), {'accuracy': 0.95, 'loss': 0.17})
"""

from __future__ import annotations

import time

from kerasnas.tuner.features import TunerFeature

#: Validation examples a one-shot score reads (default 512: the first of the validation
#: data; digits' whole split is 270).
SCORE_EXAMPLES = 512


def has_supernet(space) -> bool:
    """True if kerasnas has a supernet for `space` (a `ResidualSpace` at full size)."""
    from kerasnas.spaces.residual import ResidualSpace

    return isinstance(space, ResidualSpace) and space.fidelity.get("width", 1.0) == 1.0


def supernet_for(space, **kwargs):
    """The supernet of `space` (`**kwargs`: see `Supernet`).

    Raises:
        ValueError: kerasnas has no supernet for this space yet.
    """
    from kerasnas.oneshot.residual import ResidualSupernet

    if not has_supernet(space):
        raise ValueError(f"Weight sharing has a supernet for ResidualSpace only so far, not for "
                         f"{type(space).__name__}: pass weight_sharing=False, or "
                         "space='residual'.")
    return ResidualSupernet(space, **kwargs)


def rank_candidates(net, candidates, x_train, x_val, y_val, *, deadline=None,
                    examples=SCORE_EXAMPLES):
    """`[(arch, scores)]` of `candidates`, best first (`Supernet.rank_key`).

    Args:
        net: A trained `Supernet` (or `FewShotSupernet`).
        candidates: Architectures of its space (duplicates are scored once).
        x_train: Training examples (BatchNorm recalibration).
        x_val, y_val: Validation data; the first `examples` are read.
        deadline: Optional `time.monotonic()` deadline: candidates not scored by
            then are left out.
        examples: Validation examples per score (default `SCORE_EXAMPLES`).
    """
    x_val, y_val = x_val[:examples], y_val[:examples]
    by_key, ranked, seen = {}, [], set()
    for arch in candidates:
        arch = net.space.architecture(arch)
        if arch in seen:
            continue
        if deadline is not None and time.monotonic() >= deadline:
            break
        seen.add(arch)
        key = net.scoring_key(arch)
        if key not in by_key:
            by_key[key] = net.score(arch, x_train, x_val, y_val)
        ranked.append((arch, dict(by_key[key])))
    order = sorted(range(len(ranked)), key=lambda i: (net.rank_key(ranked[i][1]), -i),
                   reverse=True)  # ties keep the candidates' order
    return [ranked[i] for i in order]


def oneshot_scorer(net, x_train, x_val, y_val, *, examples=SCORE_EXAMPLES):
    """`score(arch) -> float` (higher is better) for `kerasnas.estimation.Prescreen`:
    validation accuracy (classification) or minus the MSE (regression) with inherited
    weights."""
    x_val, y_val = x_val[:examples], y_val[:examples]
    cache = {}

    def score(arch):
        key = net.scoring_key(arch)
        if key not in cache:
            scores = net.score(arch, x_train, x_val, y_val)
            cache[key] = scores.get("accuracy", -scores["loss"])
        return cache[key]

    return score


class OneShotScores(TunerFeature):
    """Records each trial's one-shot score; optionally starts the trial from the supernet.

    Args:
        net: A trained `Supernet` of the tuner's space.
        x_train, x_val, y_val: As for `rank_candidates`.
        initialise: Load the sub-network's supernet weights into each trial's
            model before training (default False: trials train from scratch, as
            measured best in `benchmarks/weight_sharing.py`).
    """

    def __init__(self, net, x_train, x_val, y_val, *, initialise=False):
        self.net = net
        self.x_train, self.x_val, self.y_val = x_train, x_val[:SCORE_EXAMPLES], y_val[:SCORE_EXAMPLES]
        self.initialise = bool(initialise)
        self._scores: dict = {}

    def on_model_built(self, tuner, trial, model, x):
        from kerasnas.tuner.loop import trial_architecture

        arch = trial_architecture(tuner.hypermodel, trial)
        key = self.net.scoring_key(arch)
        if key not in self._scores:
            self._scores[key] = self.net.score(arch, self.x_train, self.x_val, self.y_val)
        metrics = {f"oneshot_{name}": value for name, value in self._scores[key].items()}
        if self.initialise:
            self.net.load_into(model, arch, self.x_train)
            metrics["oneshot_initialised"] = 1.0
        return metrics
