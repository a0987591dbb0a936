"""A self-contained HTML report of a search: summary, the best architecture, plots, leaderboard.

Every picture is inline SVG from `kerasnas.viz` (one file, no plotting library,
nothing fetched when it opens):

* the best architecture drawn for the task's input shape
  (`SearchResult.plot_architecture`, `kerasnas.viz.draw`);
* the search trajectory: each trial's score in run order, with the best so far;
* score against parameters and against FLOPs, with the Pareto front;
* the learning curves of the top trials.

Plot axes are fitted to the finished trials; trials cut by the time budget and
failed ones have marks of their own (`kerasnas.viz.plots`).

Example:

>>> from kerasnas.deploy.report import write_report
>>> write_report(result, "report.html")          # doctest: +SKIP
'report.html'
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from kerasnas.infra.numbers import is_finite_number
from kerasnas.viz.plots import cost_plot, learning_curves_plot, trajectory_plot

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td.arch { text-align: left; font-family: monospace; font-size: 12px; }
tr.best { background: #eef7ee; }
tr.cut td { color: #8a5a00; } tr.failed td { color: #a33; }
.plots { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; } figcaption { font-size: 13px; color: #555; max-width: 480px; }
.drawing { overflow-x: auto; }
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
    finished = [r for r in result.history if r.status == "COMPLETED" and is_finite_number(r.score)]
    best = result.best_trials(1)
    cut = sum(1 for r in finished if r.metrics.get("budget_cut"))
    failed = len(result.history) - len(finished)
    task = result.task
    facts = [
        ("Task", f"{task.kind} {task.problem}, input {tuple(task.input_shape)}"
                 + getattr(task, "length_note", "")
                 + (f", {task.num_classes} classes" if task.num_classes else "")),
        ("Trials", f"{len(result.history)} ({len(finished) - cut} finished"
                   + (f", {cut} cut by the time budget" if cut else "")
                   + (f", {failed} failed" if failed else "") + ")"),
        ("Stopped by", result.stopped_by or "n/a"),
        ("Search time", f"{result.search_time:.1f} s" if result.search_time else "n/a"),
        (f"Best {name}", f"{best[0].score:.4f}" if best else "n/a"),
        ("Best architecture", str(result.architecture)),
    ]
    selection = getattr(result, "selection", None)
    if selection:
        from kerasnas.automl.selection import describe

        facts[-1] = ("Returned architecture", f"{result.architecture}: {describe(selection)}")
    returned = getattr(result, "returned", "search") or "search"
    if returned != "search":
        facts[-1] = ("Best searched architecture (not returned)", facts[-1][1])
        facts.append(("Returned model", f"{returned}: the searched architecture did not beat "
                                        "this baseline on the validation data (pass "
                                        "baseline_fallback=False to keep it)"))
    baselines = getattr(result, "baselines", None)
    if baselines:
        metric = getattr(result, "baseline_metric", None)
        described = result.describe_baselines() if hasattr(result, "describe_baselines") else \
            ", ".join(f"{k} {v:.4f}" for k, v in baselines.items())
        facts.append((f"Baselines (same validation data{f', {metric}' if metric else ''})",
                      described))
    for warning in getattr(result, "warnings", None) or ():
        facts.append(("Warning", warning))
    if result.directory:
        facts.append(("Search folder", result.directory))
    facts_html = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                         f"<td class='arch'>{html.escape(v)}</td></tr>" for k, v in facts)

    marks = (" Hollow diamonds: trials cut by the time budget; crosses: failed or rejected "
             "trials; marks in the 'off scale' strip fall outside the finished trials' range."
             if cut or failed else "")
    plots = (
        _figure(trajectory_plot(result).svg,
                f"Search trajectory: {name} of each trial in the order they ran, and the best "
                f"so far.{marks}")
        + _figure(cost_plot(result, "params").svg,
                  f"{name} against parameters; the dashed line is the Pareto front.")
        + _figure(cost_plot(result, "flops").svg,
                  f"{name} against FLOPs (multiply-adds per example).")
        + _figure(learning_curves_plot(result).svg,
                  f"Learning curves: {name} after each epoch of the top trials.")
    )
    if any(is_finite_number(r.metrics.get("latency_ms")) for r in finished):
        plots += _figure(cost_plot(result, "latency_ms").svg,
                         f"{name} against TFLite latency (ms); the dashed line is the Pareto "
                         "front.")
    if getattr(result, "darts", None):  # strategy="darts": how softmax(α) moved
        from kerasnas.viz.alpha import alpha_plot

        plots += _figure(alpha_plot(result.darts).svg,
                         "DARTS: softmax(α) per op averaged over each cell's edges after every "
                         "supernet epoch, and the last epoch edge by edge.")
    drawing = ""
    if result.architecture is not None:
        title = "Best architecture" if returned == "search" else \
            "Best searched architecture (not the returned model)"
        drawing = (f"<h2>{title}</h2><div class='drawing'>"
                   + result.plot_architecture().svg + "</div>")

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
        cls = (" class='best'" if r.trial_id == best_id else " class='cut'"
               if m.get("budget_cut") else " class='failed'" if r.status != "COMPLETED" else "")
        if m.get("budget_cut"):
            cells[2] = "cut by the time budget (partial score)"
        elif r.status == "FAILED" and getattr(r, "reason", ""):
            cells[2] += ": " + r.reason
        rows.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                    + f"<td class='arch'>{html.escape(r.architecture)}</td></tr>")
    table = ("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
             + "".join(rows) + "</table>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>kerasnas search report"
            f"</title><style>{_CSS}</style></head><body><h1>kerasnas search report</h1>"
            f"<table>{facts_html}</table>{drawing}<h2>The search</h2>"
            f"<div class='plots'>{plots}</div>"
            f"<h2>Leaderboard</h2>{table}</body></html>")


def svg_plot(points, *, line=None, xlabel="", ylabel="", log_x=False, width=460, height=300):
    """A plain scatter plot of `points` (and an optional step `line`) as an SVG string.

    Kept for `kerasnas.hardware.front.front_plot`; the report's own plots are
    `kerasnas.viz.plots`, whose axes are fitted to the finished trials.
    """
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


def _fmt(value, digits=4):
    if not is_finite_number(value):
        return "" if value is None else str(value)
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"
