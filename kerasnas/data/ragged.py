"""Unequal-length series: a list of `(L_i, C)` arrays in, fixed `(N, L_max, C)` arrays out.

aeon, sktime and tslearn hand out data sets whose series differ in length as a
list of arrays. `kerasnas.search(x, y)` and `kerasnas.data.prepare_data` accept
`x` as a list (or tuple, or 1-D numpy object array) of

* 2-D `(L_i, C)` arrays (time steps first, the same `C` channels in each), or
* 1-D `(L_i,)` arrays (one channel),

of different lengths `L_i`; `validation_data` may come in the same form (or
as a fixed numpy array). A list whose series all have one shape is stacked
into one array and read as before. Every series is checked before any
training: a clear error names the series and the fix for mixed channel counts
(including aeon's own `(C, L_i)` layout: pass `[s.T for s in x]`), an empty
series, a series shorter than `MIN_LENGTH` (2) steps, NaN or inf inside a
series, and non-numeric values.

How the model sees them (`ragged=`, `METHODS`; the default is `DEFAULT_METHOD`):

* `"pad"` (default): each series keeps its steps and is padded at its end up
  to `L_max`, the longest series in `x`, with its channel's training mean,
  which the model's normalisation maps to 0 (`pad`).
* `"resample"`: each series is linearly interpolated to `L_max` steps; its
  first and last steps are kept (`resample`).

Why pad: on UCR/UEA sets made ragged by cropping every series to a random
window of 50-100 % of its length (`benchmarks/ragged.py`, `time_budget=60`,
seeds 0 and 1), padding scored a test accuracy of 0.723 vs 0.640 on ArrowHead
and 0.857 vs 0.830 on GunPoint, and tied at 1.000 on BasicMotions. Padding
keeps each series' time scale, which the convolutions rely on; resampling
stretches a short series (a half-length window twice). Pass
`ragged="resample"` when the series are one motion recorded at different
speeds or rates, where stretching them aligns them.

The search's trials train on the fixed `(N, L_max, C)` arrays, so every
search space is unchanged. The *final* model (`result.model`, its `.keras`
file and its SavedModel) is wrapped: `Input((None, C))` -> `ResampleSeries` or
`PadSeries` (`kerasnas.spaces.layers`) -> the searched model. It takes a batch
`(N, T, C)` of any length `T` in which each series is padded with NaN after its
end (`nan_padded` builds one; `result.predict` and `result.evaluate` take the
list itself and do it), finds each series' length from its NaN tail and applies
the training transform (equal to the numpy one within float32 rounding).

Series longer than `L_max` at prediction: `"pad"` crops them to their first
`L_max` steps (with a warning from `result.predict`); `"resample"` resamples
them down to `L_max` like any other. Shorter ones are fine, down to one step (a
training series needs `MIN_LENGTH`).

Export: the SavedModel's `serving_default` takes `(None, None, C)` (`(None,
None)` when the training series were 1-D), NaN-padded as above. A TFLite
model has a fixed shape: the `.tflite` file takes `(N, L_max, C)`, each series
NaN-padded to `L_max` (it contains the same layer); a series longer than
`L_max` must first be resampled (`resample(series, L_max)`) or, for `"pad"`,
cropped by the caller. `export` warns about it.

Example:

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = [rng.normal(size=(int(n), 3)) for n in rng.integers(20, 41, size=40)]
>>> from kerasnas.data import prepare_data
>>> data = prepare_data(x, [0, 1] * 20, seed=0)
>>> data.x_train.shape[1:], data.task.max_length == max(len(s) for s in x)
((40, 3), True)
>>> resample([np.array([0.0, 2.0])], 3)[0, :, 0].tolist()
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

#: The ways a series reaches the model's fixed length (`ragged=` of `search` / `prepare_data`).
METHODS = ("resample", "pad")
#: The default `ragged=` method (chosen by measurement, see the module docstring).
DEFAULT_METHOD = "pad"
#: Fewest time steps a series must have.
MIN_LENGTH = 2


# ------------------------------------------------------------------ recognising and checking
def series_list(x):
    """The elements of `x` when it is a list / tuple / 1-D object array of arrays, else None.

    Only such containers whose elements are array-likes (numpy arrays, lists,
    tuples, pandas Series) qualify; a nested list of numbers is one.
    """
    if isinstance(x, np.ndarray):
        if x.dtype != object or x.ndim != 1:
            return None
    elif not isinstance(x, (list, tuple)):
        return None
    items = list(x)
    if not items or not any(_array_like(s) for s in items):
        return None
    return items


def is_ragged(x) -> bool:
    """Whether `x` is a list of series whose shapes differ (what `prepare_data` routes here)."""
    items = series_list(x)
    if items is None:
        return False
    shapes = set()
    for s in items:
        try:
            shapes.add(np.shape(s))
        except ValueError:  # a nested list that is itself ragged
            return True
    return len(shapes) > 1


def check_series(x, name="x", channels=None, channels_of="the training series",
                 min_length=MIN_LENGTH):
    """Each series of `x` as a float32 `(L_i, C)` array, checked: `(series, one_dimensional)`.

    Args:
        x: A list (tuple, 1-D object array) of `(L_i, C)` or `(L_i,)` arrays, or a
            numpy array `(N, L)` / `(N, L, C)` (read as N series of length L).
        name: How errors name `x` (default `"x"`).
        channels: The channel count every series must have (default None: that of
            the first series).
        channels_of: What had `channels`, for the error (default "the training series").
        min_length: Fewest steps a series may have (default `MIN_LENGTH`; 1 at prediction).

    Raises:
        ValueError: no series, a series of rank 0 or above 2, mixed channel counts,
            an empty series, one shorter than `MIN_LENGTH`, NaN or inf values.
        TypeError: non-numeric values.
    """
    items = series_list(x)
    if items is None:
        if isinstance(x, np.ndarray) and x.ndim in (2, 3) and x.dtype != object:
            items = list(x)
        else:
            raise TypeError(f"{name} must be a list of series, each a (length, channels) or "
                            f"(length,) array; got {type(x).__name__}.")
    if not items:
        raise ValueError(f"{name} is empty; pass at least two series.")
    series, one_d, first = [], True, None
    for i, s in enumerate(items):
        array = _numeric(s, f"{name}[{i}]")
        if array.ndim == 0 or array.ndim > 2:
            raise ValueError(f"{name}[{i}] has shape {array.shape}; each series must be a "
                             "(length, channels) or (length,) array.")
        one_d = one_d and array.ndim == 1
        array = array[:, None] if array.ndim == 1 else array
        if first is None:
            first = (i, array.shape)
            given, channels = channels is not None, array.shape[1] if channels is None else channels
        if array.shape[1] != channels:
            if given:
                raise ValueError(f"{name}[{i}] has {array.shape[1]} channel(s) per time step, "
                                 f"but {channels_of} have {channels}; pass series of shape "
                                 f"(length, {channels}).")
            raise ValueError(_channel_error(name, items, first, i, array.shape, channels))
        if len(array) == 0:
            raise ValueError(f"{name}[{i}] is empty (length 0); drop empty series (and their "
                             "targets) before searching.")
        if len(array) < min_length:
            raise ValueError(f"{name}[{i}] has {len(array)} time step(s); every series needs at "
                             f"least {min_length}. Drop such series (and their targets), or "
                             "repeat their values to lengthen them.")
        bad = ~np.isfinite(array)
        if bad.any():
            step, channel = np.unravel_index(int(np.argmax(bad)), array.shape)
            raise ValueError(f"{name}[{i}] has {int(bad.sum())} NaN or infinite value(s), the "
                             f"first at time step {int(step)}, channel {int(channel)}; impute "
                             "them (e.g. pandas' interpolate()) or drop the series. A series "
                             "in a list must not carry NaN padding: give each one at its own "
                             "length.")
        series.append(array)
    return series, one_d


def _array_like(value) -> bool:
    return isinstance(value, (np.ndarray, list, tuple)) or (
        type(value).__name__ == "Series" and hasattr(value, "to_numpy"))


def _numeric(value, name) -> np.ndarray:
    if type(value).__name__ in ("Series", "DataFrame") and hasattr(value, "to_numpy"):
        value = value.to_numpy()
    try:
        array = np.asarray(value)
    except ValueError:
        raise ValueError(f"{name} is itself ragged (its rows differ in length); each series "
                         "must be a (length, channels) or (length,) array.") from None
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} has non-numeric values; series must hold numbers. Encode "
                            "them as numbers first.") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} has non-numeric values (dtype {array.dtype}); series must "
                        "hold numbers. Encode them as numbers first.")
    with np.errstate(over="ignore"):
        return array.astype(np.float32)


def _channel_error(name, items, first, i, shape, channels):
    shapes = [np.shape(s) for s in items]
    if all(len(s) == 2 for s in shapes) and len({s[0] for s in shapes}) == 1 \
            and len({s[1] for s in shapes}) > 1:
        return (f"{name}'s series all have {shapes[0][0]} rows but differ in their columns "
                f"({name}[{first[0]}] {shapes[first[0]]}, {name}[{i}] {shapes[i]}): this looks "
                "like aeon's (channels, length) layout. kerasnas takes (length, channels): "
                f"pass [s.T for s in {name}].")
    return (f"{name}[{i}] has {shape[1]} channel(s) but the series have {channels} "
            f"({name}[{first[0]}] has shape {first[1]}); every series needs the same channels "
            "(the C of (length, C)). Select the same channels in each series.")


# ------------------------------------------------------------------ the two methods (numpy)
def resample(series, length) -> np.ndarray:
    """Each `(L_i, C)` series linearly interpolated to `length` steps: `(N, length, C)` float32.

    Step `j` is the series at position `j * (L_i - 1) / (length - 1)`, so the first
    and last steps are kept; what `ResampleSeries` computes inside the model.
    """
    series = [np.asarray(s, np.float64).reshape(len(s), -1) for s in series]
    out = np.empty((len(series), length, series[0].shape[1] if series else 1), np.float32)
    for i, s in enumerate(series):
        last = len(s) - 1
        positions = np.arange(length) * (last / max(length - 1, 1))
        low = np.minimum(np.floor(positions).astype(np.int64), last)
        high = np.minimum(low + 1, last)
        weight = (positions - low)[:, None]
        out[i] = s[low] * (1.0 - weight) + s[high] * weight
    return out


def pad(series, length, values=0.0) -> np.ndarray:
    """Each `(L_i, C)` series padded at its end with `values` (per channel) to `length` steps.

    A series longer than `length` is cropped to its first `length` steps. What
    `PadSeries` computes inside the model. Returns `(N, length, C)` float32.
    """
    channels = np.asarray(series[0]).reshape(len(series[0]), -1).shape[1] if series else 1
    out = np.empty((len(series), length, channels), np.float32)
    out[:] = np.broadcast_to(np.asarray(values, np.float32), (channels,))
    for i, s in enumerate(series):
        s = np.asarray(s, np.float32).reshape(len(s), -1)[:length]
        out[i, :len(s)] = s
    return out


def channel_means(series) -> tuple:
    """The mean of every channel over all time steps of all series (the padding value)."""
    total = sum(np.asarray(s, np.float64).sum(axis=0) for s in series)
    return tuple(float(v) for v in total / sum(len(s) for s in series))


def to_fixed(series, task) -> np.ndarray:
    """`series` (checked, `(L_i, C)`) as the `(N, L_max, C)` array the task's model was trained on."""
    if task.ragged_method == "pad":
        return pad(series, task.max_length, task.pad_values)
    return resample(series, task.max_length)


def nan_padded(series, length=None) -> np.ndarray:
    """`(N, T, C)` float32: each `(L_i, C)` series followed by NaN up to `T` (default: the longest).

    The batch form the wrapped model (and the SavedModel) takes.
    """
    series = [np.asarray(s, np.float32).reshape(len(s), -1) for s in series]
    length = max(len(s) for s in series) if length is None else length
    out = np.full((len(series), length, series[0].shape[1]), np.nan, np.float32)
    for i, s in enumerate(series):
        out[i, :len(s)] = s[:length]
    return out


def lengths_of(batch) -> np.ndarray:
    """The true length of each series of a NaN-tailed `(N, T, C)` batch (numpy `series_lengths`)."""
    valid = ~np.all(np.isnan(batch), axis=-1)
    steps = np.arange(1, batch.shape[1] + 1)
    return np.max(np.where(valid, steps, 0), axis=1)


# ------------------------------------------------------------------ prepare_data's path
def prepare_ragged(x, y, *, validation_data=None, validation_split=0.2, seed=None, kind=None,
                   problem=None, method=DEFAULT_METHOD):
    """`prepare_data` for a list of unequal-length series (see the module docstring).

    Returns:
        A `PreparedData` whose `x_train` / `x_val` are `(N, L_max, C)` float32 and
        whose task records `max_length`, `min_length`, `ragged_method` and (for
        `"pad"`) `pad_values`.
    """
    from kerasnas.data.adapters import as_targets, check_lengths
    from kerasnas.data.inference import infer_task
    from kerasnas.data.labels import encode_targets
    from kerasnas.data.splits import split_indices
    from kerasnas.data.task import PreparedData

    if kind not in (None, "sequence"):
        raise ValueError(f"x is a list of unequal-length series, which kerasnas reads as "
                         f"sequences; kind={kind!r} does not fit it. Leave kind out (or pass "
                         "kind='sequence'); images of different sizes must be resized to one "
                         "size first.")
    series, one_d = check_series(x, "x")
    y_arr = as_targets(y, "y")
    check_lengths(series, y_arr, "x", "y")
    lengths = [len(s) for s in series]
    length, channels = max(lengths), series[0].shape[1]
    shape_only = np.broadcast_to(np.float32(0), (len(series), length, channels))
    task, y_enc = infer_task(shape_only, y_arr, "sequence", problem, None)
    if validation_data is None:
        train_idx, val_idx = split_indices(y_enc, task, validation_split, seed)
        train = [series[i] for i in train_idx]
        val, y_train, y_val = [series[i] for i in val_idx], y_enc[train_idx], y_enc[val_idx]
    else:
        from kerasnas.data.loaders import validation_source

        x_val, y_val_raw = validation_source(validation_data)
        val, _ = check_series(x_val, "validation x", channels=channels, channels_of="x's series")
        yv = as_targets(y_val_raw, "validation y")
        check_lengths(val, yv, "validation x", "validation y")
        train, y_train, y_val = series, y_enc, encode_targets(yv, task, "validation y")
    values = channel_means(train) if method == "pad" else None
    task = dataclasses.replace(task, raw_shape=(None,) if one_d else (None, channels),
                               raw_dtype="float32", max_length=length, min_length=min(lengths),
                               ragged_method=method, pad_values=values)
    how = ("linearly resampled to" if method == "resample"
           else "padded at their end (channel means) to")
    other = "pad" if method == "resample" else "resample"
    note = (f"x is a list of {len(series)} series of lengths {min(lengths)}-{length} with "
            f"{channels} channel(s): unequal-length sequences, {how} {length} steps "
            f"(ragged={method!r}; pass ragged={other!r} for the other way)")
    return PreparedData(to_fixed(train, task), y_train, to_fixed(val, task), y_val, task, note)


# ------------------------------------------------------------------ the final model
def model_input(x, task) -> np.ndarray:
    """`x` (a list of series, or a NaN-tailed `(N, T[, C])` array) as the wrapped model's batch.

    Used by `SearchResult.predict` / `evaluate` for a search on unequal-length series.
    """
    channels = int(task.input_shape[-1])
    if series_list(x) is None and isinstance(x, np.ndarray) and x.dtype.kind in "biuf" \
            and x.ndim in (2, 3):
        batch = np.asarray(x, np.float32)
        batch = batch[..., None] if batch.ndim == 2 else batch
        if batch.shape[-1] != channels:
            raise ValueError(f"x has {batch.shape[-1]} channel(s) per time step, but this search "
                             f"was trained on series of {channels}; pass (N, length, "
                             f"{channels}) arrays or a list of (length, {channels}) series.")
        _check_nan_tail(batch)
        lengths = lengths_of(batch)
    else:
        series, _ = check_series(x, "x", channels=channels, min_length=1,
                                 channels_of="the series this search was trained on")
        batch, lengths = nan_padded(series), np.array([len(s) for s in series])
    if task.ragged_method == "pad" and lengths.max(initial=0) > task.max_length:
        warnings.warn(f"{int(np.sum(lengths > task.max_length))} series are longer than the "
                      f"longest training series ({task.max_length} steps); with ragged='pad' "
                      "the model keeps only their first steps.", UserWarning, stacklevel=3)
    return batch


def _check_nan_tail(batch):
    lengths = lengths_of(batch)
    inside = np.arange(batch.shape[1])[None, :] < lengths[:, None]
    bad = inside[:, :, None] & ~np.isfinite(batch)
    if bad.any():
        i, step, channel = np.unravel_index(int(np.argmax(bad)), batch.shape)
        raise ValueError(f"x[{int(i)}] has a NaN or infinite value at time step {int(step)}, "
                         f"channel {int(channel)}, before its end; NaN may only pad a series "
                         "after its last step. Impute it, or pass a list of series.")
    if np.any(lengths == 0):
        raise ValueError(f"x[{int(np.argmax(lengths == 0))}] is all NaN (an empty series); "
                         "drop it.")


def series_layer(task, name="to_training_length"):
    """The layer that turns a NaN-tailed batch into the task's fixed training length."""
    from kerasnas.spaces.layers import PadSeries, ResampleSeries

    if task.ragged_method == "pad":
        return PadSeries(task.max_length, values=list(task.pad_values), name=name)
    return ResampleSeries(task.max_length, name=name)


def with_series_input(model, task):
    """`Input((None, C))` -> `series_layer(task)` -> `model`: one model taking any length."""
    import keras

    channels = int(task.input_shape[-1])
    inputs = keras.Input((None, channels), name="series")
    return keras.Model(inputs, model(series_layer(task)(inputs)), name=f"{model.name}_series")


def _series_layer_index(model):
    from kerasnas.spaces.layers import PadSeries, ResampleSeries

    for i, layer in enumerate(getattr(model, "layers", ())):
        if isinstance(layer, (PadSeries, ResampleSeries)):
            return i
    return None


def takes_series(model) -> bool:
    """Whether `model` was built by `with_series_input` (a series layer right after its input)."""
    return _series_layer_index(model) is not None


def fixed_length(model):
    """A model built by `with_series_input` behind an `Input((L_max, C))` (what TFLite converts).

    It shares the layers (and weights); each series is NaN-padded to `L_max`.
    """
    import keras

    at = _series_layer_index(model)
    layer = model.layers[at]
    inputs = keras.Input((layer.length, int(model.inputs[0].shape[-1])), name="series")
    x = inputs
    for layer in model.layers[at:]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_fixed")


__all__ = ["METHODS", "DEFAULT_METHOD", "MIN_LENGTH", "series_list", "is_ragged", "check_series",
           "resample", "pad", "channel_means", "to_fixed", "nan_padded", "lengths_of",
           "prepare_ragged", "model_input", "series_layer", "with_series_input", "takes_series",
           "fixed_length"]
