"""A quiet TensorFlow start: no CUDA probing noise on machines without a GPU.

TensorFlow's C++ runtime writes its start-up lines ("Could not find cuda
drivers", "failed call to cuInit", the absl banner) straight to file
descriptor 2 before its logging is configured, so `TF_CPP_MIN_LOG_LEVEL` alone
does not hide them. `import_tensorflow()` imports TensorFlow and probes its
devices with stderr captured at the descriptor level, then writes back every
captured line except those start-up lines.

A user who sets `TF_CPP_MIN_LOG_LEVEL` (any value) asks for TensorFlow's own
logging and gets it untouched.

Example:

>>> from kerasnas.infra.quiet import import_tensorflow
>>> tf = import_tensorflow()          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

#: Start-up lines TensorFlow prints on every CPU-only machine; nothing the user can act on.
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\)"
    r"|cudart_stub\.cc|cuda_platform\.cc|failed call to cuInit|cuda_diagnostics\.cc"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered"
    r"|oneDNN custom operations are on|TF-TRT Warning|cpu_feature_guard\.cc"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions|rebuild TensorFlow with the appropriate compiler flags"
)


def user_wants_tf_logs() -> bool:
    """True when the user set `TF_CPP_MIN_LOG_LEVEL` themselves."""
    return "TF_CPP_MIN_LOG_LEVEL" in os.environ and not os.environ.get("_KERASNAS_SET_TF_LOGS")


@contextlib.contextmanager
def filtered_stderr(pattern: re.Pattern = NOISE):
    """Captures file descriptor 2 in the block; replays the lines that do not match `pattern`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(True)
                    if not pattern.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def import_tensorflow():
    """Imports TensorFlow (and initialises its devices) quietly; returns the module.

    With `TF_CPP_MIN_LOG_LEVEL` unset, sets it to 2 (warnings and info off,
    errors on) and filters the start-up noise; otherwise leaves logging as the
    user asked. Importing again is free.
    """
    if "tensorflow" in sys.modules or user_wants_tf_logs():
        import tensorflow as tf

        return tf
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["_KERASNAS_SET_TF_LOGS"] = "1"
    with filtered_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe (cuInit) happens here
    return tf
