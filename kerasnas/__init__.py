"""kerasnas: neural architecture search for Keras 3, built on Keras Tuner.

Importing `kerasnas` is light: TensorFlow and Keras load only when a name that
needs them is first used (`kerasnas.search`, `kerasnas.spaces.CellSpace`, ...).

Example:

>>> import kerasnas
>>> result = kerasnas.search(x, y, max_trials=5)   # doctest: +SKIP
>>> result.model.predict(x[:3])                     # doctest: +SKIP
"""

import importlib

from kerasnas.infra import moved

moved.install()  # the module paths of before the stage folders (kerasnas.export, ...)

__version__ = "0.1.0"

_LAZY = {
    "search": ("kerasnas.automl.pipeline", "search"),
    "SearchResult": ("kerasnas.deploy.result", "SearchResult"),
    "Architecture": ("kerasnas.spaces.architecture", "Architecture"),
    "spaces": ("kerasnas.spaces", None),
    "oracles": ("kerasnas.oracles", None),
    "viz": ("kerasnas.viz", None),
    "darts": ("kerasnas.darts", None),
}

# `search` imports TensorFlow itself, quietly, unless its trials run in child processes
# (`trials_per_process`): then this process loads it only for the refit.
_NEEDS_TENSORFLOW = ("SearchResult", "darts")

__all__ = sorted(_LAZY)


def __getattr__(name):
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'kerasnas' has no attribute {name!r}") from None
    if name in _NEEDS_TENSORFLOW:
        from kerasnas.infra.quiet import import_tensorflow

        import_tensorflow()
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value
