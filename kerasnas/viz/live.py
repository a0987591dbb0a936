"""Live search progress in Jupyter: one display block updated in place, never a flood of lines.

Outside a notebook `NASTuner` prints one line per trial. Inside a Jupyter
kernel it shows instead a single HTML block that each finished trial
rewrites: the latest `KEEP_LINES` progress lines and the search trajectory
plot so far. Nothing changes for scripts and terminals, and IPython is not a
dependency: `start()` returns None when it is absent.

Example (in a notebook cell):

>>> result = kerasnas.search(x, y, time_budget=300)   # doctest: +SKIP
"""

from __future__ import annotations

import html

#: Progress lines the live block keeps (older ones scroll away; the report has every trial).
KEEP_LINES = 6


def start():
    """A `LiveProgress` bound to a new display block when running in Jupyter, else None."""
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return None  # a terminal IPython prints lines like a script
    handle = display(HTML("<i>kerasnas: starting the search...</i>"), display_id=True)
    return LiveProgress(lambda page: handle.update(HTML(page)))


class LiveProgress:
    """Keeps one block up to date with the latest lines and the trajectory so far.

    Args:
        show: Called with the block's new HTML each time it changes (in Jupyter,
            a display handle's `update`).
        keep: Lines kept (default `KEEP_LINES`).
    """

    def __init__(self, show, keep=KEEP_LINES):
        self.show = show
        self.keep = int(keep)
        self.lines: list[str] = []
        self.plot = ""

    def say(self, text, tuner=None) -> None:
        """Adds a progress line and, given the tuner, redraws the trajectory."""
        self.lines = (self.lines + [str(text)])[-self.keep:]
        if tuner is not None:
            self.plot = live_trajectory(tuner)
        self.show(self.html())

    def html(self) -> str:
        return (f"<div class='kn-live'>{self.plot}<pre style='font-size:12px;margin:4px 0'>"
                f"{html.escape(chr(10).join(self.lines))}</pre></div>")


def live_trajectory(tuner) -> str:
    """The trajectory plot (SVG) of the trials `tuner`'s oracle has ended so far ("" if none)."""
    from kerasnas.deploy.result import SearchResult, TrialRecord
    from kerasnas.viz.plots import trajectory_plot

    oracle = tuner.oracle
    encoding = getattr(tuner.hypermodel, "encoding", None)
    records = []
    for trial_id in oracle.start_order:
        trial = oracle.trials.get(trial_id)
        if trial is None or trial.status == "RUNNING":
            continue
        metrics = {name: float(trial.metrics.get_last_value(name))
                   for name in ("budget_cut", "params", "flops") if trial.metrics.exists(name)}
        try:
            arch = str(encoding.from_hp_values(trial.hyperparameters.values)) if encoding else ""
        except (ValueError, KeyError):
            arch = "?"
        records.append(TrialRecord(trial_id, arch, str(trial.status),
                                   None if trial.score is None else float(trial.score), metrics))
    if not records:
        return ""
    objective = oracle.objective
    view = SearchResult(model=None, architecture=None, task=None,
                        objective={"name": getattr(objective, "name", "score"),
                                   "direction": getattr(objective, "direction", "max")},
                        history=records)
    return trajectory_plot(view).svg
