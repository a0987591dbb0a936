"""A few SVG building blocks shared by the drawings and the plots (no plotting library).

Everything is written by hand as plain strings: the output is small, needs no
system Graphviz or display, and stays self-contained inside an HTML page.
Text widths are estimated from a monospace font (`CHAR_WIDTH` per character),
so labels are laid out without measuring rendered text.

Example:

>>> from kerasnas.viz.svg import Svg
>>> svg = Svg(120, 40)
>>> svg.text(60, 25, "conv_3x3")
>>> str(svg.drawing()).startswith("<svg")
True
"""

from __future__ import annotations

import html
from pathlib import Path

#: Font of every label: monospace, so a label's width is `CHAR_WIDTH * len(text)`.
FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
#: Font size of labels in pixels (12 keeps op names like `sep_conv_5x5` readable at 1:1).
FONT_SIZE = 12
#: Width of one monospace character at `FONT_SIZE`, in pixels (0.6 em, true of common
#: monospace fonts; a slight overestimate keeps label boxes from clipping).
CHAR_WIDTH = 0.62 * FONT_SIZE

#: Edge colour by operation family; the first key found in the op's name wins.
OP_COLORS = (("none", "#9a9a9a"), ("skip", "#2e8b3d"), ("identity", "#2e8b3d"),
             ("pool", "#d9730d"), ("conv", "#2f5fbf"), ("dense", "#2f5fbf"))
#: Fill colours of node boxes by kind.
NODE_FILLS = {"input": "#dff0d8", "node": "#dbe8f7", "output": "#fff1c2", "layer": "#dbe8f7",
              "fixed": "#eeeeee"}


def esc(value) -> str:
    """`value` as text safe inside SVG/HTML (quotes included)."""
    return html.escape(str(value), quote=True)


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated width in pixels of `text` in the monospace `FONT` at `size`."""
    return len(str(text)) * CHAR_WIDTH * size / FONT_SIZE


def op_color(op: str) -> str:
    """The edge colour of an operation name (grey when no family matches)."""
    for key, color in OP_COLORS:
        if key in str(op):
            return color
    return "#555555"


class Drawing:
    """An SVG picture: shows itself in Jupyter, prints as SVG text, saves to a file.

    Example:

    >>> from kerasnas.viz.svg import Drawing
    >>> d = Drawing("<svg xmlns='http://www.w3.org/2000/svg'/>")
    >>> d.save("arch.svg")          # doctest: +SKIP
    """

    def __init__(self, svg: str):
        self.svg = svg
        self.layout = None  # architecture drawings keep their placed rows here (benchmarks)

    def __str__(self):
        return self.svg

    def __repr__(self):
        return f"Drawing({len(self.svg)} characters of SVG)"

    def _repr_svg_(self):
        return self.svg

    def _repr_html_(self):
        return self.svg

    def save(self, path) -> str:
        """Writes the SVG to `path` (a `.svg` file) and returns the path."""
        path = Path(path)
        if path.suffix.lower() != ".svg":
            raise ValueError(f"A drawing is saved as SVG: give a path ending in .svg, got "
                             f"{str(path)!r}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.svg, encoding="utf-8")
        return str(path)


class Svg:
    """An SVG document assembled from parts; `drawing()` closes it.

    Args:
        width, height: Size in pixels (also the viewBox, so it scales down in HTML).
        kind: Written as the root's `data-kind` (e.g. `"cell"`, `"trajectory"`) so
            tests and scripts can tell pictures apart.
        attrs: Extra root attributes (`data-*` facts about the picture).
    """

    def __init__(self, width, height, *, kind="", **attrs):
        self.width, self.height = float(width), float(height)
        extra = "".join(f" {k.replace('_', '-')}='{esc(v)}'" for k, v in attrs.items())
        self.head = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{self.width:.0f}' "
                     f"height='{self.height:.0f}' viewBox='0 0 {self.width:.0f} "
                     f"{self.height:.0f}' font-family='{FONT}' font-size='{FONT_SIZE}' "
                     f"data-kind='{esc(kind)}'{extra} style='max-width:100%;height:auto'>")
        self.arrow_colors: list[str] = []
        self.parts: list[str] = []

    def _arrow(self, color) -> str:
        """` marker-end=...` for an arrowhead in `color` (one marker per colour: older
        browsers lack SVG 2's `context-stroke`)."""
        if color not in self.arrow_colors:
            self.arrow_colors.append(color)
        # Named by colour: several SVGs inline in one page may repeat an id harmlessly.
        return f" marker-end='url(#kn-arrow-{color.lstrip('#')})'"

    def add(self, part: str) -> None:
        self.parts.append(part)

    def text(self, x, y, text, *, size=FONT_SIZE, anchor="middle", fill="#222", cls=None,
             weight=None, rotate=None) -> None:
        extra = f" class='{cls}'" if cls else ""
        extra += f" font-weight='{weight}'" if weight else ""
        extra += f" font-size='{size}'" if size != FONT_SIZE else ""
        extra += f" transform='rotate({rotate} {x:.1f} {y:.1f})'" if rotate is not None else ""
        self.parts.append(f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' "
                          f"fill='{fill}'{extra}>{esc(text)}</text>")

    def rect(self, x, y, w, h, *, fill="none", stroke="#555", rx=0, cls=None, dash=None,
             width=1) -> None:
        extra = f" class='{cls}'" if cls else ""
        extra += f" stroke-dasharray='{dash}'" if dash else ""
        self.parts.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' "
                          f"rx='{rx}' fill='{fill}' stroke='{stroke}' stroke-width='{width}'"
                          f"{extra}/>")

    def line(self, x1, y1, x2, y2, *, stroke="#555", width=1, dash=None, arrow=False) -> None:
        extra = f" stroke-dasharray='{dash}'" if dash else ""
        extra += self._arrow(stroke) if arrow else ""
        self.parts.append(f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' "
                          f"stroke='{stroke}' stroke-width='{width}'{extra}/>")

    def path(self, d, *, stroke="#555", width=1.5, dash=None, arrow=False, fill="none",
             cls=None) -> None:
        extra = f" stroke-dasharray='{dash}'" if dash else ""
        extra += self._arrow(stroke) if arrow else ""
        extra += f" class='{cls}'" if cls else ""
        self.parts.append(f"<path d='{d}' fill='{fill}' stroke='{stroke}' "
                          f"stroke-width='{width}'{extra}/>")

    def open_group(self, cls, **data) -> None:
        attrs = "".join(f" data-{k.replace('_', '-')}='{esc(v)}'" for k, v in data.items())
        self.parts.append(f"<g class='{cls}'{attrs}>")

    def close_group(self) -> None:
        self.parts.append("</g>")

    def title(self, text) -> None:
        """A tooltip for the enclosing group (browsers show it on hover)."""
        self.parts.append(f"<title>{esc(text)}</title>")

    def render(self) -> str:
        markers = "".join(
            f"<marker id='kn-arrow-{color.lstrip('#')}' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
            f"markerHeight='7' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='{color}'/>"
            "</marker>" for color in self.arrow_colors)
        defs = f"<defs>{markers}</defs>" if markers else ""
        return self.head + defs + "".join(self.parts) + "</svg>"

    def drawing(self) -> Drawing:
        return Drawing(self.render())
