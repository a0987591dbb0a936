"""`ArchitectureOracle`: the Keras Tuner oracle every kerasnas strategy extends.

A strategy implements three things over the shared `Architecture` encoding:

* `propose()` -> the next `Architecture` to evaluate (or `None` to wait for
  running trials);
* `observe(arch, fitness)` -> learn from a finished evaluation (`fitness` is
  the trial's score, negated for "min" objectives, so higher is always better);
* `get_algorithm_state()` / `set_algorithm_state(state)` -> the strategy's own
  JSON-serialisable state (populations, queues, model weights).

A strategy that derives a child from a parent sets `self.proposal_parent` in
`propose()`; the child's trial then names its parent's trial
(`oracles/lineage.py`), which weight inheritance in `NASTuner` reads.

The base class handles the Keras Tuner contract: the seeded RNG and its state,
duplicate detection (a proposal already evaluated is answered from the cache
and fed back to `observe` without a trial), pending trials, IDLE only while
other trials run, and persistence so a search resumed with `overwrite=False`
continues with exactly the proposals an uninterrupted run would have made.

Example:

>>> import keras_tuner
>>> from kerasnas.oracles import RandomSearch
>>> oracle = RandomSearch(objective="val_accuracy", max_trials=10, seed=1)
"""

from __future__ import annotations

import keras_tuner
import numpy as np

from kerasnas.infra import kt_internals  # noqa: F401 - Keras Tuner's state writes made atomic
from kerasnas.oracles import recovery
from kerasnas.oracles import workers as lost_workers
from kerasnas.oracles.lineage import lineage_values
from kerasnas.spaces.architecture import SPACE_HP_NAME, Architecture, Encoding
from kerasnas.spaces.hp_encoding import HPEncoding

#: The statuses `populate_space` returns to Keras Tuner.
RUNNING, IDLE, STOPPED = "RUNNING", "IDLE", "STOPPED"


class ArchitectureOracle(keras_tuner.Oracle):
    """Base class of kerasnas's architecture-search oracles.

    Args:
        objective: A metric name (`"val_accuracy"`), a `keras_tuner.Objective`,
            or a list of them; as in Keras Tuner. Default None (set by the tuner).
        max_trials: Number of architectures to evaluate (default 100).
        space: The search space: a kerasnas space (`HyperModel` with an
            `encoding`) or an `Encoding`. Default None: taken from the
            `kerasnas_space` hyperparameter that kerasnas spaces declare, so
            `kt.Tuner(oracle=..., hypermodel=kerasnas_space)` needs no more.
            Any other hypermodel is searched through `HPEncoding`, derived from
            its own hyperparameters (and re-derived as its space grows).
        seed: Seed of every random choice the strategy makes (default None:
            Keras Tuner draws one). Unlike Keras Tuner, `seed=0` is kept.
        max_collisions: Proposals tried per trial before falling back to a
            random unseen architecture (default 100).
        warm_start: Architectures (or their strings) evaluated first, in
            order, before the strategy proposes anything, e.g. a space's
            `hand_designs()`; the strategy observes their results like any
            other (default: none). Those already known are skipped, so a
            resumed search does not repeat them.
        worker_timeout: Distributed mode: seconds without news from a worker
            (a trial request or an epoch's metrics) after which its trial is
            given to another worker (`oracles/workers.py`). Default None:
            `KERASNAS_WORKER_TIMEOUT`, else 1800 s with a chief, off alone.
        **kwargs: Passed to `keras_tuner.Oracle` (e.g. `max_retries_per_trial`).
    """

    def __init__(self, objective=None, max_trials=100, space=None, seed=None,
                 max_collisions=100, warm_start=(), worker_timeout=None, **kwargs):
        if max_trials is not None and (isinstance(max_trials, bool) or int(max_trials) != max_trials
                                       or max_trials < 1):
            raise ValueError(f"max_trials must be a positive int or None (no limit); got "
                             f"{max_trials!r}. Pass e.g. max_trials=100.")
        super().__init__(objective=objective, max_trials=max_trials, seed=seed, **kwargs)
        if seed is not None:
            self.seed = self._seed_state = int(seed)
        self._space = space
        self._encoding = None
        self.max_collisions = int(max_collisions)
        self.worker_timeout = lost_workers.resolve_timeout(worker_timeout)
        self.warm_start = [a if isinstance(a, str) else str(a) for a in warm_start]
        self._rng = np.random.default_rng(self.seed)
        self._fitness: dict[str, float] = {}  # str(arch) -> fitness of every finished arch
        self._failed: set[str] = set()
        self._pending: dict[str, str] = {}  # trial_id -> str(arch) of running trials
        self._trial_of: dict[str, str] = {}  # str(arch) -> id of the trial that evaluated it
        #: Set by `propose()` to the parent a child was derived from (see `oracles/lineage.py`).
        self.proposal_parent = None

    #: Optional `kerasnas.estimation.prescreen.Prescreen`: proposals it discards (a low
    #: zero-cost score) are asked again before any trial is created. Default None.
    prescreen = None

    # ------------------------------------------------------------ subclasses
    def propose(self) -> Architecture | None:
        """Next architecture to try, or None to wait for running trials."""
        raise NotImplementedError

    def observe(self, arch: Architecture, fitness: float) -> None:
        """Learns from one finished evaluation (higher fitness is better)."""

    def get_algorithm_state(self) -> dict:
        return {}

    def set_algorithm_state(self, state: dict) -> None:
        pass

    # --------------------------------------------------------------- helpers
    @property
    def encoding(self) -> Encoding:
        """The `Encoding` of the searched space."""
        if isinstance(self._encoding, HPEncoding) and self._space is None:
            # A user's build(hp) is discovered lazily: re-derive when its space grew.
            self._encoding = self._encoding.updated(self.hyperparameters)
        if self._encoding is None:
            if self._space is not None:
                self._encoding = getattr(self._space, "encoding", self._space)
            else:
                key = next((hp.value for hp in self.hyperparameters.space
                            if hp.name == SPACE_HP_NAME), None)
                if key is None and not self.hyperparameters.space:
                    raise keras_tuner.errors.FatalError(
                        f"{type(self).__name__} found no search space: the hypermodel declared "
                        "no hyperparameters. Use a kerasnas space or a build(hp) that declares "
                        "some, or pass `space=` to the oracle."
                    )
                if key is None:  # any Keras Tuner hypermodel: the encoding of its own space
                    self._encoding = HPEncoding.from_keras_tuner(self.hyperparameters)
                else:
                    self._encoding = Encoding.from_key(key)
        return self._encoding

    @property
    def rng(self) -> np.random.Generator:
        return self._rng

    @property
    def history(self) -> list[tuple[Architecture, float]]:
        """Every finished (architecture, fitness), in the order they finished."""
        parse = self.encoding.from_string
        return [(parse(k), f) for k, f in self._fitness.items()]

    def is_known(self, arch: Architecture) -> bool:
        """True if `arch` was evaluated, failed, or is running."""
        key = str(arch)
        return key in self._fitness or key in self._failed or key in self._pending.values()

    def architecture_of(self, trial) -> Architecture:
        return self.encoding.from_hp_values(trial.hyperparameters.values)

    def _fitness_of(self, score) -> float:
        direction = getattr(self.objective, "direction", "max")
        return float(score) if direction == "max" else -float(score)

    # ------------------------------------------------------ Keras Tuner API
    def populate_space(self, trial_id):
        parent = None
        arch = self._next_warm_start()
        for _ in range(0 if arch is not None else self.max_collisions):
            self.proposal_parent = None
            proposal = self.propose()
            if proposal is None:
                if self.ongoing_trials:
                    return {"status": IDLE}
                break
            key = str(proposal)
            if key in self._fitness:
                # Known result: feed it back instead of training it again.
                self.observe(proposal, self._fitness[key])
                continue
            if key in self._failed or key in self._pending.values():
                continue
            if self.prescreen is not None and self.prescreen.discard(proposal, self.encoding,
                                                                     self._rng):
                continue  # a low zero-cost score: recorded by the pre-screen, never trained
            arch, parent = proposal, self.proposal_parent
            break
        if arch is None:
            arch = self._random_unseen()
            if arch is None:
                return {"status": IDLE if self.ongoing_trials else STOPPED}
        self._pending[trial_id] = str(arch)
        values = {hp.name: hp.default for hp in self.hyperparameters.space}
        values.update(arch.to_hp_values())
        values.update(lineage_values(self, parent))
        return {"status": RUNNING, "values": values}

    def extend_warm_start(self, archs) -> None:
        """Appends `archs` (Architectures or strings) to the architectures evaluated first,
        after those already listed (e.g. the candidates a supernet ranked best)."""
        for arch in archs:
            text = arch if isinstance(arch, str) else str(arch)
            if text not in self.warm_start:
                self.warm_start.append(text)

    def _next_warm_start(self) -> Architecture | None:
        for text in self.warm_start:
            arch = self.encoding.from_string(text)
            if not self.is_known(arch):
                return arch
        return None

    def _random_unseen(self, tries=1000):
        for _ in range(tries):
            arch = self.encoding.sample(self._rng)
            if not self.is_known(arch):
                return arch
        return None

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        # A lost worker's trial goes to the next worker that asks (`oracles/workers.py`).
        return lost_workers.create_trial(self, super().create_trial, tuner_id, self.worker_timeout)

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        lost_workers.heard_from_trial(self, trial_id)
        return super().update_trial(trial_id, metrics, step=step)

    @keras_tuner.synchronized
    def end_trial(self, trial):
        if self.worker_timeout is not None and lost_workers.is_stale_end(self, trial):
            return  # a lost worker's late report of a trial another worker has ended since
        # Keras Tuner writes trial.json, then oracle.json, then we observe: one oracle.json
        # write after observe() instead, so a kill never saves a half-recorded end (see
        # `recovery.finish_recorded_ends` for a kill between trial.json and oracle.json).
        with recovery.one_save(self):
            super().end_trial(trial)
            self._record_end(self.trials[trial.trial_id])

    def _record_end(self, trial):
        """The strategy's side of a trial's end: its fitness observed, or its failure noted."""
        status = trial.status
        if status == "INVALID":  # Keras Tuner will retry it: still pending.
            return
        key = self._pending.pop(trial.trial_id, None) or str(self.architecture_of(trial))
        if status == "COMPLETED" and trial.score is not None and np.isfinite(trial.score):
            fitness = self._fitness_of(trial.score)
            self._fitness[key] = fitness
            self._trial_of[key] = trial.trial_id
            self.observe(self.encoding.from_string(key), fitness)
        else:
            self._failed.add(key)
            worst = self.failure_fitness()
            if worst is not None:  # the strategy learns to avoid it, as from a bad result
                self.observe(self.encoding.from_string(key), worst)

    def checkpoints_needed(self) -> set[str] | None:
        """Trial ids whose checkpoints a future trial may still load (a parent's weights),
        or None when the strategy cannot tell (then `NASTuner(keep_checkpoints=k)` keeps
        them all). Strategies that derive children override it."""
        return None

    def failure_fitness(self) -> float | None:
        """Fitness `observe()` receives for a failed trial (it diverged, broke a limit, did
        not build): the worst fitness seen so far, so a failure never looks better than any
        real result and never distorts the scale of the rest (-inf would break surrogates
        and policy gradients). None before any success: nothing is observed then."""
        return min(self._fitness.values()) if self._fitness else None

    def reload(self):
        super().reload()
        recovery.finish_recorded_ends(self)

    def get_state(self):
        state = super().get_state()
        state["kerasnas"] = {
            "rng": self._rng.bit_generator.state,
            "fitness": self._fitness,
            "failed": sorted(self._failed),
            "pending": self._pending,
            "trial_of": self._trial_of,
            "algorithm": self.get_algorithm_state(),
        }
        if self.prescreen is not None:
            state["kerasnas"]["prescreen"] = self.prescreen.get_state()
        return state

    def set_state(self, state):
        if "kerasnas" not in state:
            raise ValueError(
                f"The saved oracle state has no kerasnas part: it was written by another oracle "
                f"({state.get('class_name', 'a Keras Tuner oracle')}), not a kerasnas strategy, "
                f"so {type(self).__name__} cannot resume it. Pass overwrite=True to start "
                "afresh, or choose another directory / project_name.")
        super().set_state(state)
        if self._space is None:
            self._encoding = None  # re-read from the restored hyperparameters
        ours = state["kerasnas"]
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = ours["rng"]
        self._fitness = dict(ours["fitness"])
        self._failed = set(ours["failed"])
        self._pending = dict(ours["pending"])
        self._trial_of = dict(ours.get("trial_of", {}))
        self.set_algorithm_state(ours["algorithm"])
        if self.prescreen is not None and "prescreen" in ours:
            self.prescreen.set_state(ours["prescreen"])
