"""Module paths from before the stage folders (kerasnas 0.1, until 2026-12), still importable.

The package's modules moved into folders named for their stage of the data
flow (`automl/`, `tuner/`, `deploy/`, `infra/`). User code, notebooks and
scripts written against the old paths keep working: `import kerasnas.export`
returns the module `kerasnas.deploy.export` itself (one module object under two
names, so `isinstance` checks and monkeypatching agree). `kerasnas/__init__.py`
installs the finder; it imports nothing until an old path is asked for.

Example:

>>> import kerasnas.export, kerasnas.deploy.export
>>> kerasnas.export is kerasnas.deploy.export
True
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: Old module path -> its home now.
MOVED = {
    "kerasnas.api": "kerasnas.automl.pipeline",
    "kerasnas.api_names": "kerasnas.automl.names",
    "kerasnas.search_checks": "kerasnas.automl.checks",
    "kerasnas.search_setup": "kerasnas.automl.assemble",
    "kerasnas.search_finish": "kerasnas.automl.finish",
    "kerasnas.selection": "kerasnas.automl.selection",
    "kerasnas.refit": "kerasnas.automl.refit",
    "kerasnas.linear_solve": "kerasnas.automl.linear_solve",
    "kerasnas.baseline": "kerasnas.automl.baseline",
    "kerasnas.recycle": "kerasnas.automl.recycle",
    "kerasnas.recipe": "kerasnas.tuner.recipe",
    "kerasnas.crossval": "kerasnas.tuner.crossval",
    "kerasnas.trial_failures": "kerasnas.tuner.trial_failures",
    "kerasnas.checkpoints": "kerasnas.tuner.checkpoints",
    "kerasnas.tensorboard": "kerasnas.tuner.tensorboard",
    "kerasnas.result": "kerasnas.deploy.result",
    "kerasnas.export": "kerasnas.deploy.export",
    "kerasnas.ensemble": "kerasnas.deploy.ensemble",
    "kerasnas.report": "kerasnas.deploy.report",
    "kerasnas.atomic": "kerasnas.infra.atomic",
    "kerasnas.quiet": "kerasnas.infra.quiet",
    "kerasnas.lazy": "kerasnas.infra.lazy",
    "kerasnas.kt_internals": "kerasnas.infra.kt_internals",
    "kerasnas.validation": "kerasnas.infra.validation",
    "kerasnas.preflight": "kerasnas.infra.preflight",
}


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path in `MOVED` and loads it as the module at its new home."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        pass  # already executed at its new home


def install() -> None:
    """Adds the finder to `sys.meta_path` (once)."""
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.append(_OldPaths())
