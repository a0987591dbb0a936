"""Regularized (aging) evolution, Real et al., "Regularized Evolution for Image
Classifier Architecture Search" (AAAI 2019).

The paper's loop, one child per finished trial (asynchronous)::

    population <- P random architectures, each evaluated
    repeat:
        sample <- S members of population, drawn at random
        parent <- the best of sample           # tournament selection
        child  <- mutate(parent)               # exactly one local change
        evaluate child; append it to population
        remove the OLDEST member of population # aging, not the worst

Aging means every architecture, however good, lives for only P children,
which the paper found regularises the search against lucky evaluations.
"""

from __future__ import annotations

from kerasnas.oracles.base import ArchitectureOracle

#: Default population size P, tuned on NAS-Bench-201 (benchmarks/README.md).
DEFAULT_POPULATION_SIZE = 15
#: Default tournament sample size S, tuned on NAS-Bench-201 (benchmarks/README.md).
DEFAULT_SAMPLE_SIZE = 8


class RegularizedEvolution(ArchitectureOracle):
    """Aging evolution with tournament selection over the space's `Architecture`s.

    While fewer than `population_size` architectures have finished, proposals
    are uniformly random (the initial population). After that each proposal is
    a child: `sample_size` distinct members are drawn from the population, the
    one with the best fitness is the parent, and the child is the parent with
    exactly one decision changed (`Encoding.mutate`). Each finished trial joins
    the population and, once it holds more than `population_size` members, the
    oldest one leaves. A child that was evaluated before is not trained again:
    its cached fitness joins the population as a new member (the base class
    feeds it to `observe`).

    The population is saved in the oracle state (cell strings and fitness, in
    age order), so a search resumed with `overwrite=False` proposes exactly
    what an uninterrupted one would.

    Args:
        objective: As in Keras Tuner (default None: set by the tuner).
        max_trials: Number of trials (default 100). The algorithm does not
            depend on it.
        population_size: P, the number of architectures alive at once
            (default 15, `DEFAULT_POPULATION_SIZE`).
        sample_size: S, the tournament size, 1 <= S <= P (default 8,
            `DEFAULT_SAMPLE_SIZE`). S = 1 is random parent choice; S = P
            always mutates the best living member.
        **kwargs: `space`, `seed` and the rest of `ArchitectureOracle`'s
            arguments.

    Example:

    >>> import keras_tuner
    >>> from kerasnas.oracles import RegularizedEvolution
    >>> oracle = RegularizedEvolution(objective="val_accuracy", max_trials=50,
    ...                               population_size=15, sample_size=8, seed=1)
    >>> # keras_tuner.Tuner(oracle=oracle, hypermodel=kerasnas_space, ...)
    """

    def __init__(self, objective=None, max_trials=100, population_size=DEFAULT_POPULATION_SIZE,
                 sample_size=DEFAULT_SAMPLE_SIZE, **kwargs):
        for name, value in (("population_size", population_size), ("sample_size", sample_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if sample_size > population_size:
            raise ValueError(
                f"sample_size ({sample_size}) cannot exceed population_size ({population_size}); "
                "lower sample_size or raise population_size."
            )
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        # Living members, oldest first: (cell string, fitness).
        self.population: list[tuple[str, float]] = []

    def propose(self):
        if len(self.population) < self.population_size:
            return self.encoding.sample(self.rng)
        parent = self.proposal_parent = self.select_parent()
        return self.encoding.mutate(self.encoding.from_string(parent), self.rng)

    def select_parent(self) -> str:
        """Tournament: the fittest of `sample_size` distinct random members (its cell string)."""
        picks = self.rng.choice(len(self.population), size=self.sample_size, replace=False)
        # Ties go to the first drawn member.
        best = max(picks, key=lambda i: self.population[i][1])
        return self.population[best][0]

    def observe(self, arch, fitness):
        self.population.append((str(arch), float(fitness)))
        if len(self.population) > self.population_size:
            self.population.pop(0)  # aging: the oldest dies, whatever its fitness

    def checkpoints_needed(self):
        """Trials whose weights a child may still inherit: the living population's."""
        return {self._trial_of[key] for key, _ in self.population if key in self._trial_of}

    def get_algorithm_state(self):
        return {
            "population_size": self.population_size,
            "sample_size": self.sample_size,
            "population": [[key, fitness] for key, fitness in self.population],
        }

    def set_algorithm_state(self, state):
        self.population_size = state["population_size"]
        self.sample_size = state["sample_size"]
        self.population = [(key, float(fitness)) for key, fitness in state["population"]]
