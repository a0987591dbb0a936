"""Names `kerasnas.search` accepts for strategies and spaces, and where it keeps runs."""

#: Strategy names accepted by `search(strategy=...)`: name -> (class in kerasnas.oracles, kwargs).
STRATEGIES = {
    "random": ("RandomSearch", {}),
    # Every architecture once, in a fixed order (`kerasnas.oracles.grid`); small spaces only.
    "grid": ("GridSearch", {}),
    "evolution": ("RegularizedEvolution", {}),
    "bayesian": ("BayesianOptimization", {}),
    "reinforce": ("ReinforceController", {}),
    "ppo": ("ReinforceController", {"ppo": True}),
    # Contrastive NAS (`kerasnas.oracles.ctnas`): the controller's reward is a learned
    # comparator's P(sample > baseline); the comparator trains on the evaluated pairs.
    "ctnas": ("CTNAS", {}),
    # Neural Architecture Optimization (`kerasnas.oracles.nao`): gradient ascent on a learned
    # predictor in an autoencoder's embedding space, decoded back to architectures.
    "nao": ("NAO", {}),
    "net2net": ("Net2NetSearch", {}),
    # One-shot DARTS (`kerasnas.darts.one_liner`, `kerasnas.darts.oracle.DartsOracle`): a supernet
    # search whose derived architecture is the one trial; first and second order.
    "darts": ("DartsOracle", {"order": 1}),
    "darts2": ("DartsOracle", {"order": 2}),
    "pcdarts": ("DartsOracle", {"order": 1}),
    "ddarts": ("DartsOracle", {"order": 1}),
}

#: Space names accepted by `search(space=...)`: name -> class in kerasnas.spaces.
SPACES = {"macro": "MacroSpace", "cell": "CellSpace", "nb201": "NB201Space", "dense": "DenseSpace",
          "residual": "ResidualSpace", "series": "SeriesSpace", "table": "TableSpace",
          "mnas": "MnasSpace", "nago": "NAGOSpace"}

#: Where searches live when `directory` is None: `DEFAULT_ROOT/<space>-<strategy>-<fingerprint>`.
DEFAULT_ROOT = "kerasnas_runs"

META_FILE = "kerasnas_search.json"
RESULT_DIR = "result"
