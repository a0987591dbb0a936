"""Architecture drawings: every search space's `Architecture` as a self-contained SVG picture.

* `CellSpace` (`CellEncoding`): each cell type (normal, reduction; or every cell
  with `macro=True`) as a DAG: the two cell inputs, one node per block (with its
  combination, `add` or `concat`), an edge per op labelled with the op, and the
  output node that concatenates every block;
* `NB201Space`: the 4-node cell, its 6 edges labelled with their ops (`none`
  edges dashed);
* `MacroSpace`: the chain input > stem > layers > head, each layer with its op,
  kernel and width, skip connections as arcs;
* `DenseSpace`: the layer stack with widths, activation, dropout and residuals;
* `ResidualSpace` (`ResidualEncoding`, the default space of images and
  sequences): the chain input > stem > residual blocks > head, each block with
  its kernel, dilation and width, its shortcut as an arc, and the head with its
  dropout. With `downsample="by_size"` the stride-2 reductions depend on the
  input's size, which an `Architecture` does not carry: given
  `draw_architecture(arch, input_shape)` the strided blocks are marked
  (`stride 2`, a solid 1x1-conv shortcut) and every block shows its exact
  width; without it the blocks show every width they may have, and a table
  below the chain lists, per number of reductions (with the input sizes that
  give it), which blocks stride and the width of every block. Both come from
  `ResidualEncoding.plan`, the rule `ResidualSpace` builds by.

Nodes stand in one row; op edges are arcs above it, stacked so that no label
overlaps another label or crosses another arc's path (a greedy level search),
which keeps the layout readable without Graphviz. A new space plugs in with
`register_drawer(MyEncoding)`; unknown encodings fall back to a list of their
decisions. `draw_architecture(arch, input_shape)` passes the model's input
shape to the drawers that take an `input_shape` argument (the residual one);
the others draw the architecture alone.

Every element carries its meaning for scripts and tests: node groups
`class='node'`, op edges `class='edge'` with `data-op`, `data-src`,
`data-dst`; chain links `class='chain'`; skip arcs `class='skip'`; the
cell-output concatenation `class='concat'`; the rows of a residual stack's
reduction table `class='reduction'` with `data-reductions`, `data-strided` and
`data-widths`; a residual block's `data-stride` (`2`, `1`, or `by input size`)
and `data-width`.

Example:

>>> import numpy as np
>>> from kerasnas.spaces.encodings import NB201Encoding
>>> from kerasnas.viz import draw_architecture
>>> arch = NB201Encoding().sample(np.random.default_rng(0))
>>> drawing = draw_architecture(arch)
>>> drawing.save("cell.svg")                           # doctest: +SKIP
'cell.svg'
>>> str(drawing).count("class='edge'")
6
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

from kerasnas.viz.svg import NODE_FILLS, Drawing, Svg, op_color, text_width

#: Vertical distance between two arc levels: a label's height (16) plus a gap (6).
LEVEL_STEP = 22
#: Height above the node row of the lowest arc's top: room for its label.
BASE_ARC_HEIGHT = 26
#: Horizontal gap between node boxes when no labelled arc needs more room.
NODE_GAP = 38
#: Height of one text line inside a node box.
LINE_HEIGHT = 15
#: Where a label may sit along its arc (cubic parameter), tried in this order.
LABEL_SPOTS = (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8)
#: Levels tried per arc above its lowest one.
MAX_LEVELS = 12
#: Height of a row's title line.
TITLE_HEIGHT = 22

_DRAWERS: dict[type, Callable] = {}
_BUILTINS_LOADED: list = []  # non-empty once the built-in drawers are registered


def register_drawer(encoding_class):
    """Decorator: `fn(arch) -> Drawing` draws architectures of `encoding_class` (and subclasses).

    A drawer that can use the model's input shape takes it as an `input_shape`
    argument (`fn(arch, input_shape=None)`); `draw_architecture` passes it only
    to such drawers, so one taking `arch` alone keeps working.

    Example:

    >>> @register_drawer(MyEncoding)                   # doctest: +SKIP
    ... def draw_mine(arch):
    ...     return Drawing("<svg .../>")
    """

    def wrap(fn):
        _DRAWERS[encoding_class] = fn
        return fn

    return wrap


def draw_architecture(arch, input_shape=None) -> Drawing:
    """The drawing of `arch`, an `Architecture` of any space.

    Args:
        arch: A `kerasnas.Architecture` (e.g. `result.architecture`).
        input_shape: Optional per-example shape of the model's input, channels
            last (e.g. `result.task.input_shape`). Drawers whose picture depends
            on it use it (a residual stack's stride-2 blocks and widths); the
            others ignore it.

    Returns:
        A `Drawing`: `str(drawing)` is the SVG; it shows itself in Jupyter and
        `drawing.save("arch.svg")` writes it.
    """
    encoding = getattr(arch, "encoding", None)
    if encoding is None or not hasattr(arch, "values"):
        raise TypeError(f"draw_architecture needs a kerasnas Architecture (e.g. "
                        f"result.architecture), got {type(arch).__name__}.")
    _load_builtin_drawers()
    for cls in type(encoding).__mro__:
        if cls in _DRAWERS:
            drawer = _DRAWERS[cls]
            if input_shape is not None and _takes_input_shape(drawer):
                return drawer(arch, input_shape=tuple(input_shape))
            return drawer(arch)
    return _draw_decisions(arch)


def _takes_input_shape(drawer) -> bool:
    """Whether `drawer` accepts an `input_shape` keyword (drawers registered before it
    existed take `arch` alone)."""
    try:
        params = inspect.signature(drawer).parameters.values()
    except (TypeError, ValueError):  # no signature to read: call it the old way
        return False
    return any(p.kind is p.VAR_KEYWORD or (p.name == "input_shape" and p.kind in (
        p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)) for p in params)


# ------------------------------------------------------------------------------ row layout
@dataclasses.dataclass
class _Node:
    key: str
    lines: list
    kind: str = "node"
    data: dict = dataclasses.field(default_factory=dict)  # extra data- attributes
    x: float = 0.0  # centre
    w: float = 0.0


@dataclasses.dataclass
class _Arc:
    src: str
    dst: str
    label: str | None = None
    cls: str = "edge"
    color: str = "#555555"
    dash: str | None = None
    data: dict = dataclasses.field(default_factory=dict)
    # Filled by the layout:
    xs: float = 0.0
    xt: float = 0.0
    height: float = 0.0
    spot: float = 0.5  # where along the arc (cubic parameter) its label sits


class _Row:
    """One row of node boxes with labelled arcs above it (and optionally a concat bus below).

    Args:
        title: Text above the row.
        nodes: `_Node`s, left to right.
        arcs: `_Arc`s between nodes (source left of target).
        chain: Draw a straight arrow between consecutive nodes.
        concat: `(sources, target)`: keys of nodes joined by a bus below the row
            into the `target` node (a cell's output concatenation).
        name: The row group's `data-name` (a cell's name).
    """

    def __init__(self, title, nodes, arcs, *, chain=False, concat=None, name=""):
        self.title, self.nodes, self.arcs, self.name = title, nodes, arcs, name
        self.chain, self.concat = chain, concat
        self.by_key = {n.key: n for n in nodes}
        for n in nodes:
            n.w = max(44.0, max(text_width(line) for line in n.lines) + 16)
        self.box_h = 8 + LINE_HEIGHT * max(len(n.lines) for n in nodes)
        labels = [text_width(a.label) + 10 for a in arcs if a.label]
        x = 8.0
        for i, n in enumerate(nodes):
            if i:
                gap = NODE_GAP
                if labels:  # adjacent arcs of equal span put labels one node spacing apart
                    gap = max(gap, max(labels) + 14)  # a label fits between two boxes
                x += nodes[i - 1].w / 2 + gap + n.w / 2
            else:
                x += n.w / 2
            n.x = x
        self.width = max(nodes[-1].x + nodes[-1].w / 2, text_width(title) + 8) + 8
        self._place_ports()
        self._place_levels()
        self.arc_room = max([a.height for a in arcs], default=0) + (12 if arcs else 4)
        self.height = TITLE_HEIGHT + self.arc_room + self.box_h + (34 if concat else 10)

    def _place_ports(self):
        index = {n.key: i for i, n in enumerate(self.nodes)}
        for n in self.nodes:
            incoming = sorted((a for a in self.arcs if a.dst == n.key),
                              key=lambda a: (index[a.dst] - index[a.src], -index[a.src]))
            outgoing = sorted((a for a in self.arcs if a.src == n.key),
                              key=lambda a: -(index[a.dst] - index[a.src]))
            half = n.w / 2 - 6
            for k, a in enumerate(incoming):  # left half; outer (longer) arcs land further right
                a.xt = n.x - n.w / 2 + 6 + half * (k + 1) / (len(incoming) + 1)
            for k, a in enumerate(outgoing):  # right half; outer arcs leave further left
                a.xs = n.x + half * (k + 1) / (len(outgoing) + 1)

    def _place_levels(self):
        """Per arc, the level and label spot of least cost: a label over a label costs
        most, an arc through a label next, height least. Shorter arcs go first, so
        longer ones climb over them; an arc whose legs must cross a label still gets a
        place (the least crossed one)."""
        index = {n.key: i for i, n in enumerate(self.nodes)}
        placed: list[tuple[tuple | None, list]] = []
        order = sorted(self.arcs, key=lambda a: (index[a.dst] - index[a.src], index[a.src]))
        for arc in order:
            span = index[arc.dst] - index[arc.src]
            first = 0 if arc.label else span - 1
            best = None
            for level in range(first, first + MAX_LEVELS):
                arc.height = BASE_ARC_HEIGHT + level * LEVEL_STEP
                points = _arc_points(arc)
                crossed = sum(_crosses(points, rect) for rect, _ in placed if rect)
                for t in (LABEL_SPOTS if arc.label else (0.5,)):
                    cost = 10 * crossed + level + (abs(t - 0.5) * 2)
                    rect = self._label_rect(arc, t)
                    if rect is not None:
                        if rect[0] < 0 or rect[2] > self.width:
                            continue
                        cost += sum(100 * bool(other and _overlap(rect, other))
                                    + 10 * _crosses(other_points, rect)
                                    for other, other_points in placed)
                    if best is None or cost < best[0]:
                        best = (cost, level, t)
                if best[0] < level + 1:  # nothing crossed: higher levels cannot do better
                    break
            _, level, arc.spot = best
            arc.height = BASE_ARC_HEIGHT + level * LEVEL_STEP
            placed.append((self._label_rect(arc), _arc_points(arc)))

    @staticmethod
    def _label_rect(arc, t=None):
        if not arc.label:
            return None
        w = text_width(arc.label) + 8
        cx, cy = _arc_point(arc, arc.spot if t is None else t)
        return (cx - w / 2 - 2, cy - 10, cx + w / 2 + 2, cy + 10)

    def draw(self, svg: Svg, y0: float) -> None:
        svg.open_group("row", name=self.name)
        svg.text(8, y0 + 15, self.title, anchor="start", weight="bold", cls="title")
        top = y0 + TITLE_HEIGHT + self.arc_room  # y of the node boxes' top edge
        for arc in self.arcs:
            svg.open_group(arc.cls, src=arc.src, dst=arc.dst, **arc.data)
            h = arc.height / 0.75  # a cubic with both controls at h peaks at 0.75 h
            svg.path(f"M{arc.xs:.1f},{top:.1f} C{arc.xs:.1f},{top - h:.1f} "
                     f"{arc.xt:.1f},{top - h:.1f} {arc.xt:.1f},{top - 1:.1f}",
                     stroke=arc.color, dash=arc.dash, arrow=True, width=1.6)
            if arc.label:
                cx, cy = _arc_point(arc, arc.spot)
                cy += top
                w = text_width(arc.label) + 8
                svg.rect(cx - w / 2, cy - 8, w, 16, fill="#ffffff", stroke=arc.color, rx=3,
                         width=0.8)
                svg.text(cx, cy + 4, arc.label, fill=arc.color, cls="label")
            svg.close_group()
        mid = top + self.box_h / 2
        if self.chain:
            for a, b in zip(self.nodes, self.nodes[1:], strict=False):
                svg.open_group("chain", src=a.key, dst=b.key)
                svg.line(a.x + a.w / 2, mid, b.x - b.w / 2 - 1, mid, arrow=True, width=1.4)
                svg.close_group()
        if self.concat:
            sources, target = self.concat
            out = self.by_key[target]
            bus = top + self.box_h + 18
            xs = [self.by_key[k].x for k in sources]
            for key, x in zip(sources, xs, strict=True):
                svg.open_group("concat", src=key, dst=target)
                svg.line(x, top + self.box_h, x, bus, stroke="#8a6d00", dash="4 3")
                svg.close_group()
            svg.line(min(xs), bus, out.x, bus, stroke="#8a6d00", dash="4 3")
            svg.line(out.x, bus, out.x, top + self.box_h + 1, stroke="#8a6d00", arrow=True)
            svg.text((max(xs) + out.x) / 2, bus + 13, "concat", fill="#8a6d00", size=11)
        for n in self.nodes:
            svg.open_group("node", key=n.key, kind=n.kind, **n.data)
            svg.rect(n.x - n.w / 2, top, n.w, self.box_h, fill=NODE_FILLS.get(n.kind, "#fff"),
                     stroke="#666", rx=5)
            first = mid - (len(n.lines) - 1) * LINE_HEIGHT / 2 + 4
            for i, line in enumerate(n.lines):
                svg.text(n.x, first + i * LINE_HEIGHT, line, weight="bold" if i == 0 else None,
                         size=12 if i == 0 else 11)
            svg.close_group()
        svg.close_group()


def _arc_point(arc, t):
    """The point at parameter `t` of the arc's cubic, in row coordinates (node tops at y=0)."""
    h = arc.height / 0.75
    x = ((1 - t) ** 3 + 3 * (1 - t) ** 2 * t) * arc.xs + (3 * (1 - t) * t ** 2 + t ** 3) * arc.xt
    return x, -(3 * (1 - t) ** 2 * t + 3 * (1 - t) * t ** 2) * h


class _Points(list):
    """Points along an arc, with their bounding box for a quick first test."""

    def __init__(self, points):
        super().__init__(points)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        self.box = (min(xs), min(ys), max(xs), max(ys))


def _arc_points(arc, steps=160):
    """Points along the arc, dense enough that no label box fits between two of them."""
    return _Points([_arc_point(arc, i / steps) for i in range(steps + 1)])


def _crosses(points, rect):
    box = points.box
    if not (box[0] <= rect[2] and rect[0] <= box[2] and box[1] <= rect[3] and rect[1] <= box[3]):
        return False
    return any(_inside(p, rect) for p in points)


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(p, r):
    return r[0] <= p[0] <= r[2] and r[1] <= p[1] <= r[3]


def _render(rows, kind, **attrs) -> Drawing:
    width = max(r.width for r in rows)
    svg = Svg(width, sum(r.height for r in rows), kind=kind, **attrs)
    y = 0.0
    for row in rows:
        row.draw(svg, y)
        y += row.height
    drawing = svg.drawing()
    drawing.layout = rows  # the placed rows, for benchmarks/viz.py's clutter count
    return drawing


# ------------------------------------------------------------------------------ the spaces
def _draw_cell(arch) -> Drawing:
    encoding = arch.encoding
    rows = []
    for cell in encoding.cell_names:
        blocks = encoding.blocks(arch, cell)
        nodes = [_Node("0", ["c_{k-2}", "input"], "input"), _Node("1", ["c_{k-1}", "input"],
                                                                       "input")]
        arcs = []
        for b, (op1, in1, op2, in2, comb) in enumerate(blocks):
            nodes.append(_Node(str(b + 2), [str(b + 2), comb]))
            for op, source in ((op1, in1), (op2, in2)):
                arcs.append(_Arc(str(source), str(b + 2), op, color=op_color(op),
                                 dash="5 3" if op == "none" else None, data={"op": op}))
        nodes.append(_Node("out", ["c_{k}", "output"], "output"))
        if cell == "normal":
            title = "normal cell"
        elif cell == "reduce":
            title = "reduction cell (ops on the inputs use stride 2)"
        else:
            title = cell
        rows.append(_Row(title, nodes, arcs,
                         concat=([str(b + 2) for b in range(len(blocks))], "out"), name=cell))
    return _render(rows, "cell", cells=len(rows))


def _draw_nb201(arch) -> Drawing:
    names = {0: ["0", "input"], 1: ["1", "sum"], 2: ["2", "sum"], 3: ["3", "output"]}
    kinds = {0: "input", 3: "output"}
    nodes = [_Node(str(i), names[i], kinds.get(i, "node")) for i in range(4)]
    arcs = []
    for j, i in arch.encoding.edges:
        op = arch[f"edge_{j}_{i}"]
        arcs.append(_Arc(str(i), str(j), op, color=op_color(op),
                         dash="5 3" if op == "none" else None, data={"op": op}))
    row = _Row("NAS-Bench-201 cell (node j sums op(node i) over i < j; 'none' edges are dashed)",
               nodes, arcs)
    return _render([row], "nb201")


def _draw_macro(arch) -> Drawing:
    layers = arch.encoding.layers(arch)
    nodes = [_Node("input", ["input"], "input"), _Node("stem", ["stem", "conv 3x3"], "fixed")]
    arcs = []
    for i, layer in enumerate(layers):
        family, kernel = layer["op"].rsplit("_", 1)
        nodes.append(_Node(f"L{i}", [f"L{i}", f"{family} {kernel}", f"{layer['width']} ch"],
                           "layer"))
        for j in layer["skips"]:
            arcs.append(_Arc(f"L{j}", f"L{i}", None, cls="skip", color="#2e8b3d", dash="5 3"))
    nodes.append(_Node("head", ["head", "pool+dense"], "output"))
    skips = sum(len(layer["skips"]) for layer in layers)
    row = _Row(f"chain of {len(layers)} layers" + (f", {skips} skip connection(s) (dashed: "
                                                   "concatenated into the layer's input)"
                                                   if skips else ""),
               nodes, arcs, chain=True)
    return _render([row], "macro", layers=len(layers))


def _draw_dense(arch) -> Drawing:
    n = arch["num_layers"]
    nodes = [_Node("input", ["input", "features"], "input")]
    arcs = []
    for i in range(n):
        lines = [f"L{i}", f"dense {arch[f'units{i}']}", arch["activation"]]
        if arch["dropout"] > 0:
            lines.append(f"dropout {arch['dropout']:g}")
        nodes.append(_Node(f"L{i}", lines, "layer"))
        if arch["skip"] and i > 0:
            arcs.append(_Arc(f"L{i - 1}", f"L{i}", "residual", cls="skip", color="#2e8b3d",
                             dash="5 3"))
    nodes.append(_Node("head", ["head", "dense"], "output"))
    row = _Row(f"MLP of {n} hidden layer(s)" + (", residual connections" if arch["skip"] else ""),
               nodes, arcs, chain=True)
    return _render([row], "dense", layers=n)


#: Columns of a residual stack's reduction table: the input sizes of each spatial rank.
_RESIDUAL_SIZE_COLUMNS = (("image side", 2), ("sequence length", 1))


class _Table:
    """Rows of text in aligned columns below a drawing's rows (drawn by `_render` like a `_Row`).

    Args:
        title: Bold line above the columns.
        header: Column names.
        lines: `(data, cells)` per table row: `cells` is one text per column, `data` the
            row group's `data-` attributes.
        cls: The `class` of each table row's group.
        notes: Plain lines below the table.
    """

    def __init__(self, title, header, lines, *, cls, notes=()):
        self.title, self.header, self.lines, self.cls = title, header, lines, cls
        self.notes = list(notes)
        self.columns = [12.0]
        for c in range(len(header) - 1):
            cells = [header[c]] + [cells[c] for _, cells in lines]
            self.columns.append(self.columns[-1] + max(text_width(t) for t in cells) + 18)
        last = [header[-1]] + [cells[-1] for _, cells in lines]
        self.width = max([self.columns[-1] + max(text_width(t) for t in last),
                          text_width(title) + 8]
                         + [text_width(note) + 12 for note in self.notes]) + 8
        self.height = TITLE_HEIGHT + 16 * (len(lines) + 1 + len(self.notes)) + 10

    def draw(self, svg: Svg, y0: float) -> None:
        svg.open_group("table")
        svg.text(8, y0 + 15, self.title, anchor="start", weight="bold", cls="title")
        y = y0 + TITLE_HEIGHT + 12
        for x, name in zip(self.columns, self.header, strict=True):
            svg.text(x, y, name, anchor="start", fill="#666", size=11)
        for data, cells in self.lines:
            y += 16
            svg.open_group(self.cls, **data)
            for x, cell in zip(self.columns, cells, strict=True):
                svg.text(x, y, cell, anchor="start", cls="label")
            svg.close_group()
        for note in self.notes:
            y += 16
            svg.text(12, y, note, anchor="start", fill="#666", size=11, cls="note")
        svg.close_group()


def _draw_residual(arch, input_shape=None) -> Drawing:
    encoding = arch.encoding
    n, width, kernel = arch["num_blocks"], arch["width"], arch["kernel"]
    by_size = arch["downsample"] == "by_size"
    # The plan of the model's input when known (or needed: downsample="none" never
    # reduces); else, for "by_size", every plan from 0 to n reductions in the blocks (any
    # more go to the stem), so that a block shows every width it may have.
    exact = None
    if input_shape is not None:
        exact = encoding.plan(arch, input_shape)
    elif not by_size:
        exact = encoding.plan(arch, reductions=0)
    if exact is not None:
        plans = [exact]
    else:
        plans = [encoding.plan(arch, reductions=r) for r in range(n + 1)]
    stem = ["stem", "conv k3", f"{width} ch"]
    if exact is not None and exact.stem_pool > 1:
        stem.append(f"max-pool {exact.stem_pool}")
    nodes = [_Node("input", ["input"], "input"),
             _Node("stem", stem, "fixed",
                   data={"width": width, "pool": exact.stem_pool if exact is not None
                         else "by input size"})]
    arcs = []
    for i in range(n):
        dilation = plans[0].dilations[i]
        widths = "/".join(str(w) for w in sorted({plan.widths[i] for plan in plans}))
        lines = [f"B{i}", f"2 conv k{kernel}", f"dilation {dilation}"]
        if exact is not None:
            strided = i in exact.strided
            stride = 2 if strided else 1
            if strided:
                lines.append("stride 2")
            previous = exact.widths[i - 1] if i else width
            # A 1x1 conv shortcut where the shape changes, as the model builds it.
            shortcut = "1x1 conv" if strided or exact.widths[i] != previous else "identity"
        else:
            stride, shortcut = "by input size", "1x1 conv if strided, else identity"
        nodes.append(_Node(f"B{i}", [*lines, f"{widths} ch"], "layer",
                           data={"kernel": kernel, "dilation": dilation, "width": widths,
                                 "stride": stride}))
        conv = shortcut == "1x1 conv"
        arcs.append(_Arc(nodes[-2].key, f"B{i}", None, cls="skip",
                         color="#2f5fbf" if conv else "#2e8b3d", dash=None if conv else "5 3",
                         data={"shortcut": shortcut}))
    dropout = arch["dropout"]
    nodes.append(_Node("head", ["head", "avg pool"] + ([f"dropout {dropout:g}"] if dropout else [])
                       + ["dense"], "output", data={"dropout": f"{dropout:g}"}))
    block = "conv-BN-ReLU-conv-BN + shortcut arc, ReLU"
    attrs = {}
    if input_shape is not None:
        attrs = {"data_input_shape": "x".join(map(str, input_shape)),
                 "data_reductions": exact.reductions}
    if exact is not None and exact.reductions:
        where = "stride 2 at " + ", ".join(f"B{i}" for i in exact.strided)
        if exact.stem_pool > 1:
            where += f", stem max-pool {exact.stem_pool}"
        title = (f"{n} residual blocks ({block}) on input {_shape_text(input_shape)}: {where} "
                 "(solid arc: 1x1 conv shortcut)")
    elif exact is not None:
        title = f"{n} residual blocks ({block}), all at full resolution"
        if input_shape is not None:
            title += f" on input {_shape_text(input_shape)}"
    else:
        title = f"{n} residual blocks ({block}); stride-2 reductions by input size, below"
    parts = [_Row(title, nodes, arcs, chain=True)]
    if exact is None:
        parts.append(_reduction_table(arch))
    return _render(parts, "residual", data_blocks=n, data_downsample=arch["downsample"],
                   data_dilation=arch["dilation"], **attrs)


def _shape_text(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _reduction_table(arch) -> _Table:
    """Per number of reductions (and the input sizes that give it): which blocks of a
    `downsample="by_size"` stack stride and every block's width."""
    encoding, n = arch.encoding, arch["num_blocks"]
    lines = []
    for r in range(n + 2):
        beyond = r > n  # the last line stands for every count above n
        plan = encoding.plan(arch, reductions=r)
        ranges = [encoding.sizes_for_reductions(r, rank) for _, rank in _RESIDUAL_SIZE_COLUMNS]
        if beyond:
            sizes = [f"≥{low}" for low, _ in ranges]
            where = f"all; stem max-pools by 2^(r-{n})"
        else:
            sizes = [f"<{high + 1}" if r == 0 else f"{low}-{high}" for low, high in ranges]
            where = ", ".join(f"B{i}" for i in plan.strided) or "none"
        count = f"{r}+" if beyond else str(r)
        widths = " ".join(map(str, plan.widths))
        lines.append(({"reductions": count, "strided": " ".join(f"B{i}" for i in plan.strided),
                       "widths": widths}, [count, *sizes, where, widths]))
    notes = [f"A stride-2 block halves the resolution, doubles the width (up to "
             f"{encoding.MAX_WIDTH_FACTOR}x the stem's) and has a 1x1 conv shortcut; the stem's "
             "max-pool keeps the width. draw_architecture(arch, input_shape) marks them."]
    if arch["dilation"] == "exponential":
        notes.append("A strided block's first conv is not dilated (Keras cannot do both).")
    return _Table("where downsample=by_size reduces, by the input's size",
                  ["reductions", *(name for name, _ in _RESIDUAL_SIZE_COLUMNS),
                   "stride-2 blocks", "block widths"], lines, cls="reduction", notes=notes)


def _draw_decisions(arch) -> Drawing:
    """Fallback for encodings without a drawer: one line per active decision."""
    active = arch.encoding.active(arch.as_dict())
    lines = [f"{d.name} = {v}" for d, v in zip(arch.encoding.decisions, arch.values,
                                                        strict=True)
             if d.name in active]
    width = max([text_width(line) for line in lines] + [200]) + 24
    svg = Svg(width, 30 + 16 * len(lines), kind="decisions")
    svg.text(8, 16, f"{arch.encoding.name} architecture", anchor="start", weight="bold")
    for i, line in enumerate(lines):
        svg.text(12, 36 + 16 * i, line, anchor="start", cls="label")
    return svg.drawing()


def _load_builtin_drawers():
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED.append(True)
    from kerasnas.spaces.encodings import (
        CellEncoding,
        DenseEncoding,
        MacroEncoding,
        NB201Encoding,
        ResidualEncoding,
    )

    _DRAWERS.setdefault(CellEncoding, _draw_cell)
    _DRAWERS.setdefault(NB201Encoding, _draw_nb201)
    _DRAWERS.setdefault(MacroEncoding, _draw_macro)
    _DRAWERS.setdefault(DenseEncoding, _draw_dense)
    _DRAWERS.setdefault(ResidualEncoding, _draw_residual)
