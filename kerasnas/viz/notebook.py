"""Rich display in Jupyter: what a `SearchResult` shows as a cell's output.

`SearchResult._repr_html_` returns `result_html(result)`: a one-line summary,
the best architecture drawn, the search trajectory and score-vs-parameters
plots side by side, and the top of the leaderboard. Everything is inline HTML
and SVG, so it also renders in exported notebooks and on GitHub.

Example:

>>> result = kerasnas.search(x, y)          # doctest: +SKIP
>>> result                                   # in a notebook: the summary below
"""

from __future__ import annotations

import html

from kerasnas.infra.numbers import is_finite_number
from kerasnas.viz.plots import cost_plot, trajectory_plot

#: Rows of the leaderboard a notebook shows (the report has all of them).
TOP_ROWS = 5
#: Longest architecture string shown in a notebook row before it is shortened with "...".
ARCH_CHARS = 90

_CSS = ("<style>.kn-result{font-family:system-ui,sans-serif;font-size:13px}"
        ".kn-result table{border-collapse:collapse}"
        ".kn-result td,.kn-result th{padding:2px 8px;border-bottom:1px solid #ddd;"
        "text-align:right}.kn-result td.arch{text-align:left;font-family:monospace}"
        ".kn-result .plots{display:flex;flex-wrap:wrap;gap:12px}</style>")


def result_html(result, top: int = TOP_ROWS) -> str:
    """The HTML a notebook shows for `result` (a `SearchResult`)."""
    name = result.objective["name"]
    history = result.history
    finished = [r for r in history if r.status == "COMPLETED" and is_finite_number(r.score)]
    best = result.best_trials(1)
    facts = [f"<b>kerasnas search</b>: {len(history)} trials ({len(finished)} finished)"]
    if best:
        facts.append(f"best {html.escape(name)} <b>{best[0].score:.4f}</b> (trial "
                     f"{html.escape(best[0].trial_id)})")
    if result.search_time:
        facts.append(f"{result.search_time:.0f} s")
    if result.stopped_by:
        facts.append(f"stopped by {html.escape(result.stopped_by.replace('_', ' '))}")
    parts = [_CSS, "<div class='kn-result'><p>", ", ".join(facts), "</p>"]
    if result.architecture is not None:
        parts += ["<div><b>Best architecture</b></div>",
                  result.plot_architecture().svg,  # drawn for the task's input shape
                  f"<pre style='white-space:pre-wrap'>{html.escape(str(result.architecture))}"
                  "</pre>"]
    parts += ["<div class='plots'>", trajectory_plot(result).svg, cost_plot(result).svg, "</div>"]
    rows = ["<tr><th>rank</th><th>trial</th><th>" + html.escape(name)
            + "</th><th>params</th><th>fit s</th><th style='text-align:left'>architecture"
            "</th></tr>"]
    for rank, r in enumerate(result.best_trials(top), start=1):
        arch = r.architecture if len(r.architecture) <= ARCH_CHARS \
            else r.architecture[:ARCH_CHARS - 3] + "..."
        params = f"{r.params:,.0f}" if is_finite_number(r.params) else ""
        fit = f"{r.fit_time:.1f}" if is_finite_number(r.fit_time) else ""
        rows.append(f"<tr><td>{rank}</td><td>{html.escape(r.trial_id)}</td>"
                    f"<td>{r.score:.4f}</td><td>{params}</td><td>{fit}</td>"
                    f"<td class='arch' title='{html.escape(r.architecture)}'>"
                    f"{html.escape(arch)}</td></tr>")
    parts += ["<table>", *rows, "</table>",
              "<p style='color:#777'>result.report('report.html') writes every trial and "
              "plot to one HTML file.</p></div>"]
    return "".join(parts)
