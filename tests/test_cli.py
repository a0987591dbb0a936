"""The `kerasnas` command: --help without TensorFlow, search/export/report, bad input."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from kerasnas.cli import main

TINY_DENSE = ["--space", "dense", "--space-arg", "max_layers=1", "--space-arg", "units=(8,)",
              "--min-steps", "0", "--cv-folds", "none"]


def _imported_modules(args):
    """Top-level modules imported by `python -X importtime args...` (it reports on stderr)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True,
                         text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    names = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()
             if line.startswith("import time:")}
    return run.stdout, names


@pytest.mark.parametrize("args", [["--help"], ["search", "--help"], ["export", "--help"],
                                  ["report", "--help"]])
def test_help_imports_no_tensorflow(args):
    stdout, modules = _imported_modules(["-m", "kerasnas.cli", *args])
    assert "usage: kerasnas" in stdout
    assert {"kerasnas", "argparse"} <= modules  # the probe sees our imports...
    heavy = {m for m in modules if m.split(".")[0] in ("tensorflow", "keras", "keras_tuner")}
    assert not heavy, f"--help imported {sorted(heavy)[:5]}"  # ...and none of these


def test_console_script_help():
    script = Path(sys.executable).parent / "kerasnas"
    assert script.exists(), "the `kerasnas` console script is not installed (pip install -e .)"
    run = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "write the HTML report of a finished search" in run.stdout
    module = subprocess.run([sys.executable, "-m", "kerasnas", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert module.returncode == 0 and module.stdout == run.stdout


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """One real CLI search on a CSV table with a string target column."""
    root = tmp_path_factory.mktemp("cli")
    x, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(x[:250], columns=[f"px{i}" for i in range(64)])
    frame["digit"] = np.array(list("abcdefghij"))[y[:250]]
    frame.to_csv(root / "digits.csv", index=False)
    return root


def test_search_on_csv_prints_test_accuracy_and_exports(csv_run, capsys):
    root = csv_run
    code = main(["search", "--data", str(root / "digits.csv"), "--target", "digit",
                 "--max-trials", "2", "--epochs", "2", "--seed", "0", "--strategy", "random",
                 "--directory", str(root / "run"), "--export", str(root / "exports"),
                 "--formats", "keras,savedmodel", *TINY_DENSE])
    out = capsys.readouterr().out
    assert code == 0
    assert "trial 2/2" in out  # per-trial progress lines
    line = next(line for line in out.splitlines() if line.startswith("Test accuracy"))
    accuracy = float(line.split()[2])
    assert 0 <= accuracy <= 1 and "on 50 held-out examples" in line
    assert f"Exported savedmodel: {root / 'exports' / 'kerasnas_model' / '1'}" in out
    assert (root / "exports" / "kerasnas_model.keras").is_file()
    assert not (root / "exports" / "kerasnas_model.tflite").exists()
    assert (root / "run" / "report.html").is_file()


def test_export_and_report_commands_reload_a_finished_search(csv_run, capsys):
    root = csv_run
    run = str(root / "run")
    assert main(["export", run, "--output", str(root / "again"), "--formats", "savedmodel",
                 "--name", "digits"]) == 0
    assert main(["export", run, "--output", str(root / "again"), "--formats", "savedmodel",
                 "--name", "digits"]) == 0
    out = capsys.readouterr().out
    assert f"{root / 'again' / 'digits' / '1'}" in out and f"{root / 'again' / 'digits' / '2'}" in out

    assert main(["report", run, "--output", str(root / "r.html")]) == 0
    assert "Report: " in capsys.readouterr().out
    assert "Leaderboard" in (root / "r.html").read_text()


def test_search_on_npz(tmp_path, capsys):
    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "d.npz", x=x[:150], y=y[:150])
    code = main(["search", "--data", str(tmp_path / "d.npz"), "--max-trials", "1", "--epochs",
                 "1", "--quiet", "--test-split", "0", "--directory", str(tmp_path / "run"),
                 "--formats", "keras", *TINY_DENSE])
    out = capsys.readouterr().out
    assert code == 0
    assert "trial 1/1" not in out  # --quiet
    assert "Test" not in out  # no test split
    assert (tmp_path / "run" / "export" / "kerasnas_model.keras").is_file()


def test_keep_searched_returns_the_searched_model_on_noise(tmp_path, capsys):
    from kerasnas.deploy.result import SearchResult

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "noise.npz", x=rng.normal(size=(120, 5)), y=rng.normal(size=120))
    common = ["search", "--data", str(tmp_path / "noise.npz"), "--max-trials", "1", "--epochs",
              "1", "--quiet", "--test-split", "0", "--formats", "keras", "--seed", "0",
              *TINY_DENSE]
    assert main([*common, "--directory", str(tmp_path / "kept"), "--keep-searched"]) == 0
    assert main([*common, "--directory", str(tmp_path / "fallback")]) == 0
    kept = SearchResult.load(tmp_path / "kept" / "result")
    fallback = SearchResult.load(tmp_path / "fallback" / "result")
    assert kept.returned == "search" and fallback.returned.startswith("baseline:")
    assert any("no better than" in w for w in kept.warnings)  # kept, but still warned


@pytest.mark.parametrize("args, message", [
    (["search", "--data", "missing.npz"], "No data file at 'missing.npz'"),
    (["search", "--data", "digits", "--max-trials", "0"], "max_trials must be > 0"),
    (["search", "--data", "digits", "--time-budget", "-1"], "time_budget must be"),
    (["search", "--data", "digits", "--formats", "onnx"], "Unknown export format"),
    (["search", "--data", "digits", "--space-arg", "channels"], "--space-arg needs KEY=VALUE"),
    (["search", "--data", "digits", "--test-split", "1.5"], "--test-split must be in"),
    (["search", "--data", "digits", "--keep-checkpoints", "0"], "keep_checkpoints must be"),
    (["search", "--data", "digits", "--trials-per-process", "0"], "trials_per_process must be"),
    (["search", "--data", "digits", "--latency-budget-ms", "-1"],
     "The latency_ms limit must be a positive number"),
    (["search", "--data", "digits", "--size-budget-bytes", "0"],
     "The model_bytes limit must be a positive number"),
    (["search", "--data", "digits", "--quantize", "int4"], "Unknown quantization mode 'int4'"),
    (["search", "--data", "digits", "--pareto"], "--pareto needs hardware metrics"),
    (["export", "nowhere", "--output", "x"], "No saved search result in nowhere"),
    (["report", "nowhere"], "No saved search result in nowhere"),
])
def test_bad_input_exits_2_with_a_message(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "kerasnas_runs").exists()


def test_unknown_choice_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "--data", "digits", "--strategy", "genetic"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'genetic'" in capsys.readouterr().err


def test_hardware_flags_reach_the_search_and_export_writes_a_working_int8_tflite(tmp_path,
                                                                                  capsys):
    from kerasnas.deploy.result import SearchResult
    from kerasnas.hardware import tflite_predict

    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "d.npz", x=x[:200], y=y[:200])
    run = tmp_path / "run"
    code = main(["search", "--data", str(tmp_path / "d.npz"), "--max-trials", "2", "--epochs",
                 "2", "--quiet", "--test-split", "0", "--directory", str(run), "--seed", "1",
                 "--formats", "tflite", "--latency-budget-ms", "50", "--size-budget-bytes",
                 "500000", "--quantize", "int8", "--pareto", *TINY_DENSE])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Pareto front (val_accuracy vs latency_ms)" in out and " ms, " in out
    result = SearchResult.load(run / "result")
    assert result.hardware["quantize"] == "int8"
    assert result.hardware["latency_budget_ms"] == 50.0
    assert result.hardware["size_budget_bytes"] == 500000
    assert all(r.metrics.get("latency_ms") is not None for r in result.history
               if r.status == "COMPLETED")
    int8 = run / "export" / "kerasnas_model_int8.tflite"
    assert int8.is_file() and (run / "export" / "kerasnas_model.tflite").is_file()
    flatbuffer = int8.read_bytes()
    from kerasnas.hardware.conversion import read_ops

    # Full-integer: every op but the float32 edges (quantize in, dequantize out) is integer.
    assert not [op.name for op in read_ops(flatbuffer) if op.computes_in_float]
    probabilities = tflite_predict(flatbuffer, x[:200].reshape(-1, 64).astype("float32"))
    agree = np.mean(np.argmax(probabilities, axis=1) == result.predict(x[:200]))
    assert agree > 0.9, agree
    # Re-exported from the command line, the int8 file comes back by default ("auto").
    assert main(["export", str(run), "--output", str(tmp_path / "again"), "--formats",
                 "tflite"]) == 0
    assert (tmp_path / "again" / "kerasnas_model_int8.tflite").is_file()
    assert main(["export", str(run), "--output", str(tmp_path / "none"), "--formats", "tflite",
                 "--quantize", "none"]) == 0
    assert not (tmp_path / "none" / "kerasnas_model_int8.tflite").exists()


def test_int8_export_of_a_float_search_needs_calibration_data(tmp_path, capsys):
    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "d.npz", x=x[:150], y=y[:150])
    run = tmp_path / "run"
    assert main(["search", "--data", str(tmp_path / "d.npz"), "--max-trials", "1", "--epochs",
                 "1", "--quiet", "--test-split", "0", "--directory", str(run),
                 "--formats", "keras", *TINY_DENSE]) == 0
    assert not (run / "export" / "kerasnas_model_int8.tflite").exists()  # it did not quantize
    capsys.readouterr()
    out = tmp_path / "int8"
    assert main(["export", str(run), "--output", str(out), "--formats", "tflite",
                 "--quantize", "int8"]) == 2
    assert "needs calibration data" in capsys.readouterr().err
    assert not out.exists()  # refused before anything was written
    assert main(["export", str(run), "--output", str(out), "--formats", "tflite",
                 "--quantize", "int8", "--data", str(tmp_path / "d.npz")]) == 0
    assert (out / "kerasnas_model_int8.tflite").is_file()
    assert main(["export", str(run), "--output", str(out), "--quantize", "int3"]) == 2
    assert "Unknown quantization mode 'int3'" in capsys.readouterr().err
