"""The accuracy-latency Pareto front of a finished search, and exporting any point of it.

Works on trial records (`SearchResult.history`, `TrialRecord`s) and on a
Keras Tuner project (`NASTuner`), so both the one-liner and Keras Tuner users
can read the front, plot it and deploy whichever trade-off they want.

Example:

>>> from kerasnas.hardware.front import pareto_records, export_trial
>>> front = pareto_records(result.history)                     # doctest: +SKIP
>>> [(r.trial_id, r.score, r.metrics["latency_ms"]) for r in front]   # doctest: +SKIP
>>> export_trial(tuner, front[-1].trial_id, "exports", representative_data=x)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from kerasnas.hardware.objectives import pareto_front
from kerasnas.infra.numbers import is_finite_number


def pareto_records(records, cost="latency_ms", direction="max", score=None) -> list:
    """The finished records on the (score, `cost`) Pareto front, cheapest first.

    Args:
        records: `TrialRecord`s (anything with `status`, `score`, `metrics`).
        cost: The metric to minimise (default `"latency_ms"`).
        direction: Direction of the score (default `"max"`).
        score: A metric to use as the score instead of each record's `score`
            (default None), e.g. `"quantized_accuracy"`: a codesign search's
            accuracy in each candidate's own quantization mode.

    Returns:
        The non-dominated records, sorted by increasing cost (so the last one
        has the best score). Empty if no finished record has `cost`.
    """
    def value(r):
        return r.score if score is None else r.metrics.get(score)

    finished = [r for r in records if r.status == "COMPLETED" and is_finite_number(value(r))
                and is_finite_number(r.metrics.get(cost))]
    if not finished:
        return []
    points = [(value(r), r.metrics[cost]) for r in finished]
    front = [finished[i] for i in pareto_front(points, directions=(direction, "min"))]
    return sorted(front, key=lambda r: (r.metrics[cost], r.trial_id))


def front_plot(records, name, cost="latency_ms", direction="max") -> str:
    """An SVG scatter of every finished trial's (cost, score) with the front as a line."""
    from kerasnas.deploy.report import svg_plot

    finished = [r for r in records if r.status == "COMPLETED" and is_finite_number(r.score)
                and is_finite_number(r.metrics.get(cost))]
    points = [(r.metrics[cost], r.score) for r in finished]
    line = [(r.metrics[cost], r.score) for r in pareto_records(records, cost, direction)]
    return svg_plot(points, line=line, xlabel=cost, ylabel=name)


def export_trial(tuner, trial_id, directory, *, representative_data=None, quantize="int8",
                 name=None) -> dict:
    """Writes one trial's trained model (its best epoch) as `.keras`, float32 and quantized `.tflite`.

    Args:
        tuner: The `NASTuner` (or any Keras Tuner tuner) of the search.
        trial_id: The trial to export, e.g. a point of `pareto_records`.
        directory: Folder to write into.
        representative_data: Training inputs for int8 calibration (needed
            when `quantize="int8"`).
        quantize: The quantized file's mode (default `"int8"`; None writes
            only the float32 one).
        name: File stem (default `f"trial_{trial_id}"`).

    Returns:
        `{"keras": path, "tflite": path, "<quantize>": path}`.
    """
    from kerasnas.hardware.conversion import convert

    trial = tuner.oracle.get_trial(trial_id)
    model = tuner.load_model(trial)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = name or f"trial_{trial_id}"
    paths = {"keras": str(directory / f"{stem}.keras")}
    model.save(paths["keras"])
    paths["tflite"] = convert(model, "float32").save(directory / f"{stem}.tflite")
    if quantize is not None and quantize != "float32":
        paths[quantize] = convert(model, quantize, representative_data=representative_data).save(
            directory / f"{stem}_{quantize}.tflite")
    return paths
