"""A generated 1D signal classification data set, for tests and benchmarks without downloads.

Each class is one waveform family (sines of several frequencies, square,
sawtooth and triangle waves, chirps, bursts, steps), drawn with a random
phase, amplitude, time shift and offset and buried in Gaussian noise, so a
model must recognise a shape wherever it sits in the window: the kind of task
1D CNNs and TCNs are written for. Pure numpy.

Example:

>>> from kerasnas.bench.signals import make_signals
>>> x, y = make_signals(200, length=40, num_classes=10, seed=0)
>>> x.shape, y.shape, sorted(set(y.tolist()))[:3]
((200, 40), (200,), [0, 1, 2])
"""

from __future__ import annotations

import numpy as np

_FAMILIES = ("sine1", "sine2", "sine4", "square", "sawtooth", "triangle", "chirp_up",
             "chirp_down", "burst", "step")


def make_signals(n: int, *, length: int = 40, num_classes: int = 10, noise: float = 0.6,
                 channels: int = 0, seed: int | None = 0):
    """`(x, y)`: `n` noisy waveforms of `length` samples and their class (0..num_classes-1).

    Args:
        n: Number of examples (classes balanced up to one example).
        length: Samples per signal (default 40).
        num_classes: 2..10 waveform families (default 10).
        noise: Standard deviation of the added Gaussian noise (default 0.6;
            the waveforms have amplitude 0.7 to 1.3).
        channels: 0 (default) for `x` of shape `(n, length)`; C >= 1 for
            `(n, length, C)`, each channel a noisy copy with its own gain.
        seed: Seed (default 0).

    Returns:
        `x` float32 and `y` int64.
    """
    if not 2 <= num_classes <= len(_FAMILIES):
        raise ValueError(f"num_classes must be in 2..{len(_FAMILIES)}; got {num_classes}.")
    if n < 1 or length < 8:
        raise ValueError(f"need n >= 1 and length >= 8; got n={n}, length={length}.")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % num_classes)
    t = np.linspace(0.0, 1.0, length)[None, :]
    shift = rng.uniform(0, 1, (n, 1))
    phase = 2 * np.pi * shift
    amp = rng.uniform(0.7, 1.3, (n, 1))
    clean = np.empty((n, length))
    for c in range(num_classes):
        rows = y == c
        clean[rows] = _waveform(_FAMILIES[c], t, phase[rows], shift[rows])
    base = amp * clean + rng.uniform(-0.3, 0.3, (n, 1))
    if channels == 0:
        x = base + noise * rng.normal(size=(n, length))
    else:
        gains = rng.uniform(0.5, 1.5, (n, 1, channels))
        x = base[..., None] * gains + noise * rng.normal(size=(n, length, channels))
    return x.astype(np.float32), y.astype(np.int64)


def _waveform(family, t, phase, shift):
    cycles = 3.0
    angle = 2 * np.pi * cycles * t + phase
    if family.startswith("sine"):
        return np.sin(angle * int(family[4:]) / 2)
    if family == "square":
        return np.sign(np.sin(angle))
    if family == "sawtooth":
        return 2 * ((angle / (2 * np.pi)) % 1.0) - 1
    if family == "triangle":
        return 2 * np.abs(2 * ((angle / (2 * np.pi)) % 1.0) - 1) - 1
    if family == "chirp_up":
        return np.sin(2 * np.pi * (1 + 6 * t) * t + phase)
    if family == "chirp_down":
        return np.sin(2 * np.pi * (7 - 6 * t) * t + phase)
    if family == "burst":  # a short high-frequency packet at a random position
        return np.exp(-((t - shift) ** 2) / 0.005) * np.sin(2 * np.pi * 10 * t)
    if family == "step":  # a level change at a random position
        return np.where(t > shift, 1.0, -1.0)
    raise ValueError(family)
