"""The Keras-free encodings of kerasnas's four search spaces.

Each class lists its space's decisions and rules; the matching `HyperModel`
(in `macro.py`, `cell.py`, `nb201.py`, `dense.py`) turns an `Architecture` of
it into a Keras model. Oracles only ever see these classes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

from kerasnas.spaces.architecture import (
    Architecture,
    Decision,
    Encoding,
    parse_choice,
    register_encoding,
)

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

    def active(self, values):
        n = values["num_layers"]
        names = {"num_layers"}
        for i in range(n):
            names |= {f"layer{i}_op", f"layer{i}_width", f"layer{i}_kernel"}
            if self.skips:
                names |= {f"layer{i}_skip{j}" for j in range(i - 1)}
        return names

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
