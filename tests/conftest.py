"""Shared pytest fixtures: small real data sets that need no download."""

import functools
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NB201_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201_cifar10.csv"


class Digits(NamedTuple):
    """scikit-learn's 8x8 digits as images: `x_*` float32 `(N, 8, 8, 1)` in [0, 1], `y_*` int."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@functools.lru_cache(maxsize=1)
def _load_digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., None]
    y = data.target.astype("int64")
    order = np.random.default_rng(0).permutation(len(x))
    return x[order], y[order]


@pytest.fixture
def digits() -> Digits:
    """300 training and 100 validation digits (shuffled with a fixed seed; fresh copies).

    Unpack as `x_train, y_train, x_val, y_val = digits` or use the attributes.
    """
    x, y = _load_digits()
    return Digits(x[:300].copy(), y[:300].copy(), x[300:400].copy(), y[300:400].copy())


@pytest.fixture(scope="session")
def nb201_csv() -> Path:
    """Path of the NAS-Bench-201 CIFAR-10 table (`arch,cifar10_test_acc`, 15,625 rows)."""
    if not NB201_CSV.exists():
        pytest.skip(f"NAS-Bench-201 table not found at {NB201_CSV}")
    return NB201_CSV


@pytest.fixture(scope="session")
def nb201_table(nb201_csv) -> dict:
    """The NAS-Bench-201 table as `{cell string: test accuracy}`, loaded once per session."""
    from kerasnas.bench.nb201 import load_nb201_table

    return load_nb201_table(nb201_csv)


@pytest.fixture(scope="session")
def crashing_tuner():
    """`NB201LookupTuner` that raises `KeyboardInterrupt` when trial number `crash_at` starts,
    as a real interruption escapes Keras Tuner (for the exact-resume tests of the oracles)."""
    from kerasnas.bench.nb201 import NB201LookupTuner

    class CrashingTuner(NB201LookupTuner):
        def __init__(self, *args, crash_at, **kwargs):
            self.crash_at = crash_at
            super().__init__(*args, **kwargs)

        def run_trial(self, trial, *args, **kwargs):
            if int(trial.trial_id) == self.crash_at:
                raise KeyboardInterrupt
            return super().run_trial(trial, *args, **kwargs)

    return CrashingTuner


@pytest.fixture
def nb201_toy():
    """Every NB201 cell, scored by its number of 3x3 convolutions (a known landscape)."""
    import itertools

    from kerasnas.spaces.encodings import NB201Encoding

    enc = NB201Encoding()
    ops = enc.decisions[0].choices
    table = {}
    for values in itertools.product(ops, repeat=len(enc.decisions)):
        arch = enc.from_hp_values({d.name: v for d, v in zip(enc.decisions, values, strict=True)})
        table[str(arch)] = 80.0 + str(arch).count("nor_conv_3x3")
    return enc, table
