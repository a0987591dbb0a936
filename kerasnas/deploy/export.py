"""Exports a trained Keras model for deployment: `.keras`, TF Serving SavedModel, TFLite.

Three formats, all with preprocessing (the model's `Normalization` layers)
inside, so every artifact takes raw feature values:

* `"keras"`: `DIR/NAME.keras`, reloadable with `keras.saving.load_model`.
* `"savedmodel"`: TF Serving's layout `DIR/NAME/VERSION/` with a
  `serving_default` signature. Its one input is named `input_name` (default
  `"inputs"`); a classifier returns `probabilities` (float32, one column per
  class) and `label` (the predicted class in the user's own label values), a
  regressor returns `predictions`.
* `"tflite"`: `DIR/NAME.tflite`, float32 (no quantization); with `quantize`
  also `DIR/NAME_MODE.tflite` in that mode (`"int8"`: full-integer, calibrated
  on `representative_data`; `"float16"`, `"dynamic"`), through
  `kerasnas.hardware.convert`, the conversion the hardware-aware search timed.

Every artifact takes examples exactly as the user trained with (`input_shape`,
`input_dtype`: `(N, 8, 8)` digits, not the model's `(N, 8, 8, 1)`); the cast and
the channel axis happen inside (`deployment_model`).

A model of unequal-length series (`kerasnas.data.ragged`: its first layer is a
`ResampleSeries` / `PadSeries`) takes `(N, T, C)` of any length T, each series
padded with NaN after its end: so do the `.keras` file and the SavedModel (its
signature is `(None, None, C)`). TFLite needs a fixed shape: the `.tflite` file
takes `(N, L_max, C)`, each series NaN-padded to `L_max`; a longer series must
be resampled (`kerasnas.data.ragged.resample`) or cropped first (a warning says so).

Example:

>>> from kerasnas.deploy.export import export_model
>>> paths = export_model(model, "exports", classes=(0, 1, 2))   # doctest: +SKIP
>>> paths["savedmodel"]                                          # doctest: +SKIP
'exports/kerasnas_model/1'
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerasnas.deploy.ensemble import is_classifier  # also importable from here
from kerasnas.infra.atomic import replacing, write_bytes

FORMATS = ("keras", "savedmodel", "tflite")


def _check_formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(
            f"Unknown export format(s) {unknown or formats!r}; choose from {FORMATS}."
        )
    return formats


def export_model(model, directory, *, formats=FORMATS, name="kerasnas_model", version=1,
                 classes=None, input_name="inputs", input_shape=None,
                 input_dtype=None, quantize=None, representative_data=None) -> dict[str, str]:
    """Writes `model` in each of `formats` under `directory`.

    Args:
        model: A built Keras model (one input, one output).
        directory: Folder to write into (created if missing).
        formats: Any of `"keras"`, `"savedmodel"`, `"tflite"` (default: all three).
        name: Model name: the file stem and TF Serving's model folder
            (default `"kerasnas_model"`).
        version: TF Serving version number, a positive int (default 1).
        classes: For a classifier, the label value of each output column
            (default None: a regressor if the model's last layer is not a
            softmax, else the column indices are the labels).
        input_name: Name of the SavedModel signature's input (default `"inputs"`).
        input_shape: Per-example shape the exported artifacts take, e.g. the
            `(8, 8)` of the user's training `x` where the model takes
            `(8, 8, 1)` (default None: the model's own input shape). The
            reshape happens inside every artifact.
        input_dtype: dtype the artifacts take, e.g. `"uint8"` or `"float64"`
            (default None: float32); cast to float32 inside.
        quantize: With `"tflite"` in `formats`, also write `NAME_MODE.tflite`
            in this mode of `kerasnas.hardware.MODES` (`"int8"`, `"float16"`,
            `"dynamic"`; default None: only the float file). It takes examples
            in `input_shape`; the int8 file is fully integer, inputs and outputs
            included (quantize with the scale and zero point in its input
            details, as `kerasnas.hardware.tflite_predict` does).
        representative_data: The model's own inputs, `(N,) + model input shape`,
            that calibrate `quantize="int8"` (about 100 rows; required then).

    Returns:
        `{format: path}` for every format written; the quantized file under
        `"tflite_MODE"`.

    Raises:
        ValueError: on an unknown format, a bad version or name.
    """
    formats = _check_formats(formats)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive int (TF Serving's folder name), got {version!r}.")
    if not name or os.sep in str(name) or name in (".", ".."):
        raise ValueError(f"name must be a plain folder/file name, got {name!r}.")
    if not (hasattr(model, "inputs") and hasattr(model, "save")):
        raise TypeError(f"model must be a built keras.Model; got {type(model).__name__}. Pass "
                        "result.model, or load one with keras.saving.load_model(path).")
    sample = _quantized_sample(model, formats, quantize, representative_data)
    from kerasnas.infra.preflight import check_writable_directory

    directory = check_writable_directory(directory, what="export directory")
    target = directory / name / str(version)
    if "savedmodel" in formats and target.exists() and any(target.iterdir()):
        # Checked before any format is written, so a refused export changes no file.
        raise ValueError(f"{target} already exists and is not empty; choose another version "
                         f"(next_version(directory) gives {next_version(directory, name)}; "
                         "--version in the CLI) or remove it (TF Serving never overwrites a "
                         "version).")
    classification = classes is not None or is_classifier(model)
    tflite_source = (model, input_shape)
    model = deployment_model(model, input_shape, input_dtype, input_name=input_name)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    if "keras" in formats:
        paths["keras"] = export_keras(model, directory / f"{name}.keras")
    if "savedmodel" in formats:
        paths["savedmodel"] = export_saved_model(
            model, directory / name / str(version), classes=classes, input_name=input_name,
            classification=classification)
    if "tflite" in formats:
        paths["tflite"] = export_tflite(_tflite_part(model, *tflite_source, input_dtype,
                                                     input_name),
                                        directory / f"{name}.tflite")
    if quantize is not None:
        # Built on float32 inputs: a cast from uint8 in front would not quantize to int8.
        part = _tflite_part(deployment_model(tflite_source[0], tflite_source[1], None,
                                             input_name=input_name), *tflite_source, None,
                            input_name)
        paths[f"tflite_{quantize}"] = export_quantized(
            part, directory / f"{name}_{quantize}.tflite", quantize, sample)
    return paths


def _quantized_sample(model, formats, quantize, representative_data):
    """Checks the quantized export's arguments before anything is written; returns the
    calibration rows for int8 (None for the other modes)."""
    if quantize is None:
        return None
    from kerasnas.hardware.conversion import check_mode, representative_sample

    if check_mode(quantize) == "float32":
        raise ValueError("quantize='float32' is the plain 'tflite' format; pass quantize=None, "
                         "or one of 'int8', 'float16', 'dynamic'.")
    if "tflite" not in formats:
        raise ValueError(f"quantize={quantize!r} writes a .tflite file beside the float one: add "
                         "'tflite' to formats.")
    if quantize != "int8":
        return None
    if representative_data is None:
        raise ValueError("quantize='int8' needs representative_data: about 100 of the model's "
                         "training inputs, to calibrate activation ranges (or use "
                         "quantize='dynamic', which needs none).")
    sample = representative_sample(representative_data)
    from kerasnas.data.tabular import numeric_part, takes_columns

    network = numeric_part(model) if takes_columns(model) else model
    expected = tuple(int(d) for d in network.inputs[0].shape[1:] if d is not None)
    if int(np.prod(sample.shape[1:])) != int(np.prod(expected)):
        raise ValueError(f"representative_data has examples of shape {sample.shape[1:]}, but the "
                         f"model takes {expected}; pass the model's training inputs.")
    return sample


def export_quantized(model, path, mode, sample=None) -> str:
    """Converts `model` to a `mode` TFLite flatbuffer at `path` (`kerasnas.hardware.convert`;
    int8 calibrated on `sample`, reshaped to the model's input) and returns the path."""
    from kerasnas.hardware.conversion import convert

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if sample is not None:
        sample = sample.reshape((len(sample), *model.inputs[0].shape[1:]))
    write_bytes(path, convert(model, mode, representative_data=sample).flatbuffer)
    return str(path)


def next_version(directory, name="kerasnas_model") -> int:
    """One above the highest numeric version folder in `directory/name` (1 if there is none).

    TF Serving serves the highest version and never expects one to change, so
    re-exporting into the same folder adds a version instead of overwriting.
    """
    folder = Path(directory) / name
    versions = [int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()] \
        if folder.is_dir() else []
    return max(versions, default=0) + 1


def export_keras(model, path) -> str:
    """Saves `model` as a `.keras` file at `path` and returns the path."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"A Keras model file must end in '.keras', got {str(path)!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:  # a kill leaves the old file or the new one, never half of one
        model.save(tmp)
    return str(path)


def deployment_model(model, input_shape=None, input_dtype=None, *, input_name="inputs"):
    """`model` behind an input that takes examples exactly as the user trained with.

    kerasnas models take float32 with a channel axis (`(8, 8, 1)` for 8x8
    images, `(40, 1)` for sequences); users train with `(N, 8, 8)` uint8 or
    `(N, 40)` float64. The returned model casts and reshapes inside, so the
    `.keras` file, the SavedModel and the TFLite model take the user's own
    arrays. Returns `model` itself when nothing needs adapting.

    Args:
        model: A built single-input Keras model.
        input_shape: Per-example shape to accept (default None: the model's).
        input_dtype: dtype to accept (default None: float32).
        input_name: Name of the new input (default `"inputs"`).

    Example:

    >>> wrapped = deployment_model(model, (8, 8), "uint8")     # doctest: +SKIP
    >>> wrapped.input_shape                                     # doctest: +SKIP
    (None, 8, 8)
    """
    import math

    import keras
    import numpy as np

    from kerasnas.data.tabular import takes_columns

    if takes_columns(model):  # a typed table takes its named columns as they are
        return model
    model_shape = _dims(model.inputs[0].shape[1:])
    shape = model_shape if input_shape is None else _dims(input_shape)
    dtype = np.dtype("float32" if input_dtype is None else input_dtype)
    if dtype.kind not in "biuf":
        raise ValueError(f"input_dtype must be a numeric dtype, got {input_dtype!r}.")
    if None in model_shape or None in shape:  # any length: only a channel axis of 1 may differ
        if shape != model_shape and shape + (1,) != model_shape:
            raise ValueError(f"input_shape {shape} does not fit the model's input "
                             f"{model_shape}; pass the model's shape or drop its last axis "
                             "of 1.")
    elif math.prod(shape) != math.prod(model_shape):
        raise ValueError(f"input_shape {shape} has {math.prod(shape)} values per example but the "
                         f"model takes {model_shape} ({math.prod(model_shape)} values).")
    if shape == model_shape and dtype == np.float32:
        return model
    inputs = keras.Input(shape, dtype=dtype.name, name=input_name)
    x = inputs if dtype == np.float32 else keras.ops.cast(inputs, "float32")
    if shape != model_shape:
        target = model_shape if None not in model_shape else (-1,) + model_shape[1:]
        x = keras.layers.Reshape(target, name="to_model_shape")(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_deploy")


def _dims(shape) -> tuple:
    """A per-example shape as ints, None where any size goes (a series' length)."""
    return tuple(None if d is None else int(d) for d in shape)


def export_saved_model(model, path, *, classes=None, input_name="inputs",
                       classification=None) -> str:
    """Writes a SavedModel with a TF Serving `serving_default` signature to `path`.

    Args:
        model: A built single-input Keras model.
        path: The version folder, e.g. `exports/digits/1` (TF Serving's
            `MODEL_BASE_PATH/NAME/VERSION` layout).
        classes: Label value of each output column of a classifier (default
            None). When given (or when the output layer is a softmax) the
            signature returns `probabilities` and `label`; otherwise it
            returns `predictions`.
        input_name: Name of the signature's input (default `"inputs"`).
        classification: Whether the model is a classifier (default None:
            `classes` is given or the output layer is a softmax).

    Returns:
        `path` as a string.

    A request whose examples have another shape than the model's input fails
    with `InvalidArgumentError` naming the expected shape (TF Serving's
    signature alone does not check it and would answer wrongly).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise ValueError(f"{path} already exists and is not empty; choose another version or "
                         "remove it (TF Serving never overwrites a version).")
    input_shape = _dims(model.inputs[0].shape[1:])
    signature = [tf.TensorSpec((None,) + input_shape, model.inputs[0].dtype, name=input_name)]
    if classification is None:
        classification = classes is not None or is_classifier(model)

    # The signature's static shape is not enforced on requests, and a wrong rank must not
    # reach a shape comparison (it fails without saying what was expected): compare both
    # shapes padded with -1 to one length instead (-2: any size, a series' length).
    width = len(input_shape) + 8
    expected = tf.constant([-2 if d is None else d for d in input_shape]
                           + [-1] * (width - len(input_shape)), tf.int32)
    shown = ", ".join("T" if d is None else str(d) for d in input_shape)

    def checked(x):
        shape = tf.shape(x)
        padded = tf.concat([shape[1:], tf.fill([width], -1)], axis=0)[:width]
        ok = tf.reduce_all(tf.equal(padded, expected)
                           | (tf.equal(expected, -2) & tf.greater_equal(padded, 0)))
        check = tf.debugging.Assert(ok, [
            f"kerasnas: each example must have shape ({shown}) "
            f"(a request of shape (N, {shown})"
            + ("; T: any length, NaN after each series' end" if None in input_shape else "")
            + "); got a request of shape", shape])
        # The model's ops must wait for the check: without the dependency they may run first
        # and fail on the shape without saying what was expected (seen once in 3 runs).
        with tf.control_dependencies([check]):
            return tf.identity(x)

    from kerasnas.data.tabular import column_signature, takes_columns

    if takes_columns(model):  # a typed table: one (N,) input per column, in its own dtype
        signature, checked = column_signature(model)

    if classification:
        num_classes = int(model.outputs[0].shape[-1])
        values = np.arange(num_classes) if classes is None else np.asarray(classes)
        if len(values) != num_classes:
            raise ValueError(f"classes has {len(values)} values but the model outputs "
                             f"{num_classes} columns.")
        if values.dtype.kind == "U" or values.dtype == object:
            values = values.astype(str)

        def serve(*x):
            probabilities = model(checked(*x), training=False)
            index = tf.argmax(probabilities, axis=-1)
            return {"probabilities": probabilities,
                    "label": tf.gather(tf.constant(values), index)}
    else:
        def serve(*x):
            return {"predictions": model(checked(*x), training=False)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve, input_signature=signature)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:  # the version folder appears whole or not at all
        archive.write_out(tmp, verbose=False)
    return str(path)


def _tflite_part(model, source=None, input_shape=None, input_dtype=None, input_name="inputs"):
    """What TFLite can convert: a typed table's network without its column encoder.

    String lookups are not TFLite builtins, so for a model taking named columns
    the `.tflite` file takes the encoded float32 rows instead (with a warning).
    A model of unequal-length series (`source`, before `deployment_model`) is
    converted at its fixed training length `L_max` (with a warning).
    """
    import warnings

    from kerasnas.data.ragged import fixed_length, takes_series
    from kerasnas.data.tabular import numeric_part, takes_columns

    if source is not None and takes_series(source):
        fixed = fixed_length(source)
        length = int(fixed.inputs[0].shape[1])
        shape = None if input_shape is None else (length,) + _dims(input_shape)[1:]
        warnings.warn(f"TFLite takes a fixed shape: the .tflite file takes series of exactly "
                      f"{length} steps (the longest training series); pad each shorter series "
                      "with NaN after its end (the model resamples / pads it as in training) "
                      f"and resample a longer one to {length} steps first "
                      "(kerasnas.data.ragged.resample; with ragged='pad', crop it). The "
                      "SavedModel and the .keras file take any length.", UserWarning,
                      stacklevel=3)
        return deployment_model(fixed, shape, input_dtype, input_name=input_name)
    if not takes_columns(model):
        return model

    warnings.warn("TFLite has no string lookups: the .tflite file holds the network behind the "
                  "column encoder and takes encoded float32 rows; serve raw columns with the "
                  "SavedModel or the .keras file.", UserWarning, stacklevel=3)
    return numeric_part(model)


def export_tflite(model, path) -> str:
    """Converts `model` to a float32 TFLite flatbuffer at `path` and returns the path."""
    import contextlib
    import io

    import tensorflow as tf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The converter exports a temporary SavedModel and prints its signature: keep stdout clean.
    with contextlib.redirect_stdout(io.StringIO()):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        flatbuffer = converter.convert()
    write_bytes(path, flatbuffer)
    return str(path)
