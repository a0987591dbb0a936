"""The DARTS α trajectory as SVG: how the softmax over ops moved, per cell type, epoch by epoch.

For each cell type (`normal`, `reduce` of a `CellSpace`; `cell` of an
`NB201Space`) the picture has two panels side by side:

* left, the trajectory: after each epoch, the softmax weight of each op
  averaged over the cell's edges (one line per op; `skip_connect` drawn thick,
  as the op DARTS collapses towards);
* right, the last epoch edge by edge: one row per edge, one column per op,
  the cell's shade the softmax weight, each edge's largest weight outlined.

Input is the JSON record `SearchResult.darts` keeps (`DartsResult.record()`),
so the picture needs no TensorFlow and draws a reloaded result.

Example:

>>> from kerasnas.viz.alpha import alpha_plot
>>> alpha_plot(result.darts).save("alpha.svg")          # doctest: +SKIP
"""

from __future__ import annotations

from kerasnas.viz.svg import Drawing, Svg, esc

#: Line colours of the ops, in the record's op order (`none` first, drawn grey and dashed).
OP_PALETTE = ("#9a9a9a", "#2e8b3d", "#2f5fbf", "#d9730d", "#b03a8c", "#6b4c9a", "#c0392b",
              "#1f9aa6", "#8a6d3b", "#555555")
#: Size of one trajectory panel in pixels; the heatmap panel beside it is as tall.
PANEL_W, PANEL_H = 360, 220
#: Height of one heatmap row (edge) in pixels, at most; rows shrink to fit `PANEL_H`.
ROW_H = 16


def alpha_plot(record) -> Drawing:
    """Draws a DARTS record's α trajectory and its last epoch.

    Args:
        record: `SearchResult.darts` / `DartsResult.record()`: a dict with `ops` and
            `alpha_trajectory` (one `{cell type: (E, K) softmax}` per epoch).

    Returns:
        A `Drawing` (`data-kind='alpha'`).
    """
    ops = list(record["ops"])
    trajectory = record.get("alpha_trajectory") or []
    if not trajectory:
        svg = Svg(PANEL_W, 60, kind="alpha")
        svg.text(PANEL_W / 2, 34, "no finished DARTS epoch recorded")
        return svg.drawing()
    cells = list(trajectory[-1])
    left, top, legend_h, gap = 56, 28, 22, 64
    heat_w = 40 + 26 * len(ops)
    width = left + PANEL_W + gap + heat_w + 10
    height = legend_h + len(cells) * (PANEL_H + top + 46)
    svg = Svg(width, height, kind="alpha", data_epochs=len(trajectory),
              data_cells=",".join(cells))
    _legend(svg, ops, left)
    for n, cell in enumerate(cells):
        y0 = legend_h + n * (PANEL_H + top + 46) + top
        _trajectory_panel(svg, cell, ops, [epoch[cell] for epoch in trajectory], left, y0)
        _heatmap_panel(svg, cell, ops, trajectory[-1][cell], left + PANEL_W + gap, y0)
    return svg.drawing()


def _legend(svg, ops, x):
    for k, op in enumerate(ops):
        svg.line(x, 12, x + 14, 12, stroke=_color(k), width=3 if op == "skip_connect" else 2,
                 dash="4 2" if op == "none" else None)
        svg.text(x + 18, 16, op, anchor="start", size=10.5, cls="legend")
        x += 30 + 7 * len(op)


def _trajectory_panel(svg, cell, ops, epochs, x0, y0):
    """Mean softmax weight per op over the cell's edges, after each epoch."""
    means = [[sum(row[k] for row in weights) / len(weights) for k in range(len(ops))]
             for weights in epochs]
    top = max(max(m) for m in means)
    hi = min(1.0, max(0.05, top * 1.15))
    n = len(means)
    svg.text(x0 + PANEL_W / 2, y0 - 8, f"{cell}: mean softmax(α) over {len(epochs[0])} edges",
             weight="bold")
    svg.rect(x0, y0, PANEL_W, PANEL_H, fill="#fcfcfc", stroke="#999")

    def sx(e):
        return x0 + (e - 0.5) / max(n, 1) * PANEL_W if n > 1 else x0 + PANEL_W / 2

    def sy(v):
        return y0 + PANEL_H - v / hi * PANEL_H

    for i in range(5):
        v = hi * i / 4
        svg.line(x0, sy(v), x0 + PANEL_W, sy(v), stroke="#e6e6e6")
        svg.text(x0 - 5, sy(v) + 4, f"{v:.2f}", anchor="end", size=10, cls="ytick")
    step = max(1, n // 10)
    for e in range(1, n + 1, step):
        svg.text(sx(e), y0 + PANEL_H + 14, str(e), size=10, cls="xtick")
    svg.text(x0 + PANEL_W / 2, y0 + PANEL_H + 30, "epoch", cls="xlabel")
    for k, op in enumerate(ops):
        points = " ".join(f"{sx(e + 1):.1f},{sy(m[k]):.1f}" for e, m in enumerate(means))
        dash = " stroke-dasharray='4 2'" if op == "none" else ""
        width = 3 if op == "skip_connect" else 1.8
        svg.add(f"<g class='op-line' data-op='{esc(op)}' data-cell='{esc(cell)}' "
                f"data-last='{means[-1][k]:.5f}'><title>{esc(op)}: {means[-1][k]:.3f} after "
                f"epoch {n}</title><polyline points='{points}' fill='none' "
                f"stroke='{_color(k)}' stroke-width='{width}'{dash}/>")
        for e, m in enumerate(means):
            svg.add(f"<circle cx='{sx(e + 1):.1f}' cy='{sy(m[k]):.1f}' r='2' "
                    f"fill='{_color(k)}'/>")
        svg.add("</g>")


def _heatmap_panel(svg, cell, ops, weights, x0, y0):
    """The last epoch's softmax, edge (row) by op (column); each row's largest weight outlined."""
    rows = len(weights)
    row_h = min(ROW_H, (PANEL_H - 10) / max(rows, 1))
    col_w = 26
    svg.text(x0 + 20 + col_w * len(ops) / 2, y0 - 8, f"{cell}: last epoch, per edge",
             weight="bold")
    for k, op in enumerate(ops):
        x = x0 + 40 + col_w * k + col_w / 2
        svg.text(x, y0 + rows * row_h + 12, op[:8], size=8, rotate=35, anchor="start")
    for e, row in enumerate(weights):
        y = y0 + e * row_h
        svg.text(x0 + 36, y + row_h * 0.75, f"e{e}", anchor="end", size=9)
        best = max(range(len(row)), key=lambda k: row[k])
        for k, value in enumerate(row):
            shade = int(round(255 - 200 * min(1.0, max(0.0, value))))
            svg.add(f"<rect class='alpha-cell' data-cell='{esc(cell)}' data-edge='{e}' "
                    f"data-op='{esc(ops[k])}' data-weight='{value:.5f}' "
                    f"x='{x0 + 40 + col_w * k:.1f}' y='{y:.1f}' width='{col_w - 1}' "
                    f"height='{row_h - 1:.1f}' fill='rgb({shade},{shade},255)' "
                    f"stroke='{'#c0392b' if k == best else 'none'}'><title>edge {e}, "
                    f"{esc(ops[k])}: {value:.3f}</title></rect>")


def _color(k):
    return OP_PALETTE[k % len(OP_PALETTE)]
