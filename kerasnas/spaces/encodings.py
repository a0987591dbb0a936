"""The Keras-free encodings of kerasnas's four search spaces.

Each class lists its space's decisions and rules; the matching `HyperModel`
(in `macro.py`, `cell.py`, `nb201.py`, `dense.py`) turns an `Architecture` of
it into a Keras model. Oracles only ever see these classes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

import numpy as np

from kerasnas.spaces import random_graphs
from kerasnas.spaces.architecture import (
    Architecture,
    Decision,
    Encoding,
    parse_choice,
    register_encoding,
)
from kerasnas.spaces.hp_encoding import THERMOMETER_BITS

#: NAS-Bench-201's five edge operations (Dong & Yang, 2020), in the benchmark's order.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

#: DARTS's candidate operations (Liu et al., 2019) without `none`, which DARTS
#: keeps in the supernet but never places in a derived cell.
DARTS_OPS = (
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
)

#: Layer families of the macro (chain) space; the kernel size is a separate decision.
MACRO_OPS = ("conv", "sep_conv", "dil_conv", "max_pool", "avg_pool")


@register_encoding
class MacroEncoding(Encoding):
    """A chain of `num_layers` layers with optional skip connections (ENAS-macro style).

    Decisions: `num_layers`; per layer `i`: `layer{i}_op` (a family of
    `MACRO_OPS`), `layer{i}_width`, `layer{i}_kernel`; and, when `skips` is
    true, `layer{i}_skip{j}` for every earlier layer `j < i - 1` (layer
    `i - 1` always feeds layer `i`). Layers past `num_layers` are inactive.

    Args:
        max_layers: Deepest chain (default 6).
        min_layers: Shallowest chain (default 2).
        ops: Layer families (default `MACRO_OPS`).
        widths: Output channels per layer (default `(16, 32, 64)`).
        kernels: Kernel sizes (default `(3, 5)`).
        skips: Whether skip connections are searched (default True).
    """

    name = "macro"

    def __init__(self, max_layers=6, min_layers=2, ops=MACRO_OPS, widths=(16, 32, 64),
                 kernels=(3, 5), skips=True):
        if not 1 <= min_layers <= max_layers:
            raise ValueError(f"Need 1 <= min_layers <= max_layers, got {min_layers}, {max_layers}.")
        self.max_layers, self.min_layers = int(max_layers), int(min_layers)
        self.ops = tuple(ops)
        self.widths = tuple(int(w) for w in widths)
        self.kernels = tuple(int(k) for k in kernels)
        self.skips = bool(skips)
        decisions = [Decision("num_layers", tuple(range(self.min_layers, self.max_layers + 1)))]
        for i in range(self.max_layers):
            decisions += [
                Decision(f"layer{i}_op", self.ops),
                Decision(f"layer{i}_width", self.widths),
                Decision(f"layer{i}_kernel", self.kernels),
            ]
            if self.skips:
                decisions += [Decision(f"layer{i}_skip{j}", (False, True)) for j in range(i - 1)]
        super().__init__(decisions)

    def get_config(self):
        return {"max_layers": self.max_layers, "min_layers": self.min_layers,
                "ops": list(self.ops), "widths": list(self.widths),
                "kernels": list(self.kernels), "skips": self.skips}

    def size(self):
        layer = len(self.ops) * len(self.widths) * len(self.kernels)
        total = 0
        for n in range(self.min_layers, self.max_layers + 1):
            skips = sum(max(i - 1, 0) for i in range(n)) if self.skips else 0
            total += layer ** n * 2 ** skips
        return total

    def active(self, values):
        n = values["num_layers"]
        names = {"num_layers"}
        for i in range(n):
            names |= {f"layer{i}_op", f"layer{i}_width", f"layer{i}_kernel"}
            if self.skips:
                names |= {f"layer{i}_skip{j}" for j in range(i - 1)}
        return names

    def crossover_groups(self):
        """`num_layers`; per layer, its op, width and kernel together; per layer, its skips."""
        groups = [("num_layers",)]
        for i in range(self.max_layers):
            groups.append((f"layer{i}_op", f"layer{i}_width", f"layer{i}_kernel"))
            if self.skips and i > 1:
                groups.append(tuple(f"layer{i}_skip{j}" for j in range(i - 1)))
        return groups

    def layers(self, arch: Architecture) -> list[dict]:
        """The active layers as dicts `{op, width, kernel, skips}` (op like `"conv_3x3"`)."""
        result = []
        for i in range(arch["num_layers"]):
            k = arch[f"layer{i}_kernel"]
            skips = [j for j in range(i - 1) if self.skips and arch[f"layer{i}_skip{j}"]]
            result.append({"op": f"{arch[f'layer{i}_op']}_{k}x{k}",
                           "width": arch[f"layer{i}_width"], "kernel": k, "skips": skips})
        return result

    def to_string(self, arch):
        parts = []
        for layer in self.layers(arch):
            text = f"{layer['op']}:{layer['width']}"
            if layer["skips"]:
                text += "+" + ",".join(str(j) for j in layer["skips"])
            parts.append(text)
        return " > ".join(parts)

    def from_string(self, text):
        tokens = [t.strip() for t in text.split(">")]
        values = {d.name: d.default for d in self.decisions}
        values["num_layers"] = len(tokens)
        for i, token in enumerate(tokens):
            try:
                head, _, skips = token.partition("+")
                op, width = head.split(":")
                family, kernel = op.rsplit("_", 1)
                values[f"layer{i}_op"] = family
                values[f"layer{i}_kernel"] = int(kernel.split("x")[0])
                values[f"layer{i}_width"] = int(width)
                for j in (int(s) for s in skips.split(",") if s):
                    name = f"layer{i}_skip{j}"
                    if name not in self._by_name:
                        raise ValueError(f"layer {i} takes skips only from layers 0..{i - 2}"
                                         + ("" if self.skips else " (skips=False)"))
                    values[name] = True
            except (ValueError, KeyError) as err:
                raise ValueError(f"Cannot parse macro layer {token!r} in {text!r}: {err}") from None
        return self.architecture(values)


@register_encoding
class CellEncoding(Encoding):
    """NASNet/DARTS cells: each of `num_blocks` blocks combines two ops on two earlier states.

    A cell has inputs 0 and 1 (the outputs of the two previous cells); block
    `b` creates state `b + 2` from `op1(state[in1])` and `op2(state[in2])`
    joined by `comb` (`add`, or `concat` followed by a 1x1 projection). With
    `macro=False` there are two cell types, `normal` and `reduce`, shared by
    every cell of the network; with `macro=True` each of `num_cells` cells
    (`cell0`, `cell1`, ...) has its own genotype.

    Decisions per cell type `c` and block `b`: `{c}_b{b}_in1`, `{c}_b{b}_in2`,
    `{c}_b{b}_op1`, `{c}_b{b}_op2`, `{c}_b{b}_comb`. The two (input, op)
    pairs of a block are stored sorted, since both combinations are symmetric.

    Args:
        num_blocks: Blocks per cell (default 4, as in DARTS).
        ops: Candidate operations (default `DARTS_OPS`).
        combinations: How a block joins its two branches (default `("add", "concat")`).
        macro: Search every cell independently (default False).
        num_cells: Number of cells, used only when `macro=True` (default 3).
    """

    name = "cell"

    def __init__(self, num_blocks=4, ops=DARTS_OPS, combinations=("add", "concat"), macro=False,
                 num_cells=3):
        self.num_blocks = int(num_blocks)
        self.ops = tuple(ops)
        self.combinations = tuple(combinations)
        self.macro = bool(macro)
        self.num_cells = int(num_cells)
        if self.num_blocks < 1:
            raise ValueError(f"num_blocks must be >= 1, got {num_blocks}.")
        decisions = []
        for cell in self.cell_names:
            for b in range(self.num_blocks):
                p = f"{cell}_b{b}"
                inputs = tuple(range(b + 2))
                decisions += [Decision(f"{p}_in1", inputs), Decision(f"{p}_in2", inputs),
                              Decision(f"{p}_op1", self.ops), Decision(f"{p}_op2", self.ops),
                              Decision(f"{p}_comb", self.combinations)]
        super().__init__(decisions)

    @property
    def cell_names(self) -> tuple[str, ...]:
        if self.macro:
            return tuple(f"cell{i}" for i in range(self.num_cells))
        return ("normal", "reduce")

    def get_config(self):
        return {"num_blocks": self.num_blocks, "ops": list(self.ops),
                "combinations": list(self.combinations), "macro": self.macro,
                "num_cells": self.num_cells}

    def canonicalize(self, values):
        for cell in self.cell_names:
            for b in range(self.num_blocks):
                p = f"{cell}_b{b}"
                first = (values[f"{p}_in1"], values[f"{p}_op1"])
                second = (values[f"{p}_in2"], values[f"{p}_op2"])
                if second < first:
                    values[f"{p}_in1"], values[f"{p}_op1"] = second
                    values[f"{p}_in2"], values[f"{p}_op2"] = first
        return values

    def crossover_groups(self):
        """Per block, its two (input, op) branches together, and its `comb` alone.

        The branches are stored sorted, so branch 1 of one parent and branch 1
        of the other need not correspond: a block's branches travel as one.
        """
        groups = []
        for cell in self.cell_names:
            for b in range(self.num_blocks):
                p = f"{cell}_b{b}"
                groups += [(f"{p}_in1", f"{p}_op1", f"{p}_in2", f"{p}_op2"), (f"{p}_comb",)]
        return groups

    def blocks(self, arch: Architecture, cell: str) -> list[tuple]:
        """`[(op1, in1, op2, in2, comb), ...]` for one cell type or cell name."""
        return [(arch[f"{cell}_b{b}_op1"], arch[f"{cell}_b{b}_in1"], arch[f"{cell}_b{b}_op2"],
                 arch[f"{cell}_b{b}_in2"], arch[f"{cell}_b{b}_comb"])
                for b in range(self.num_blocks)]

    def to_string(self, arch):
        cells = []
        for cell in self.cell_names:
            blocks = " / ".join(f"{o1}~{i1} {o2}~{i2} {c}"
                                for o1, i1, o2, i2, c in self.blocks(arch, cell))
            cells.append(f"{cell}: {blocks}")
        return " | ".join(cells)

    def from_string(self, text):
        values = {}
        try:
            parts = dict(part.strip().split(": ", 1) for part in text.split(" | "))
            extra = sorted(set(parts) - set(self.cell_names))
            if extra:
                raise ValueError(f"unknown cells {extra}; this space has {list(self.cell_names)}")
            for cell in self.cell_names:
                blocks = parts[cell].split(" / ")
                if len(blocks) != self.num_blocks:
                    raise ValueError(f"{cell} has {len(blocks)} blocks, expected {self.num_blocks}")
                for b, block in enumerate(blocks):
                    a, c, comb = block.split()
                    (o1, i1), (o2, i2) = a.rsplit("~", 1), c.rsplit("~", 1)
                    p = f"{cell}_b{b}"
                    values.update({f"{p}_op1": o1, f"{p}_in1": int(i1), f"{p}_op2": o2,
                                   f"{p}_in2": int(i2), f"{p}_comb": comb})
        except (ValueError, KeyError) as err:
            raise ValueError(f"Cannot parse cell architecture {text!r}: {err}") from None
        return self.architecture(values)


@register_encoding
class NB201Encoding(Encoding):
    """The NAS-Bench-201 cell: 4 nodes, 6 edges, 5 operations, 15,625 architectures.

    Decisions `edge_{j}_{i}` name the edge into node `j` from node `i`, in the
    benchmark's string order. The string form is NB201's own, e.g.
    `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|`.
    No isomorphism reduction is applied: each of the 15,625 strings is its own architecture.
    """

    name = "nb201"
    edges = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

    def __init__(self, ops=NB201_OPS):
        self.ops = tuple(ops)
        super().__init__(Decision(f"edge_{j}_{i}", self.ops) for j, i in self.edges)

    def get_config(self):
        return {"ops": list(self.ops)}

    def size(self):
        return len(self.ops) ** len(self.edges)

    def to_string(self, arch):
        nodes = []
        for node in (1, 2, 3):
            ops = [f"{arch[f'edge_{node}_{i}']}~{i}" for i in range(node)]
            nodes.append("|" + "|".join(ops) + "|")
        return "+".join(nodes)

    def from_string(self, text):
        nodes = text.split("+")
        if len(nodes) != 3:
            raise ValueError(f"Not an NB201 string (need 3 nodes joined by '+'): {text!r}")
        values = {}
        for node, part in enumerate(nodes, start=1):
            edges = [e for e in part.strip("|").split("|") if e]
            if len(edges) != node:
                raise ValueError(f"NB201 node {node} needs {node} edges in {text!r}")
            for edge in edges:
                op, _, source = edge.partition("~")
                if not source.isdigit() or int(source) >= node:
                    raise ValueError(f"Bad NB201 edge {edge!r} in {text!r}")
                values[f"edge_{node}_{source}"] = op
        if len(values) != 6:
            raise ValueError(f"NB201 string repeats an edge: {text!r}")
        return self.architecture(values)


@register_encoding
class DenseEncoding(Encoding):
    """An MLP for tabular data.

    Decisions: `num_layers`, `units{i}` per layer (inactive past `num_layers`),
    and network-wide `activation`, `dropout` and `skip` (residual connections
    between consecutive hidden layers, projected when widths differ). With
    `min_layers=0` the space also holds the linear model (no hidden layer,
    written `"linear"`; its activation, dropout and skip are inactive). With
    `learning_rates`, the learning rate is a decision too (written `lr=...`):
    a linear model wants about 10x the step of an MLP to converge in a
    trial's few hundred steps, so the two cannot share one fixed rate.

    Args:
        max_layers: Deepest MLP (default 4).
        min_layers: Shallowest MLP (default 1; 0 adds the linear model).
        units: Widths (default `(32, 64, 128, 256)`).
        activations: Default `("relu", "gelu", "swish", "tanh")`.
        dropouts: Default `(0.0, 0.1, 0.25, 0.5)`.
        learning_rates: Candidate Adam learning rates (default None: not
            searched; the space's `learning_rate` is used).

    Example:

    >>> enc = DenseEncoding(min_layers=0, learning_rates=(1e-3, 1e-2))
    >>> str(enc.from_string("linear lr=0.01"))
    'linear lr=0.01'
    >>> enc.from_string("64-32 relu dropout=0.1")["learning_rate"]
    0.001
    """

    name = "dense"

    def __init__(self, max_layers=4, min_layers=1, units=(32, 64, 128, 256),
                 activations=("relu", "gelu", "swish", "tanh"), dropouts=(0.0, 0.1, 0.25, 0.5),
                 learning_rates=None):
        if not 0 <= min_layers <= max_layers or max_layers < 1:
            raise ValueError(f"Need 0 <= min_layers <= max_layers and max_layers >= 1, got "
                             f"{min_layers}, {max_layers}.")
        self.max_layers, self.min_layers = int(max_layers), int(min_layers)
        self.units = tuple(int(u) for u in units)
        self.activations = tuple(activations)
        self.dropouts = tuple(float(d) for d in dropouts)
        self.learning_rates = (None if learning_rates is None
                               else tuple(float(r) for r in learning_rates))
        if self.learning_rates is not None and (
                not self.learning_rates or any(not r > 0 for r in self.learning_rates)):
            raise ValueError(f"learning_rates must be positive numbers; got {learning_rates!r}.")
        decisions = [Decision("num_layers", tuple(range(self.min_layers, self.max_layers + 1)))]
        decisions += [Decision(f"units{i}", self.units) for i in range(self.max_layers)]
        decisions += [Decision("activation", self.activations), Decision("dropout", self.dropouts),
                      Decision("skip", (False, True))]
        if self.learning_rates is not None:
            decisions.append(Decision("learning_rate", self.learning_rates))
        super().__init__(decisions)

    def get_config(self):
        config = {"max_layers": self.max_layers, "min_layers": self.min_layers,
                  "units": list(self.units), "activations": list(self.activations),
                  "dropouts": list(self.dropouts)}
        if self.learning_rates is not None:
            config["learning_rates"] = list(self.learning_rates)
        return config

    def size(self):
        body = len(self.activations) * len(self.dropouts) * 2
        total = sum(len(self.units) ** n * body if n else 1
                    for n in range(self.min_layers, self.max_layers + 1))
        return total * (len(self.learning_rates) if self.learning_rates is not None else 1)

    def active(self, values: Mapping):
        rate = {"learning_rate"} if self.learning_rates is not None else set()
        if values["num_layers"] == 0:
            return {"num_layers"} | rate
        return ({"num_layers", "activation", "dropout", "skip"} | rate
                | {f"units{i}" for i in range(values["num_layers"])})

    def to_string(self, arch):
        rate = f" lr={arch['learning_rate']:g}" if self.learning_rates is not None else ""
        if arch["num_layers"] == 0:
            return "linear" + rate
        widths = "-".join(str(arch[f"units{i}"]) for i in range(arch["num_layers"]))
        return (f"{widths} {arch['activation']} dropout={arch['dropout']}"
                f"{' skip' if arch['skip'] else ''}{rate}")

    def from_string(self, text):
        tokens = text.split()
        values = {d.name: d.default for d in self.decisions}
        rates = [t for t in tokens if t.startswith("lr=")]
        tokens = [t for t in tokens if not t.startswith("lr=")]
        try:
            if rates:
                if self.learning_rates is None:
                    raise ValueError("this space does not search the learning rate "
                                     "(no learning_rates); drop 'lr='")
                values["learning_rate"] = float(rates[-1][3:])
            if tokens == ["linear"]:
                if self.min_layers > 0:
                    raise ValueError(f"'linear' (no hidden layer) is outside this space: it has "
                                     f"min_layers={self.min_layers}; use min_layers=0")
                values["num_layers"] = 0
                return self.architecture(values)
            if len(tokens) not in (3, 4) or tokens[3:] not in ([], ["skip"]):
                raise ValueError("expected 'W1-W2-... ACTIVATION dropout=D [skip] [lr=R]' or "
                                 "'linear [lr=R]'")
            widths = [int(w) for w in tokens[0].split("-")]
            values.update({"num_layers": len(widths), "activation": tokens[1],
                           "dropout": float(tokens[2].split("=")[1]), "skip": "skip" in tokens[3:]})
            values.update({f"units{i}": w for i, w in enumerate(widths)})
            return self.architecture(values)
        except (ValueError, IndexError) as err:
            raise ValueError(f"Cannot parse dense architecture {text!r}: {err}") from None


@register_encoding
class ResidualEncoding(Encoding):
    """A stack of residual conv blocks: ResNet for images, TCN for sequences.

    Decisions (all network-wide, so the space is small and every hand design
    of the family is one point of it): `num_blocks`, `width` (channels of the
    first stage; doubled at each reduction, at most 4x), `kernel`,
    `dilation` (`"none"`, or `"exponential"`: block `i` dilates by
    `2 ** (i % 4)`, the 1-2-4-8 cycle of TCNs and WaveNet), `downsample`
    (`"by_size"`: stride-2 reductions placed by the input's size; `"none"`:
    full resolution throughout) and `dropout` (before the head).

    Where the stack reduces is this class's rule, Keras-free so that drawings
    can show it; `ResidualSpace` builds what `plan(arch, input_shape)` says:

    * `num_reductions(input_shape)`: an image is halved while its smaller side
      stays at least `IMAGE_MIN_SIDE` = 8 after halving (8x8: none, 28x28:
      one, 32x32: two), a sequence while its length stays at least
      `SEQUENCE_MIN_LENGTH` = 32 (40: none, so short signals are never
      downsampled early; 1,000: four);
    * the stride-2 blocks are spread evenly over the stack; reductions beyond
      the number of blocks become a max-pool in the stem;
    * each reduction doubles the width, up to `MAX_WIDTH_FACTOR` = 4 times
      the first stage's;
    * with `dilation="exponential"`, block `i` dilates by
      `2 ** (i % DILATION_CYCLE)`, `DILATION_CYCLE` = 4 (a strided block's
      first conv is not dilated: Keras cannot do both).

    Args:
        blocks: Candidate block counts (default `(2, 4, 6, 8)`).
        widths: Candidate first-stage widths (default `(16, 32, 64)`).
        kernels: Candidate kernel sizes (default `(3, 5, 7)`).
        dilations: Default `("none", "exponential")`.
        downsamples: Default `("by_size", "none")`.
        dropouts: Default `(0.0, 0.1, 0.3)`.

    Example:

    >>> enc = ResidualEncoding()
    >>> str(enc.from_string("8x64 k3 dilation=exponential downsample=none dropout=0.0"))
    '8x64 k3 dilation=exponential downsample=none dropout=0.0'
    >>> plan = enc.plan(enc.from_string("4x16 k3 dilation=none downsample=by_size dropout=0.0"),
    ...                 (32, 32, 3))
    >>> plan.reductions, plan.strided, plan.widths, plan.stem_pool
    (2, (1, 2), (16, 32, 64, 64), 1)
    """

    name = "residual"
    #: Smallest image side a reduction may produce.
    IMAGE_MIN_SIDE = 8
    #: Shortest sequence a reduction may produce.
    SEQUENCE_MIN_LENGTH = 32
    #: Widest stage, as a multiple of the first stage's width.
    MAX_WIDTH_FACTOR = 4
    #: `dilation="exponential"`: block `i` dilates by `2 ** (i % DILATION_CYCLE)`.
    DILATION_CYCLE = 4

    def __init__(self, blocks=(2, 4, 6, 8), widths=(16, 32, 64), kernels=(3, 5, 7),
                 dilations=("none", "exponential"), downsamples=("by_size", "none"),
                 dropouts=(0.0, 0.1, 0.3)):
        self.blocks = tuple(int(b) for b in blocks)
        self.widths = tuple(int(w) for w in widths)
        self.kernels = tuple(int(k) for k in kernels)
        self.dilations = tuple(dilations)
        self.downsamples = tuple(downsamples)
        self.dropouts = tuple(float(d) for d in dropouts)
        for name, values, allowed in (("dilations", self.dilations, ("none", "exponential")),
                                      ("downsamples", self.downsamples, ("by_size", "none"))):
            bad = [v for v in values if v not in allowed]
            if bad or not values:
                raise ValueError(f"{name} must be a non-empty subset of {allowed}; got {values}.")
        super().__init__([
            Decision("num_blocks", self.blocks), Decision("width", self.widths),
            Decision("kernel", self.kernels), Decision("dilation", self.dilations),
            Decision("downsample", self.downsamples), Decision("dropout", self.dropouts),
        ])

    def get_config(self):
        return {"blocks": list(self.blocks), "widths": list(self.widths),
                "kernels": list(self.kernels), "dilations": list(self.dilations),
                "downsamples": list(self.downsamples), "dropouts": list(self.dropouts)}

    def size(self):
        return math.prod(len(d.choices) for d in self.decisions)

    def to_string(self, arch):
        return (f"{arch['num_blocks']}x{arch['width']} k{arch['kernel']} "
                f"dilation={arch['dilation']} downsample={arch['downsample']} "
                f"dropout={arch['dropout']}")

    def from_string(self, text):
        try:
            head, kernel, *options = text.split()
            blocks, width = head.split("x")
            values = {"num_blocks": int(blocks), "width": int(width),
                      "kernel": int(kernel.removeprefix("k"))}
            for option in options:
                key, value = option.split("=")
                if key not in ("dilation", "downsample", "dropout"):
                    raise ValueError(f"unknown option {key!r}")
                values[key] = float(value) if key == "dropout" else value
            if set(values) != {d.name for d in self.decisions}:
                raise ValueError("expected 'BLOCKSxWIDTH kK dilation=D downsample=S dropout=P'")
        except ValueError as err:
            raise ValueError(f"Cannot parse residual architecture {text!r}: {err}") from None
        return self.architecture(values)

    # ------------------------------------------------------------- where it reduces
    @classmethod
    def min_size(cls, spatial_rank: int) -> int:
        """Smallest side (`spatial_rank` 2, images) or length (1, sequences) a reduction
        may produce."""
        if spatial_rank not in (1, 2):
            raise ValueError(f"A residual stack takes sequences (spatial rank 1) or images (2); "
                             f"got spatial rank {spatial_rank!r}.")
        return cls.IMAGE_MIN_SIDE if spatial_rank == 2 else cls.SEQUENCE_MIN_LENGTH

    @classmethod
    def num_reductions(cls, input_shape) -> int:
        """Stride-2 reductions `downsample="by_size"` applies to inputs of `input_shape`.

        Args:
            input_shape: The model's per-example input shape, channels last:
                `(length, channels)` or `(height, width, channels)`.
        """
        spatial = _residual_spatial(input_shape)
        floor, side, reductions = cls.min_size(len(spatial)), min(spatial), 0
        while side >= floor * 2 ** (reductions + 1):  # halving keeps the side >= floor
            reductions += 1
        return reductions

    @classmethod
    def sizes_for_reductions(cls, reductions: int, spatial_rank: int) -> tuple:
        """`(low, high)`: the smallest sides (images) or lengths (sequences) that take
        exactly `reductions` reductions, both inclusive (`low` is 1 for none)."""
        floor = cls.min_size(spatial_rank)
        low = floor * 2 ** reductions if reductions else 1
        return low, floor * 2 ** (reductions + 1) - 1

    def plan(self, arch, input_shape=None, *, reductions=None) -> ResidualPlan:
        """What `ResidualSpace` builds of `arch` for inputs of `input_shape`.

        Args:
            arch: An `Architecture` of this encoding.
            input_shape: The model's per-example input shape (`(length,
                channels)` or `(height, width, channels)`).
            reductions: Instead of `input_shape`: the number of reductions
                `downsample="by_size"` applies (what `num_reductions` gives).

        Returns:
            A `ResidualPlan`; with `downsample="none"` it never reduces.
        """
        if input_shape is not None:
            count = self.num_reductions(input_shape)
            if reductions is not None and reductions != count:
                raise ValueError(f"input_shape {tuple(input_shape)} takes {count} reductions, "
                                 f"not {reductions}.")
        elif reductions is not None:
            if isinstance(reductions, bool) or int(reductions) != reductions or reductions < 0:
                raise ValueError(f"reductions must be an int >= 0; got {reductions!r}.")
            count = int(reductions)
        else:
            raise ValueError("plan needs the input_shape (or the number of reductions).")
        if arch["downsample"] != "by_size":
            count = 0
        n = arch["num_blocks"]
        in_blocks = min(count, n)
        strided = tuple(sorted({(k * n) // (in_blocks + 1) for k in range(1, in_blocks + 1)}))
        widths, done = [], 0
        for i in range(n):
            done += i in strided
            widths.append(arch["width"] * min(2 ** done, self.MAX_WIDTH_FACTOR))
        exponential = arch["dilation"] == "exponential"
        dilations = tuple(2 ** (i % self.DILATION_CYCLE) if exponential else 1 for i in range(n))
        return ResidualPlan(count, strided, tuple(widths), dilations, 2 ** (count - in_blocks))


@dataclasses.dataclass(frozen=True)
class ResidualPlan:
    """Where a residual stack reduces for one input: `ResidualEncoding.plan`'s answer.

    Attributes:
        reductions: Stride-2 reductions in all (the strided blocks and the stem's pool).
        strided: Indices of the stride-2 blocks, ascending.
        widths: Each block's output channels at full size (a search-time fidelity width
            multiplier scales them).
        dilations: Each block's dilation rate (a strided block's first conv is not dilated).
        stem_pool: The stem's max-pool factor (1: no pool), for reductions beyond the
            number of blocks.
    """

    reductions: int
    strided: tuple
    widths: tuple
    dilations: tuple
    stem_pool: int


def _residual_spatial(input_shape) -> tuple:
    """The spatial sides of a residual stack's `input_shape` (without the channel axis)."""
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be a tuple of ints like (length, channels) or "
                         f"(height, width, channels); got {input_shape!r}.") from None
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"A residual stack takes inputs (length, channels) or (height, width, "
                         f"channels) of positive sizes; got input_shape {shape}.")
    return shape[:-1]


#: The families of `SeriesEncoding`, in the order a search evaluates their hand designs.
SERIES_FAMILIES = ("rocket", "inception", "residual")
_ROCKET_DECISIONS = ("rocket_features", "rocket_pooling", "rocket_dilations")
_INCEPTION_DECISIONS = ("inception_depth", "inception_filters", "inception_kernel")
_RESIDUAL_DECISIONS = ("num_blocks", "width", "kernel", "dilation", "downsample", "dropout")


@register_encoding
class SeriesEncoding(Encoding):
    """Three families of time-series models, searched side by side.

    * `family="rocket"`: MiniRocket's random-kernel features with a linear
      head solved in closed form (`kerasnas.spaces.kernels`); decisions
      `rocket_features` (feature count), `rocket_pooling` (`"ppv"` or
      `"ppv+max"`) and `rocket_dilations` (most dilations per kernel).
    * `family="inception"`: InceptionTime's modules (a 1-wide bottleneck,
      parallel convolutions of `K`, `K/2`, `K/4` taps and a max-pool branch,
      a residual shortcut every third module, global average pooling);
      decisions `inception_depth` (modules), `inception_filters` (per branch)
      and `inception_kernel` (`K`).
    * `family="residual"`: the residual TCNs of `ResidualEncoding`, with its
      six decisions and the same reduction rule (`plan`).

    Only the chosen family's decisions are active. Strings read
    `"rocket features=10000 pooling=ppv dilations=32"`,
    `"inception depth=6 filters=32 kernel=40"` and
    `"residual 8x64 k3 dilation=exponential downsample=none dropout=0.0"`.

    Args:
        families: The families searched (default all three).
        rocket_features: Default `(10000, 5000, 2000)`.
        rocket_poolings: Default `("ppv", "ppv+max")`.
        rocket_dilations: Default `(32, 16)`.
        inception_depths: Default `(6, 3)`.
        inception_filters: Default `(32, 16)`.
        inception_kernels: Default `(40, 20)`.
        **residual_args: `ResidualEncoding`'s arguments (`blocks`, `widths`, ...).

    Example:

    >>> enc = SeriesEncoding()
    >>> arch = enc.from_string("rocket features=5000 pooling=ppv+max dilations=32")
    >>> arch["rocket_features"], arch["num_blocks"] == enc.decision("num_blocks").default
    (5000, True)
    >>> str(enc.from_string(str(arch))) == str(arch)
    True
    """

    name = "series"

    def __init__(self, families=SERIES_FAMILIES, rocket_features=(10000, 5000, 2000),
                 rocket_poolings=("ppv", "ppv+max"), rocket_dilations=(32, 16),
                 inception_depths=(6, 3), inception_filters=(32, 16), inception_kernels=(40, 20),
                 **residual_args):
        self.families = tuple(families)
        bad = [f for f in self.families if f not in SERIES_FAMILIES]
        if bad or not self.families:
            raise ValueError(f"families must be a non-empty subset of {SERIES_FAMILIES}; got "
                             f"{families!r}.")
        ints = {"rocket_features": rocket_features, "rocket_dilations": rocket_dilations,
                "inception_depths": inception_depths, "inception_filters": inception_filters,
                "inception_kernels": inception_kernels}
        for name, values in ints.items():
            if not values or any(isinstance(v, bool) or int(v) != v or v < 1 for v in values):
                raise ValueError(f"{name} must list positive ints; got {values!r}.")
        if any(f < 84 for f in rocket_features):
            raise ValueError(f"rocket_features must be at least 84 (one per kernel); got "
                             f"{rocket_features!r}.")
        if any(k < 4 for k in inception_kernels):
            raise ValueError(f"inception_kernels must be at least 4 (K, K/2 and K/4 taps); got "
                             f"{inception_kernels!r}.")
        bad = [p for p in rocket_poolings if p not in ("ppv", "ppv+max")]
        if bad or not rocket_poolings:
            raise ValueError(f"rocket_poolings must be a non-empty subset of ('ppv', 'ppv+max'); "
                             f"got {rocket_poolings!r}.")
        self.rocket_features = tuple(int(v) for v in rocket_features)
        self.rocket_poolings = tuple(rocket_poolings)
        self.rocket_dilations = tuple(int(v) for v in rocket_dilations)
        self.inception_depths = tuple(int(v) for v in inception_depths)
        self.inception_filters = tuple(int(v) for v in inception_filters)
        self.inception_kernels = tuple(int(v) for v in inception_kernels)
        self.residual = ResidualEncoding(**residual_args)
        super().__init__([
            Decision("family", self.families),
            Decision("rocket_features", self.rocket_features),
            Decision("rocket_pooling", self.rocket_poolings),
            Decision("rocket_dilations", self.rocket_dilations),
            Decision("inception_depth", self.inception_depths),
            Decision("inception_filters", self.inception_filters),
            Decision("inception_kernel", self.inception_kernels),
            *self.residual.decisions,
        ])

    def get_config(self):
        return {"families": list(self.families), "rocket_features": list(self.rocket_features),
                "rocket_poolings": list(self.rocket_poolings),
                "rocket_dilations": list(self.rocket_dilations),
                "inception_depths": list(self.inception_depths),
                "inception_filters": list(self.inception_filters),
                "inception_kernels": list(self.inception_kernels),
                **self.residual.get_config()}

    def size(self):
        own = {"rocket": len(self.rocket_features) * len(self.rocket_poolings)
               * len(self.rocket_dilations),
               "inception": len(self.inception_depths) * len(self.inception_filters)
               * len(self.inception_kernels),
               "residual": self.residual.size()}
        return sum(own[family] for family in self.families)

    def active(self, values: Mapping):
        family = values["family"]
        own = {"rocket": _ROCKET_DECISIONS, "inception": _INCEPTION_DECISIONS,
               "residual": _RESIDUAL_DECISIONS}[family]
        return {"family", *own}

    def to_string(self, arch):
        family = arch["family"]
        if family == "rocket":
            return (f"rocket features={arch['rocket_features']} pooling={arch['rocket_pooling']} "
                    f"dilations={arch['rocket_dilations']}")
        if family == "inception":
            return (f"inception depth={arch['inception_depth']} "
                    f"filters={arch['inception_filters']} kernel={arch['inception_kernel']}")
        return "residual " + self.residual.to_string(arch)

    def from_string(self, text):
        family, _, rest = text.strip().partition(" ")
        values = {d.name: d.default for d in self.decisions}
        try:
            if family not in self.families:
                raise ValueError(f"the family must be one of {self.families}")
            values["family"] = family
            if family == "residual":
                values.update(self.residual.from_string(rest).as_dict())
            else:
                prefix = f"{family}_"
                for token in rest.split():
                    key, _, raw = token.partition("=")
                    name = prefix + key
                    if name not in self.active({"family": family}) or name == "family":
                        raise ValueError(f"unknown option {key!r}")
                    values[name] = parse_choice(self.decision(name), raw)
        except ValueError as err:
            raise ValueError(f"Cannot parse series architecture {text!r}: {err}") from None
        return self.architecture(values)

    def plan(self, arch, input_shape=None, *, reductions=None) -> ResidualPlan:
        """The residual family's reductions (see `ResidualEncoding.plan`)."""
        return self.residual.plan(arch, input_shape, reductions=reductions)


#: Per-column numeric scalings of `TableEncoding` (`kerasnas.spaces.table_layers.TRANSFORMS`).
TABLE_TRANSFORMS = ("quantile", "robust", "standard", "log")
#: Numeric embeddings: piecewise-linear (PLE), periodic (PLR) or none (the scaled numbers).
TABLE_EMBEDDINGS = ("ple", "periodic", "none")


@register_encoding
class TableEncoding(Encoding):
    """Networks for tables: column transforms, numeric and categorical embeddings, an MLP body.

    Decisions:

    * `numeric`: the scaling of the numeric columns (`TABLE_TRANSFORMS`);
    * `embedding`: `"ple"` (piecewise-linear encoding), `"periodic"` (PLR) or
      `"none"`; an embedding is concatenated with the scaled numbers;
    * `categorical`: `"onehot"` or `"embed"` (a learned embedding per
      categorical column, sized by its cardinality);
    * `num_layers` (0 is a linear model on those features), `body` (`"mlp"`:
      Dense, activation, dropout; `"resnet"`: Gorishniy et al.'s 2021 residual
      block, BatchNorm, Dense 2w, ReLU, dropout, Dense w, dropout, + input),
      `width`, `activation`, `dropout`;
    * `ensemble`: members of a TabM-mini ensemble (1: none);
    * `learning_rate` and `weight_decay` of AdamW.

    With `num_layers=0` the body's decisions and `ensemble` are inactive.
    Strings read `"mlp 3x256 relu dropout=0.1 numeric=quantile embedding=ple
    categorical=onehot ensemble=1 lr=0.001 wd=0.01"` (`"linear numeric=..."` for
    no hidden layer).

    Args:
        layers: Hidden-layer counts (default `(0, 1, 2, 3, 4)`).
        widths: Default `(256, 128, 512, 64)`.
        bodies: Default `("mlp", "resnet")`.
        activations: Default `("relu", "silu")`.
        dropouts: Default `(0.1, 0.0, 0.25, 0.4)`.
        numerics: Default `TABLE_TRANSFORMS`.
        embeddings: Default `TABLE_EMBEDDINGS`.
        categoricals: Default `("onehot", "embed")`.
        ensembles: Default `(1, 8)`.
        learning_rates: Default `(1e-3, 3e-4, 3e-3)`.
        weight_decays: Default `(1e-2, 0.0, 1e-1)` (AdamW's decoupled decay,
            multiplied by the learning rate at each step).

    Example:

    >>> enc = TableEncoding()
    >>> arch = enc.from_string("mlp 2x128 silu dropout=0.0 embedding=periodic")
    >>> arch["width"], arch["numeric"]
    (128, 'quantile')
    >>> str(enc.from_string(str(arch))) == str(arch)
    True
    """

    name = "table"

    _OPTIONS = {"numeric": "numeric", "embedding": "embedding", "categorical": "categorical",
                "ensemble": "ensemble", "lr": "learning_rate", "wd": "weight_decay",
                "dropout": "dropout"}

    def __init__(self, layers=(0, 1, 2, 3, 4), widths=(256, 128, 512, 64),
                 bodies=("mlp", "resnet"), activations=("relu", "silu"),
                 dropouts=(0.1, 0.0, 0.25, 0.4), numerics=TABLE_TRANSFORMS,
                 embeddings=TABLE_EMBEDDINGS, categoricals=("onehot", "embed"), ensembles=(1, 8),
                 learning_rates=(1e-3, 3e-4, 3e-3), weight_decays=(1e-2, 0.0, 1e-1)):
        def subset(name, values, allowed):
            values = tuple(values)
            bad = [v for v in values if v not in allowed]
            if bad or not values:
                raise ValueError(f"{name} must be a non-empty subset of {allowed}; got {values!r}.")
            return values

        def numbers(name, values, kind, low):
            values = tuple(values)
            if not values or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                 or (kind is int and int(v) != v) or not v >= low
                                 for v in values):
                raise ValueError(f"{name} must list numbers >= {low}; got {values!r}.")
            return tuple(kind(v) for v in values)

        self.layers = numbers("layers", layers, int, 0)
        self.widths = numbers("widths", widths, int, 1)
        self.ensembles = numbers("ensembles", ensembles, int, 1)
        self.dropouts = numbers("dropouts", dropouts, float, 0.0)
        if any(d >= 1 for d in self.dropouts):
            raise ValueError(f"dropouts must be rates in [0, 1); got {dropouts!r}.")
        self.learning_rates = numbers("learning_rates", learning_rates, float, 1e-12)
        self.weight_decays = numbers("weight_decays", weight_decays, float, 0.0)
        self.bodies = subset("bodies", bodies, ("mlp", "resnet"))
        self.activations = tuple(activations)
        if not self.activations:
            raise ValueError("activations must list at least one activation.")
        self.numerics = subset("numerics", numerics, TABLE_TRANSFORMS)
        self.embeddings = subset("embeddings", embeddings, TABLE_EMBEDDINGS)
        self.categoricals = subset("categoricals", categoricals, ("onehot", "embed"))
        super().__init__([
            Decision("num_layers", self.layers), Decision("body", self.bodies),
            Decision("width", self.widths), Decision("activation", self.activations),
            Decision("dropout", self.dropouts), Decision("numeric", self.numerics),
            Decision("embedding", self.embeddings), Decision("categorical", self.categoricals),
            Decision("ensemble", self.ensembles), Decision("learning_rate", self.learning_rates),
            Decision("weight_decay", self.weight_decays),
        ])

    def get_config(self):
        return {"layers": list(self.layers), "widths": list(self.widths),
                "bodies": list(self.bodies), "activations": list(self.activations),
                "dropouts": list(self.dropouts), "numerics": list(self.numerics),
                "embeddings": list(self.embeddings), "categoricals": list(self.categoricals),
                "ensembles": list(self.ensembles), "learning_rates": list(self.learning_rates),
                "weight_decays": list(self.weight_decays)}

    def size(self):
        shared = (len(self.numerics) * len(self.embeddings) * len(self.categoricals)
                  * len(self.learning_rates) * len(self.weight_decays))
        body = (len(self.bodies) * len(self.widths) * len(self.activations) * len(self.dropouts)
                * len(self.ensembles))
        return shared * sum(body if n else 1 for n in self.layers)

    def active(self, values: Mapping):
        shared = {"num_layers", "numeric", "embedding", "categorical", "learning_rate",
                  "weight_decay"}
        if values["num_layers"] == 0:
            return shared
        return shared | {"body", "width", "activation", "dropout", "ensemble"}

    def to_string(self, arch):
        options = (f"numeric={arch['numeric']} embedding={arch['embedding']} "
                   f"categorical={arch['categorical']}")
        rates = f"lr={arch['learning_rate']:g} wd={arch['weight_decay']:g}"
        if arch["num_layers"] == 0:
            return f"linear {options} {rates}"
        return (f"{arch['body']} {arch['num_layers']}x{arch['width']} {arch['activation']} "
                f"dropout={arch['dropout']:g} {options} ensemble={arch['ensemble']} {rates}")

    def from_string(self, text):
        tokens = text.split()
        values = {d.name: d.default for d in self.decisions}
        try:
            if not tokens:
                raise ValueError("it is empty")
            head, rest = tokens[0], tokens[1:]
            if head == "linear":
                values["num_layers"] = 0
            else:
                if head not in self.bodies or not rest or "x" not in rest[0]:
                    raise ValueError(f"it must start with 'linear' or one of {self.bodies} "
                                     "and DEPTHxWIDTH")
                values["body"] = head
                depth, _, width = rest[0].partition("x")
                values["num_layers"] = parse_choice(self.decision("num_layers"), depth)
                values["width"] = parse_choice(self.decision("width"), width)
                rest = rest[1:]
                if rest and "=" not in rest[0]:
                    values["activation"] = parse_choice(self.decision("activation"), rest[0])
                    rest = rest[1:]
            for token in rest:
                key, _, raw = token.partition("=")
                name = self._OPTIONS.get(key)
                if name is None:
                    raise ValueError(f"unknown option {key!r}")
                decision = self.decision(name)
                values[name] = _parse_number(decision, raw)
        except ValueError as err:
            raise ValueError(f"Cannot parse table architecture {text!r}: {err}") from None
        return self.architecture(values)


def _parse_number(decision: Decision, raw: str):
    """`parse_choice`, also reading numbers written another way (`1e-3` for 0.001)."""
    try:
        return parse_choice(decision, raw)
    except ValueError:
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a valid value for {decision.name!r}; choose one "
                             f"of {decision.choices!r}.") from None
        for choice in decision.choices:
            if isinstance(choice, (int, float)) and not isinstance(choice, bool) \
                    and math.isclose(float(choice), number):
                return choice
        raise


#: MnasNet's per-block operations (Tan et al., 2019, section 4.1: "regular conv, depthwise
#: conv and mobile inverted bottleneck conv"); the first is the default (MobileNetV2's block).
MNAS_OPS = ("mbconv", "sep_conv", "conv")
#: MobileNetV2's output channels of its seven stages (Sandler et al., 2018, Table 2).
MOBILENET_V2_WIDTHS = (16, 24, 32, 64, 96, 160, 320)
#: `MnasEncoding`'s default base widths are MobileNetV2's times this (MobileNetV2's own width
#: multiplier; 8-12-16-32-48-80-160), the stem's 32 too: measured on 8x8 digits in int8 TFLite,
#: the full widths put the MobileNetV2 and MnasNet-A1 designs at 0.10-0.15 ms, 4-9x the
#: ResidualSpace designs' 0.017-0.027 ms; half widths at 0.05-0.08 ms (0.03-0.04 ms on series
#: of 150 steps, where the residual designs take 0.065-0.15 ms).
DEFAULT_WIDTH_MULTIPLIER = 0.5
#: The stages of the seven-stage layout that halve the resolution (0-based; MobileNetV2 and
#: MnasNet-A1 alike, plus the stem's stride-2 conv): at 224 px, 224 -> 112 (stem) -> 56 -> 28
#: -> 14 -> 7.
MOBILENET_V2_STRIDED = (1, 2, 3, 5)


@dataclasses.dataclass(frozen=True)
class MnasLayer:
    """One layer of a `MnasEncoding` network (`MnasEncoding.layers`).

    Attributes:
        block: Index of the block it belongs to.
        op: `"conv"`, `"sep_conv"` or `"mbconv"`.
        expansion: MBConv's expansion ratio (1 for the other ops).
        kernel: Kernel size of its spatial (or depthwise) convolution.
        se: Squeeze-and-excitation after the spatial convolution.
        stride: 2 for the block's first layer where the block reduces, else 1.
        in_width: Input channels (nominal: before a search-time width fidelity).
        width: Output channels (nominal).
        residual: An identity shortcut is added (`skip` and same input / output shape).
    """

    block: int
    op: str
    expansion: int
    kernel: int
    se: bool
    stride: int
    in_width: int
    width: int
    residual: bool


@register_encoding
class MnasEncoding(Encoding):
    """MnasNet's factorized hierarchical space: each block searches its own layers.

    Tan et al. (2019) split the network into `B` blocks and search, per block
    `i`, the convolution `ConvOp`, its kernel size, squeeze-and-excitation,
    the skip op, the number of layers `N_i` and the filter-size ratio; the
    `N_i` layers of a block repeat one searched layer (the first carries the
    block's stride), so layers differ across the network but stay alike
    within a block, which keeps the space at `S ** B` for per-block size `S`.

    Decisions, per block `i`:

    * `block{i}_op`: `"mbconv"` (1x1 expand to `expansion x` input channels,
      BN, ReLU, depthwise `k x k`, BN, ReLU, [SE], 1x1 linear projection, BN),
      `"sep_conv"` (depthwise `k x k`, BN, ReLU, [SE], 1x1 projection, BN) or
      `"conv"` (`k x k` conv, BN, ReLU, [SE]);
    * `block{i}_expansion` (6 / 3 / 1; active for `mbconv` only; at 1 the
      expand conv stays, so `mbconv1` is not `sep_conv`);
    * `block{i}_kernel` (3 / 5), `block{i}_se` (squeeze-and-excitation with
      ratio `SE_RATIO` of the layer's input channels, as MnasNet's code);
    * `block{i}_skip`: an identity residual on every layer whose input and
      output shapes agree (MnasNet's "identity residual" skip op; its
      pooling skip is not offered). Inactive, and held False, in a block
      where no layer can take one (a single layer that strides or changes
      the width), so two architectures never build the same network;
    * `block{i}_layers` (`N_i`, 1-4) and `block{i}_width_ratio` (0.75 / 1.0
      / 1.25 of the block's base width; the width is rounded to a multiple of
      `WIDTH_DIVISOR` and ratios that round alike are one choice).

    Where the network reduces is this class's rule, Keras-free so drawings and
    graphs show the strides: `num_reductions(input_shape)` halves an image
    while its smaller side stays at least `IMAGE_MIN_SIDE` = 4 (MobileNet's
    last feature map is 7x7; 8x8: one, 28x28: two, 32x32: three) and a
    sequence while it keeps at least `SEQUENCE_MIN_LENGTH` = 8 positions (40:
    two); the reductions go to the last of the blocks MobileNetV2 strides
    (`MOBILENET_V2_STRIDED`, so small inputs keep their first blocks at full
    resolution) and, past those, to the stem.

    Args:
        num_blocks: Blocks `B` (default `DEFAULT_NUM_BLOCKS` = 4; MnasNet: 7).
        ops: Candidate `ConvOp`s (default `MNAS_OPS`).
        expansions: MBConv expansion ratios (default `(6, 3, 1)`).
        kernels: Kernel sizes (default `(3, 5)`).
        squeeze_excite: SE choices (default `(False, True)`).
        skips: Skip choices (default `(False, True)`).
        layers: Layer counts `N_i` (default `(1, 2, 3, 4)`).
        width_ratios: Filter-size ratios (default `(1.0, 0.75, 1.25)`).
        base_widths: Each block's base output channels (default the first
            `num_blocks` of `MOBILENET_V2_WIDTHS` times `DEFAULT_WIDTH_MULTIPLIER`
            = 0.5: 8, 12, 16, 32, ...; MnasNet at 224 px: `MOBILENET_V2_WIDTHS`).
        stem_width: Channels of the stem's 3x3 conv (default
            `DEFAULT_STEM_WIDTH` = 16: MobileNetV2's and MnasNet's 32 at the
            same multiplier).
        reductions: Stride-2 reductions of the network, at most
            `max_reductions(num_blocks)` (default 0; `MnasSpace` passes
            `num_reductions(input_shape)`).

    Example:

    >>> enc = MnasEncoding(num_blocks=3, reductions=1)
    >>> arch = enc.from_string(
    ...     "sep_conv k3 x1 w1 | mbconv6 k3 x2 w1 skip | mbconv3 k5 x3 w1.25 se skip")
    >>> arch["block2_expansion"], arch["block2_se"], enc.strides()
    (3, True, (1, (1, 1, 2)))
    >>> [(layer.stride, layer.width, layer.residual) for layer in enc.layers(arch)][2:4]
    [(1, 12, True), (2, 20, False)]
    >>> str(enc.from_string(str(arch))) == str(arch)
    True
    """

    name = "mnas"
    #: Blocks of the default space: the fewest that hold MobileNetV2's first three strided
    #: stages (blocks 1-3). The one-liner's inputs are small (8x8 to 32x32 images: 1-3
    #: reductions; sequences of tens to hundreds of steps: 2-4, the fourth in the stem);
    #: MnasNet's seven blocks serve the five reductions of a 224 px image, and every block past
    #: the reductions adds latency (measured on 8x8 digits: 5 blocks 0.061-0.079 ms for the two
    #: hand designs, 4 blocks 0.052-0.065 ms).
    DEFAULT_NUM_BLOCKS = 4
    #: The stem's channels: MnasNet-A1's and MobileNetV2's 32 at `DEFAULT_WIDTH_MULTIPLIER`.
    DEFAULT_STEM_WIDTH = 16
    #: Squeeze-and-excitation ratio: the SE bottleneck has `max(1, int(SE_RATIO * C_in))` units
    #: for a layer of `C_in` input channels (MnasNet's `se0.25`).
    SE_RATIO = 0.25
    #: Block widths are rounded to a multiple of this (MnasNet rounds to 8, which would merge
    #: the 0.75 / 1.0 / 1.25 ratios of the small default widths 8 and 12; 2 keeps them apart).
    WIDTH_DIVISOR = 2
    #: Smallest image side a reduction may produce.
    IMAGE_MIN_SIDE = 4
    #: Shortest sequence a reduction may produce.
    SEQUENCE_MIN_LENGTH = 8
    #: Most blocks: the seven-stage layout of MobileNetV2 and MnasNet (base widths, strides).
    MAX_BLOCKS = len(MOBILENET_V2_WIDTHS)

    def __init__(self, num_blocks=DEFAULT_NUM_BLOCKS, ops=MNAS_OPS, expansions=(6, 3, 1),
                 kernels=(3, 5), squeeze_excite=(False, True), skips=(False, True),
                 layers=(1, 2, 3, 4), width_ratios=(1.0, 0.75, 1.25), base_widths=None,
                 stem_width=DEFAULT_STEM_WIDTH, reductions=0):
        if isinstance(num_blocks, bool) or int(num_blocks) != num_blocks \
                or not 1 <= num_blocks <= self.MAX_BLOCKS:
            raise ValueError(f"num_blocks must be an int from 1 to {self.MAX_BLOCKS} (the "
                             f"seven-stage MnasNet layout); got {num_blocks!r}.")
        self.num_blocks = int(num_blocks)
        self.ops = _mnas_subset("ops", ops, MNAS_OPS)
        self.expansions = _mnas_ints("expansions", expansions)
        self.kernels = _mnas_ints("kernels", kernels)
        self.layer_counts = _mnas_ints("layers", layers)
        self.squeeze_excite = _mnas_subset("squeeze_excite", squeeze_excite, (False, True))
        self.skips = _mnas_subset("skips", skips, (False, True))
        ratios = tuple(width_ratios)
        if not ratios or any(isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0
                             for r in ratios):
            raise ValueError(f"width_ratios must list positive numbers, e.g. (1.0, 0.75, 1.25); "
                             f"got {width_ratios!r}.")
        self.width_ratios = tuple(float(r) for r in ratios)
        if base_widths is None:
            base_widths = tuple(int(w * DEFAULT_WIDTH_MULTIPLIER)
                                for w in MOBILENET_V2_WIDTHS[:self.num_blocks])
        self.base_widths = _mnas_ints("base_widths", base_widths)
        if len(self.base_widths) != self.num_blocks:
            raise ValueError(f"base_widths needs one width per block ({self.num_blocks}); got "
                             f"{len(self.base_widths)}: {base_widths!r}.")
        self.stem_width = _mnas_ints("stem_width", (stem_width,))[0]
        most = self.max_reductions(self.num_blocks)
        if isinstance(reductions, bool) or int(reductions) != reductions \
                or not 0 <= reductions <= most:
            raise ValueError(f"reductions must be an int from 0 to {most} for {self.num_blocks} "
                             f"blocks; got {reductions!r}.")
        self.reductions = int(reductions)
        decisions = []
        for i in range(self.num_blocks):
            decisions += [
                Decision(f"block{i}_op", self.ops),
                Decision(f"block{i}_expansion", self.expansions),
                Decision(f"block{i}_kernel", self.kernels),
                Decision(f"block{i}_se", self.squeeze_excite),
                Decision(f"block{i}_skip", self.skips),
                Decision(f"block{i}_layers", self.layer_counts),
                Decision(f"block{i}_width_ratio", self.width_ratios),
            ]
        super().__init__(decisions)

    def get_config(self):
        return {"num_blocks": self.num_blocks, "ops": list(self.ops),
                "expansions": list(self.expansions), "kernels": list(self.kernels),
                "squeeze_excite": list(self.squeeze_excite), "skips": list(self.skips),
                "layers": list(self.layer_counts), "width_ratios": list(self.width_ratios),
                "base_widths": list(self.base_widths), "stem_width": self.stem_width,
                "reductions": self.reductions}

    # ------------------------------------------------------------- where it reduces
    @classmethod
    def max_reductions(cls, num_blocks: int) -> int:
        """Most reductions `num_blocks` blocks place: one per strided stage they hold, plus the
        stem's."""
        return sum(b < num_blocks for b in MOBILENET_V2_STRIDED) + 1

    @classmethod
    def num_reductions(cls, input_shape, num_blocks: int = DEFAULT_NUM_BLOCKS) -> int:
        """Stride-2 reductions for inputs of `input_shape` (`(length, channels)` or
        `(height, width, channels)`), at most `max_reductions(num_blocks)`."""
        spatial = _residual_spatial(input_shape)
        floor = cls.IMAGE_MIN_SIDE if len(spatial) == 2 else cls.SEQUENCE_MIN_LENGTH
        side, reductions = min(spatial), 0
        while side >= floor * 2 ** (reductions + 1):  # halving keeps the side >= floor
            reductions += 1
        return min(reductions, cls.max_reductions(num_blocks))

    def strides(self) -> tuple[int, tuple]:
        """`(stem stride, per-block strides)` of this encoding's `reductions`."""
        slots = [b for b in MOBILENET_V2_STRIDED if b < self.num_blocks]
        in_blocks = min(self.reductions, len(slots))
        strided = set(slots[len(slots) - in_blocks:])  # the last slots: early blocks keep detail
        stem = 2 if self.reductions > len(slots) else 1
        return stem, tuple(2 if i in strided else 1 for i in range(self.num_blocks))

    # ------------------------------------------------------------------ rules
    def block_width(self, i: int, ratio: float) -> int:
        """Output channels of block `i` at `ratio` of its base width (MnasNet's rounding: to a
        multiple of `WIDTH_DIVISOR`, never more than 10 % down)."""
        exact = self.base_widths[i] * float(ratio)
        d = self.WIDTH_DIVISOR
        width = max(d, int(exact + d / 2) // d * d)
        return width + d if width < 0.9 * exact else width

    def _widths(self, values) -> list[int]:
        return [self.block_width(i, values[f"block{i}_width_ratio"])
                for i in range(self.num_blocks)]

    def _skip_matters(self, values, i, widths, strides) -> bool:
        """Whether some layer of block `i` can take an identity shortcut."""
        in_width = widths[i - 1] if i else self.stem_width
        return values[f"block{i}_layers"] > 1 or (strides[i] == 1 and in_width == widths[i])

    def canonicalize(self, values):
        for i in range(self.num_blocks):  # ratios that round to one width are one choice
            name = f"block{i}_width_ratio"
            width = self.block_width(i, values[name])
            values[name] = next(r for r in self.width_ratios if self.block_width(i, r) == width)
        return values

    def active(self, values: Mapping):
        widths, (_, strides) = self._widths(values), self.strides()
        names = set()
        for i in range(self.num_blocks):
            p = f"block{i}_"
            names |= {p + "op", p + "kernel", p + "se", p + "layers", p + "width_ratio"}
            if values[p + "op"] == "mbconv":
                names.add(p + "expansion")
            if self._skip_matters(values, i, widths, strides):
                names.add(p + "skip")
        return names

    def size(self):
        """Distinct architectures, counted block by block over the width entering each block."""
        _, strides = self.strides()
        per_op = sum(len(self.expansions) if op == "mbconv" else 1 for op in self.ops)
        counts = {self.stem_width: 1}  # input width -> architectures of the blocks so far
        for i in range(self.num_blocks):
            widths = sorted({self.block_width(i, r) for r in self.width_ratios})
            nxt: dict = {}
            for in_width, count in counts.items():
                for width in widths:
                    skip_options = sum(
                        len(self.skips) if n > 1 or (strides[i] == 1 and in_width == width) else 1
                        for n in self.layer_counts)
                    nxt[width] = nxt.get(width, 0) + count * per_op * len(self.kernels) \
                        * len(self.squeeze_excite) * skip_options
            counts = nxt
        return sum(counts.values())

    def crossover_groups(self):
        """Per block, all its decisions together (a block's layer is one searched unit)."""
        return [tuple(d.name for d in self.decisions[7 * i:7 * i + 7])
                for i in range(self.num_blocks)]

    def layers(self, arch: Architecture) -> list[MnasLayer]:
        """Every layer of the network, block by block (what `MnasSpace` builds)."""
        values = arch.as_dict()
        widths, (_, strides) = self._widths(values), self.strides()
        result, in_width = [], self.stem_width
        for i in range(self.num_blocks):
            p = f"block{i}_"
            op = values[p + "op"]
            for j in range(values[p + "layers"]):
                stride = strides[i] if j == 0 else 1
                result.append(MnasLayer(
                    block=i, op=op, expansion=values[p + "expansion"] if op == "mbconv" else 1,
                    kernel=values[p + "kernel"], se=values[p + "se"], stride=stride,
                    in_width=in_width, width=widths[i],
                    residual=values[p + "skip"] and stride == 1 and in_width == widths[i]))
                in_width = widths[i]
        return result

    # ---------------------------------------------------------------- strings
    def to_string(self, arch):
        blocks = []
        for i in range(self.num_blocks):
            p = f"block{i}_"
            op = arch[p + "op"]
            head = f"mbconv{arch[p + 'expansion']}" if op == "mbconv" else op
            text = f"{head} k{arch[p + 'kernel']} x{arch[p + 'layers']} w{arch[p + 'width_ratio']:g}"
            text += " se" * arch[p + "se"] + " skip" * arch[p + "skip"]
            blocks.append(text)
        return " | ".join(blocks)

    def from_string(self, text):
        values = {d.name: d.default for d in self.decisions}
        parts = [part.strip() for part in text.split("|")]
        try:
            if len(parts) != self.num_blocks:
                raise ValueError(f"it has {len(parts)} blocks, this space {self.num_blocks}")
            for i, part in enumerate(parts):
                p = f"block{i}_"
                tokens = part.split()
                if not tokens:
                    raise ValueError(f"block {i} is empty")
                head, options = tokens[0], tokens[1:]
                if head.startswith("mbconv"):
                    values[p + "op"] = "mbconv"
                    values[p + "expansion"] = parse_choice(self.decision(p + "expansion"),
                                                           head.removeprefix("mbconv"))
                else:
                    values[p + "op"] = head
                for token in options:
                    if token in ("se", "skip"):
                        values[p + token] = True
                    elif token[:1] in ("k", "x", "w") and token[1:]:
                        name = {"k": "kernel", "x": "layers", "w": "width_ratio"}[token[0]]
                        values[p + name] = _parse_number(self.decision(p + name), token[1:])
                    else:
                        raise ValueError(f"unknown option {token!r} in block {i} (expected "
                                         "kK, xN, wR, se, skip)")
            return self.architecture(values)
        except ValueError as err:
            raise ValueError(f"Cannot parse mnas architecture {text!r}: {err}") from None


def _mnas_subset(name, values, allowed):
    values = tuple(values)
    bad = [v for v in values if v not in allowed or type(v) is not type(allowed[0])]
    if bad or not values:
        raise ValueError(f"{name} must be a non-empty subset of {allowed}; got {values!r}.")
    return values


def _mnas_ints(name, values):
    values = tuple(values)
    try:
        ok = bool(values) and all(not isinstance(v, bool) and int(v) == v and v >= 1
                                  for v in values)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must list positive ints; got {values!r}.")
    return tuple(int(v) for v in values)


#: NAGO's three levels, outermost first: the top graph's nodes are the network's stages, a
#: stage's mid graph has cells for nodes, a cell's bottom graph has operations for nodes.
NAGO_LEVELS = ("top", "mid", "bottom")
#: The generators each level may use; the first is the level's default, NAGO's choice (Ru et
#: al., 2020, section 3): Watts-Strogatz for the top and bottom levels, Erdős-Rényi for the
#: middle one, whose single-node case makes a stage one cell.
NAGO_GENERATORS = {"top": ("ws", "er", "ba"), "mid": ("er", "ws", "ba"),
                   "bottom": ("ws", "er", "ba")}
#: Nodes per level. NAGO's reference code searches 3 to 10 at every level; these stop at 5
#: stages, 3 cells and 6 operations so that a network stays mobile-sized and quick to trace
#: on a CPU (at most 5 x 3 x 6 = 90 operations, 36 on average; TensorFlow's first-step
#: tracing, measured at about 0.4 s per Keras layer on a loaded 2-core machine, dominates a
#: short trial), and the middle level starts at 1 (a stage of one cell), as NAGO's ER middle
#: level allows.
NAGO_TOP_NODES = (3, 4, 5)
NAGO_MID_NODES = (1, 2, 3)
NAGO_BOTTOM_NODES = (3, 4, 5, 6)
#: WS(k, p)'s lattice degree k: 1 or 2 neighbours per side (NAGO searches k in 2-5, which
#: networkx floors to the same two lattices; RandWire's best is k = 4).
NAGO_WS_K = (2, 4)
#: p, WS's rewiring probability or ER's edge probability. NAGO searches [0.1, 1] (WS) and
#: [0.2, 1] (ER); 0.75 is RandWire's best WS(4, p).
NAGO_P = (0.25, 0.5, 0.75, 1.0)
#: BA(m)'s edges per new node (RandWire's BA(5) draws 32 nodes; these suit graphs of 3-6).
NAGO_BA_M = (1, 2, 3)
#: Seeds per level: the same generator parameters and seed always give the same graphs,
#: and a new seed is a new sample of the same generator (NAGO averages several samples per
#: setting; a search here evaluates one sample per seed).
NAGO_SEEDS = 5
#: Channels at the stem's resolution, doubled at each reduction (NAGO's channel ratios
#: 1 : 2 : 4): with 16 the largest network of the default grids (every graph complete) has
#: 168 k parameters and 34 M multiply-adds on 32x32x3 images, 42 k and 2.3 M on 8x8x1.
NAGO_WIDTH = 16
#: Most resolutions a network has: NAGO's three stages (ratios 1 : 2 : 4); reductions the
#: input allows beyond them become a max-pool in the stem, as in `ResidualEncoding`.
NAGO_MAX_RESOLUTIONS = 3
#: The convolution of an operation node: depthwise-separable (NAGO's mobile setting) or plain.
NAGO_CONVS = ("separable", "plain")
#: Kernel size of every operation node's convolution (3x3 in NAGO and RandWire).
NAGO_KERNEL = 3
#: What each parameter is written as in the string form, and the generators that take it.
_NAGO_PARAMETERS = {"n": "nodes", "k": "k", "p": "p", "m": "m", "seed": "seed"}
_NAGO_TAKES = {"ws": ("n", "k", "p", "seed"), "er": ("n", "p", "seed"),
               "ba": ("n", "m", "seed")}


@register_encoding
class NAGOEncoding(Encoding):
    """NAGO's hierarchical graph space: three random graph generators, one per level.

    A network is a top graph whose nodes are stages; each stage is a mid graph
    whose nodes are cells; each cell is a bottom graph whose nodes are
    ReLU-conv-BN operations. Every graph is drawn by a random graph generator
    (`kerasnas.spaces.random_graphs`): Watts-Strogatz WS(k, p), Erdős-Rényi
    ER(p) or Barabási-Albert BA(m), and made a DAG as RandWire does (nodes in
    index order, edges from the lower index to the higher, a unique input
    feeding the sources and a unique output averaging the sinks). Each stage
    draws its own mid graph and each cell its own bottom graph, all from their
    level's generator.

    Decisions per level `L` of `NAGO_LEVELS`: `L_generator`, `L_nodes`,
    `L_k` (WS only), `L_p` (WS and ER), `L_m` (BA only) and `L_seed`. The
    seed picks the sample: the same values always give the same graphs.
    Canonical forms: a level of one node has no generator, WS with
    `k >= n - 1` is the complete graph (its `k` is the smallest such grid value,
    its `p` is inactive), BA's `m` is capped at `n - 1` likewise, and a
    level whose graph is deterministic (complete, ER with p = 1, BA with
    `m = n - 1`) has no seed.

    For the categorical GP of `BayesianOptimization`, `feature_codes` gives
    the numeric decisions thermometer features (so `p = 0.5` is nearer 0.75
    than 1.0) and leaves the seeds out: they are sampling noise, which the
    GP's noise term absorbs.

    Where the network reduces is this class's rule (`plan`), Keras-free so
    graph views and drawings show it: `ResidualEncoding.num_reductions`
    reductions for the input (8x8 images and sequences shorter than 64: none),
    at most `NAGO_MAX_RESOLUTIONS - 1` of them between stages, spread over the
    stages in node order (stage `t` of `n` runs at resolution
    `floor((t - 1) * R / n)` for `R` resolutions), the rest a max-pool in the stem.
    A stage reads its inputs average-pooled to its resolution; widths double
    at each resolution.

    Args:
        top_generators, mid_generators, bottom_generators: Each level's
            generators (default `NAGO_GENERATORS`; the first is the default value).
        top_nodes, mid_nodes, bottom_nodes: Candidate node counts (default
            `NAGO_TOP_NODES`, `NAGO_MID_NODES`, `NAGO_BOTTOM_NODES`).
        ks: WS lattice degrees, even (default `NAGO_WS_K`).
        ps: WS / ER probabilities in [0, 1] (default `NAGO_P`).
        ms: BA edges per node (default `NAGO_BA_M`).
        seeds: Samples per level, seeds `0 .. seeds - 1` (default `NAGO_SEEDS`).
        width: Channels at the first resolution (default `NAGO_WIDTH`).
        conv: `"separable"` or `"plain"` (default `"separable"`).
        kernel: The operations' kernel size (default `NAGO_KERNEL`).

    Numeric grids are sorted; each decision's default is its first choice.

    Example:

    >>> enc = NAGOEncoding()
    >>> arch = enc.from_string("top=ws(n=4,k=2,p=0.75,seed=1) mid=er(n=2,p=0.5,seed=0) "
    ...                        "bottom=ba(n=5,m=2,seed=3)")
    >>> enc.from_string(str(arch)) == arch
    True
    >>> plan = enc.plan(arch, (32, 32, 3))
    >>> plan.levels, plan.widths, plan.num_ops == 4 * 2 * 5
    ((0, 0, 1, 2), (16, 16, 32, 64), True)
    >>> enc.plan(arch, (32, 32, 3)) == plan      # the same values, the same graphs
    True
    """

    name = "nago"

    def __init__(self, top_generators=NAGO_GENERATORS["top"],
                 mid_generators=NAGO_GENERATORS["mid"],
                 bottom_generators=NAGO_GENERATORS["bottom"], top_nodes=NAGO_TOP_NODES,
                 mid_nodes=NAGO_MID_NODES, bottom_nodes=NAGO_BOTTOM_NODES, ks=NAGO_WS_K,
                 ps=NAGO_P, ms=NAGO_BA_M, seeds=NAGO_SEEDS, width=NAGO_WIDTH, conv="separable",
                 kernel=NAGO_KERNEL):
        self.generators = {}
        for level, given in zip(NAGO_LEVELS, (top_generators, mid_generators,
                                              bottom_generators), strict=True):
            given = (given,) if isinstance(given, str) else tuple(given)
            bad = [g for g in given if g not in random_graphs.GENERATORS]
            if bad or not given or len(set(given)) != len(given):
                raise ValueError(f"{level}_generators must list distinct generators of "
                                 f"{random_graphs.GENERATORS}; got {given!r}.")
            self.generators[level] = given
        self.nodes = {level: _nago_grid(f"{level}_nodes", values, int, 1)
                      for level, values in zip(NAGO_LEVELS, (top_nodes, mid_nodes, bottom_nodes),
                                               strict=True)}
        self.ks = _nago_grid("ks", ks, int, 2)
        if any(k % 2 for k in self.ks):
            raise ValueError(f"ks must be even (WS joins k / 2 neighbours on each side); got "
                             f"{ks!r}.")
        self.ps = _nago_grid("ps", ps, float, 0.0)
        if self.ps[-1] > 1.0:
            raise ValueError(f"ps must be probabilities in [0, 1]; got {ps!r}.")
        self.ms = _nago_grid("ms", ms, int, 1)
        self.seeds = _nago_grid("seeds", (seeds,), int, 1)[0]
        self.width = _nago_grid("width", (width,), int, 1)[0]
        self.kernel = _nago_grid("kernel", (kernel,), int, 1)[0]
        if conv not in NAGO_CONVS:
            raise ValueError(f"conv must be one of {NAGO_CONVS}; got {conv!r}.")
        self.conv = conv
        decisions = []
        for level in NAGO_LEVELS:
            decisions += [Decision(f"{level}_generator", self.generators[level]),
                          Decision(f"{level}_nodes", self.nodes[level]),
                          Decision(f"{level}_k", self.ks), Decision(f"{level}_p", self.ps),
                          Decision(f"{level}_m", self.ms),
                          Decision(f"{level}_seed", tuple(range(self.seeds)))]
        super().__init__(decisions)

    def get_config(self):
        return {"top_generators": list(self.generators["top"]),
                "mid_generators": list(self.generators["mid"]),
                "bottom_generators": list(self.generators["bottom"]),
                "top_nodes": list(self.nodes["top"]), "mid_nodes": list(self.nodes["mid"]),
                "bottom_nodes": list(self.nodes["bottom"]), "ks": list(self.ks),
                "ps": list(self.ps), "ms": list(self.ms), "seeds": self.seeds,
                "width": self.width, "conv": self.conv, "kernel": self.kernel}

    # ------------------------------------------------------------------ rules
    def canonicalize(self, values):
        for level in NAGO_LEVELS:
            n, generator = values[f"{level}_nodes"], values[f"{level}_generator"]
            # A WS lattice of k >= n - 1 and a BA of m >= n - 1 are the same graph for any
            # such k (m): keep the smallest grid value that gives it.
            if generator == "ws" and values[f"{level}_k"] >= n - 1:
                values[f"{level}_k"] = min(k for k in self.ks if k >= n - 1)
            if generator == "ba" and values[f"{level}_m"] >= n - 1:
                values[f"{level}_m"] = min(m for m in self.ms if m >= n - 1)
        return values

    def active(self, values):
        names = set()
        for level in NAGO_LEVELS:
            n, generator = values[f"{level}_nodes"], values[f"{level}_generator"]
            names.add(f"{level}_nodes")
            if n == 1:
                continue  # one node: the same graph whatever draws it
            names.add(f"{level}_generator")
            if generator == "ws":
                names.add(f"{level}_k")
                complete = values[f"{level}_k"] >= n - 1
                if not complete:
                    names.add(f"{level}_p")
                random = not complete and values[f"{level}_p"] > 0
            elif generator == "er":
                names.add(f"{level}_p")
                random = 0 < values[f"{level}_p"] < 1
            else:
                names.add(f"{level}_m")
                random = values[f"{level}_m"] < n - 1
            if random:
                names.add(f"{level}_seed")
        return names

    def crossover_groups(self):
        """One group per level: a generator's parameters only make sense together."""
        return [tuple(f"{level}_{key}" for key in ("generator", "nodes", "k", "p", "m", "seed"))
                for level in NAGO_LEVELS]

    # ---------------------------------------------------------------- graphs
    def graph(self, arch, level: str, index=()) -> random_graphs.RandomDAG:
        """The DAG `level`'s generator draws for node `index` of the level above.

        Args:
            arch: An `Architecture` of this encoding.
            level: One of `NAGO_LEVELS`.
            index: `()` for the top graph, `(stage,)` for a stage's mid graph,
                `(stage, cell)` for a cell's bottom graph (1-based node numbers).

        Returns:
            A `RandomDAG`, drawn from a generator seeded by the level, its seed
            decision and `index` only: the same values always give the same graph.
        """
        depth = NAGO_LEVELS.index(level)
        rng = np.random.default_rng([depth, int(arch[f"{level}_seed"]), *map(int, index)])
        n = arch[f"{level}_nodes"]
        edges = random_graphs.generate(arch[f"{level}_generator"], n, rng, k=arch[f"{level}_k"],
                                       p=arch[f"{level}_p"], m=arch[f"{level}_m"])
        return random_graphs.to_dag(n, edges)

    def plan(self, arch, input_shape=None, *, reductions=None) -> "NAGOPlan":
        """Every graph of `arch` and where the network reduces for inputs of `input_shape`.

        Args:
            arch: An `Architecture` of this encoding.
            input_shape: The model's per-example input shape (`(length, channels)`
                or `(height, width, channels)`).
            reductions: Instead of `input_shape`: the reductions the input allows
                (`ResidualEncoding.num_reductions`). Neither: none (full resolution).

        Returns:
            A `NAGOPlan`.
        """
        if input_shape is not None:
            count = ResidualEncoding.num_reductions(input_shape)
        elif reductions is not None:
            if isinstance(reductions, bool) or int(reductions) != reductions or reductions < 0:
                raise ValueError(f"reductions must be an int >= 0; got {reductions!r}.")
            count = int(reductions)
        else:
            count = 0
        top = self.graph(arch, "top")
        n = top.num_nodes
        between = min(count, NAGO_MAX_RESOLUTIONS - 1, n - 1)
        levels = tuple((t * (between + 1)) // n for t in range(n))
        mid = tuple(self.graph(arch, "mid", (t,)) for t in top.nodes())
        bottom = tuple(tuple(self.graph(arch, "bottom", (t, c)) for c in mid[t - 1].nodes())
                       for t in top.nodes())
        return NAGOPlan(top=top, mid=mid, bottom=bottom, levels=levels,
                        widths=tuple(self.width * 2 ** level for level in levels),
                        reductions=count, stem_pool=2 ** (count - between))

    # --------------------------------------------------------------- strings
    def to_string(self, arch):
        active = self.active(arch.as_dict())
        parts = []
        for level in NAGO_LEVELS:
            args = [f"{key}={arch[f'{level}_{name}']}" for key, name in _NAGO_PARAMETERS.items()
                    if f"{level}_{name}" in active]
            parts.append(f"{level}={arch[f'{level}_generator']}({','.join(args)})")
        return " ".join(parts)

    def from_string(self, text):
        values = {d.name: d.default for d in self.decisions}
        seen = []
        try:
            for token in text.split():
                level, _, rest = token.partition("=")
                generator, paren, args = rest.partition("(")
                if level not in NAGO_LEVELS or not paren or not args.endswith(")"):
                    raise ValueError(f"{token!r} is not LEVEL=GENERATOR(n=N,...) with LEVEL one "
                                     f"of {NAGO_LEVELS}")
                if level in seen:
                    raise ValueError(f"level {level!r} appears twice")
                seen.append(level)
                values[f"{level}_generator"] = parse_choice(self.decision(f"{level}_generator"),
                                                            generator)
                for item in filter(None, args[:-1].split(",")):
                    key, _, raw = item.partition("=")
                    if key not in _NAGO_TAKES.get(generator, ()):
                        raise ValueError(f"{generator} takes {_NAGO_TAKES[generator]}, not "
                                         f"{key!r}")
                    name = f"{level}_{_NAGO_PARAMETERS[key]}"
                    values[name] = _parse_number(self.decision(name), raw)
            missing = [level for level in NAGO_LEVELS if level not in seen]
            if missing:
                raise ValueError(f"levels {missing} are missing")
        except ValueError as err:
            raise ValueError(f"Cannot parse NAGO architecture {text!r}: {str(err).rstrip('.')}. "
                             "Write e.g. "
                             "'top=ws(n=4,k=2,p=0.75,seed=0) mid=er(n=2,p=0.5,seed=0) "
                             "bottom=ws(n=5,k=4,p=0.75,seed=0)'.") from None
        return self.architecture(values)

    # ----------------------------------------------------------- GP features
    def _gp_decisions(self):
        """The decisions the GP's kernel sees: all but the seeds (sampling noise)."""
        return [d for d in self.decisions if not d.name.endswith("_seed")]

    @staticmethod
    def _bits(decision) -> int:
        """Thermometer columns of an ordered (numeric) decision; 0 for a categorical one."""
        numeric = not decision.name.endswith("_generator")
        return min(len(decision.choices) - 1, THERMOMETER_BITS) \
            if numeric and len(decision.choices) > 2 else 0

    def feature_cardinalities(self) -> list[int]:
        """Categories per column of `feature_codes` (the last one means inactive)."""
        cards = []
        for d in self._gp_decisions():
            bits = self._bits(d)
            cards.extend([3] * bits if bits else [len(d.choices) + 1])
        return cards

    def feature_codes(self, archs) -> np.ndarray:
        """Integer features for the categorical GP: a generator's index; for a numeric grid a
        thermometer code (column `j` is 1 when the value's grid index exceeds `j`, so the
        Hamming distance counts grid steps); an inactive decision: the last category. The
        seeds are left out."""
        decisions = self._gp_decisions()
        rows = []
        for arch in archs:
            active = self.active(arch.as_dict())
            row = []
            for d in decisions:
                bits, value = self._bits(d), arch[d.name]
                if not bits:
                    row.append(d.index(value) if d.name in active else len(d.choices))
                elif d.name not in active:
                    row.extend([2] * bits)
                else:
                    position = d.index(value) / (len(d.choices) - 1)
                    row.extend(int(position >= (j + 0.5) / bits) for j in range(bits))
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(len(rows), len(self.feature_cardinalities()))


@dataclasses.dataclass(frozen=True)
class NAGOPlan:
    """Every graph of one NAGO network and where it reduces: `NAGOEncoding.plan`'s answer.

    Attributes:
        top: The top `RandomDAG` (its nodes are the stages, 1-based).
        mid: Per stage, its mid `RandomDAG` (nodes: cells).
        bottom: Per stage, per cell, its bottom `RandomDAG` (nodes: operations).
        levels: Per stage, its resolution (0: the stem's; each step halves it).
        widths: Per stage, its channels at full size.
        reductions: Halvings in all (between stages and in the stem's pool).
        stem_pool: The stem's max-pool factor (1: no pool).
    """

    top: random_graphs.RandomDAG
    mid: tuple
    bottom: tuple
    levels: tuple
    widths: tuple
    reductions: int
    stem_pool: int

    @property
    def num_ops(self) -> int:
        """Operation nodes in the whole network."""
        return sum(dag.num_nodes for cells in self.bottom for dag in cells)


def _nago_grid(name, values, kind, low):
    """`values` as a sorted tuple of `kind` numbers >= `low`, or a `ValueError` naming `name`."""
    try:
        values = tuple(values)
        ok = bool(values) and all(
            not isinstance(v, bool) and isinstance(v, (int, float)) and v >= low
            and (kind is float or int(v) == v) for v in values)
    except TypeError:
        ok = False
    if not ok:
        what = "ints" if kind is int else "numbers"
        raise ValueError(f"{name} must list {what} >= {low}; got {values!r}.")
    grid = tuple(sorted(kind(v) for v in values))
    if len(set(grid)) != len(grid):
        raise ValueError(f"{name} repeats a value: {values!r}.")
    return grid
