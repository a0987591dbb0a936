"""Failing candidates: FAILED with their reason, the oracle learns of them, the search goes on.

One `build(hp)` space whose single choice picks a candidate that trains, one
whose loss is NaN, one over `max_params`, one that cannot be built; a real
`NASTuner` search runs them all. Plus the display of trials cut by the budget.
"""

import keras
import numpy as np

from kerasnas.deploy.result import SearchResult, TrialRecord
from kerasnas.oracles import RandomSearch
from kerasnas.tuner.loop import NASTuner

KINDS = ["ok", "nan", "ok2", "big", "nobuild"]


def build(hp):
    kind = hp.Choice("kind", KINDS)
    inputs = keras.Input((4,))
    x = inputs
    if kind == "nobuild":
        x = keras.layers.Reshape((3,))(x)  # 4 values cannot become 3: Keras's ValueError
    x = keras.layers.Dense(2000 if kind == "big" else 4 + len(kind))(x)
    if kind == "nan":
        x = keras.layers.Lambda(lambda t: t * float("nan"))(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile("adam", "mse")
    return model


class _Recording(RandomSearch):
    """RandomSearch that keeps what `observe` received (the strategy's view)."""

    def observe(self, arch, fitness):
        self.observed = getattr(self, "observed", []) + [(str(arch), fitness)]


def test_failing_candidates_are_recorded_with_reasons_and_the_search_goes_on(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    oracle = _Recording(objective="val_loss", max_trials=len(KINDS), seed=1)
    tuner = NASTuner(oracle, build, epochs=2, early_stopping=None, max_params=5_000,
                     directory=str(tmp_path), project_name="failures")
    # Warm start pins the order (3 failures in a row would hit Keras Tuner's consecutive limit).
    arch = {k: str(oracle.encoding.from_hp_values({"kind": k})) for k in KINDS}
    oracle.warm_start = [arch[k] for k in KINDS]
    tuner.search(x[:48], y[:48], validation_data=(x[48:], y[48:]))

    trials = {t.hyperparameters.values["kind"]: t for t in oracle.trials.values()}
    assert sorted(trials) == sorted(KINDS)  # every candidate ran: failures did not stop it
    status = {k: t.status for k, t in trials.items()}
    assert status == {"ok": "COMPLETED", "ok2": "COMPLETED", "nan": "FAILED", "big": "FAILED",
                      "nobuild": "FAILED"}

    from kerasnas.automl.finish import trial_record

    reasons = {k: trial_record(tuner, t).reason for k, t in trials.items()}
    assert reasons["nan"].startswith("diverged: loss became nan")
    assert "over the limit of 5,000 (max_params)" in reasons["big"]
    assert reasons["nobuild"].startswith("could not be built for this input")
    assert reasons["ok"] == ""

    # The strategy observed every failure at the worst fitness seen so far.
    observed = dict(oracle.observed)
    fit = {k: -trials[k].score for k in ("ok", "ok2")}  # val_loss: fitness is its negation
    assert observed[arch["nan"]] == fit["ok"]
    assert observed[arch["big"]] == observed[arch["nobuild"]] == min(fit.values())

    out = capsys.readouterr().out
    assert "failed: diverged: loss became nan" in out
    assert "over the limit of 5,000 (max_params)" in out


def test_cut_and_failed_trials_are_shown_as_such():
    def record(tid, status, score, cut=False, reason=""):
        return TrialRecord(tid, f"arch{tid}", status, score,
                           {"params": 10.0, "budget_cut": float(cut)}, reason=reason)

    history = [record("0", "COMPLETED", 0.9), record("1", "COMPLETED", 0.95, cut=True),
               record("2", "FAILED", None, reason="diverged: loss became nan"),
               record("3", "COMPLETED", 0.5)]
    from kerasnas.data import TaskSpec

    task = TaskSpec(kind="tabular", problem="classification", input_shape=(4,), num_classes=2)
    result = SearchResult(model=None, architecture=None, task=task,
                          objective={"name": "val_accuracy", "direction": "max"},
                          history=history)
    # A cut trial's partial score ranks after every finished trial, failures last.
    assert [r.trial_id for r in result.leaderboard] == ["0", "3", "1", "2"]
    text = result.summary()
    assert "cut by the time budget" in text and "trial(s) 1" in text
    assert "failed: trial 2 (arch2): diverged: loss became nan" in text

    from kerasnas.deploy.report import render_report

    html = render_report(result)
    assert "cut by the time budget (partial score)" in html
    assert "FAILED: diverged: loss became nan" in html
