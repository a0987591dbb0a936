"""`kerasnas.search(strategy="darts" | "darts2")`: checks, the end-to-end run, the α record and plot.

The end-to-end runs use tiny cells (2 channels, 2 blocks) and one epoch of
everything, eagerly: they check the wiring (supernet search -> derived
architecture as the Keras Tuner trial -> refit -> SearchResult with the α
trajectory -> save, load, report, export), not accuracy.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

TINY = {"channels": 2, "num_blocks": 1, "min_steps": 0, "cv_folds": None, "epochs": 1,
        "refit_epochs": 1, "verbose": 0, "seed": 1}


def digits_raw(n=300):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x.reshape(-1, 8, 8)[:n], y[:n]


# ------------------------------------------------------------ checks before training
@pytest.mark.parametrize("space", ["dense", "residual", "macro"])
def test_darts_refuses_a_space_without_supernet_before_touching_data(space, tmp_path):
    import kerasnas

    with pytest.raises(ValueError, match="CellSpace or an NB201Space.*space='cell'"):
        # x is not even valid data: the check runs before the data is read
        kerasnas.search("not data", None, strategy="darts", space=space, directory=tmp_path)


def test_darts_refuses_a_space_instance_of_another_family(tmp_path):
    import kerasnas
    from kerasnas.spaces import MacroSpace

    with pytest.raises(ValueError, match="darts2.*not 'MacroSpace'"):
        kerasnas.search("not data", None, strategy="darts2", directory=tmp_path,
                        space=MacroSpace((8, 8, 1), 10))


def test_darts_refuses_tables_and_bad_strategy_args_before_training(tmp_path):
    import kerasnas

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 5)), rng.integers(0, 2, 60)
    with pytest.raises(ValueError, match="tabular"):
        kerasnas.search(x, y, strategy="darts", directory=tmp_path / "a", verbose=0)
    xi, yi = digits_raw(60)
    with pytest.raises(TypeError, match="strategy_args.*'epoch'.*accepts"):
        kerasnas.search(xi, yi, strategy="darts", strategy_args={"epoch": 3},
                        directory=tmp_path / "b", verbose=0)
    assert not list((tmp_path / "b").glob("trial_*"))


def test_cli_offers_darts():
    from kerasnas.cli import build_parser

    args = build_parser().parse_args(["search", "--data", "digits", "--strategy", "darts2"])
    assert args.strategy == "darts2"


# ------------------------------------------------------------------ the α plot
def test_alpha_plot_draws_every_cell_op_and_epoch():
    from kerasnas.viz.alpha import alpha_plot

    ops = ["none", "skip_connect", "conv"]
    epoch1 = {"normal": [[0.2, 0.3, 0.5], [0.1, 0.8, 0.1]], "reduce": [[1 / 3] * 3] * 2}
    epoch2 = {"normal": [[0.1, 0.2, 0.7], [0.1, 0.6, 0.3]], "reduce": [[0.5, 0.25, 0.25]] * 2}
    svg = alpha_plot({"ops": ops, "alpha_trajectory": [epoch1, epoch2]}).svg
    assert "data-kind='alpha'" in svg and "data-epochs='2'" in svg
    # the normal cell's mean skip_connect weight after the last epoch: (0.2 + 0.6) / 2
    assert "data-op='skip_connect' data-cell='normal' data-last='0.40000'" in svg
    assert svg.count("class='alpha-cell'") == 2 * 2 * 3          # 2 cells x 2 edges x 3 ops
    assert "data-edge='1' data-op='skip_connect' data-weight='0.60000'" in svg
    assert "no finished DARTS epoch" in alpha_plot({"ops": ops, "alpha_trajectory": []}).svg


# -------------------------------------------------------------------- end to end
@pytest.mark.slow  # a whole search + refit: 83-97 s at load 6-8; keeps make test under 20 min
def test_search_darts_on_digits_end_to_end(tmp_path):
    import kerasnas

    x, y = digits_raw(200)
    directory = tmp_path / "run"
    result = kerasnas.search(x, y, strategy="darts", num_cells=3, directory=directory,
                             strategy_args={"epochs": 2, "batch_size": 50, "run_eagerly": True},
                             **TINY)
    record = result.darts
    assert record["order"] == 1 and record["epochs"] == 2
    assert len(record["alpha_trajectory"]) == 2
    last = record["alpha_trajectory"][-1]
    assert set(last) == {"normal", "reduce"}
    assert np.allclose(np.sum(last["normal"], axis=1), 1.0, atol=1e-4)   # softmax rows
    assert np.shape(last["normal"]) == (2, len(record["ops"]))      # 1 block: 2 edges
    # The derived architecture is the search's one trial, the refit model and the result's.
    assert str(result.architecture) == record["architecture"]
    assert [r.architecture for r in result.history] == [record["architecture"]]
    assert result.history[0].status == "COMPLETED"
    (trial_file,) = directory.glob("trial_*/trial.json")          # Keras Tuner's own record
    trial = json.loads(trial_file.read_text())
    assert trial["status"] == "COMPLETED"
    assert result.model.predict(x[:2].reshape(-1, 8, 8, 1), verbose=0).shape == (2, 10)

    (directory / "darts.json").unlink()       # the result folder must hold the record itself
    reloaded = kerasnas.SearchResult.load(directory / "result")
    assert reloaded.darts == json.loads(json.dumps(record))
    report = reloaded.report(tmp_path / "report.html")
    text = open(report, encoding="utf-8").read()
    assert "data-kind='alpha'" in text and "DARTS: softmax" in text
    assert set(reloaded.export(tmp_path / "export", formats=("keras",))) == {"keras"}


@pytest.mark.slow
def test_search_darts2_on_sequences_end_to_end_and_reloads_in_a_fresh_process(tmp_path):
    import kerasnas
    from kerasnas.bench.signals import make_signals

    x, y = make_signals(240, length=32, num_classes=4, seed=0)
    directory = tmp_path / "run"
    result = kerasnas.search(x, y, strategy="darts2", kind="sequence", num_cells=3,
                             directory=directory, time_budget=600,
                             strategy_args={"epochs": 2, "batch_size": 32, "max_skips": 2},
                             **TINY)
    assert result.task.kind == "sequence"
    assert result.darts["order"] == 2
    assert str(result.architecture) == result.darts["architecture"]
    assert result.predict(x[:4]).shape == (4,)
    script = textwrap.dedent(f"""
        import json, kerasnas
        r = kerasnas.SearchResult.load({str(directory / 'result')!r})
        print(json.dumps({{"darts": r.darts, "arch": str(r.architecture),
                          "pred": r.predict(__import__("numpy").zeros((2, 32))).tolist()}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    fresh = json.loads(out.strip().splitlines()[-1])
    assert fresh["darts"] == json.loads(json.dumps(result.darts))
    assert fresh["arch"] == str(result.architecture) and len(fresh["pred"]) == 2
