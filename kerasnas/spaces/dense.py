"""`DenseSpace`: multilayer perceptrons for tabular data.

Each hidden layer is Dense -> activation -> Dropout (the dropout layer is left
out at rate 0). With `skip`, every hidden layer after the first adds its input
(the previous hidden layer's output), projected by a bias-free Dense when the
widths differ, like a ResNet shortcut.
"""

from __future__ import annotations

import keras

from kerasnas.spaces.base import NASHyperModel, positive_int
from kerasnas.spaces.encodings import DenseEncoding


class DenseSpace(NASHyperModel):
    """The MLP search space.

    Args:
        input_shape: `(features,)`.
        num_classes: See `NASHyperModel` (default None: regression).
        max_layers: Deepest MLP (default 4).
        min_layers: Shallowest MLP (default 1; 0 adds the linear model, written
            `"linear"`, which `kerasnas.search` uses for tables).
        units: Candidate widths (default `(32, 64, 128, 256)`).
        activations: Candidate activations (default `("relu", "gelu", "swish", "tanh")`).
        dropouts: Candidate dropout rates (default `(0.0, 0.1, 0.25, 0.5)`).
        learning_rates: Candidate learning rates, searched per architecture
            (default None: every model uses `learning_rate`). `kerasnas.search`
            searches `(1e-3, 3e-3, 1e-2)` on tables.
        **kwargs: `output_dim`, `optimizer`, `learning_rate`, `preprocessing`,
            `name`; see `NASHyperModel`.

    Example:

    >>> from kerasnas.spaces import DenseSpace
    >>> space = DenseSpace((20,), num_classes=3, units=(16, 32))
    >>> arch = space.encoding.from_string("32-16 relu dropout=0.1 skip")
    >>> model = space.build_architecture(arch)
    >>> model.output_shape
    (None, 3)
    """

    input_ranks = (1,)

    def __init__(self, input_shape, num_classes=None, *, max_layers=4, min_layers=1,
                 units=(32, 64, 128, 256), activations=("relu", "gelu", "swish", "tanh"),
                 dropouts=(0.0, 0.1, 0.25, 0.5), learning_rates=None, **kwargs):
        space_args = {"learning_rates": learning_rates} if learning_rates is not None else {}
        super().__init__(input_shape, num_classes, max_layers=max_layers, min_layers=min_layers,
                         units=units, activations=activations, dropouts=dropouts, **space_args,
                         **kwargs)

    def make_encoding(self, *, max_layers, min_layers, units, activations, dropouts,
                      learning_rates=None):
        units = tuple(positive_int(u, "each of units") for u in units)
        activations, dropouts = tuple(activations), tuple(dropouts)
        if not units:
            raise ValueError("units must list at least one width.")
        for name in activations:
            try:
                keras.activations.get(name)
            except (ValueError, TypeError):
                raise ValueError(f"Unknown activation {name!r} in activations.") from None
        if not dropouts or any(not 0.0 <= float(d) < 1.0 for d in dropouts):
            raise ValueError(f"dropouts must be rates in [0, 1), got {dropouts!r}.")
        return DenseEncoding(max_layers=max_layers, min_layers=min_layers, units=units,
                             activations=activations, dropouts=dropouts,
                             learning_rates=learning_rates)

    def hand_designs(self):
        """What practitioners start tables with, where this space holds them.

        A two-layer MLP, the linear model (logistic or linear regression on the
        standardised features: on small tables it is often the one to beat)
        and a wide residual MLP; where the space searches learning rates, the
        MLPs take 1e-3 and the linear model 1e-2 (measured on diabetes and
        breast cancer: at 1e-3 a linear model is far from converged after a
        few hundred steps).
        """
        searched = self.encoding.learning_rates is not None
        return self.designs_in_space(
            f"{text} lr={rate}" if searched else text
            for text, rate in (("128-64 relu dropout=0.1", "0.001"), ("linear", "0.01"),
                               ("256-256 relu dropout=0.25 skip", "0.001")))

    def compile_model(self, model, arch=None):
        """Compiles `model`; with searched learning rates, at `arch`'s rate."""
        if arch is None or self.encoding.learning_rates is None:
            return super().compile_model(model)
        saved = self.learning_rate
        self.learning_rate = float(arch["learning_rate"])
        try:
            return super().compile_model(model)
        finally:
            self.learning_rate = saved

    def build_body(self, x, arch):
        x = keras.layers.Flatten()(x) if len(x.shape) > 2 else x
        for i in range(arch["num_layers"]):
            with keras.name_scope(f"layer{i}"):  # tags weights for kerasnas.net2net
                units = arch[f"units{i}"]
                h = keras.layers.Dense(units, activation=arch["activation"])(x)
                if arch["dropout"] > 0:
                    h = keras.layers.Dropout(arch["dropout"])(h)
                if arch["skip"] and i > 0:
                    shortcut = x if x.shape[-1] == units else keras.layers.Dense(
                        units, use_bias=False)(x)
                    h = keras.layers.Add()([shortcut, h])
                x = h
        return x
