"""Random search over architectures: the baseline every strategy must beat."""

from kerasnas.oracles.base import ArchitectureOracle


class RandomSearch(ArchitectureOracle):
    """Uniformly random architectures, never the same one twice.

    Args:
        See `ArchitectureOracle`.

    Example:

    >>> from kerasnas.oracles import RandomSearch
    >>> oracle = RandomSearch(objective="val_accuracy", max_trials=20, seed=3)
    """

    def propose(self):
        return self.encoding.sample(self.rng)
