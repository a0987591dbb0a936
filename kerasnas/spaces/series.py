"""`SeriesSpace`: MiniRocket, InceptionTime and residual TCNs for time series, searched together.

On small series (tens to hundreds of examples) the strongest known models are
not networks trained by gradient descent but random-kernel features with a
linear head (MiniRocket), followed by ensembles of InceptionTime networks;
TCNs and ResNets win as data grows. This space holds all three families
(`SeriesEncoding`), so one search compares them on the user's data:

* **rocket**: `RandomKernelFeatures` (`kerasnas.spaces.kernels`), then the
  head. Its `fit` does not train: it fits the biases on the training series,
  computes the features once, and solves the head as ridge regression with
  the penalty chosen by exact leave-one-out error
  (`kerasnas.spaces.closed_form`), in one step. Above `CLOSED_FORM_MAX_ROWS`
  examples the head is trained by Keras instead (the ridge solve grows with
  the square of the examples).
* **inception**: InceptionTime modules (Ismail Fawaz et al., 2020).
* **residual**: `ResidualSpace`'s network (`residual.residual_stack`), its blocks placed
  by `SeriesEncoding.plan`.

Every family ends in the space's usual head, so each model saves, loads and
exports like any other (`.keras`, SavedModel, TFLite).

`hand_designs()` lists MiniRocket as published (10,000 PPV features, 32
dilations), the InceptionTime network (6 modules of 4 x 32 channels, kernels
40-20-10), and `ResidualSpace`'s two TCNs; the one-liner evaluates them
first, cheapest first, so MiniRocket is the first trial on small data.

Example:

>>> from kerasnas.spaces import SeriesSpace
>>> space = SeriesSpace((60, 1), num_classes=3)
>>> [str(a).split()[0] for a in space.hand_designs()]
['rocket', 'inception', 'residual', 'residual']
"""

from __future__ import annotations

import keras
import numpy as np

from kerasnas.spaces.base import NASHyperModel
from kerasnas.spaces.closed_form import solve_dense_head
from kerasnas.spaces.encodings import SERIES_FAMILIES, ResidualEncoding, SeriesEncoding
from kerasnas.spaces.kernels import RandomKernelFeatures, fast_transform
from kerasnas.spaces.ops import batch_norm
from kerasnas.spaces.residual import residual_stack

#: Largest training set whose rocket head is solved in closed form; above it Keras trains it.
CLOSED_FORM_MAX_ROWS = 2000
#: Series per batch when computing features for the closed-form solve.
FEATURE_BATCH = 64
#: A shortcut joins every this-many inception modules (InceptionTime's rule).
INCEPTION_SHORTCUT_EVERY = 3

_HAND_DESIGNS = (
    "rocket features=10000 pooling=ppv dilations=32",       # MiniRocket as published
    "inception depth=6 filters=32 kernel=40",               # InceptionTime's network
    "residual 8x64 k3 dilation=exponential downsample=none dropout=0.0",
    "residual 4x32 k5 dilation=exponential downsample=by_size dropout=0.1",
)


class SeriesSpace(NASHyperModel):
    """MiniRocket, InceptionTime and residual TCNs over series `(length, channels)`.

    Args:
        input_shape: `(length, channels)`.
        num_classes: See `NASHyperModel` (default None: regression).
        families: The families searched (default `("rocket", "inception",
            "residual")`).
        rocket_features, rocket_poolings, rocket_dilations, inception_depths,
            inception_filters, inception_kernels: The candidate values; see
            `SeriesEncoding` for their defaults.
        blocks, widths, kernels, dilations, downsamples, dropouts: The
            residual family's candidates (see `ResidualEncoding`).
        **kwargs: `output_dim`, `optimizer`, `learning_rate`, `preprocessing`,
            `target_scale`, `name`; see `NASHyperModel`.
    """

    input_ranks = (2,)
    FIDELITY_KNOBS = ("width",)

    def __init__(self, input_shape, num_classes=None, *, families=SERIES_FAMILIES,
                 rocket_features=(10000, 5000, 2000), rocket_poolings=("ppv", "ppv+max"),
                 rocket_dilations=(32, 16), inception_depths=(6, 3), inception_filters=(32, 16),
                 inception_kernels=(40, 20), blocks=(2, 4, 6, 8), widths=(16, 32, 64),
                 kernels=(3, 5, 7), dilations=("none", "exponential"),
                 downsamples=("by_size", "none"), dropouts=(0.0, 0.1, 0.3), **kwargs):
        super().__init__(input_shape, num_classes, families=tuple(families),
                         rocket_features=tuple(rocket_features),
                         rocket_poolings=tuple(rocket_poolings),
                         rocket_dilations=tuple(rocket_dilations),
                         inception_depths=tuple(inception_depths),
                         inception_filters=tuple(inception_filters),
                         inception_kernels=tuple(inception_kernels), blocks=tuple(blocks),
                         widths=tuple(widths), kernels=tuple(kernels),
                         dilations=tuple(dilations), downsamples=tuple(downsamples),
                         dropouts=tuple(dropouts), **kwargs)

    def make_encoding(self, **space_args):
        return SeriesEncoding(**space_args)

    def hand_designs(self) -> list:
        """MiniRocket, InceptionTime and two TCNs (those inside this space)."""
        return self.designs_in_space(_HAND_DESIGNS)

    # ------------------------------------------------------------ building
    def build_body(self, x, arch):
        family = arch["family"]
        if family == "rocket":
            return RandomKernelFeatures(arch["rocket_features"], arch["rocket_dilations"],
                                        arch["rocket_pooling"], name="random_kernels")(x)
        if family == "inception":
            return self._inception(x, arch)
        return self._residual(x, arch)

    def _inception(self, x, arch):
        filters = self.scaled_width(arch["inception_filters"])
        kernel = arch["inception_kernel"]
        shortcut = x
        for i in range(arch["inception_depth"]):
            with keras.name_scope(f"inception{i}"):
                x = inception_module(x, filters, (kernel, kernel // 2, kernel // 4))
                if (i + 1) % INCEPTION_SHORTCUT_EVERY == 0:
                    projected = batch_norm(keras.layers.Conv1D(x.shape[-1], 1, padding="same",
                                                               use_bias=False)(shortcut))
                    x = keras.layers.ReLU()(keras.layers.Add()([x, projected]))
                    shortcut = x
        return keras.layers.GlobalAveragePooling1D()(x)

    def _residual(self, x, arch):
        plan = self.encoding.plan(arch, reductions=ResidualEncoding.num_reductions(
            self.input_shape))
        return residual_stack(x, arch, plan, self.scaled_width, spatial_rank=1, stem_scope=None)

    # ------------------------------------------------------------ training
    def fit(self, hp, model, *args, **kwargs):
        """Keras Tuner's training hook: `model.fit`, except for a rocket model.

        A rocket model's kernel biases are fit to the training series and its
        head is solved in closed form (`fit_rocket`); callbacks still see one
        epoch end with the training and validation metrics, so checkpoints,
        early stopping and the tuner's records work as for any model.
        """
        x = args[0] if args else kwargs.get("x")
        layer = kernel_layer(model)
        if layer is None or not isinstance(x, np.ndarray):
            return model.fit(*args, **kwargs)
        y = args[1] if len(args) > 1 else kwargs.get("y")
        adapt_kernels(model, layer, x)
        if len(x) > CLOSED_FORM_MAX_ROWS:
            return model.fit(*args, **kwargs)
        return fit_rocket(model, layer, x, y, validation_data=kwargs.get("validation_data"),
                          callbacks=kwargs.get("callbacks"), num_classes=self.num_classes,
                          target_scale=self.target_scale)


def inception_module(x, filters, kernels):
    """An InceptionTime module: a 1-wide bottleneck (when the input has several channels),
    parallel convolutions of `kernels` taps, a max-pool + 1-wide conv branch, BN, ReLU."""
    bottleneck = x
    if x.shape[-1] > 1:
        bottleneck = keras.layers.Conv1D(filters, 1, padding="same", use_bias=False)(x)
    branches = [keras.layers.Conv1D(filters, k, padding="same", use_bias=False)(bottleneck)
                for k in kernels]
    pooled = keras.layers.MaxPooling1D(3, strides=1, padding="same")(x)
    branches.append(keras.layers.Conv1D(filters, 1, padding="same", use_bias=False)(pooled))
    x = keras.layers.Concatenate()(branches)
    return keras.layers.ReLU()(batch_norm(x))


def kernel_layer(model):
    """The model's `RandomKernelFeatures` layer, or None."""
    found = [layer for layer in model.layers if isinstance(layer, RandomKernelFeatures)]
    return found[0] if found else None


def adapt_kernels(model, layer, x) -> None:
    """Fits `layer`'s biases on `x` as the layer sees it (after the model's preprocessing)."""
    layer.adapt(_run_eagerly(keras.Model(model.input, layer.input), x))


def featurize(model, layer, x) -> np.ndarray:
    """`layer`'s features of `x` (`(N, features)`).

    With numba (a dependency of kerasnas) the transform runs compiled
    (`kernels.fast_transform`); without it, eagerly batch by batch. Never
    through `model.predict`: tracing the transform's graph takes longer than
    running it on a few hundred series, and every fold and refit builds a new
    model.
    """
    series = _run_eagerly(keras.Model(model.input, layer.input), x)
    fast = fast_transform(series, layer.dilations, layer.shares,
                          [keras.ops.convert_to_numpy(m) for m in layer.masks],
                          [keras.ops.convert_to_numpy(b) for b in layer.biases], layer.pooling)
    if fast is not None:
        return fast
    return _run_eagerly(layer, series)


def _run_eagerly(model, x) -> np.ndarray:
    parts = [keras.ops.convert_to_numpy(model(x[i:i + FEATURE_BATCH], training=False))
             for i in range(0, len(x), FEATURE_BATCH)]
    return np.concatenate(parts).astype(np.float32)


def fit_rocket(model, layer, x, y, *, validation_data=None, callbacks=None, num_classes=None,
               target_scale=None):
    """Solves a rocket model's head on `(x, y)` and reports one epoch to `callbacks`.

    Returns:
        A `keras.callbacks.History` with one epoch: the training and (if
        given) validation loss and metrics, and the chosen `ridge_alpha`.
    """
    features = featurize(model, layer, x)
    head = model.get_layer("head")
    info = solve_dense_head(head, features, y, num_classes=num_classes,
                            target_scale=target_scale)
    kernel, bias = (np.asarray(w, np.float64) for w in head.get_weights())
    logs = _metrics(features @ kernel + bias, y, num_classes, target_scale)
    if validation_data is not None:
        x_val, y_val = validation_data[0], validation_data[1]
        val_features = featurize(model, layer, x_val)
        logs.update({f"val_{k}": v for k, v in _metrics(val_features @ kernel + bias, y_val,
                                                         num_classes, target_scale).items()})
    logs.update(info)
    logs["closed_form"] = 1.0  # the refit costs one more solve, not epochs of training
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(list(callbacks or []) + [history],
                                                 model=model, epochs=1, steps=1, verbose=0)
    callback_list.on_train_begin()
    callback_list.on_epoch_begin(0)
    callback_list.on_epoch_end(0, logs)
    callback_list.on_train_end(logs)
    return history


def _metrics(outputs, y, num_classes, target_scale) -> dict:
    """The compiled loss and metric of the space's models, from the head's raw outputs."""
    if num_classes is not None:
        logits = outputs - outputs.max(axis=1, keepdims=True)
        prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        labels = np.asarray(y, int).reshape(-1)
        eps = keras.config.epsilon()
        picked = np.clip(prob[np.arange(len(labels)), labels], eps, 1 - eps)
        return {"loss": float(-np.mean(np.log(picked))),
                "accuracy": float(np.mean(np.argmax(prob, axis=1) == labels))}
    if target_scale is not None:
        mean, variance = (np.asarray(v, np.float64).reshape(-1) for v in target_scale)
        outputs = outputs * np.maximum(np.sqrt(variance), keras.config.epsilon()) + mean
    truth = np.asarray(y, np.float64).reshape(outputs.shape)
    return {"loss": float(np.mean((outputs - truth) ** 2)),
            "mae": float(np.mean(np.abs(outputs - truth)))}
