"""Crash-safe writes: a file is either its old content or its new content, never half-written.

Every state file kerasnas writes (its own JSON, and Keras Tuner's `oracle.json`,
`trial.json` and `tuner0.json`, routed here by `kt_internals.atomic_keras_tuner`)
goes through `write_text`: the text is written to a temporary file in the same
folder, flushed and `fsync`ed, then renamed over the target with `os.replace`,
which POSIX makes atomic. A process killed at any instant (SIGKILL included)
leaves the old file or the new one, plus at most a stray `*.tmp` that nothing
reads.

Example:

>>> from kerasnas.infra.atomic import write_json
>>> write_json("state.json", {"trials": 3})                  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

#: Suffix of the temporary files; a kill can leave one behind, never in place of a real file.
TMP_SUFFIX = ".tmp"


def write_text(path, text: str, *, encoding: str = "utf-8") -> str:
    """Writes `text` to `path` atomically (temporary file, fsync, rename); returns the path.

    Args:
        path: Target file (str or `Path`); its folder must exist.
        text: The whole new content.
        encoding: Text encoding (default `"utf-8"`, what JSON readers expect).
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".",
                               suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding=encoding) as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)
    return path


def write_json(path, obj, **dumps_args) -> str:
    """`json.dumps(obj, **dumps_args)` written atomically to `path`; returns the JSON text."""
    text = json.dumps(obj, **dumps_args)
    write_text(path, text)
    return text


def write_bytes(path, data: bytes) -> str:
    """Writes `data` to `path` atomically (as `write_text`); returns the path."""
    path = os.fspath(path)
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return path


@contextlib.contextmanager
def replacing(path):
    """Yields a temporary path beside `path` to write a file or a folder to; renames it to
    `path` when the block ends without an error, and removes it otherwise.

    The temporary name keeps `path`'s suffix (Keras insists on `.keras`). A folder can
    replace only a missing or empty folder.

    Example:

    >>> with replacing("best_model.keras") as tmp:               # doctest: +SKIP
    ...     model.save(tmp)
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    stem, suffix = os.path.splitext(name)
    tmp = os.path.join(folder or ".", f".{stem}.{os.getpid()}{TMP_SUFFIX}{suffix}")
    _remove(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_folder(folder or ".")


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _fsync_folder(folder: str) -> None:
    """Makes the rename itself durable (the folder entry), where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["TMP_SUFFIX", "replacing", "write_bytes", "write_json", "write_text"]
