"""`CodesignSpace`: a kerasnas space searched together with its hardware settings.

The Keras Tuner side of `kerasnas.hardware.codesign` (which holds the
encoding): the wrapped space's models, behind an average pooling of the input
by the architecture's `hw_downscale`.
"""

from __future__ import annotations

import keras_tuner
import numpy as np

from kerasnas.hardware.codesign import (
    CODESIGN_DOWNSCALES,
    CODESIGN_MODES,
    CODESIGN_THREADS,
    CodesignEncoding,
)
from kerasnas.spaces.architecture import Architecture


class CodesignSpace(keras_tuner.HyperModel):
    """A kerasnas space searched together with the hardware settings.

    A `keras_tuner.HyperModel` whose `encoding` is a `CodesignEncoding` of
    `space.encoding`. Its models
    are `space`'s, behind an average pooling of the input by `hw_downscale`;
    `fit` is `space`'s own (its Keras Tuner `fit` hook, if any).

    Args:
        space: A kerasnas space (`NASHyperModel`) of images or sequences.
        modes, downscales, threads: The hardware choices (see `CodesignEncoding`).

    Example:

    >>> from kerasnas.spaces import MacroSpace
    >>> space = CodesignSpace(MacroSpace((8, 8, 1), num_classes=10), modes=("int8",))
    >>> arch = space.encoding.with_settings(space.hand_designs()[0] if space.hand_designs()
    ...                                     else space.space.encoding.default(), downscale=2)
    >>> space.build_architecture(arch).get_layer("input_downscale").pool_size
    (2, 2)
    """

    def __init__(self, space, modes=CODESIGN_MODES, downscales=CODESIGN_DOWNSCALES,
                 threads=CODESIGN_THREADS):
        if not hasattr(space, "encoding") or not hasattr(space, "build_architecture"):
            raise TypeError(f"CodesignSpace wraps a kerasnas space (a NASHyperModel), got "
                            f"{type(space).__name__}.")
        rank = getattr(space, "spatial_rank", 0)
        if rank not in (1, 2) and tuple(downscales) != (1,):
            raise ValueError(f"Downscaling pools a sequence or an image; {type(space).__name__} "
                             f"takes inputs of shape {space.input_shape}. Pass downscales=(1,).")
        super().__init__(name=getattr(space, "name", None), tunable=True)
        self.space = space
        self.encoding = CodesignEncoding(space.encoding, modes, downscales, threads)

    def __getattr__(self, name):
        # Everything else (input_shape, task, cost, fidelity, ...) is the wrapped space's.
        if name == "space":
            raise AttributeError(name)
        return getattr(self.space, name)

    def declare_hyperparameters(self, hp):
        self.encoding.declare(hp)

    def build(self, hp):
        self.declare_hyperparameters(hp)
        return self.build_architecture(self.encoding.from_hp_values(hp.values))

    def architecture(self, arch):
        if isinstance(arch, Architecture) and arch.encoding == self.encoding:
            return arch
        if isinstance(arch, str):
            return self.encoding.from_string(arch)
        if isinstance(arch, dict):
            return self.encoding.from_hp_values(arch)
        raise ValueError(f"{arch!r} is not an architecture of {self.encoding!r}.")

    def build_architecture(self, arch, compile: bool = True):
        arch = self.architecture(arch)
        return self.space.build_architecture(self.encoding.inner_architecture(arch),
                                             compile=compile,
                                             input_downscale=arch["hw_downscale"])

    def hand_designs(self) -> list:
        """The wrapped space's hand designs, each with the default hardware settings."""
        designs = getattr(self.space, "hand_designs", lambda: [])()
        return [self.encoding.with_settings(a) for a in designs]

    def designs_in_space(self, texts) -> list:
        return [self.encoding.with_settings(a) for a in self.space.designs_in_space(texts)]

    def sample(self, rng=None):
        return self.encoding.sample(rng if rng is not None else np.random.default_rng())

    def fit(self, hp, model, *args, **kwargs):
        return self.space.fit(hp, model, *args, **kwargs)

    def cost(self, model_or_arch):
        if isinstance(model_or_arch, (Architecture, str, dict)):
            model_or_arch = self.build_architecture(model_or_arch, compile=False)
        return self.space.cost(model_or_arch)

    def __repr__(self):
        return f"CodesignSpace({self.space!r}, modes={self.encoding.modes}, " \
               f"downscales={self.encoding.downscales}, threads={self.encoding.threads})"
