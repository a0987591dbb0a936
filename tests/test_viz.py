"""kerasnas.viz: architecture drawings, search plots, the HTML report and notebook display."""

import collections
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from kerasnas.deploy.result import SearchResult, TrialRecord
from kerasnas.spaces.architecture import Decision, Encoding, register_encoding
from kerasnas.spaces.encodings import (
    CellEncoding,
    DenseEncoding,
    MacroEncoding,
    NB201Encoding,
    ResidualEncoding,
)
from kerasnas.viz import cost_plot, draw_architecture, learning_curves_plot, trajectory_plot
from kerasnas.viz.notebook import result_html

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    """The SVG as an ElementTree root (raises if it is not well-formed XML)."""
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    return root


def groups(root, cls):
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def texts(element):
    return [t.text for t in element.iter(f"{SVG}text")]


def label_boxes(root):
    """(x0, y0, x1, y1) of every edge label's box."""
    boxes = []
    for g in groups(root, "edge"):
        for r in g.iter(f"{SVG}rect"):
            x, y = float(r.get("x")), float(r.get("y"))
            boxes.append((x, y, x + float(r.get("width")), y + float(r.get("height"))))
    return boxes


# ------------------------------------------------------------------------------ drawings
@pytest.mark.parametrize("seed", range(6))
def test_cell_drawing_has_an_edge_per_op_with_its_label_and_the_output_concat(seed):
    enc = CellEncoding(num_blocks=4)
    arch = enc.sample(np.random.default_rng(seed))
    root = parse(draw_architecture(arch))
    rows = {g.get("data-name"): g for g in groups(root, "row")}
    assert set(rows) == {"normal", "reduce"}
    for cell, row in rows.items():
        expected = collections.Counter()
        for b, (op1, in1, op2, in2, _) in enumerate(enc.blocks(arch, cell)):
            expected[(str(in1), str(b + 2), op1)] += 1
            expected[(str(in2), str(b + 2), op2)] += 1
        edges = groups(row, "edge")
        assert len(edges) == 2 * enc.num_blocks
        assert collections.Counter((e.get("data-src"), e.get("data-dst"), e.get("data-op"))
                                   for e in edges) == expected
        for e in edges:  # the label drawn on each edge is its op
            assert texts(e) == [e.get("data-op")]
        assert len(groups(row, "concat")) == enc.num_blocks
        combs = [enc.blocks(arch, cell)[b][4] for b in range(enc.num_blocks)]
        node_texts = {g.get("data-key"): texts(g) for g in groups(row, "node")}
        assert [node_texts[str(b + 2)][1] for b in range(enc.num_blocks)] == combs
    width = float(root.get("width"))
    boxes = label_boxes(root)
    assert all(0 <= b[0] and b[2] <= width for b in boxes)


def test_cell_drawing_labels_never_overlap():
    enc = CellEncoding(num_blocks=4)
    for seed in range(20):
        root = parse(draw_architecture(enc.sample(np.random.default_rng(seed))))
        for row in groups(root, "row"):
            boxes = [b for g in groups(row, "edge") for b in label_boxes_of(g)]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), \
                        f"seed {seed}: labels overlap"


def label_boxes_of(group):
    return [(float(r.get("x")), float(r.get("y")), float(r.get("x")) + float(r.get("width")),
             float(r.get("y")) + float(r.get("height"))) for r in group.iter(f"{SVG}rect")]


def test_nb201_drawing_has_its_six_edges_with_their_ops():
    enc = NB201Encoding()
    arch = enc.from_string("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|"
                           "+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    root = parse(draw_architecture(arch))
    edges = groups(root, "edge")
    assert sorted((e.get("data-src"), e.get("data-dst"), e.get("data-op")) for e in edges) == \
        sorted((str(i), str(j), arch[f"edge_{j}_{i}"]) for j, i in enc.edges)
    assert sorted(t for e in edges for t in texts(e)) == sorted(arch.values)
    none = [e for e in edges if e.get("data-op") == "none"]
    assert len(none) == 1 and none[0].find(f"{SVG}path").get("stroke-dasharray")


def test_macro_drawing_shows_every_layer_with_op_kernel_width_and_skips():
    enc = MacroEncoding()
    arch = enc.from_string("conv_3x3:16 > sep_conv_5x5:32 > dil_conv_3x3:64+0 > "
                           "max_pool_3x3:64+0,1 > avg_pool_5x5:32+1,2")
    root = parse(draw_architecture(arch))
    layers = [g for g in groups(root, "node") if g.get("data-kind") == "layer"]
    assert [texts(g) for g in layers] == [
        ["L0", "conv 3x3", "16 ch"], ["L1", "sep_conv 5x5", "32 ch"],
        ["L2", "dil_conv 3x3", "64 ch"], ["L3", "max_pool 3x3", "64 ch"],
        ["L4", "avg_pool 5x5", "32 ch"]]
    assert sorted((g.get("data-src"), g.get("data-dst")) for g in groups(root, "skip")) == [
        ("L0", "L2"), ("L0", "L3"), ("L1", "L3"), ("L1", "L4"), ("L2", "L4")]
    assert len(groups(root, "chain")) == 5 + 2  # input > stem > L0 ... L4 > head


def test_dense_drawing_shows_the_layer_stack_and_residuals():
    enc = DenseEncoding()
    arch = enc.from_string("128-64-32 gelu dropout=0.25 skip")
    root = parse(draw_architecture(arch))
    layers = [g for g in groups(root, "node") if g.get("data-kind") == "layer"]
    assert [texts(g) for g in layers] == [["L0", "dense 128", "gelu", "dropout 0.25"],
                                          ["L1", "dense 64", "gelu", "dropout 0.25"],
                                          ["L2", "dense 32", "gelu", "dropout 0.25"]]
    assert len(groups(root, "skip")) == 2
    plain = parse(draw_architecture(enc.from_string("64 relu dropout=0.0")))
    assert len(groups(plain, "skip")) == 0
    assert [texts(g) for g in groups(plain, "node") if g.get("data-kind") == "layer"] == [
        ["L0", "dense 64", "relu"]]


def block_nodes(root):
    return [g for g in groups(root, "node") if g.get("data-kind") == "layer"]


@pytest.mark.parametrize("num_blocks", [2, 4, 8])
def test_residual_drawing_shows_every_block_with_kernel_dilation_width_and_its_skip(num_blocks):
    enc = ResidualEncoding()
    arch = enc.from_string(f"{num_blocks}x32 k5 dilation=exponential downsample=none dropout=0.1")
    root = parse(draw_architecture(arch))
    assert root.get("data-kind") == "residual"  # its own drawer, not the list of decisions
    assert not [t for t in texts(root) if " = " in t]
    blocks = block_nodes(root)
    assert [g.get("data-key") for g in blocks] == [f"B{i}" for i in range(num_blocks)]
    assert [texts(g) for g in blocks] == [
        [f"B{i}", "2 conv k5", f"dilation {2 ** (i % 4)}", "32 ch"] for i in range(num_blocks)]
    assert [(g.get("data-kernel"), g.get("data-dilation"), g.get("data-width"),
             g.get("data-stride")) for g in blocks] == [
        ("5", str(2 ** (i % 4)), "32", "1") for i in range(num_blocks)]
    keys = ["stem"] + [f"B{i}" for i in range(num_blocks)]
    skips = groups(root, "skip")
    assert [(g.get("data-src"), g.get("data-dst")) for g in skips] == list(zip(keys, keys[1:],
                                                                               strict=False))
    assert {g.get("data-shortcut") for g in skips} == {"identity"}
    assert len(groups(root, "chain")) == num_blocks + 2  # input > stem > B0 ... > head
    head = [g for g in groups(root, "node") if g.get("data-key") == "head"]
    assert texts(head[0]) == ["head", "avg pool", "dropout 0.1", "dense"]
    assert groups(root, "reduction") == []  # full resolution: nothing depends on the input
    plain = parse(draw_architecture(enc.from_string(
        f"{num_blocks}x16 k3 dilation=none downsample=none dropout=0.0")))
    assert [texts(g)[1:] for g in block_nodes(plain)] == [["2 conv k3", "dilation 1", "16 ch"]] \
        * num_blocks
    assert "dropout" not in " ".join(texts(plain))


def built_blocks(space, arch):
    """Per block of the model `space` builds: (stride, width, dilation, 1x1 shortcut), and
    the stem's max-pool factor."""
    model = space.build_architecture(arch, compile=False)
    blocks, pool = {}, 1
    for layer in model.layers:
        if type(layer).__name__.startswith("MaxPooling"):  # only the stem max-pools
            pool = layer.pool_size[0]
        scope = (getattr(layer, "path", None) or "").split("/")[0]
        if not scope.startswith("block") or not hasattr(layer, "kernel_size"):
            continue
        stride, width, dilation, shortcut = blocks.get(int(scope[5:]), (1, 0, 1, False))
        if layer.kernel_size[0] == 1:
            shortcut = True
        else:
            width, dilation = layer.filters, max(dilation, layer.dilation_rate[0])
        blocks[int(scope[5:])] = (max(stride, layer.strides[0]), width, dilation, shortcut)
    return [blocks[i] for i in range(len(blocks))], pool


def in_size_range(cell, size):
    if cell.startswith("<"):
        return size < int(cell[1:])
    if cell.startswith("≥"):
        return size >= int(cell[1:])
    low, high = cell.split("-")
    return int(low) <= size <= int(high)


@pytest.mark.parametrize("shape", [(40, 1), (100, 6), (300, 2), (1000, 1), (8, 8, 1),
                                   (28, 28, 1), (32, 32, 3), (64, 48, 1)])
@pytest.mark.parametrize("text", ["4x8 k5 dilation=exponential downsample=by_size dropout=0.0",
                                  "2x8 k3 dilation=none downsample=by_size dropout=0.3",
                                  "4x8 k5 dilation=exponential downsample=none dropout=0.0"])
def test_residual_drawing_is_true_to_the_model_residual_space_builds(shape, text):
    from kerasnas.spaces import ResidualSpace

    space = ResidualSpace(shape, 3, blocks=(2, 4), widths=(8,), kernels=(3, 5))
    arch = space.encoding.from_string(text)
    built, pool = built_blocks(space, arch)
    root = parse(draw_architecture(arch))
    nodes = block_nodes(root)
    assert len(nodes) == len(built) == arch["num_blocks"]
    for node, (_, width, dilation, _) in zip(nodes, built, strict=True):
        assert node.get("data-kernel") == str(arch["kernel"])
        assert node.get("data-dilation") == str(dilation)
        assert str(width) in node.get("data-width").split("/")  # every width it may have
    if arch["downsample"] == "none":
        assert groups(root, "reduction") == [] and pool == 1
        assert all(b == (1, 8, b[2], False) for b in built)
        return
    # The table row of this input's number of reductions is what the model builds.
    n, reductions = arch["num_blocks"], space.num_reductions()
    rows = {g.get("data-reductions"): g for g in groups(root, "reduction")}
    assert list(rows) == [str(r) for r in range(n + 1)] + [f"{n + 1}+"]
    row = rows[str(reductions) if reductions <= n else f"{n + 1}+"]
    cells = texts(row)
    assert in_size_range(cells[1 if len(shape) == 3 else 2], min(shape[:-1]))
    strided = [f"B{i}" for i, b in enumerate(built) if b[0] == 2]
    assert row.get("data-strided").split() == strided
    assert [b[3] for b in built] == [b[0] == 2 for b in built]  # 1x1 shortcut iff strided
    assert row.get("data-widths").split() == [str(b[1]) for b in built]
    assert pool == 2 ** max(0, reductions - n)
    if reductions > n:
        assert cells[3] == f"all; stem max-pools by 2^(r-{n})"


@pytest.mark.parametrize("shape", [(40, 1), (100, 6), (300, 2), (1000, 1), (8, 8, 1),
                                   (28, 28, 1), (32, 32, 3), (64, 48, 1), (256, 256, 3)])
@pytest.mark.parametrize("text", ["4x8 k5 dilation=exponential downsample=by_size dropout=0.0",
                                  "2x8 k3 dilation=none downsample=by_size dropout=0.3",
                                  "4x8 k5 dilation=exponential downsample=none dropout=0.0"])
def test_residual_drawing_for_an_input_shape_marks_the_blocks_the_model_strides(shape, text):
    from kerasnas.spaces import ResidualSpace

    space = ResidualSpace(shape, 3, blocks=(2, 4), widths=(8,), kernels=(3, 5))
    arch = space.encoding.from_string(text)
    built, pool = built_blocks(space, arch)
    root = parse(draw_architecture(arch, shape))
    assert groups(root, "reduction") == []  # the exact plan, not the table of every input
    assert root.get("data-input-shape") == "x".join(map(str, shape))
    nodes = block_nodes(root)
    assert [(g.get("data-stride"), g.get("data-width"), g.get("data-dilation"))
            for g in nodes] == [(str(s), str(w), str(d)) for s, w, d, _ in built]
    assert [("stride 2" in texts(g)) for g in nodes] == [b[0] == 2 for b in built]
    assert [texts(g)[-1] for g in nodes] == [f"{b[1]} ch" for b in built]
    assert [g.get("data-shortcut") == "1x1 conv" for g in groups(root, "skip")] == \
        [b[3] for b in built]
    stem = [g for g in groups(root, "node") if g.get("data-key") == "stem"][0]
    assert stem.get("data-pool") == str(pool)
    assert (f"max-pool {pool}" in texts(stem)) == (pool > 1)
    assert int(root.get("data-reductions")) == (
        sum(b[0] == 2 for b in built) + int(math.log2(pool)))


def test_draw_architecture_passes_the_input_shape_only_to_drawers_that_take_it():
    seen = []

    class _PlainEncoding(Encoding):
        name = "viz_test_plain"

        def __init__(self):
            super().__init__([Decision("depth", (1, 2))])

    class _ShapedEncoding(Encoding):
        name = "viz_test_shaped"

        def __init__(self):
            super().__init__([Decision("depth", (1, 2))])

    from kerasnas.viz.draw import register_drawer
    from kerasnas.viz.svg import Svg

    @register_drawer(_PlainEncoding)
    def draw_plain(arch):  # a drawer written before input shapes: arch alone
        seen.append(("plain",))
        return Svg(10, 10, kind="plain").drawing()

    @register_drawer(_ShapedEncoding)
    def draw_shaped(arch, input_shape=None):
        seen.append(("shaped", input_shape))
        return Svg(10, 10, kind="shaped").drawing()

    plain = _PlainEncoding().architecture({"depth": 2})
    shaped = _ShapedEncoding().architecture({"depth": 1})
    assert parse(draw_architecture(plain, (28, 28, 1))).get("data-kind") == "plain"
    assert parse(draw_architecture(plain)).get("data-kind") == "plain"
    assert parse(draw_architecture(shaped, [28, 28, 1])).get("data-kind") == "shaped"
    assert parse(draw_architecture(shaped)).get("data-kind") == "shaped"
    assert seen == [("plain",), ("plain",), ("shaped", (28, 28, 1)), ("shaped", None)]
    # The built-in drawers of the other spaces ignore it.
    cell = CellEncoding(num_blocks=2).sample(np.random.default_rng(0))
    assert str(draw_architecture(cell, (32, 32, 3))) == str(draw_architecture(cell))
    residual = ResidualEncoding().from_string("4x16 k3 dilation=none downsample=by_size "
                                              "dropout=0.0")
    with pytest.raises(ValueError, match="input_shape"):
        draw_architecture(residual, (64,))  # a residual stack takes no tabular input


@register_encoding
class _TinyEncoding(Encoding):
    name = "viz_test_tiny"

    def __init__(self):
        super().__init__([Decision("depth", (1, 2)), Decision("act", ("relu", "tanh"))])


def test_unknown_spaces_fall_back_to_their_decisions_and_bad_input_is_named():
    arch = _TinyEncoding().architecture({"depth": 2, "act": "tanh"})
    root = parse(draw_architecture(arch))
    assert "depth = 2" in texts(root) and "act = tanh" in texts(root)
    with pytest.raises(TypeError, match="needs a kerasnas Architecture"):
        draw_architecture("conv_3x3:16")
    with pytest.raises(ValueError, match="ending in .svg"):
        draw_architecture(arch).save("arch.png")


def test_architecture_displays_itself_in_notebooks(tmp_path):
    arch = NB201Encoding().sample(np.random.default_rng(0))
    page = arch._repr_html_()
    assert page.startswith("<svg") and str(arch).replace("|", "") in page.replace("|", "")
    path = arch.draw().save(tmp_path / "cell.svg")
    parse(open(path).read())


# ------------------------------------------------------------------------------ plots
def made_up_result(cut_score=0.10):
    """The issue's case: fourteen trials scored 0.94-0.98, one cut by the budget at 0.10,
    one failed. Records are plain data, as `SearchResult.load` reads them."""
    rng = np.random.default_rng(0)
    enc = DenseEncoding()
    history = []
    for i in range(16):
        arch = enc.sample(rng)
        score = float(0.94 + 0.04 * rng.random())
        metrics = {"val_accuracy": score, "params": float(1000 * (i + 1) ** 2),
                   "flops": float(900 * (i + 1) ** 2), "budget_cut": 0.0, "epochs": 3.0}
        curves = {"val_accuracy": [score - 0.2, score - 0.05, score]}
        status = "COMPLETED"
        if i == 12:
            score, metrics["budget_cut"], curves = cut_score, 1.0, {"val_accuracy": [cut_score]}
            metrics["val_accuracy"] = score
        if i == 7:
            score, status, metrics, curves = None, "FAILED", {}, {}
        history.append(TrialRecord(f"{i:02d}", str(arch), status, score, metrics, curves))
    best = max((r for r in history if r.score is not None and not r.metrics["budget_cut"]),
               key=lambda r: r.score)
    return SearchResult(model=None, architecture=enc.from_string(best.architecture), task=None,
                        objective={"name": "val_accuracy", "direction": "max"},
                        history=history, stopped_by="time_budget", search_time=12.0)


def residual_result(input_shape=(32, 32, 3)):
    """A made-up image search whose best architecture is a residual stack."""
    from kerasnas.data import TaskSpec

    enc = ResidualEncoding()
    texts_ = ["4x16 k3 dilation=none downsample=by_size dropout=0.0",
              "2x32 k5 dilation=exponential downsample=by_size dropout=0.1",
              "6x16 k3 dilation=none downsample=none dropout=0.3"]
    history = [TrialRecord(f"{i:02d}", text, "COMPLETED", 0.9 + 0.01 * (i == 0),
                           {"val_accuracy": 0.9 + 0.01 * (i == 0), "params": 1e4 * (i + 1),
                            "flops": 1e6 * (i + 1), "epochs": 2.0},
                           {"val_accuracy": [0.8, 0.9 + 0.01 * (i == 0)]})
               for i, text in enumerate(texts_)]
    task = TaskSpec(kind="image", problem="classification", input_shape=input_shape,
                    num_classes=10, classes=tuple(range(10)))
    return SearchResult(model=None, architecture=enc.from_string(texts_[0]), task=task,
                        objective={"name": "val_accuracy", "direction": "max"},
                        history=history, search_time=5.0)


@pytest.mark.parametrize("shape", [(32, 32, 3), (16, 16, 1), (512, 512, 3)])
def test_report_and_notebook_draw_a_residual_best_with_the_task_s_reductions(shape, tmp_path):
    from kerasnas.spaces import ResidualSpace

    result = residual_result(shape)
    space = ResidualSpace(shape, 10, blocks=(4,), widths=(16,), kernels=(3,))
    built, pool = built_blocks(space, space.encoding.from_string(str(result.architecture)))
    strided = [str(b[0]) for b in built]
    page = open(result.report(tmp_path / "report.html"), encoding="utf-8").read()
    notebook = result_html(result)
    for html in (page, notebook, str(result.plot_architecture())):
        drawing = parse(html[html.index("<svg"):html.index("</svg>") + 6])  # the first picture
        assert drawing.get("data-kind") == "residual"  # its drawer, not the list of decisions
        assert groups(drawing, "reduction") == []  # the task's input shape reached the drawer
        assert drawing.get("data-input-shape") == "x".join(map(str, shape))
        assert [g.get("data-stride") for g in block_nodes(drawing)] == strided
        assert [g.get("data-width") for g in block_nodes(drawing)] == [str(b[1]) for b in built]
        stem = [g for g in groups(drawing, "node") if g.get("data-key") == "stem"][0]
        assert stem.get("data-pool") == str(pool)


def finished_range(result):
    """(low, high) of the finished trials' scores, widened to cut trials scoring at least as
    well as the worst finished one (objective maximised)."""
    scores = [r.score for r in result.history
              if r.status == "COMPLETED" and not r.metrics.get("budget_cut")]
    cut = [r.score for r in result.history if r.metrics.get("budget_cut")]
    scores += [c for c in cut if c >= min(scores)]
    return min(scores), max(scores)


def test_trajectory_axes_fit_finished_trials_and_mark_the_cut_and_failed_ones():
    result = made_up_result()
    lo, hi = finished_range(result)
    margin = 0.1 * (hi - lo)
    root = parse(trajectory_plot(result))
    ymin, ymax = float(root.get("data-ymin")), float(root.get("data-ymax"))
    assert lo - margin <= ymin <= lo and hi <= ymax <= hi + margin
    ticks = [float(t.text) for t in root.iter(f"{SVG}text") if t.get("class") == "ytick"]
    assert ticks and all(lo - margin <= t <= hi + margin for t in ticks)
    trial_ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "xtick"]
    assert trial_ticks and all(t.isdigit() for t in trial_ticks)
    assert set(map(int, trial_ticks)) <= set(range(1, 17))
    marks = {g.get("data-trial"): g for g in groups(root, "mark")}
    assert len(marks) == 16
    assert "cut" in marks["12"].get("class") and marks["12"].get("data-offscale") == "1"
    assert "failed" in marks["07"].get("class") and marks["07"].get("data-offscale") == "1"
    assert all(m.get("data-offscale") == "0" for k, m in marks.items() if k not in ("07", "12"))
    best_line = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "best-so-far"]
    ys = [float(pt.split(",")[1]) for pt in best_line[0].get("points").split()]
    assert all(b <= a for a, b in zip(ys, ys[1:], strict=False))  # never worse (SVG y is down)


def test_a_cut_trial_inside_the_range_is_marked_in_place():
    result = made_up_result(cut_score=0.955)
    root = parse(trajectory_plot(result))
    cut = [g for g in groups(root, "mark") if "cut" in g.get("class").split()]
    assert len(cut) == 1 and cut[0].get("data-offscale") == "0"


def test_a_cut_trial_that_beats_the_finished_ones_is_in_range_but_not_the_best():
    # A partial score is not a finished one: cut trials rank after every finished trial.
    result = made_up_result(cut_score=0.99)
    best = result.best_trials(1)[0]
    assert best.trial_id != "12" and not best.metrics.get("budget_cut")
    root = parse(trajectory_plot(result))
    assert 0.99 < float(root.get("data-ymax")) < 0.99 + 0.1 * (0.99 - 0.94)
    cut = [g for g in groups(root, "mark") if "cut" in g.get("class").split()]
    assert cut[0].get("data-offscale") == "0"
    assert "best" not in [c.get("class") for c in cut[0].iter(f"{SVG}circle")]
    marked = [g.get("data-trial") for g in groups(root, "mark")
              if "best" in [c.get("class") for c in g.iter(f"{SVG}circle")]]
    assert marked == [best.trial_id]


def test_cost_plots_use_params_and_flops_on_a_log_axis_with_a_pareto_front():
    result = made_up_result()
    lo, hi = finished_range(result)
    for cost in ("params", "flops"):
        root = parse(cost_plot(result, cost))
        assert root.get("data-kind") == f"score_vs_{cost}"
        x_values = [math.log10(r.metrics[cost]) for r in result.history if cost in r.metrics]
        assert float(root.get("data-xmin")) < min(x_values)
        assert float(root.get("data-xmax")) > max(x_values)
        assert float(root.get("data-ymin")) >= lo - 0.1 * (hi - lo)
        assert len(groups(root, "mark")) == 15  # the failed trial has no cost
        pareto = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "pareto"]
        assert len(pareto) == 1
    with pytest.raises(ValueError, match="a metric the trials recorded"):
        cost_plot(result, "latency")
    assert parse(cost_plot(result, "latency_ms")).get("data-empty") == "1"  # none measured


def test_learning_curves_draw_the_top_trials_epoch_by_epoch():
    result = made_up_result()
    root = parse(learning_curves_plot(result, k=3))
    curves = groups(root, "curve")
    assert [c.get("data-trial") for c in curves] == [r.trial_id for r in result.best_trials(3)]
    for c, r in zip(curves, result.best_trials(3), strict=True):
        assert len(list(c.iter(f"{SVG}circle"))) == len(r.curves["val_accuracy"])
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "xtick"] == \
        ["1", "2", "3"]
    for r in result.history:
        r.curves = {}
    assert parse(learning_curves_plot(result)).get("data-empty") == "1"


# ------------------------------------------------------------------------------ a real search
@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    """A real search on digits (DenseSpace): three trials, then a resumed one cut by the budget.

    Returns the tuner and the `SearchResult` built from its trials."""
    from sklearn.datasets import load_digits

    from kerasnas.automl.finish import trial_record  # the same records kerasnas.search builds
    from kerasnas.data import TaskSpec
    from kerasnas.oracles import RandomSearch
    from kerasnas.spaces import DenseSpace
    from kerasnas.tuner.loop import NASTuner, trial_architecture

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")[:360]
    y = y[:360]
    data = dict(x=x[:300], y=y[:300], validation_data=(x[300:], y[300:]))
    space = DenseSpace((64,), 10, units=(8, 16), max_layers=2)
    directory = tmp_path_factory.mktemp("viz_search")
    tuner = NASTuner(RandomSearch(objective="val_accuracy", max_trials=3, seed=3), space,
                     epochs=3, batch_size=64, verbose=0, directory=directory, project_name="p")
    tuner.search(**data)
    # Resume with one more trial that cannot finish its epochs before the budget ends.
    tuner = NASTuner(RandomSearch(objective="val_accuracy", max_trials=4, seed=3), space,
                     epochs=100_000, early_stopping=None, time_budget=3.0, batch_size=64,
                     verbose=0, directory=directory, project_name="p")
    tuner.search(**data)
    oracle = tuner.oracle
    history = [trial_record(tuner, oracle.trials[t]) for t in oracle.start_order]
    best = oracle.get_best_trials(1)[0]
    task = TaskSpec(kind="tabular", problem="classification", input_shape=(64,),
                    num_classes=10, classes=tuple(range(10)))
    result = SearchResult(model=None, architecture=trial_architecture(space, best), task=task,
                          objective={"name": "val_accuracy", "direction": "max"},
                          history=history, stopped_by=tuner.stopped_by, search_time=1.0,
                          directory=str(directory))
    return tuner, result


@pytest.fixture
def searched(search_run):
    return search_run[1]


def test_trials_record_their_learning_curves(searched):
    finished = [r for r in searched.history if not r.metrics.get("budget_cut")]
    assert len(finished) == 3
    for r in finished:
        assert set(r.curves) >= {"loss", "val_loss", "val_accuracy"}
        assert len(r.curves["val_accuracy"]) == int(r.metrics["epochs"])
        assert max(r.curves["val_accuracy"]) == pytest.approx(r.score)
        assert "params" not in r.curves  # cost metrics are not curves


def test_report_of_a_search_with_a_cut_trial_fits_its_axes_and_draws_the_architecture(
        searched, tmp_path):
    cut = [r for r in searched.history if r.metrics.get("budget_cut")]
    assert len(cut) == 1, "the resumed trial must have been cut by the time budget"
    page = open(searched.report(tmp_path / "report.html"), encoding="utf-8").read()
    assert "<script" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")  # self-contained
    svgs = [parse(page[i:page.index("</svg>", i) + 6]) for i in _starts(page, "<svg")]
    kinds = [s.get("data-kind") for s in svgs]
    assert kinds == ["dense", "trajectory", "score_vs_params", "score_vs_flops",
                     "learning_curves"]
    lo, hi = finished_range(searched)
    margin = 0.1 * max(hi - lo, 0.01)
    trajectory = svgs[1]
    assert lo - margin <= float(trajectory.get("data-ymin")) <= lo
    assert hi <= float(trajectory.get("data-ymax")) <= hi + margin
    cut_marks = [g for g in groups(trajectory, "mark") if "cut" in g.get("class").split()]
    assert [g.get("data-trial") for g in cut_marks] == [cut[0].trial_id]
    offscale = not lo - margin <= cut[0].score <= hi + margin
    assert cut_marks[0].get("data-offscale") == str(int(offscale))
    arch_labels = texts(svgs[0])
    for i in range(searched.architecture["num_layers"]):
        assert f"dense {searched.architecture[f'units{i}']}" in arch_labels
    assert "cut by the time budget" in page


def test_search_result_shows_summary_drawing_and_plots_in_notebooks(searched):
    page = searched._repr_html_()
    assert page == result_html(searched)
    kinds = [parse(page[i:page.index("</svg>", i) + 6]).get("data-kind")
             for i in _starts(page, "<svg")]
    assert kinds == ["dense", "trajectory", "score_vs_params"]
    assert str(searched.architecture) in page
    assert f"{searched.best_trials(1)[0].score:.4f}" in page
    assert str(searched.plot_architecture()) in page


def test_live_progress_keeps_one_block_with_the_latest_lines_and_the_trajectory(search_run):
    from kerasnas.viz import live

    tuner, _ = search_run
    shown = []
    progress = live.LiveProgress(shown.append, keep=3)
    for i in range(5):
        progress.say(f"line {i}", tuner)
    assert len(shown) == 5  # each update replaces the one block's whole content
    last = shown[-1]
    assert "line 2" in last and "line 4" in last and "line 1" not in last
    root = parse(last[last.index("<svg"):last.index("</svg>") + 6])
    assert root.get("data-kind") == "trajectory" and len(groups(root, "mark")) == 4
    assert live.start() is None  # not in a Jupyter kernel: NASTuner prints plain lines


def _starts(text, token):
    i, found = text.find(token), []
    while i >= 0:
        found.append(i)
        i = text.find(token, i + 1)
    return found


def test_drawing_and_plotting_import_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys, numpy as np, kerasnas\n"
            "from kerasnas.spaces.encodings import CellEncoding\n"
            "kerasnas.viz.draw_architecture(CellEncoding().sample(np.random.default_rng(0)))\n"
            "from kerasnas.spaces.encodings import ResidualEncoding\n"
            "kerasnas.viz.draw_architecture(ResidualEncoding().sample(np.random.default_rng(0)), "
            "(32, 32, 3))\n"
            "import kerasnas.viz.plots, kerasnas.viz.notebook, kerasnas.viz.live, kerasnas.deploy.report\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "False"]
