"""`NASHyperModel`: the Keras Tuner `HyperModel` every kerasnas search space extends.

A space pairs a Keras-free `Encoding` (its decisions, see `architecture.py`)
with the code that turns one `Architecture` into a compiled Keras model. The
hyperparameters it declares are exactly the encoding's decisions, so plain
Keras Tuner tuners and kerasnas's architecture oracles both drive it.

Subclasses set `input_ranks` (the allowed `len(input_shape)`), implement
`make_encoding(**space_args)` and `build_body(x, arch) -> features`.

Example:

>>> import numpy as np
>>> from kerasnas.spaces import NB201Space
>>> space = NB201Space((8, 8, 1), num_classes=10, channels=4, cells_per_stage=1)
>>> arch = space.sample(np.random.default_rng(0))
>>> model = space.build_architecture(arch)
>>> model.output_shape
(None, 10)
"""

from __future__ import annotations

import numbers
import re
from typing import Any

import keras
import keras_tuner
import numpy as np

from kerasnas.spaces.architecture import Architecture, Encoding
from kerasnas.spaces.cost import count_flops, count_params

_RANK_NAMES = {1: "(features,)", 2: "(length, channels)", 3: "(height, width, channels)"}


class NASHyperModel(keras_tuner.HyperModel):
    """Common base of the search spaces.

    Args:
        input_shape: Shape of one example without the batch axis, e.g.
            `(32, 32, 3)` for images, `(128, 1)` for sequences, `(20,)` for
            tabular data (which ranks are allowed depends on the space).
        num_classes: Number of classes (>= 2) for classification: softmax
            `Dense(num_classes)` head, `sparse_categorical_crossentropy` loss
            and `["accuracy"]`. Default None: regression with a linear
            `Dense(output_dim)` head, `"mse"` loss and `["mae"]`.
        output_dim: Regression targets per example (default 1; ignored for
            classification).
        optimizer: Keras optimizer name (default `"adam"`) or an optimizer
            instance (each model gets a fresh copy of it).
        learning_rate: Learning rate when `optimizer` is a name (default 1e-3).
        preprocessing: Optional list of already adapted Keras layers applied
            right after the `Input` (e.g. a `keras.layers.Normalization`), so
            they are part of every built and exported model. The same layer
            objects are shared by all built models. Default None.
        target_scale: Regression only: `(mean, variance)` of the training
            targets, one value per output (default None: the head predicts raw
            targets). The head then predicts standardised targets and a fixed
            `Normalization(invert=True)` maps them back, so the model still
            predicts in the user's units but starts at the targets' mean: a
            target like 25-346 is otherwise hundreds of Adam steps from the
            head's zero start. `kerasnas.search` sets it for regression.
        jit_compile: Passed to `model.compile` (default False). Keras's
            `"auto"` compiles every candidate with XLA, which on CPU costs
            about 30 s per trial for a small cell network (measured on digits,
            4x the time of three epochs): more than it saves in a short trial.
        name: Name of the hypermodel (default None).
        **space_args: The space's own arguments, passed to `make_encoding`.
    """

    #: Allowed values of `len(input_shape)`.
    input_ranks: tuple[int, ...] = (2, 3)

    def __init__(self, input_shape, num_classes=None, *, output_dim=1, optimizer="adam",
                 learning_rate=1e-3, preprocessing=None, jit_compile=False, name=None,
                 target_scale=None, **space_args):
        super().__init__(name=name, tunable=True)
        self.input_shape = self._check_input_shape(input_shape)
        if num_classes is not None and (isinstance(num_classes, bool)
                                        or not isinstance(num_classes, numbers.Integral)
                                        or num_classes < 2):
            raise ValueError(f"num_classes must be an int >= 2 for classification, or None for "
                             f"regression; got {num_classes!r}.")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.output_dim = positive_int(output_dim, "output_dim")
        if not isinstance(optimizer, (str, keras.optimizers.Optimizer)):
            raise TypeError(f"optimizer must be a name like 'adam' or a keras.optimizers.Optimizer,"
                            f" got {optimizer!r}.")
        self.optimizer = optimizer
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real) \
                or not learning_rate > 0:
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}.")
        self.learning_rate = float(learning_rate)
        preprocessing = [] if preprocessing is None else list(preprocessing)
        for layer in preprocessing:
            if not isinstance(layer, keras.layers.Layer):
                raise TypeError(f"preprocessing must be a list of Keras layers; got {layer!r}.")
        self.preprocessing = preprocessing
        self.jit_compile = jit_compile
        self.target_scale = self._check_target_scale(target_scale)
        self.space_args = dict(space_args)
        self.encoding: Encoding = self.make_encoding(**space_args)

    def _check_target_scale(self, target_scale):
        if target_scale is None:
            return None
        if self.num_classes is not None:
            raise ValueError("target_scale is for regression; this space classifies "
                             f"{self.num_classes} classes. Leave target_scale=None.")
        try:
            mean, variance = (np.asarray(v, "float64").reshape(-1) for v in target_scale)
        except (TypeError, ValueError):
            raise ValueError(f"target_scale must be (mean, variance); got {target_scale!r}.") from None
        if len(mean) != self.output_dim or len(variance) != self.output_dim:
            raise ValueError(f"target_scale needs {self.output_dim} mean(s) and variance(s), one "
                             f"per output; got {len(mean)} and {len(variance)}.")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))
                and np.all(variance >= 0)):
            raise ValueError(f"target_scale must be finite with variance >= 0; got {target_scale!r}.")
        variance = np.where(variance > 0, variance, 1.0)  # a constant target: shift only
        return [float(m) for m in mean], [float(v) for v in variance]

    #: Search-time down-scaling (`kerasnas.estimation.fidelity`): `{"width": w, "cells": n,
    #: "resolution": r}`; empty (default) builds at full size.
    fidelity: dict = {}
    #: Knobs of `fidelity` this space reads besides `resolution` (default: none).
    FIDELITY_KNOBS: tuple = ()

    def scaled_width(self, width: int) -> int:
        """`width` channels times the `fidelity` width multiplier (rounded, at least 1)."""
        return max(1, int(round(int(width) * self.fidelity.get("width", 1.0))))

    # ----------------------------------------------------------- subclasses
    def make_encoding(self, **space_args) -> Encoding:
        """Validates the space's arguments and returns its `Encoding`."""
        raise NotImplementedError

    def build_body(self, x, arch: Architecture):
        """Builds the network on `x` (after preprocessing); returns `(batch, features)`."""
        raise NotImplementedError

    # ---------------------------------------------------------------- task
    @property
    def task(self) -> str:
        """`"classification"` or `"regression"`."""
        return "regression" if self.num_classes is None else "classification"

    @property
    def spatial_rank(self) -> int:
        """0 for tabular `(D,)` inputs, 1 for `(L, C)`, 2 for `(H, W, C)`."""
        return len(self.input_shape) - 1

    # -------------------------------------------------------- Keras Tuner
    def declare_hyperparameters(self, hp):
        """Declares the encoding's decisions on `hp` (cheap: builds no model)."""
        self.encoding.declare(hp)

    def build(self, hp):
        """Keras Tuner entry point: the compiled model of `hp`'s architecture."""
        self.declare_hyperparameters(hp)
        return self.build_architecture(self.encoding.from_hp_values(hp.values))

    # ---------------------------------------------------------- building
    def architecture(self, arch) -> Architecture:
        """`arch` as an `Architecture` of this space.

        Accepts an `Architecture` of this space's encoding, its string form, or
        a dict of decision values.
        """
        if isinstance(arch, Architecture):
            if arch.encoding != self.encoding:
                raise ValueError(f"Architecture {arch!r} belongs to {arch.encoding!r}, not to this "
                                 f"space's {self.encoding!r}.")
            return arch
        if isinstance(arch, str):
            return self.encoding.from_string(arch)
        if isinstance(arch, dict):
            return self.encoding.from_hp_values(arch)
        raise TypeError(f"Expected an Architecture, its string or a dict of values; got {arch!r}.")

    def build_architecture(self, arch, compile: bool = True, *,
                           input_downscale: int = 1) -> keras.Model:
        """The functional Keras model of `arch`.

        Args:
            arch: An `Architecture` of this space (or its string / values dict).
            compile: Compile with the space's optimizer, loss and metrics
                (default True).
            input_downscale: Average-pool the (preprocessed) input by this factor
                before the network, an int >= 1 (default 1: none); a hardware
                setting that codesign searches (`kerasnas.hardware.codesign`).

        Returns:
            A `keras.Model`.
        """
        arch = self.architecture(arch)
        if isinstance(input_downscale, bool) or int(input_downscale) != input_downscale \
                or input_downscale < 1:
            raise ValueError(f"input_downscale must be an int >= 1; got {input_downscale!r}.")
        if input_downscale > 1 and self.spatial_rank not in (1, 2):
            raise ValueError(f"input_downscale pools a sequence or an image; this space takes "
                             f"{self.input_shape}. Pass input_downscale=1.")
        inputs = keras.Input(self.input_shape)
        x = inputs
        for layer in self.preprocessing:
            x = layer(x)
        resolution = self.fidelity.get("resolution", 1.0)
        if resolution < 1.0 and self.spatial_rank == 2:  # a down-scaled proxy's input
            size = [max(1, int(round(s * resolution))) for s in self.input_shape[:2]]
            x = keras.layers.Resizing(*size, name="fidelity_resize")(x)
        if input_downscale > 1:
            pool = (keras.layers.AveragePooling2D if self.spatial_rank == 2
                    else keras.layers.AveragePooling1D)
            x = pool(int(input_downscale), padding="same", name="input_downscale")(x)
        features = self.build_body(x, arch)
        if self.num_classes is None:
            outputs = keras.layers.Dense(self.output_dim, dtype="float32", name="head")(features)
            if self.target_scale is not None:
                mean, variance = self.target_scale
                outputs = keras.layers.Normalization(axis=-1, mean=mean, variance=variance,
                                                     invert=True, dtype="float32",
                                                     name="unscale_target")(outputs)
        else:
            outputs = keras.layers.Dense(self.num_classes, activation="softmax", dtype="float32",
                                         name="head")(features)
        model = keras.Model(inputs, outputs, name=self._model_name())
        if compile:
            self.compile_model(model, arch)
        return model

    def compile_model(self, model: keras.Model, arch=None) -> keras.Model:
        """Compiles `model` with a fresh optimizer and the task's loss and metrics.

        `arch` is the model's architecture, for spaces whose optimizer depends on it
        (a searched learning rate); this base ignores it.
        """
        if self.num_classes is None:
            loss, metrics = "mse", ["mae"]
        else:
            loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
        model.compile(optimizer=self.make_optimizer(), loss=loss, metrics=metrics,
                      jit_compile=self.jit_compile)
        return model

    def make_optimizer(self) -> keras.optimizers.Optimizer:
        """A new optimizer (models must not share one)."""
        if isinstance(self.optimizer, str):
            return keras.optimizers.get({"class_name": self.optimizer,
                                         "config": {"learning_rate": self.learning_rate}})
        return type(self.optimizer).from_config(self.optimizer.get_config())

    # ------------------------------------------------------ conveniences
    def hand_designs(self) -> list[Architecture]:
        """Known-good architectures of this space (a search evaluates them first); none here."""
        return []

    def designs_in_space(self, texts) -> list[Architecture]:
        """The architectures of `texts` (strings) that this space holds, in order.

        A design outside the space (the user narrowed a decision) is left out, so
        `hand_designs` lists only what can be built.
        """
        designs = []
        for text in texts:
            try:
                designs.append(self.encoding.from_string(text))
            except ValueError:
                pass
        return designs

    def sample(self, rng=None) -> Architecture:
        """A uniformly random architecture; `rng` is a numpy Generator, a seed or None."""
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        return self.encoding.sample(rng)

    def cost(self, model_or_arch) -> dict[str, int]:
        """`{"params": ..., "flops": ...}` of a built model or of an architecture.

        FLOPs are multiply-accumulates at batch size 1 (see `kerasnas.spaces.cost`).
        """
        if isinstance(model_or_arch, keras.Model):
            model = model_or_arch
        else:
            model = self.build_architecture(model_or_arch, compile=False)
        return {"params": count_params(model), "flops": count_flops(model)}

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-friendly; `preprocessing` is not included)."""
        config = {"input_shape": list(self.input_shape), "num_classes": self.num_classes,
                  "output_dim": self.output_dim, "learning_rate": self.learning_rate,
                  "name": self.name}
        if isinstance(self.optimizer, str):
            config["optimizer"] = self.optimizer
        if self.target_scale is not None:
            config["target_scale"] = [list(self.target_scale[0]), list(self.target_scale[1])]
        for key, value in self.space_args.items():
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return (f"{type(self).__name__}(input_shape={self.input_shape}, "
                f"num_classes={self.num_classes}, encoding={self.encoding!r})")

    # ------------------------------------------------------------ helpers
    def _check_input_shape(self, input_shape) -> tuple[int, ...]:
        cls = type(self).__name__
        wanted = " or ".join(_RANK_NAMES.get(r, f"rank {r}") for r in self.input_ranks)
        try:
            shape = tuple(input_shape)
        except TypeError:
            raise ValueError(f"{cls}: input_shape must be a tuple like {wanted} (no batch axis); "
                             f"got {input_shape!r}.") from None
        if len(shape) not in self.input_ranks:
            raise ValueError(f"{cls} needs input_shape {wanted} without the batch axis; got "
                             f"{shape} (rank {len(shape)}). Reshape the data or pick another "
                             "space (DenseSpace for tabular, CellSpace/MacroSpace/NB201Space for "
                             "sequences and images).")
        for d in shape:
            if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1:
                raise ValueError(f"{cls}: input_shape must hold positive ints (variable sizes "
                                 f"are not supported); got {shape}.")
        return tuple(int(d) for d in shape)

    def _model_name(self) -> str:
        name = self.name or f"{self.encoding.name}_net"
        return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def positive_int(value, what: str) -> int:
    """`int(value)` if it is a positive integer, else a `ValueError` naming `what`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}.")
    return int(value)
