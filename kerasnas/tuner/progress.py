"""Quiet, compact progress of a search: one line per finished trial, led by an overall bar.

`Progress` is the `TunerFeature` `NASTuner(verbose=1)` uses (Keras Tuner's own
display is silenced): a line when a resumed search starts, one per finished
trial (its score or why it failed or was cut, the best so far, its size and
fit time, the time used of the budget, its architecture) and a closing line.
In Jupyter the lines go to one display block updated in place, with the
trajectory so far (`kerasnas.viz.live`).

Example of a trial's line:

    [####................]  trial 3/20  val_accuracy 0.9611  best 0.9611  12.3k params  4.1s  0:14/2:00  6x32 k3
"""

from __future__ import annotations

import math
import sys
import time

from kerasnas.tuner import trial_failures
from kerasnas.tuner.features import TunerFeature
from kerasnas.viz import live as live_progress


class Progress(TunerFeature):
    """Prints the search's progress to `stream` (default `sys.stdout`); `width` is the bar's."""

    def __init__(self, stream=None, width=20):
        self.stream = stream
        self.width = width
        self.live = None
        self.started = None
        self.time_budget = None
        self._on = False

    def on_search_begin(self, tuner):
        # A distributed worker's OracleClient has no trial lists to show: no progress line.
        self._on = hasattr(tuner.oracle, "end_order")
        if not self._on:
            return
        self.started = time.monotonic()
        self.time_budget = tuner.time_budget
        self.live = live_progress.start()  # in Jupyter: one block updated in place
        self._tuner = tuner
        if tuner.resumed_trials:
            self.say(f"Resuming the search in {tuner.project_dir}: "
                     f"{tuner.resumed_trials} trial(s) already ran.")

    def on_trial_end(self, tuner, trial):
        if self._on:
            self.trial_done(tuner, tuner.oracle.get_trial(trial.trial_id))

    def on_search_end(self, tuner):
        if self._on:
            self.finish(tuner)
            self._on = False

    def say(self, text):
        if self.live is not None:
            self.live.say(text, self._tuner)
        else:
            print(text, file=self.stream or sys.stdout, flush=True)

    def _fraction(self, oracle):
        done = len(oracle.end_order)
        fractions = [done / oracle.max_trials] if oracle.max_trials else []
        if self.time_budget:
            fractions.append((time.monotonic() - self.started) / self.time_budget)
        return min(1.0, max(fractions)) if fractions else 0.0

    def _bar(self, oracle):
        filled = int(round(self._fraction(oracle) * self.width))
        return "[" + "#" * filled + "." * (self.width - filled) + "]"

    def elapsed(self):
        """`m:ss` since the search began, with `/m:ss` of the budget when there is one."""
        seconds = time.monotonic() - self.started
        text = f"{int(seconds // 60)}:{int(seconds % 60):02d}"
        if self.time_budget:
            text += f"/{int(self.time_budget // 60)}:{int(self.time_budget % 60):02d}"
        return text

    def trial_done(self, tuner, trial):
        """Prints the line of a finished `trial`."""
        oracle = tuner.oracle
        total = oracle.max_trials or "?"
        name = oracle.objective.name
        score = trial.score
        metrics = trial.metrics
        cut = metrics.exists("budget_cut") and metrics.get_last_value("budget_cut")
        text = f"{name} {score:.4f}" if score is not None else f"{trial.status.lower()}"
        if cut:  # a partial score, not a verdict on the architecture
            epochs = int(metrics.get_last_value("epochs")) if metrics.exists("epochs") else 0
            text = f"cut by the time budget after {epochs} epoch(s) ({text} so far)"
        elif trial.status == "FAILED":
            text = f"failed: {trial_failures.reason(trial.message)}"
        best = oracle.get_best_trials(1)
        best_text = f"best {best[0].score:.4f}" if best and best[0].score is not None else ""
        params = metrics.get_last_value("params") if metrics.exists("params") else None
        fit = metrics.get_last_value("fit_time") if metrics.exists("fit_time") else None
        parts = [self._bar(oracle), f"trial {len(oracle.end_order)}/{total}", text, best_text,
                 f"{human_count(params)} params" if params is not None else "",
                 f"{fit:.1f}s" if fit is not None else "",
                 self.elapsed(), architecture_text(tuner.hypermodel, trial)]
        self.say("  ".join(p for p in parts if p))

    def finish(self, tuner):
        """Prints the closing line: trials run, time, why the search stopped, the best score."""
        oracle = tuner.oracle
        done = len(oracle.end_order)
        reason = {"time_budget": "time budget reached",
                  "max_trials": "all trials done"}.get(tuner.stopped_by, "stopped")
        best = oracle.get_best_trials(1)
        best_text = (f", best {oracle.objective.name} {best[0].score:.4f}"
                     if best and best[0].score is not None else "")
        self.say(f"Search finished: {done} trial(s) in {self.elapsed()} ({reason}){best_text}.")


def human_count(n):
    """A parameter count in a few characters: `12.3k`, `1.5M` (`?` when unknown)."""
    if n is None or not math.isfinite(n):
        return "?"
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(int(n))


def architecture_text(hypermodel, trial, limit=70):
    """The trial's architecture as its space writes it, cut to `limit` characters ('' if none)."""
    encoding = getattr(hypermodel, "encoding", None)
    if encoding is None:
        return ""
    try:
        text = str(encoding.from_hp_values(trial.hyperparameters.values))
    except (ValueError, KeyError):
        return ""
    return text if len(text) <= limit else text[:limit - 3] + "..."


__all__ = ["Progress", "architecture_text", "human_count"]
