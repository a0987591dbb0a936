"""A self-contained HTML report of a search: summary, plots and the full leaderboard.

The plots are inline SVG drawn here (no plotting library needed):

* search trajectory: each trial's score in the order trials ran, with the best so far;
* score vs parameters: every finished trial, parameters on a log axis.

Example:

>>> from kerasnas.report import write_report
>>> write_report(result, "report.html")          # doctest: +SKIP
'report.html'
"""

from __future__ import annotations

import html
import math
from pathlib import Path

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td.arch { text-align: left; font-family: monospace; font-size: 12px; }
tr.best { background: #eef7ee; }
.plots { display: flex; flex-wrap: wrap; gap: 2em; }
figure { margin: 0; } figcaption { font-size: 13px; color: #555; }
"""


def write_report(result, path) -> str:
    """Writes `result`'s HTML report to `path` (a `.html` file) and returns the path."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"The report is an HTML page: give a path ending in .html, got {str(path)!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result), encoding="utf-8")
    return str(path)


def render_report(result) -> str:
    """The report of `result` as an HTML string."""
    name = result.objective["name"]
    finished = [r for r in result.history if r.status == "COMPLETED" and _finite(r.score)]
    best = result.best_trials(1)
    task = result.task
    facts = [
        ("Task", f"{task.kind} {task.problem}, input {tuple(task.input_shape)}"
                 + (f", {task.num_classes} classes" if task.num_classes else "")),
        ("Trials", f"{len(result.history)} ({len(finished)} finished)"),
        ("Stopped by", result.stopped_by or "n/a"),
        ("Search time", f"{result.search_time:.1f} s" if result.search_time else "n/a"),
        (f"Best {name}", f"{best[0].score:.4f}" if best else "n/a"),
        ("Best architecture", str(result.architecture)),
    ]
    if result.directory:
        facts.append(("Search folder", result.directory))
    facts_html = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                         f"<td class='arch'>{html.escape(v)}</td></tr>" for k, v in facts)

    order = {r.trial_id: i for i, r in enumerate(result.history, start=1)}
    trajectory = [(order[r.trial_id], r.score) for r in finished]
    maximize = result.objective.get("direction", "max") == "max"
    running, best_so_far = [], None
    for x, y in trajectory:
        best_so_far = y if best_so_far is None else (max if maximize else min)(best_so_far, y)
        running.append((x, best_so_far))
    cost = [(r.params, r.score) for r in finished if _finite(r.params) and r.params > 0]
    plots = (
        _figure(svg_plot(trajectory, line=running, xlabel="trial", ylabel=name),
                f"Search trajectory: {name} of each trial (dots) and the best so far (line).")
        + _figure(svg_plot(cost, xlabel="parameters (log scale)", ylabel=name, log_x=True),
                  f"{name} against model size.")
    )
    if any(_finite(r.metrics.get("latency_ms")) for r in finished):
        from kerasnas.hardware.front import front_plot

        plots += _figure(front_plot(result.history, name,
                                    direction=result.objective.get("direction", "max")),
                         f"{name} against TFLite latency (ms); the line is the Pareto front.")

    rows = []
    best_id = best[0].trial_id if best else None
    metric_names = sorted({k for r in result.history for k in r.metrics
                           if k not in ("params", "flops", "fit_time", "epochs", "best_epoch",
                                        "budget_cut", name)})
    head = ["rank", "trial", "status", name, "params", "FLOPs", "fit s", "epochs", *metric_names,
            "architecture"]
    for rank, r in enumerate(result.leaderboard, start=1):
        m = r.metrics
        cells = [str(rank), r.trial_id, r.status, _fmt(r.score), _fmt(m.get("params"), 0),
                 _fmt(m.get("flops"), 0), _fmt(m.get("fit_time"), 1), _fmt(m.get("epochs"), 0),
                 *[_fmt(m.get(k)) for k in metric_names]]
        cls = " class='best'" if r.trial_id == best_id else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                    + f"<td class='arch'>{html.escape(r.architecture)}</td></tr>")
    table = ("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
             + "".join(rows) + "</table>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>kerasnas search report"
            f"</title><style>{_CSS}</style></head><body><h1>kerasnas search report</h1>"
            f"<table>{facts_html}</table><h2>Plots</h2><div class='plots'>{plots}</div>"
            f"<h2>Leaderboard</h2>{table}</body></html>")


def svg_plot(points, *, line=None, xlabel="", ylabel="", log_x=False, width=460, height=300):
    """A scatter plot of `points` (and an optional step `line`) as an SVG string."""
    margin_left, margin_bottom, margin = 60, 40, 15
    plot_w, plot_h = width - margin_left - margin, height - margin_bottom - margin
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"font-size='11' font-family='sans-serif'>",
             f"<rect x='{margin_left}' y='{margin}' width='{plot_w}' height='{plot_h}' "
             "fill='none' stroke='#888'/>"]
    everything = list(points) + list(line or [])
    if not everything:
        parts.append(f"<text x='{width / 2}' y='{height / 2}' text-anchor='middle'>no finished "
                     "trials</text></svg>")
        return "".join(parts)
    fx = (lambda v: math.log10(v)) if log_x else float
    xs = [fx(p[0]) for p in everything]
    ys = [float(p[1]) for p in everything]
    x0, x1 = _padded(min(xs), max(xs))
    y0, y1 = _padded(min(ys), max(ys))

    def sx(v):
        return margin_left + (fx(v) - x0) / (x1 - x0) * plot_w

    def sy(v):
        return margin + plot_h - (float(v) - y0) / (y1 - y0) * plot_h

    for i in range(5):
        tx = x0 + (x1 - x0) * i / 4
        ty = y0 + (y1 - y0) * i / 4
        label_x = _fmt(10 ** tx, 0) if log_x else _fmt(tx, 1 if x1 - x0 > 5 else 2)
        parts.append(f"<text x='{margin_left + plot_w * i / 4:.1f}' y='{height - 22}' "
                     f"text-anchor='middle'>{label_x}</text>")
        parts.append(f"<text x='{margin_left - 5}' y='{margin + plot_h - plot_h * i / 4 + 4:.1f}'"
                     f" text-anchor='end'>{_fmt(ty, 3)}</text>")
    if line:
        steps = []
        for (xa, ya), (xb, _) in zip(line, list(line[1:]) + [line[-1]], strict=True):
            steps.append(f"{sx(xa):.1f},{sy(ya):.1f} {sx(xb):.1f},{sy(ya):.1f}")
        parts.append(f"<polyline points='{' '.join(steps)}' fill='none' stroke='#c33' "
                     "stroke-width='2'/>")
    for x, y in points:
        parts.append(f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3.5' fill='#36c' "
                     "fill-opacity='0.7'/>")
    parts.append(f"<text x='{margin_left + plot_w / 2}' y='{height - 5}' text-anchor='middle'>"
                 f"{html.escape(xlabel)}</text>")
    parts.append(f"<text x='12' y='{margin + plot_h / 2}' text-anchor='middle' "
                 f"transform='rotate(-90 12 {margin + plot_h / 2})'>{html.escape(ylabel)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _figure(svg, caption):
    return f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _padded(low, high):
    if high - low < 1e-12:
        return low - 0.5, high + 0.5
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def _fmt(value, digits=4):
    if not _finite(value):
        return "" if value is None else str(value)
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"
