"""`kerasnas.search(..., weight_sharing=...)`: a supernet ranks many candidates, the best are trained.

With weight sharing on, the one-liner, before its trial loop,

1. trains the space's supernet (`supernet_for`) for `TRAIN_SHARE` of the time
   budget (`DEFAULT_STEPS` steps without one), one uniformly drawn path per step;
2. scores `CANDIDATES` distinct random architectures of the space with
   inherited weights (BatchNorm recalibrated per candidate), for at most
   `RANK_SHARE` of the budget (`rank_candidates`);
3. puts the `TOP_K` best after the space's hand designs, as the strategy's first
   trials; the strategy (evolution by default) goes on from there, and every
   trial records its one-shot score (`OneShotScores`).

`result.estimation["ranked"]` is the number of candidates ranked,
`result.estimation["weight_sharing"]` how (the supernet's training, the top
candidates and their scores, the seconds spent). The record is saved in the run
folder (`weight_sharing.json`), so a resumed search reuses its ranking instead of
training another supernet.

`weight_sharing="auto"` (the default) is off: measured on digits at 60 s and
120 s on 2 CPU cores (`benchmarks/weight_sharing.py`, benchmarks/README.md), the
supernet's share of the budget cost more stand-alone trials than its ranking
gained. True turns it on where the space has a supernet (`ResidualSpace`).
"""

from __future__ import annotations

import json
import time

import numpy as np

#: Values `search(weight_sharing=...)` accepts.
CHOICES = ("auto", True, False)
#: Share of `time_budget` that trains the supernet (default 0.3).
TRAIN_SHARE = 0.3
#: Most of `time_budget` that ranking may take (default 0.2).
RANK_SHARE = 0.2
#: Supernet training steps without a time budget (default 1000).
DEFAULT_STEPS = 1000
#: Random architectures drawn to rank (default 200; duplicates are drawn again, up to
#: the space's size).
CANDIDATES = 200
#: Ranked candidates that become trials, after the hand designs (default 3).
TOP_K = 3
#: The run folder's file of the ranking.
RECORD_FILE = "weight_sharing.json"


def check_weight_sharing(value):
    """`value` if it is one of `CHOICES`, else a ValueError naming them."""
    if not any(value is c or (isinstance(value, str) and value == c) for c in CHOICES):
        raise ValueError(f"weight_sharing must be 'auto', True or False; got {value!r}.")
    return value


def wanted(value, space, strategy) -> bool:
    """Whether the search uses weight sharing (`value` checked).

    Raises:
        ValueError: `weight_sharing=True` where it cannot run: no supernet for the
            space, or a strategy without warm starts (an oracle instance, Net2Net,
            DARTS).
    """
    from kerasnas.oneshot.ranking import has_supernet

    if value is not True:
        return False  # "auto": off, as measured (see the module docstring)
    if not has_supernet(space):
        raise ValueError(f"weight_sharing=True needs a space with a supernet (ResidualSpace so "
                         f"far); this search uses {type(space).__name__}. Pass "
                         "weight_sharing=False, or space='residual'.")
    from kerasnas.darts.one_liner import is_darts

    if not isinstance(strategy, str) or strategy == "net2net" or is_darts(strategy):
        raise ValueError(f"weight_sharing=True puts the ranked candidates first in a named "
                         f"strategy's trials; strategy {strategy!r} takes none. Use e.g. "
                         "strategy='evolution', or weight_sharing=False.")
    return True


def distinct_candidates(encoding, rng, count=CANDIDATES, tries=20):
    """Up to `count` distinct random architectures (fewer in a smaller space)."""
    seen, out = set(), []
    for _ in range(count * tries):
        arch = encoding.sample(rng)
        if arch not in seen:
            seen.add(arch)
            out.append(arch)
            if len(out) == count:
                break
    return out


def rank_with_supernet(space, data, *, seed, time_budget, directory, exclude=(), verbose=0):
    """Trains the supernet and ranks candidates; returns `(top, record, net)`.

    `top` are the `TOP_K` best candidates not in `exclude` (the hand designs), as
    strings; `record` what `result.estimation["weight_sharing"]` shows. A record
    saved in `directory` by an earlier run of this search is reused (`net` is then
    None).
    """
    from kerasnas.infra.atomic import write_text
    from kerasnas.infra.preflight import read_json
    from kerasnas.oneshot.ranking import rank_candidates, supernet_for

    saved = directory / RECORD_FILE
    if saved.exists():  # a resumed search: its first trials came from this ranking
        record = read_json(saved, what="weight-sharing ranking",
                           fix="Pass overwrite=True to start the search afresh")
        return list(record["top"]), record, None
    start = time.monotonic()
    net = supernet_for(space, seed=0 if seed is None else int(seed))
    if time_budget is None:
        net.train(data.x_train, data.y_train, steps=DEFAULT_STEPS)
        deadline = None
    else:
        net.train(data.x_train, data.y_train, seconds=TRAIN_SHARE * time_budget)
        deadline = time.monotonic() + RANK_SHARE * time_budget
    trained = time.monotonic() - start
    rng = np.random.default_rng(None if seed is None else int(seed))
    candidates = distinct_candidates(space.encoding, rng)
    ranked = rank_candidates(net, candidates, data.x_train, data.x_val, data.y_val,
                             deadline=deadline)
    excluded = {str(a) for a in exclude}
    top = [str(a) for a, _ in ranked if str(a) not in excluded][:TOP_K]
    record = {
        "ranked": len(ranked),
        "ranked_by": (f"one-shot {type(net).__name__}: uniform single-path training, "
                      f"BatchNorm recalibrated per candidate, validation "
                      f"{'accuracy' if net.classification else 'MSE'}"),
        "evaluations": len({net.scoring_key(a) for a, _ in ranked}),
        "supernet": dict(net.record), "train_seconds": trained,
        "rank_seconds": time.monotonic() - start - trained,
        "top": top, "best": [[str(a), s] for a, s in ranked[:10]],
    }
    write_text(saved, json.dumps(record, indent=1))
    if verbose:
        print(f"Weight sharing: supernet trained {net.record['steps']} steps in {trained:.0f} s, "
              f"{len(ranked)} candidates ranked in {record['rank_seconds']:.0f} s; trying "
              f"{', '.join(top)} next", flush=True)
    return top, record, net


def prepare(space, data, oracle, *, seed, time_budget, directory, verbose=0):
    """What the one-liner does with weight sharing before its trial loop: ranks candidates
    (`rank_with_supernet`), puts the best after the oracle's warm start
    (`oracle.extend_warm_start`), and returns `(record, tuner features)`: `OneShotScores`
    when a supernet was trained in this call (none when the record was reused)."""
    from kerasnas.oneshot.ranking import OneShotScores

    top, record, net = rank_with_supernet(space, data, seed=seed, time_budget=time_budget,
                                          directory=directory, exclude=oracle.warm_start,
                                          verbose=verbose)
    oracle.extend_warm_start(top)
    features = [] if net is None else [OneShotScores(net, data.x_train, data.x_val, data.y_val)]
    return record, features
