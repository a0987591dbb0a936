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

The paper's children are mutations only. `crossover_rate` adds the
recombination of the evolutionary-NAS surveys ("a population of architectures
is iteratively evolved through mutation and crossover"): with that
probability a child starts from two parents, the winners of two tournaments
over distinct members, recombined by `Encoding.crossover` (each decision, or
group of decisions, from one of them), and is then mutated as usual, so every
child is still one mutation away from where it started (a recombination of
two similar parents often equals one of them). It is off by default: on NAS-Bench-201 (100 seeds),
`crossover_rate=0.5` tied mutation alone at 50, 100 and 300 queries, and the
recombination without the mutation found better cells sooner (@50) but the
optimum less often (@300), see benchmarks/README.md.
"""

from __future__ import annotations

from kerasnas.oracles.base import ArchitectureOracle

#: Default population size P, tuned on NAS-Bench-201 (benchmarks/README.md).
DEFAULT_POPULATION_SIZE = 15
#: Default tournament sample size S, tuned on NAS-Bench-201 (benchmarks/README.md).
DEFAULT_SAMPLE_SIZE = 8
#: Default probability that a child is a crossover of two parents: 0 (off). On NAS-Bench-201,
#: 100 seeds, `crossover_rate=0.5` tied mutation alone: best @100 94.33 ± 0.12 both, @50
#: 94.18 ± 0.24 vs 94.14 ± 0.26 (p = 0.45), @300 94.37 both (benchmarks/README.md).
DEFAULT_CROSSOVER_RATE = 0.0


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

    With `crossover_rate` > 0, each child is, with that probability, made
    from two parents instead of one: the winner of a tournament over the
    population and the winner of a second tournament over the other members
    (`min(sample_size, population_size - 1)` of them), recombined by
    `Encoding.crossover` and then mutated once (`mutate_after_crossover`).
    The child's lineage names the fitter parent. With `population_size` 1
    there is no second parent and every child is a mutation.

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
        crossover_rate: Probability in [0, 1] that a child is the crossover
            of two tournament winners (default 0.0, `DEFAULT_CROSSOVER_RATE`:
            the paper's mutation-only evolution). 0 draws nothing extra from
            the RNG, so searches are the same as without the option.
        mutate_after_crossover: Whether a crossover child is then mutated
            once like any other child (default True). False keeps the plain
            recombination, which repeats a parent whenever every group is
            drawn from the same one.
        **kwargs: `space`, `seed` and the rest of `ArchitectureOracle`'s
            arguments.

    Example:

    >>> import keras_tuner
    >>> from kerasnas.oracles import RegularizedEvolution
    >>> oracle = RegularizedEvolution(objective="val_accuracy", max_trials=50,
    ...                               population_size=15, sample_size=8, seed=1)
    >>> # keras_tuner.Tuner(oracle=oracle, hypermodel=kerasnas_space, ...)
    >>> mixing = RegularizedEvolution(objective="val_accuracy", crossover_rate=0.5, seed=1)
    >>> mixing.crossover_rate
    0.5
    """

    def __init__(self, objective=None, max_trials=100, population_size=DEFAULT_POPULATION_SIZE,
                 sample_size=DEFAULT_SAMPLE_SIZE, crossover_rate=DEFAULT_CROSSOVER_RATE,
                 mutate_after_crossover=True, **kwargs):
        for name, value in (("population_size", population_size), ("sample_size", sample_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if sample_size > population_size:
            raise ValueError(
                f"sample_size ({sample_size}) cannot exceed population_size ({population_size}); "
                "lower sample_size or raise population_size."
            )
        if isinstance(crossover_rate, bool) or not isinstance(crossover_rate, (int, float)) \
                or not 0.0 <= crossover_rate <= 1.0:
            raise ValueError(f"crossover_rate must be a probability in [0, 1], got "
                             f"{crossover_rate!r}; 0 turns crossover off.")
        if not isinstance(mutate_after_crossover, bool):
            raise ValueError(f"mutate_after_crossover must be True or False, got "
                             f"{mutate_after_crossover!r}.")
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        self.crossover_rate = float(crossover_rate)
        self.mutate_after_crossover = mutate_after_crossover
        # Living members, oldest first: (cell string, fitness).
        self.population: list[tuple[str, float]] = []

    def propose(self):
        if len(self.population) < self.population_size:
            return self.encoding.sample(self.rng)
        # No draw at all when crossover is off, so such searches are unchanged.
        if (self.crossover_rate > 0 and len(self.population) > 1
                and self.rng.random() < self.crossover_rate):
            first, second = self.select_parents()
            self.proposal_parent = first
            parse = self.encoding.from_string
            child = self.encoding.crossover(parse(first), parse(second), self.rng)
            if not self.mutate_after_crossover:
                return child
            return self.encoding.mutate(child, self.rng)
        parent = self.proposal_parent = self.select_parent()
        return self.encoding.mutate(self.encoding.from_string(parent), self.rng)

    def select_parent(self) -> str:
        """Tournament: the fittest of `sample_size` distinct random members (its cell string)."""
        return self.population[self._tournament(range(len(self.population)),
                                                self.sample_size)][0]

    def select_parents(self) -> tuple[str, str]:
        """Two tournaments over distinct members: the cell strings of the winners, fitter first.

        The first is `select_parent`'s; the second draws `min(sample_size,
        population_size - 1)` members among the others. Ties keep the first.
        """
        first = self._tournament(range(len(self.population)), self.sample_size)
        others = [i for i in range(len(self.population)) if i != first]
        second = self._tournament(others, min(self.sample_size, len(others)))
        if self.population[second][1] > self.population[first][1]:
            first, second = second, first
        return self.population[first][0], self.population[second][0]

    def _tournament(self, members, size) -> int:
        """Index (into the population) of the fittest of `size` distinct random `members`."""
        members = list(members)
        picks = self.rng.choice(len(members), size=size, replace=False)
        # Ties go to the first drawn member.
        return members[max(picks, key=lambda i: self.population[members[i]][1])]

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
            "crossover_rate": self.crossover_rate,
            "mutate_after_crossover": self.mutate_after_crossover,
            "population": [[key, fitness] for key, fitness in self.population],
        }

    def set_algorithm_state(self, state):
        self.population_size = state["population_size"]
        self.sample_size = state["sample_size"]
        # States saved before crossover existed: mutation only, as those searches ran.
        self.crossover_rate = float(state.get("crossover_rate", 0.0))
        self.mutate_after_crossover = bool(state.get("mutate_after_crossover", True))
        self.population = [(key, float(fitness)) for key, fitness in state["population"]]
