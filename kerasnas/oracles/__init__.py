"""Search strategies as `keras_tuner.Oracle`s over the shared `Architecture` encoding."""

from kerasnas.oracles.base import ArchitectureOracle
from kerasnas.oracles.bayesian import BayesianOptimization
from kerasnas.oracles.controller import ReinforceController
from kerasnas.oracles.ctnas import CTNAS
from kerasnas.oracles.evolution import RegularizedEvolution
from kerasnas.oracles.grid import GridSearch
from kerasnas.oracles.nao import NAO
from kerasnas.oracles.net2net import Net2NetSearch
from kerasnas.oracles.pareto import ParetoEvolution
from kerasnas.oracles.random_search import RandomSearch

__all__ = ["BayesianOptimization", "CTNAS", "GridSearch", "NAO", "Net2NetSearch", "ParetoEvolution", "RegularizedEvolution", "ReinforceController", "ArchitectureOracle", "RandomSearch"]
