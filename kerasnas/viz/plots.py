"""Plots that show a search, as inline SVG: trajectory, score against cost, learning curves.

Hand-written SVG rather than matplotlib: these four plots need only points,
lines and axes; written by hand they add no dependency (matplotlib would be
the package's first plotting dependency, and ~1 s of import), weigh a few
kilobytes inside the report instead of tens, and carry each trial's identity
(`data-trial`, `data-status`, a hover tooltip) for tests and readers.

Axes are fitted to the trials that finished: the score range spans the
finished trials' scores plus an 8% margin (`SCORE_MARGIN`). A trial cut by the
time budget is a hollow diamond. It joins the fit when it scored at least as
well as the worst finished trial (a cut trial above them is drawn in range, but ranks after them);
a worse one is drawn where its score falls inside the range, else in a strip
of its own below the plot, so it never stretches the axis. Failed, rejected
and unfinished trials have no score: they are crosses in that strip. Trial
axes have integer ticks.

Example:

>>> from kerasnas.viz import trajectory_plot, cost_plot
>>> trajectory_plot(result).save("trajectory.svg")      # doctest: +SKIP
>>> cost_plot(result, "flops")                         # doctest: +SKIP
"""

from __future__ import annotations

import math

from kerasnas.infra.numbers import is_finite_number
from kerasnas.viz.svg import Drawing, Svg, esc, text_width

#: Margin added above and below the finished trials' score range, as a share of that range.
SCORE_MARGIN = 0.08
#: Top trials drawn by `learning_curves_plot` (five lines stay tellable apart).
TOP_CURVES = 5
#: Size of every plot in pixels: two fit side by side in a 1000-pixel-wide page.
WIDTH, HEIGHT = 480, 320
#: Line colours of the learning curves, best trial first.
CURVE_COLORS = ("#2f5fbf", "#d9730d", "#2e8b3d", "#b03a8c", "#6b6b6b")

#: Axis labels of the cost metrics `cost_plot` knows (any other recorded metric works too).
COST_LABELS = {"params": "parameters", "flops": "FLOPs (multiply-adds)",
               "latency_ms": "TFLite latency (ms)", "model_bytes": "model size (bytes)"}

_FINISHED, _CUT, _FAILED = "finished", "cut", "failed"
_MARK_COLORS = {_FINISHED: "#2f5fbf", _CUT: "#d9730d", _FAILED: "#c0392b"}


# ------------------------------------------------------------------------------ the plots
def trajectory_plot(result) -> Drawing:
    """Each trial's score in the order trials ran, with the best so far (a step line).

    Args:
        result: A `SearchResult` (or anything with `history` and `objective`).
    """
    name, maximize = _objective(result)
    trials = _classify(result)
    scale = _ScoreScale(trials)
    frame = _Frame("trajectory", (0.5, len(trials) + 0.5), scale, xlabel="trial",
                   ylabel=name, int_x=True, strip=scale.needs_strip(trials))
    best, steps = None, []
    for t in trials:
        if t.fits and (best is None or (t.score > best if maximize
                                                     else t.score < best)):
            best = t.score
        if best is not None:
            steps.append((t.n, best))
    if steps:
        steps.append((len(trials) + 0.5, steps[-1][1]))
        frame.step_line(steps, color="#c0392b", cls="best-so-far", width=2)
    for t in trials:
        frame.mark(t, t.n, name)
    frame.legend([("line", "#c0392b", "best so far")] + _legend_marks(trials))
    return frame.drawing()


def cost_plot(result, cost: str = "params") -> Drawing:
    """Score against model cost (log axis), with the Pareto front of the finished trials.

    Args:
        result: A `SearchResult`.
        cost: A cost metric the trials recorded: `"params"` (default), `"flops"`
            (multiply-adds per example), or a hardware metric such as
            `"latency_ms"` or `"model_bytes"`.
    """
    recorded = sorted({k for r in result.history for k in r.metrics})
    if not isinstance(cost, str) or (cost not in COST_LABELS and cost not in recorded):
        raise ValueError(f"cost must be one of {sorted(COST_LABELS)} or a metric the trials "
                         f"recorded ({recorded}); got {cost!r}.")
    name, maximize = _objective(result)
    label = COST_LABELS.get(cost, cost)
    trials = [t for t in _classify(result) if is_finite_number(t.record.metrics.get(cost))
              and t.record.metrics[cost] > 0]
    if not trials:
        return _empty(f"score_vs_{cost}", f"no trial recorded {label}")
    xs = [math.log10(t.record.metrics[cost]) for t in trials]
    lo, hi = min(xs), max(xs)
    pad = max(0.06 * (hi - lo), 0.05)
    scale = _ScoreScale(trials)
    frame = _Frame(f"score_vs_{cost}", (lo - pad, hi + pad), scale, xlabel=f"{label} (log)",
                   ylabel=name, log_x=True, strip=scale.needs_strip(trials))
    front, best = [], None
    for t in sorted((t for t in trials if t.fits),
                    key=lambda t: (t.record.metrics[cost], -t.score if maximize else t.score)):
        if best is None or (t.score > best if maximize else t.score < best):
            best = t.score
            front.append((math.log10(t.record.metrics[cost]), t.score))
    if front:
        front.append((hi + pad, front[-1][1]))
        frame.step_line(front, color="#2e8b3d", cls="pareto", width=1.5, dash="5 3")
    for t, x in zip(trials, xs, strict=True):
        frame.mark(t, x, name, extra=f", {t.record.metrics[cost]:,.0f} {cost}")
    frame.legend([("dash", "#2e8b3d", "Pareto front")] + _legend_marks(trials))
    return frame.drawing()


def learning_curves_plot(result, k: int = TOP_CURVES) -> Drawing:
    """The objective after every epoch for the `k` best finished trials (default 5).

    Needs the per-epoch logs trials record (`TrialRecord.curves`); a search
    saved before they were recorded gets a note instead of lines.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}.")
    name, _ = _objective(result)
    top = [t for t in _classify(result) if t.score is not None]  # as result.best_trials
    top = sorted(top, key=lambda t: t.rank)[:k]
    curves = [(t, [v for v in (getattr(t.record, "curves", None) or {}).get(name, [])])
              for t in top]
    curves = [(t, c) for t, c in curves if any(is_finite_number(v) for v in c)]
    if not curves:
        return _empty("learning_curves", f"no per-epoch {name} recorded for these trials")
    epochs = max(len(c) for _, c in curves)
    values = [v for _, c in curves for v in c if is_finite_number(v)]
    scale = _ScoreScale([], values=values)
    frame = _Frame("learning_curves", (0.5, epochs + 0.5), scale, xlabel="epoch",
                   ylabel=name, int_x=True)
    legend = []
    for i, (t, curve) in enumerate(curves):
        color = CURVE_COLORS[i % len(CURVE_COLORS)]
        points = [(e, v) for e, v in enumerate(curve, start=1) if is_finite_number(v)]
        frame.polyline(points, color=color, cls="curve", trial=t.record.trial_id,
                       tooltip=f"trial {t.record.trial_id}: best {name} {t.score:.4f}")
        legend.append(("line", color, f"trial {t.record.trial_id}"))
    frame.legend(legend)
    return frame.drawing()


# ------------------------------------------------------------------------------ trials
class _Trial:
    """A trial as the plots see it: its position, kind (finished / cut / failed) and score."""

    def __init__(self, n, record, kind, score, rank):
        self.n, self.record, self.kind, self.score, self.rank = n, record, kind, score, rank
        self.fits = kind == _FINISHED  # whether the score axis is fitted to this trial


def _classify(result) -> list[_Trial]:
    ranks = {r.trial_id: i for i, r in enumerate(result.leaderboard)}
    trials = []
    for n, r in enumerate(result.history, start=1):
        scored = r.status == "COMPLETED" and is_finite_number(r.score)
        if scored and not r.metrics.get("budget_cut"):
            kind = _FINISHED
        elif scored:
            kind = _CUT
        else:
            kind = _FAILED
        trials.append(_Trial(n, r, kind, float(r.score) if scored else None,
                             ranks.get(r.trial_id, len(ranks))))
    finished = [t.score for t in trials if t.kind == _FINISHED]
    if finished:
        _, maximize = _objective(result)
        worst = min(finished) if maximize else max(finished)
        for t in trials:
            if t.kind == _CUT and (t.score >= worst if maximize else t.score <= worst):
                t.fits = True  # as good as a finished trial: part of the picture
    return trials


def _objective(result):
    return result.objective["name"], result.objective.get("direction", "max") == "max"


def _legend_marks(trials):
    kinds = {t.kind for t in trials}
    items = [("circle", _MARK_COLORS[_FINISHED], "trial")]
    if _CUT in kinds:
        items.append(("diamond", _MARK_COLORS[_CUT], "cut (time budget)"))
    if _FAILED in kinds:
        items.append(("cross", _MARK_COLORS[_FAILED], "failed"))
    return items


class _ScoreScale:
    """The score axis: fitted to finished trials' scores (or `values`) plus `SCORE_MARGIN`."""

    def __init__(self, trials, values=None):
        if values is None:
            values = [t.score for t in trials if t.fits]
            if not values:  # nothing finished cleanly: fit what there is
                values = [t.score for t in trials if t.score is not None]
        values = values or [0.0, 1.0]
        lo, hi = min(values), max(values)
        pad = SCORE_MARGIN * (hi - lo) if hi > lo else max(abs(hi) * 0.02, 0.01)
        self.lo, self.hi = lo - pad, hi + pad

    def contains(self, y) -> bool:
        return self.lo <= y <= self.hi

    def needs_strip(self, trials) -> bool:
        return any(t.score is None or not self.contains(t.score) for t in trials)


# ------------------------------------------------------------------------------ frame
class _Frame:
    """Axes, ticks, an off-scale strip and marks of one plot."""

    left, right, top, bottom = 64, 14, 40, 44
    strip_h = 20

    def __init__(self, kind, x_range, scale, *, xlabel, ylabel, int_x=False, log_x=False,
                 strip=False):
        self.x0, self.x1 = x_range
        self.scale, self.log_x, self.strip = scale, log_x, strip
        self.svg = Svg(WIDTH, HEIGHT, kind=kind, data_xmin=f"{self.x0:.6g}",
                       data_xmax=f"{self.x1:.6g}", data_ymin=f"{scale.lo:.6g}",
                       data_ymax=f"{scale.hi:.6g}")
        self.plot_w = WIDTH - self.left - self.right
        self.plot_h = HEIGHT - self.top - self.bottom - (self.strip_h + 6 if strip else 0)
        self.strip_y = self.top + self.plot_h + 6 + self.strip_h / 2
        svg = self.svg
        svg.rect(self.left, self.top, self.plot_w, self.plot_h, fill="#fcfcfc", stroke="#999")
        for y in _nice_ticks(scale.lo, scale.hi):
            py = self.sy(y)
            svg.line(self.left, py, self.left + self.plot_w, py, stroke="#e6e6e6")
            svg.text(self.left - 6, py + 4, _tick_label(y, scale.hi - scale.lo), anchor="end",
                     size=11, cls="ytick")
        if log_x:
            xticks = _log_ticks(self.x0, self.x1)
        elif int_x:
            xticks = _int_ticks(self.x0, self.x1)
        else:
            xticks = _nice_ticks(self.x0, self.x1)
        label_y = HEIGHT - self.bottom + 16
        for x in xticks:
            px = self.sx(x)
            svg.line(px, self.top, px, self.top + self.plot_h, stroke="#eeeeee")
            text = _human(10 ** x) if log_x else (str(int(round(x))) if int_x else f"{x:g}")
            svg.text(px, label_y, text, size=11, cls="xtick")
        if strip:
            svg.rect(self.left, self.strip_y - self.strip_h / 2, self.plot_w, self.strip_h,
                     fill="#f6f1ea", stroke="#d8cbb8", dash="3 2")
            svg.text(self.left - 6, self.strip_y + 4, "off scale", anchor="end", size=10,
                     fill="#8a6d3b")
        svg.text(self.left + self.plot_w / 2, HEIGHT - 8, xlabel, cls="xlabel")
        cy = self.top + self.plot_h / 2
        svg.text(14, cy, ylabel, rotate=-90, cls="ylabel")

    def sx(self, x):
        return self.left + (x - self.x0) / (self.x1 - self.x0) * self.plot_w

    def sy(self, y):
        return self.top + self.plot_h - (y - self.scale.lo) / (self.scale.hi - self.scale.lo) \
            * self.plot_h

    def step_line(self, points, *, color, cls, width=1.5, dash=None):
        coords = []
        for (xa, ya), (xb, _) in zip(points, points[1:] + [points[-1]], strict=True):
            coords.append(f"{self.sx(xa):.1f},{self.sy(ya):.1f} {self.sx(xb):.1f},"
                          f"{self.sy(ya):.1f}")
        extra = f" stroke-dasharray='{dash}'" if dash else ""
        self.svg.add(f"<polyline class='{cls}' points='{' '.join(coords)}' fill='none' "
                     f"stroke='{color}' stroke-width='{width}'{extra}/>")

    def polyline(self, points, *, color, cls, trial, tooltip):
        coords = " ".join(f"{self.sx(x):.1f},{self.sy(y):.1f}" for x, y in points)
        self.svg.add(f"<g class='{cls}' data-trial='{esc(trial)}'><title>{esc(tooltip)}</title>"
                     f"<polyline points='{coords}' fill='none' stroke='{color}' "
                     f"stroke-width='1.8'/>")
        for x, y in points:
            self.svg.add(f"<circle cx='{self.sx(x):.1f}' cy='{self.sy(y):.1f}' r='2.2' "
                         f"fill='{color}'/>")
        self.svg.add("</g>")

    def mark(self, trial, x, name, extra=""):
        """Draws one trial at (x, its score), or in the off-scale strip."""
        r = trial.record
        off = trial.score is None or not self.scale.contains(trial.score)
        score = "no score" if trial.score is None else f"{name} {trial.score:.4f}"
        status = {_FINISHED: "", _CUT: " (cut by the time budget)",
                  _FAILED: f" ({r.status.lower()})"}[trial.kind]
        tip = f"trial {r.trial_id}: {score}{status}{extra}\n{r.architecture}"
        px = self.sx(x)
        py = self.strip_y if off else self.sy(trial.score)
        color = _MARK_COLORS[trial.kind]
        self.svg.add(f"<g class='mark {trial.kind}' data-trial='{esc(r.trial_id)}' "
                     f"data-offscale='{int(off)}' data-score='{'' if trial.score is None else f'{trial.score:.6g}'}'>"
                     f"<title>{esc(tip)}</title>")
        self.svg.add(_symbol({_FINISHED: "circle", _CUT: "diamond", _FAILED: "cross"}[trial.kind],
                             px, py, color, best=trial.rank == 0 and not off))
        if off and trial.score is not None:  # say where it would be, inside the picture
            text = f"{trial.score:.3g}"
            right = px + 8 + text_width(text, 10) < WIDTH - 2
            self.svg.add(f"<text x='{px + 8 if right else px - 8:.1f}' y='{py + 4:.1f}' "
                         f"text-anchor='{'start' if right else 'end'}' font-size='10' "
                         f"fill='{color}'>{text}</text>")
        self.svg.add("</g>")

    def legend(self, items):
        """One line of legend entries above the plot, wrapping to a second line if needed."""
        x, y = self.left, 16
        for symbol, color, text in items:
            if x + 24 + text_width(text, 10.5) > WIDTH - 4:
                x, y = self.left, y + 14
            if symbol == "line":
                self.svg.line(x, y - 4, x + 16, y - 4, stroke=color, width=2)
            elif symbol == "dash":
                self.svg.line(x, y - 4, x + 16, y - 4, stroke=color, width=1.5, dash="5 3")
            else:
                self.svg.add(_symbol(symbol, x + 8, y - 4, color))
            self.svg.text(x + 20, y, text, anchor="start", size=10.5, cls="legend")
            x += 30 + text_width(text, 10.5)

    def drawing(self) -> Drawing:
        return self.svg.drawing()


def _symbol(kind, x, y, color, best=False):
    ring = (f"<circle class='best' cx='{x:.1f}' cy='{y:.1f}' r='8' fill='none' "
            f"stroke='{color}' stroke-width='1.5'/>") if best else ""
    return ring + _shape(kind, x, y, color)


def _shape(kind, x, y, color):
    if kind == "circle":
        return (f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.8' fill='{color}' "
                "fill-opacity='0.8'/>")
    if kind == "diamond":
        return (f"<path d='M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y:.1f} L{x:.1f},{y + 5:.1f} "
                f"L{x - 5:.1f},{y:.1f} z' fill='#fff' stroke='{color}' stroke-width='1.6'/>")
    return (f"<path d='M{x - 4:.1f},{y - 4:.1f} L{x + 4:.1f},{y + 4:.1f} M{x - 4:.1f},"
            f"{y + 4:.1f} L{x + 4:.1f},{y - 4:.1f}' stroke='{color}' stroke-width='2'/>")


def _empty(kind, message) -> Drawing:
    svg = Svg(WIDTH, 80, kind=kind, data_empty="1")
    svg.rect(1, 1, WIDTH - 2, 78, stroke="#ccc", fill="#fcfcfc")
    svg.text(WIDTH / 2, 44, message, fill="#777")
    return svg.drawing()


# ------------------------------------------------------------------------------ ticks
def _nice_step(span, count):
    raw = span / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def _nice_ticks(lo, hi, count=5):
    """Round values between `lo` and `hi`, about `count` of them."""
    if not hi > lo:
        return [lo]
    step = _nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9)
    return [k * step for k in range(first, int(math.floor(hi / step + 1e-9)) + 1)]


def _int_ticks(lo, hi):
    """Integer ticks between `lo` and `hi`, every 1, 2, 5, 10, 20, ... so at most 10 show."""
    span = max(1.0, hi - lo)
    step, factors = 1, (2, 2.5, 2)  # 1 -> 2 -> 5 -> 10 -> 20 -> 50 -> ...
    k = 0
    while span / step > 10:
        step = int(step * factors[k % 3])
        k += 1
    return [t for t in range(math.ceil(lo), math.floor(hi) + 1) if t % step == 0]


def _log_ticks(lo, hi):
    """Ticks on a log10 axis (arguments are log10 values): decades, or 1-2-5 when narrow."""
    decades = [float(k) for k in range(math.ceil(lo), math.floor(hi) + 1)]
    if len(decades) >= 2:
        return decades
    for multiples in ((1, 2, 5), range(1, 10)):
        ticks = [math.log10(m * 10 ** k) for k in range(math.floor(lo) - 1, math.ceil(hi) + 1)
                 for m in multiples]
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) >= 2:
            return ticks
    return [t for t in (lo + (hi - lo) * 0.2, lo + (hi - lo) * 0.8)]


def _tick_label(value, span):
    step = _nice_step(span, 5)
    digits = next(d for d in range(0, 8) if abs(round(step, d) - step) < step * 1e-6)
    return f"{value:.{digits}f}"


def _human(n):
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.3g}"
