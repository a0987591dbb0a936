"""`SuccessiveHalving`: multi-fidelity promotion around any kerasnas strategy.

The wrapped oracle proposes; every proposal first trains at the lowest budget
(`min_epochs`); when a rung is complete, the best `1 / eta` of it is promoted
to the next rung, `eta` times the epochs, and continues training from its
checkpoint (the promoted trial names the trial it continues in
`tuner/trial_id` and trains epochs `tuner/initial_epoch` ... `tuner/epochs`,
as Keras Tuner's Hyperband does, so `NASTuner` loads the checkpoint; see
`ContinueTraining`). With `min_epochs=1, max_epochs=9, eta=3` one bracket is
9 candidates at 1 epoch, the best 3 continue to 3 epochs, the best 1 to 9.

The wrapped strategy learns from the rung-0 results only, the one fidelity
at which all its proposals are compared (as in BOHB's model of the lowest
budget); the search's best trial is the best score of any rung.

Example:

>>> from kerasnas.oracles import RegularizedEvolution
>>> oracle = SuccessiveHalving(RegularizedEvolution(objective="val_accuracy", seed=1),
...                            min_epochs=1, max_epochs=9, eta=3, max_trials=39)
>>> oracle.budgets
[1, 3, 9]
>>> oracle.rung_sizes
[9, 3, 1]
"""

from __future__ import annotations

import os

import keras_tuner
import numpy as np

from kerasnas.oracles import recovery
from kerasnas.oracles.base import IDLE, RUNNING, STOPPED, ArchitectureOracle
from kerasnas.tuner.features import TunerFeature

EPOCHS_HP, INITIAL_EPOCH_HP, TRIAL_ID_HP = "tuner/epochs", "tuner/initial_epoch", "tuner/trial_id"
RUNG_HP = "kerasnas/rung"


class SuccessiveHalving(ArchitectureOracle):
    """Successive halving over the proposals of another `ArchitectureOracle`.

    Args:
        oracle: The strategy that proposes architectures (any kerasnas
            `ArchitectureOracle`: random, evolution, Bayesian, REINFORCE ...).
        min_epochs: Epochs of the lowest rung (default 1, the cheapest
            fidelity, whose ranking was measured in `benchmarks/estimation.py`).
        max_epochs: Epochs of the top rung (default 9).
        eta: Promotion ratio: the best `1/eta` of a rung moves up, with `eta`
            times the epochs (default 3, as in Hyperband).
        bracket_size: Candidates in rung 0 of each bracket (default None:
            `eta ** (number of rungs - 1)`, so exactly one reaches the top).
        objective, max_trials, seed: As for every kerasnas oracle; default to
            the wrapped oracle's. `max_trials` counts promoted trials too.
        **kwargs: Passed to `ArchitectureOracle`.
    """

    def __init__(self, oracle, *, min_epochs=1, max_epochs=9, eta=3, bracket_size=None,
                 objective=None, max_trials=None, seed=None, **kwargs):
        if not isinstance(oracle, ArchitectureOracle):
            raise TypeError("SuccessiveHalving wraps a kerasnas ArchitectureOracle (e.g. "
                            f"RegularizedEvolution(...)); got {type(oracle).__name__}.")
        if isinstance(oracle, SuccessiveHalving):
            raise TypeError("SuccessiveHalving cannot wrap another SuccessiveHalving.")
        min_epochs, max_epochs, eta = int(min_epochs), int(max_epochs), int(eta)
        if min_epochs < 1 or max_epochs < min_epochs:
            raise ValueError(f"Need 1 <= min_epochs <= max_epochs; got min_epochs={min_epochs}, "
                             f"max_epochs={max_epochs}.")
        if eta < 2:
            raise ValueError(f"eta must be an int >= 2 (the promotion ratio); got {eta}.")
        budgets = [min_epochs]
        while budgets[-1] * eta < max_epochs:
            budgets.append(budgets[-1] * eta)
        if budgets[-1] != max_epochs:
            budgets.append(max_epochs)
        size = eta ** (len(budgets) - 1) if bracket_size is None else int(bracket_size)
        if size < 1:
            raise ValueError(f"bracket_size must be >= 1; got {bracket_size!r}.")
        self.budgets = budgets
        self.eta = eta
        self.rung_sizes = [max(1, size // eta**k) for k in range(len(budgets))]
        self.inner = oracle
        super().__init__(objective=objective if objective is not None else oracle.objective,
                         max_trials=max_trials if max_trials is not None else oracle.max_trials,
                         space=oracle._space, seed=oracle.seed if seed is None else seed,
                         **kwargs)
        #: Brackets, each a list of rungs, each a list of entries
        #: `{"trial": id, "arch": str, "score": fitness or None}`.
        self.brackets: list[list[list[dict]]] = []

    # ---------------------------------------------------------- proposing
    def propose(self):
        """A new rung-0 candidate from the wrapped oracle (see `populate_space`)."""
        self.inner._encoding = self.encoding
        return self.inner.propose()

    def observe(self, arch, fitness):
        self.inner._fitness[str(arch)] = float(fitness)
        self.inner.observe(arch, fitness)

    def populate_space(self, trial_id):
        if not self.brackets or self._finished(self.brackets[-1]):
            self.brackets.append([[] for _ in self.budgets])
        bracket = self.brackets[-1]
        promotion = self._next_promotion(bracket)
        if promotion is not None:
            k, entry = promotion
            return self._start(trial_id, bracket, k, entry["arch"], continues=entry["trial"])
        if len(bracket[0]) < self.rung_sizes[0]:
            result = super().populate_space(trial_id)  # the wrapped oracle proposes
            if result["status"] != RUNNING:
                return result
            arch = self._pending.pop(trial_id)
            return self._start(trial_id, bracket, 0, arch, values=result["values"])
        # Rung 0 is full and nothing can be promoted yet: wait for running trials.
        return {"status": IDLE if self.ongoing_trials else STOPPED}

    def _finished(self, bracket) -> bool:
        last = bracket[-1]
        if len(last) >= self.rung_sizes[-1] and all(e["score"] is not None for e in last):
            return True
        # A bracket whose rung 0 is full but produced no promotable result is done too.
        return (len(bracket[0]) >= self.rung_sizes[0]
                and all(e["score"] is not None for rung in bracket for e in rung)
                and self._next_promotion(bracket) is None)

    def _next_promotion(self, bracket):
        """(rung to start, entry of the rung below to promote) or None."""
        for k in range(len(self.budgets) - 2, -1, -1):
            below, above = bracket[k], bracket[k + 1]
            if (len(below) < self.rung_sizes[k] or any(e["score"] is None for e in below)
                    or len(above) >= self.rung_sizes[k + 1]):
                continue
            ranked = sorted((e for e in below if np.isfinite(e["score"])),
                            key=lambda e: -e["score"])[:self.rung_sizes[k + 1]]
            promoted = {e["arch"] for e in above}
            for entry in ranked:
                if entry["arch"] not in promoted:
                    return k + 1, entry
        return None

    def _start(self, trial_id, bracket, k, arch, *, values=None, continues=None):
        if values is None:
            values = {hp.name: hp.default for hp in self.hyperparameters.space}
            values.update(self.encoding.from_string(arch).to_hp_values())
        values.update({EPOCHS_HP: int(self.budgets[k]), RUNG_HP: int(k),
                       INITIAL_EPOCH_HP: int(self.budgets[k - 1]) if k else 0})
        if continues is not None:
            values[TRIAL_ID_HP] = str(continues)
        bracket[k].append({"trial": trial_id, "arch": arch, "score": None})
        if k == 0:
            self._pending[trial_id] = arch
        return {"status": RUNNING, "values": values}

    # ---------------------------------------------------------- results
    @keras_tuner.synchronized
    def end_trial(self, trial):
        with recovery.one_save(self):  # one oracle.json write, after the rung is updated
            keras_tuner.Oracle.end_trial(self, trial)
            self._record_end(self.trials[trial.trial_id])

    def _record_end(self, trial):
        if trial.status == "INVALID":  # retried by Keras Tuner: still pending
            return
        entry = next((e for b in self.brackets for rung in b for e in rung
                      if e["trial"] == trial.trial_id), None)
        ok = trial.status == "COMPLETED" and trial.score is not None and np.isfinite(trial.score)
        fitness = self._fitness_of(trial.score) if ok else float("-inf")
        if entry is not None:
            entry["score"] = fitness
        key = self._pending.pop(trial.trial_id, None)
        if key is not None:  # a rung-0 result: the wrapped strategy learns from it
            if ok:
                self._fitness[key] = fitness
                self._trial_of[key] = trial.trial_id
                self.observe(self.encoding.from_string(key), fitness)
            else:
                self._failed.add(key)

    def rung_of(self, trial_id) -> int | None:
        """The rung a trial trained at (0 = lowest budget), or None if unknown."""
        for bracket in self.brackets:
            for k, rung in enumerate(bracket):
                if any(e["trial"] == trial_id for e in rung):
                    return k
        return None

    # ------------------------------------------------------------ state
    def get_algorithm_state(self):
        inner = self.inner
        return {"brackets": self.brackets,
                "inner": {"rng": inner._rng.bit_generator.state, "fitness": inner._fitness,
                          "algorithm": inner.get_algorithm_state()}}

    def set_algorithm_state(self, state):
        self.brackets = [[list(rung) for rung in b] for b in state["brackets"]]
        inner = self.inner
        inner._rng = np.random.default_rng()
        inner._rng.bit_generator.state = state["inner"]["rng"]
        inner._fitness = dict(state["inner"]["fitness"])
        inner._encoding = self.encoding
        inner.set_algorithm_state(state["inner"]["algorithm"])


class ContinueTraining(TunerFeature):
    """The `NASTuner` feature that continues a promoted trial from its previous rung.

    Right after a trial's model is built, loads the checkpoint of the trial it
    continues (`tuner/trial_id`), if any. Records the metric `continued`: 1.0
    when the weights came from the earlier trial's checkpoint, 0.0 when its
    checkpoint is missing (it then trains from scratch); nothing for trials
    that continue none. Every `NASTuner` has one (it does nothing without
    successive halving).
    """

    def on_model_built(self, tuner, trial, model, x):
        previous = trial.hyperparameters.values.get(TRIAL_ID_HP)
        if previous is None:
            return {}
        path = tuner.checkpoint_path(str(previous))
        if not os.path.exists(path):
            return {"continued": 0.0}
        model.load_weights(path)
        return {"continued": 1.0}
