"""What the values of an (N, A, B) array say about its kind: multichannel series vs images.

Issue 23: a 12-channel sequence of length 29 `(N, 29, 12)` has a shape that allows an image,
so the shape-only rule read it as 29x12 images. Every sequence case below has such a shape
(both sides >= 8, aspect <= 4) unless marked, so only the data evidence makes it a sequence;
every image case must survive that evidence.
"""

import warnings

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter, zoom
from sklearn.datasets import load_digits

from kerasnas.data import inference, prepare_data
from kerasnas.data.inference import infer_kind, sequence_evidence


def _sensors(n, length, channels, seed=0, offsets=True):
    """Smooth random signals (three random sines each), every channel its own scale and offset."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)[None, :, None, None]
    freq = rng.uniform(0.05, 0.3, (n, 1, channels, 3))
    phase = rng.uniform(0, 2 * np.pi, (n, 1, channels, 3))
    x = np.sin(freq * t + phase).sum(axis=-1) + 0.05 * rng.normal(size=(n, length, channels))
    if offsets:
        x = x * np.exp(rng.normal(0, 1, (1, 1, channels))) + rng.normal(0, 3, (1, 1, channels))
    return x


def _grouped_sensors(n, length, seed=0):
    """Three sensors of three axes each (acc, gyro, mag): the axes of one sensor correlate."""
    rng = np.random.default_rng(seed)
    base = _sensors(n, length, 3, seed, offsets=False)
    own = _sensors(n, length, 9, seed + 1, offsets=False)
    x = np.repeat(base, 3, axis=2) * rng.uniform(0.5, 1.5, (1, 1, 9)) + 0.5 * own
    return x * np.repeat([1.0, 0.1, 40.0], 3) + np.array([0, 0, 9.8, 0, 0, 0, 20, -5, 40])


def _padded(x, seed=0, at="end"):
    """Sequences of random lengths (at least a third of the window), zero-padded to one length."""
    x = x.copy()
    length = x.shape[1]
    lengths = np.random.default_rng(seed).integers(length // 3, length + 1, len(x))
    steps = np.arange(length)[None, :]
    x[(steps >= lengths[:, None]) if at == "end" else (steps < length - lengths[:, None])] = 0
    return x


def _digits(side=None):
    images = load_digits().images
    return images if side is None else zoom(images, (1, side / 8, side / 8), order=1)


def _blobs(n, side, channels=None, sigma=3.0, seed=0):
    """Smooth 2-D random fields (and colour images whose channels share most structure)."""
    rng = np.random.default_rng(seed)
    if channels is None:
        return gaussian_filter(rng.normal(size=(n, side, side)), (0, sigma, sigma))
    shared = gaussian_filter(rng.normal(size=(n, side, side, 1)), (0, sigma, sigma, 0))
    own = gaussian_filter(rng.normal(size=(n, side, side, channels)), (0, sigma, sigma, 0))
    return shared + 0.5 * own


def _in_canvas(images, side, seed=0):
    """Images placed at random offsets on a zero canvas, like MNIST's empty margins."""
    rng = np.random.default_rng(seed)
    h, w = images.shape[1:]
    canvas = np.zeros((len(images), side, side))
    for k, (i, j) in enumerate(rng.integers(1, side - max(h, w), (len(images), 2))):
        canvas[k, i:i + h, j:j + w] = images[k]
    return canvas


# ------------------------------------------------------- sequences, each test of the evidence
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_12_channel_sensor_series_of_length_29_is_a_sequence(seed):
    x = _sensors(300, 29, 12, seed)
    kind, note = infer_kind(x)
    assert kind == "sequence", note
    assert note.startswith("(N, 29, 12) is read as sequences of length 29 with 12 channels")


@pytest.mark.parametrize("length, channels", [(100, 6), (64, 14)])
def test_longer_sensor_series_are_sequences(length, channels):
    kind, note = infer_kind(_sensors(300, length, channels))
    assert kind == "sequence", note


def test_interchangeable_channels_are_unordered():
    # Noisy copies of one waveform, each channel with its own gain (as kerasnas.bench.signals
    # makes them): neighbouring channels correlate (about 0.6) but no more than distant ones,
    # while the time axis is ordered.
    rng = np.random.default_rng(0)
    wave = np.sign(np.sin(np.linspace(0, 6 * np.pi, 40)[None, :] + rng.uniform(0, 6, (300, 1))))
    x = wave[..., None] * rng.uniform(0.5, 1.5, (300, 1, 12)) + 0.6 * rng.normal(size=(300, 40, 12))
    assert "correlate no more than distant ones" in sequence_evidence(x)
    assert infer_kind(x)[0] == "sequence"


def test_channels_at_their_own_levels_change_more_across_columns():
    # Correlated axes of one sensor sit side by side, so the columns look partly ordered; what
    # gives them away is that values jump between channels but change slowly in time.
    x = _grouped_sensors(300, 30)
    assert "more from column to column than from row to row" in sequence_evidence(x)
    assert infer_kind(x)[0] == "sequence"


@pytest.mark.parametrize("at", ["end", "start"])
def test_zero_padded_series_are_sequences(at):
    x = _padded(_sensors(300, 40, 12, offsets=False), at=at)
    assert f"padded with zero rows at the {at}" in sequence_evidence(x)
    assert infer_kind(x)[0] == "sequence"


# ------------------------------------------------------------------------------- images
@pytest.mark.parametrize("name, make", [
    ("digits 8x8 (real data)", lambda: _digits()),
    ("digits upsampled to 28x28", lambda: _digits(28)),
    ("noisy digits 8x8", lambda: _digits() + np.random.default_rng(0).normal(0, 4, (1797, 8, 8))),
    ("smooth 28x28 blobs", lambda: _blobs(300, 28, sigma=1.0)),
    ("smooth 64x64 blobs", lambda: _blobs(200, 64)),
    ("vertical streaks", lambda: gaussian_filter(
        np.random.default_rng(0).normal(size=(200, 32, 32)), (0, 8, 1))),
    ("digits in a 28x28 canvas with empty margins", lambda: _in_canvas(_digits(20), 28)),
])
def test_images_stay_images(name, make):
    x = make()
    assert sequence_evidence(x) is None, name
    kind, note = infer_kind(x)
    assert kind == "image" and note.endswith("(both sides look spatial)"), (name, note)


def test_colour_images_are_images():
    x = _blobs(100, 32, channels=3)
    assert infer_kind(x)[0] == "image"
    data = prepare_data(x, np.arange(100) % 2, seed=0)
    assert (data.task.kind, data.task.input_shape) == ("image", (32, 32, 3))


def test_natural_image_patches_are_images():
    from sklearn.datasets import load_sample_images

    grey = [image.mean(axis=2) for image in load_sample_images().images]
    patches = np.array([g[i:i + 32, j:j + 32] for g in grey
                        for i in range(0, 384, 32) for j in range(0, 608, 32)])
    assert sequence_evidence(patches) is None


# ------------------------------------------------- data that says nothing: the shape decides
@pytest.mark.parametrize("name, x", [
    ("zeros", np.zeros((50, 28, 28))),
    ("constant", np.full((50, 29, 12), 3.0)),
    ("white noise", np.random.default_rng(0).normal(size=(200, 28, 28))),
    ("copies of one signal", np.repeat(_sensors(100, 28, 1, offsets=False), 28, axis=2)
     + 0.01 * np.random.default_rng(0).normal(size=(100, 28, 28))),
    ("too few examples", _sensors(7, 29, 12)),  # 7 < MIN_EVIDENCE_EXAMPLES
    ("not finite", np.where(np.eye(29, 12, dtype=bool), np.inf, _sensors(50, 29, 12))),
])
def test_uninformative_data_keeps_the_shape_rule(name, x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 or inf - inf on the way
        assert sequence_evidence(x) is None, name
    assert infer_kind(x)[0] == "image", name


def test_evidence_reads_a_bounded_even_sample():
    rows = inference._evidence_rows(np.arange(5000 * 8 * 8, dtype=float).reshape(5000, 8, 8))
    assert len(rows) == inference.EVIDENCE_MAX_ROWS
    assert rows[0, 0, 0] == 0 and rows[-1, 0, 0] == 4999 * 64  # spread from first to last
    large = inference._evidence_rows(np.zeros((3000, 100, 100)))
    assert large.size <= inference.EVIDENCE_MAX_VALUES and len(large) >= 8
    huge = inference._evidence_rows(np.zeros((10, 1200, 1000)))
    assert len(huge) == 1  # one example of 1.2M values, not 8 of them


def test_the_note_says_why_and_how_to_override():
    x = _sensors(200, 29, 12)
    y = np.arange(200) % 2
    data = prepare_data(x, y, seed=0)
    assert (data.task.kind, data.task.input_shape) == ("sequence", (29, 12))
    assert "are channels" in data.note and "pass kind='image' to override" in data.note
    image = prepare_data(x, y, seed=0, kind="image")
    assert (image.task.kind, image.task.input_shape) == ("image", (29, 12, 1))
    digits = prepare_data(_digits(28), load_digits().target, seed=0)
    assert digits.task.kind == "image" and "kind='sequence'" in digits.note
