"""Codesign: the hardware settings searched together with the network.

The survey's "add hardware search space": instead of fixing the deployment
settings after the search, three of them become decisions of every
architecture, beside the network's own:

* `hw_quantize`: the TFLite mode the candidate is converted, timed, scored and
  exported in (`float32`, `float16`, `dynamic`, `int8`);
* `hw_downscale`: the input is average-pooled by this factor before the
  network (1: full resolution); fewer pixels or steps, less latency;
* `hw_threads`: LiteRT interpreter threads the latency is measured with.

`CodesignEncoding` (here, pure Python) wraps any `Encoding` with these
decisions (the wrapped architecture's string, then `@ quantize=int8
downscale=1 threads=1`), and `codesign_space.CodesignSpace` wraps any
kerasnas space: it builds the wrapped space's model behind the downscale. The hardware path reads each trial's settings from its
decisions (`HardwareObjective.for_values`), so the Pareto front over
(accuracy, latency) or (accuracy, size) holds (network, settings) pairs, and the
result exports the winner in its own mode (`SearchResult.hardware`).

`kerasnas.search(..., hardware=HardwareObjective(codesign=True))` turns it on
(the CLI's `--codesign`).

Example:

>>> from kerasnas.spaces.encodings import NB201Encoding
>>> enc = CodesignEncoding(NB201Encoding(), modes=("int8", "float32"))
>>> arch = enc.from_string(
...     "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"
...     " @ quantize=float32 downscale=2 threads=1")
>>> arch["hw_quantize"], arch["hw_downscale"], str(enc.inner_architecture(arch))[:14]
('float32', 2, '|nor_conv_3x3~')
"""

from __future__ import annotations

from typing import Mapping

from kerasnas.spaces.architecture import (
    Decision,
    Encoding,
    parse_choice,
    register_encoding,
)

#: Quantization modes searched by default: every TFLite mode, full-integer first (the
#: default value of the decision, what hand designs are tried in).
CODESIGN_MODES = ("int8", "dynamic", "float16", "float32")
#: Input downscale factors searched by default: full resolution or half.
CODESIGN_DOWNSCALES = (1, 2)
#: Interpreter threads searched by default: one (a phone's little core, a microcontroller's
#: only one) or two.
CODESIGN_THREADS = (1, 2)
#: Names of the hardware decisions, in order.
HARDWARE_DECISIONS = ("hw_quantize", "hw_downscale", "hw_threads")
_SEPARATOR = " @ "


@register_encoding
class CodesignEncoding(Encoding):
    """An encoding's decisions plus the hardware decisions `HARDWARE_DECISIONS`.

    Args:
        inner: The network's `Encoding` (or its `to_spec()` dict).
        modes: Quantization modes (default `CODESIGN_MODES`).
        downscales: Input downscale factors, ints >= 1 (default `CODESIGN_DOWNSCALES`).
        threads: Interpreter thread counts, ints >= 1 (default `CODESIGN_THREADS`).
    """

    name = "codesign"

    def __init__(self, inner, modes=CODESIGN_MODES, downscales=CODESIGN_DOWNSCALES,
                 threads=CODESIGN_THREADS):
        from kerasnas.hardware.conversion import check_mode

        self.inner = Encoding.from_spec(inner) if isinstance(inner, Mapping) else inner
        if not isinstance(self.inner, Encoding) or isinstance(self.inner, CodesignEncoding):
            raise TypeError(f"inner must be a network's Encoding, got {inner!r}.")
        self.modes = tuple(check_mode(m) for m in modes)
        for name, values in (("downscales", downscales), ("threads", threads)):
            if not values or any(isinstance(v, bool) or int(v) != v or v < 1 for v in values):
                raise ValueError(f"{name} must list ints >= 1; got {values!r}.")
        if not self.modes:
            raise ValueError("modes must list at least one quantization mode.")
        self.downscales = tuple(int(v) for v in downscales)
        self.threads = tuple(int(v) for v in threads)
        clash = [d.name for d in self.inner.decisions if d.name in HARDWARE_DECISIONS]
        if clash:
            raise ValueError(f"The network's encoding already has decisions {clash}.")
        super().__init__([*self.inner.decisions,
                          Decision("hw_quantize", self.modes),
                          Decision("hw_downscale", self.downscales),
                          Decision("hw_threads", self.threads)])

    def get_config(self):
        return {"inner": self.inner.to_spec(), "modes": list(self.modes),
                "downscales": list(self.downscales), "threads": list(self.threads)}

    def active(self, values):
        return self.inner.active(values) | set(HARDWARE_DECISIONS)

    def canonicalize(self, values):
        return self.inner.canonicalize(values)

    def size(self):
        inner = self.inner.size()
        return None if inner is None else (inner * len(self.modes) * len(self.downscales)
                                           * len(self.threads))

    def inner_architecture(self, arch):
        """The network's own `Architecture` (the hardware decisions left out)."""
        return self.inner.architecture({d.name: arch[d.name] for d in self.inner.decisions})

    def settings(self, arch) -> dict:
        """`{"quantize", "downscale", "threads"}` of `arch`."""
        return {"quantize": arch["hw_quantize"], "downscale": arch["hw_downscale"],
                "threads": arch["hw_threads"]}

    def with_settings(self, inner_arch, **settings):
        """`inner_arch` with hardware settings (default: each decision's default)."""
        values = inner_arch.as_dict()
        for name in HARDWARE_DECISIONS:
            key = name.removeprefix("hw_")
            values[name] = settings.get(key, self.decision(name).default)
        return self.architecture(values)

    def to_string(self, arch):
        s = self.settings(arch)
        return (f"{self.inner.to_string(self.inner_architecture(arch))}{_SEPARATOR}"
                f"quantize={s['quantize']} downscale={s['downscale']} threads={s['threads']}")

    def from_string(self, text):
        network, sep, hardware = text.rpartition(_SEPARATOR)
        if not sep:
            raise ValueError(f"Not a codesign architecture (no '{_SEPARATOR.strip()} quantize=... "
                             f"downscale=... threads=...' part): {text!r}")
        values = self.inner.from_string(network).as_dict()
        for token in hardware.split():
            key, _, raw = token.partition("=")
            name = f"hw_{key}"
            if name not in HARDWARE_DECISIONS:
                raise ValueError(f"Unknown hardware setting {key!r} in {text!r}; expected "
                                 "quantize, downscale and threads.")
            values[name] = parse_choice(self.decision(name), raw)
        for name in HARDWARE_DECISIONS:
            values.setdefault(name, self.decision(name).default)
        return self.architecture(values)


def _codesign_graph(arch, input_shape=None):
    """The network's graph, its input node carrying the downscale (`kerasnas.graphs`)."""
    from kerasnas.graphs.view import ArchitectureGraph, graph_of

    enc = arch.encoding
    graph = graph_of(enc.inner_architecture(arch), input_shape)
    first = {**graph.attributes[0], "stride": float(arch["hw_downscale"])}
    return ArchitectureGraph(graph.ops, graph.edges, (first, *graph.attributes[1:]))


def _register_graph_rule():
    from kerasnas.graphs.view import register_graph, vocabulary_of

    register_graph(CodesignEncoding, vocabulary=lambda enc: vocabulary_of(enc.inner))(
        _codesign_graph)


_register_graph_rule()
