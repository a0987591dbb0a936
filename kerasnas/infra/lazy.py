"""Lazy package attributes: a name's module is imported the first time the name is used.

Keeps `import kerasnas.<package>` free of TensorFlow until something that needs it is touched.

Example (in a package's `__init__.py`):

>>> _LAZY = {"Drawing": "kerasnas.viz.svg"}                       # doctest: +SKIP
>>> __getattr__, __dir__ = lazy_attributes(__name__, _LAZY)       # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys


def lazy_attributes(package: str, names: dict[str, str]):
    """`(__getattr__, __dir__)` for `package`, loading each of `names` from its module."""
    namespace = vars(sys.modules[package])

    def __getattr__(name):
        try:
            module = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
