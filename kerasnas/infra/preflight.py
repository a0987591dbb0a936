"""Checks that run before a search, a load or an export touches the disk (no TensorFlow).

Each raises a `ValueError` (or `TypeError`) naming the problem and the fix, so a
bad folder, a full disk or a damaged state file is reported before any trial
trains and before anything already on disk is changed.

Example:

>>> from kerasnas.infra.preflight import check_writable_directory
>>> check_writable_directory("/tmp/kerasnas_example_run")  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile
from pathlib import Path

#: Free space a search folder needs before the first trial: 50 MiB holds the oracle state,
#: a few small checkpoints and the result of a small search; a search that starts with
#: less fails on its first checkpoint instead, with a half-written file (12a's atomic
#: writes keep that from corrupting state, but the run is still lost).
MIN_FREE_BYTES = 50 * 2**20


def free_bytes(path) -> int:
    """Bytes free on the file system holding `path` (an existing folder)."""
    return shutil.disk_usage(os.fspath(path)).free


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_writable_directory(directory, *, what="directory", min_free=MIN_FREE_BYTES) -> Path:
    """Checks that `directory` is (or can become) a writable folder with room to spare.

    Nothing is created: the nearest existing ancestor must be a folder in
    which a file can be created (tried with a temporary file, removed at
    once; this also catches read-only mounts and `/proc`, which permission
    bits miss when running as root), and its file system must have
    `min_free` bytes free.

    Args:
        directory: The folder a search or an export will write into.
        what: How the message names it (default `"directory"`).
        min_free: Bytes that must be free (default `MIN_FREE_BYTES`).

    Returns:
        `directory` as a `Path`.

    Raises:
        ValueError: `directory` (or one of its parents) is a file, cannot
            be written, or its disk is nearly full.
    """
    directory = Path(os.fspath(directory))
    existing = _nearest_existing(directory)
    fix = f"choose another {what}"
    if existing.exists() and not existing.is_dir():
        raise ValueError(f"{what} {str(directory)!r} cannot be created: {str(existing)!r} is a "
                         f"file, not a folder; {fix}.")
    try:
        handle, probe = tempfile.mkstemp(dir=existing, prefix=".kerasnas-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{what} {str(directory)!r} is not writable: cannot create a file in "
                         f"{str(existing)!r} ({err.strerror or err}); {fix} or fix its "
                         "permissions.") from None
    free = free_bytes(existing)
    if free < min_free:
        raise ValueError(f"The disk holding {what} {str(directory)!r} is full: "
                         f"{free / 2**20:.1f} MiB free, a search needs at least "
                         f"{min_free / 2**20:.0f} MiB; free up space or choose another {what}.")
    return directory


def read_json(path, *, what: str, fix: str):
    """Parses the JSON file `path`, or raises a `ValueError` naming the file and `fix`.

    Args:
        path: The file.
        what: What the file is, for the message (`"search metadata"`).
        fix: What to do instead, e.g. `"pass overwrite=True to start afresh"`.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} ({what}) is corrupted: not valid JSON ({err}); it may have "
                         f"been cut off by a crash or edited by hand. {fix}.") from None


def accepted_arguments(cls) -> list[str]:
    """Keyword arguments the constructors along `cls`'s MRO accept (for error messages)."""
    names = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or init is object.__init__:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names |= {p.name for p in params
                  if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return sorted(names - {"self"})
