"""Zero-cost pre-screening: any `ArchitectureOracle` discards the proposals a proxy ranks lowest.

`Prescreen(score, fraction)` is attached to an oracle (`oracle.prescreen =
...`). Each proposal of the strategy is scored *before* a trial is created; a
proposal whose score falls in the bottom `fraction` of the scores seen so far
(a reference sample of `reference` random architectures, scored first, plus
every proposal scored since) is discarded, recorded in `discarded`, and the
strategy is asked again, through the same loop that answers duplicate
proposals (`ArchitectureOracle.populate_space`). So a discarded proposal never
becomes a Keras Tuner trial, and `max_trials` still counts trained trials only.

Why the oracle calls a scorer instead of the tuner scoring trials: a trial the
tuner refuses to train would already count towards `max_trials`, show as a
failed trial, and teach the strategy a failure it never had. Why a callable:
the oracle never imports Keras; `proxy_scorer(space, x)` builds it on the
tuner's side (it builds the untrained model and scores one minibatch).

Scores are "higher is better" for every proxy, `params` and `flops` included
(larger networks trained better within the budgets measured in
`benchmarks/estimation.py`; see benchmarks/README.md).

Example, with a plain Keras Tuner tuner:

>>> import keras_tuner
>>> from kerasnas.oracles import RegularizedEvolution
>>> from kerasnas.spaces import MacroSpace
>>> space = MacroSpace((8, 8, 1), num_classes=10, widths=(8, 16))
>>> oracle = RegularizedEvolution(objective="val_accuracy", max_trials=20, seed=1)
>>> oracle.prescreen = Prescreen(proxy_scorer(space, x[:64]), fraction=0.5)  # doctest: +SKIP
>>> tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory="runs")  # doctest: +SKIP
>>> tuner.search(x, y, validation_split=0.2, epochs=3)                        # doctest: +SKIP
>>> oracle.prescreen.discarded[:1]                                            # doctest: +SKIP
[{'arch': 'conv3:8 ...', 'score': 512.3, 'threshold': 540.1}]
"""

from __future__ import annotations

import numpy as np

#: Share of proposals discarded (default 0.5: the bottom half). The proxies' Kendall tau
#: against trained accuracy is 0.4 at best on digits, so a harder cut risks the best ones.
DEFAULT_FRACTION = 0.5
#: Random architectures scored before the first proposal, to place the threshold (default 20:
#: about 10 s of proxy scoring on a small space, enough for a stable median).
DEFAULT_REFERENCE = 20
#: Proxy used when none is named (default "naswot": tau 0.41 on digits, no labels needed;
#: `params` ranked better on digits, but is a size count, not a trainability signal).
DEFAULT_PROXY = "naswot"
#: The proxies of `kerasnas.estimation.proxies.PROXIES`, named here so checks load no TensorFlow.
PROXY_NAMES = ("naswot", "synflow", "grad_norm", "snip", "jacob_cov", "params", "flops")


def check_fraction(fraction) -> float:
    """`fraction` as a float in (0, 1), else a ValueError naming the fix."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
            or not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"The pre-screen fraction must be a number strictly between 0 and 1 "
                         f"(the share of proposals discarded); got {fraction!r}. Use e.g. 0.5.")
    return float(fraction)


def check_proxy(name) -> str:
    """`name` if it is a zero-cost proxy of `kerasnas.estimation.proxies`, else a ValueError."""
    if name not in PROXY_NAMES:
        raise ValueError(f"Unknown zero-cost proxy {name!r}; choose one of {list(PROXY_NAMES)}.")
    return name


class Prescreen:
    """Discards proposals whose zero-cost score is in the bottom `fraction`.

    Args:
        score: Callable `Architecture -> float` (higher is better); NaN, and a
            ValueError / ArithmeticError while scoring, count as the lowest score. `proxy_scorer` makes one from a space and a batch.
        fraction: Share of proposals to discard, in (0, 1) (default 0.5).
        reference: Random architectures scored before the first decision
            (default 20), so the first proposals are judged against a
            sample of the space, not against each other.
        name: What `score` is, for the record (default "proxy").
    """

    def __init__(self, score, fraction=DEFAULT_FRACTION, *, reference=DEFAULT_REFERENCE,
                 name="proxy"):
        if not callable(score):
            raise TypeError(f"score must be a callable Architecture -> float; got {score!r}.")
        self.score = score
        self.fraction = check_fraction(fraction)
        if isinstance(reference, bool) or int(reference) != reference or reference < 0:
            raise ValueError(f"reference must be an int >= 0; got {reference!r}.")
        self.reference = int(reference)
        self.name = str(name)
        self.scores: dict[str, float] = {}  # str(arch) -> score of every architecture scored
        #: Every discarded proposal: `{"arch", "score", "threshold"}`, in order.
        self.discarded: list[dict] = []
        self.kept = 0
        self._reference_done = False

    def _score(self, arch) -> float:
        key = str(arch)
        if key not in self.scores:
            try:
                value = float(self.score(arch))
            except (ValueError, ArithmeticError, MemoryError):  # e.g. too small an input
                value = float("-inf")  # cannot be scored: the lowest score, recorded
            self.scores[key] = value if np.isfinite(value) else float("-inf")
        return self.scores[key]

    def threshold(self) -> float:
        """The score below which a proposal is discarded (the `fraction` quantile so far)."""
        values = np.array(list(self.scores.values()), dtype=np.float64)
        return float(np.quantile(values, self.fraction)) if len(values) else float("-inf")

    def discard(self, arch, encoding=None, rng=None) -> bool:
        """True (and recorded) if `arch` scores in the bottom `fraction`; else False.

        `encoding` and `rng` draw the reference sample on the first call.
        """
        if not self._reference_done and encoding is not None and rng is not None:
            self._reference_done = True
            for _ in range(self.reference):
                self._score(encoding.sample(rng))
        threshold = self.threshold()  # before this proposal joins the scores
        value = self._score(arch)
        if len(self.scores) > 1 and value < threshold:
            self.discarded.append({"arch": str(arch), "score": value, "threshold": threshold})
            return True
        self.kept += 1
        return False

    def record(self) -> dict:
        """What the pre-screen did, JSON-serialisable (saved with the oracle and the result)."""
        return {"proxy": self.name, "fraction": self.fraction, "reference": self.reference,
                "kept": self.kept, "discarded": list(self.discarded)}

    def get_state(self) -> dict:
        return {"scores": self.scores, "discarded": self.discarded, "kept": self.kept,
                "reference_done": self._reference_done}

    def set_state(self, state: dict) -> None:
        self.scores = {k: float(v) for k, v in state.get("scores", {}).items()}
        self.discarded = list(state.get("discarded", []))
        self.kept = int(state.get("kept", 0))
        self._reference_done = bool(state.get("reference_done", False))


def proxy_scorer(space, x, y=None, *, proxy=DEFAULT_PROXY, seed=0):
    """A `score(arch) -> float` for `Prescreen`: `proxy` of the untrained `arch` in `space`.

    Args:
        space: A kerasnas space (`NASHyperModel`).
        x, y: One minibatch (e.g. 64 training examples; `y` for `grad_norm` / `snip`).
        proxy: Proxy name (default `"naswot"`).
        seed: Seed of every scored model's initial weights (default 0), so a
            score repeats.
    """
    check_proxy(proxy)
    from kerasnas.estimation.proxies import NEEDS_LABELS

    if proxy in NEEDS_LABELS and y is None:
        raise ValueError(f"Proxy {proxy!r} needs labels: pass y.")

    def score(arch):
        from kerasnas.estimation.proxies import score_architecture

        return score_architecture(space, arch, x, y, [proxy], seed=seed)[proxy]

    return score
