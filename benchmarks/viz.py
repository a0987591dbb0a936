"""How fast and how clean kerasnas.viz draws: drawing layout quality and time, report size and time.

    .venv/bin/python benchmarks/viz.py [--samples 200] [--trials 200]

Prints, per space, over `--samples` random architectures (seed 0): the median
and max time to draw one, the median SVG size, and for the labelled-edge
drawings (cell, NB201) how many label boxes overlap another label (the layout
aims for 0) and how many arcs pass behind a label not their own. Then the time
and size of a full HTML report of a made-up search of `--trials` trials.
"""

from __future__ import annotations

import argparse
import statistics
import time
import xml.etree.ElementTree as ET

import numpy as np

from kerasnas.deploy.result import SearchResult, TrialRecord
from kerasnas.spaces.encodings import (
    CellEncoding,
    DenseEncoding,
    MacroEncoding,
    NB201Encoding,
    ResidualEncoding,
)
from kerasnas.viz.draw import draw_architecture

SVG = "{http://www.w3.org/2000/svg}"


def label_overlaps(svg: str) -> int:
    """Pairs of edge-label boxes that overlap, within each row."""
    root = ET.fromstring(svg)
    count = 0
    for row in root.iter(f"{SVG}g"):
        if row.get("class") != "row":
            continue
        boxes = []
        for g in row.iter(f"{SVG}g"):
            if g.get("class") == "edge":
                for r in g.iter(f"{SVG}rect"):
                    x, y = float(r.get("x")), float(r.get("y"))
                    boxes.append((x, y, x + float(r.get("width")), y + float(r.get("height"))))
        count += sum(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                     for i, a in enumerate(boxes) for b in boxes[i + 1:])
    return count


def arcs_behind_labels(arch) -> int:
    """Arcs that pass behind another arc's label (the layout's remaining clutter)."""
    from kerasnas.viz import draw as d

    rows = draw_architecture(arch).layout
    crossings = 0
    for row in rows:
        rects = [(a, row._label_rect(a)) for a in row.arcs if a.label]
        for arc in row.arcs:
            points = d._arc_points(arc)
            crossings += sum(1 for other, rect in rects if other is not arc
                             and d._crosses(points, rect))
    return crossings


def made_up_result(trials: int) -> SearchResult:
    rng = np.random.default_rng(0)
    enc = CellEncoding()
    history = []
    for i in range(trials):
        score = float(0.9 + 0.08 * rng.random())
        epochs = 10
        curves = {"val_accuracy": list(np.linspace(score - 0.3, score, epochs)),
                  "val_loss": list(np.linspace(2.0, 0.2, epochs))}
        metrics = {"val_accuracy": score, "params": float(rng.integers(10_000, 2_000_000)),
                   "flops": float(rng.integers(1e6, 1e9)), "budget_cut": float(i == trials - 1),
                   "fit_time": 10.0, "epochs": float(epochs)}
        history.append(TrialRecord(f"{i:03d}", str(enc.sample(rng)), "COMPLETED", score, metrics,
                                   curves))
    return SearchResult(model=None, architecture=enc.from_string(history[0].architecture),
                        task=_Task(), objective={"name": "val_accuracy", "direction": "max"},
                        history=history, stopped_by="time_budget", search_time=100.0)


class _Task:
    kind, problem, input_shape, num_classes = "image", "classification", (32, 32, 3), 10


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"{'space':<8} {'draw ms (median / max)':>24} {'SVG KB':>7} {'label overlaps':>15} "
          f"{'arcs behind labels (mean / max)':>32}")
    for name, enc in (("cell", CellEncoding()), ("nb201", NB201Encoding()),
                      ("macro", MacroEncoding()), ("dense", DenseEncoding()),
                      ("residual", ResidualEncoding()), ("res@32px", ResidualEncoding())):
        rng = np.random.default_rng(0)
        times, sizes, overlaps, behind = [], [], 0, []
        for _ in range(args.samples):
            arch = enc.sample(rng)
            start = time.perf_counter()
            # res@32px: the drawing a report shows, with the input shape (exact reductions).
            shape = (32, 32, 3) if name == "res@32px" else None
            svg = str(draw_architecture(arch, input_shape=shape))
            times.append(1000 * (time.perf_counter() - start))
            sizes.append(len(svg) / 1024)
            overlaps += label_overlaps(svg)
            if name in ("cell", "nb201"):
                behind.append(arcs_behind_labels(arch))
        crossings = (f"{statistics.mean(behind):.2f} / {max(behind)}" if behind else "n/a")
        print(f"{name:<8} {statistics.median(times):>13.1f} / {max(times):>8.1f} "
              f"{statistics.median(sizes):>7.1f} {overlaps:>15} {crossings:>32}")
    from kerasnas.deploy.report import render_report

    result = made_up_result(args.trials)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        page = render_report(result)
        times.append(time.perf_counter() - start)
    print(f"report of {args.trials} trials: {statistics.median(times) * 1000:.0f} ms median of 5 "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}), "
          f"{len(page) / 1024:.0f} KB")


if __name__ == "__main__":
    main()
