"""What users do across processes: search in one, then load, export, report and serve in others.

Each step runs in a fresh interpreter (`tests/fresh_process_steps.py`), so nothing
the search imported helps the later steps.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

STEPS = Path(__file__).with_name("fresh_process_steps.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _run(args, cwd=None, env=ENV, timeout=300):
    run = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                         timeout=timeout, env=env, cwd=cwd)
    assert run.returncode == 0, f"{args}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n" \
                                f"{run.stderr[-3000:]}"
    return run


@pytest.fixture(scope="module", params=["image", "sequence", "tabular"])
def searched(request, tmp_path_factory):
    """`(kind, run folder)` after a tiny real search in its own process."""
    run = tmp_path_factory.mktemp(request.param)
    assert "SEARCH OK" in _run([STEPS, "search", request.param, run]).stdout
    return request.param, run


def test_load_export_report_and_serve_in_fresh_process(searched):
    kind, run = searched
    assert "SERVE OK" in _run([STEPS, "serve", kind, run]).stdout


def test_cli_export_and_report_in_fresh_process(searched, tmp_path):
    kind, run = searched
    if kind != "image":
        pytest.skip("the CLI path is the same for every kind; the image run covers it")
    exported = _run(["-m", "kerasnas.cli", "export", run / "search", "--output", tmp_path / "e",
                     "--formats", "savedmodel"])
    assert "Exported savedmodel" in exported.stdout
    report = _run(["-m", "kerasnas.cli", "report", run / "search", "--output",
                   tmp_path / "r.html"])
    assert (tmp_path / "r.html").stat().st_size > 1000, report.stdout

    # saved_model_cli, as TF Serving users check a model, with a (2, 8, 8) request.
    expected = np.load(run / "expected.npz")
    np.save(tmp_path / "req.npy", expected["x"][:2])
    cli = Path(sys.executable).with_name("saved_model_cli")
    shown = subprocess.run([str(cli), "run", "--dir", str(tmp_path / "e" / "kerasnas_model" / "1"),
                            "--tag_set", "serve", "--signature_def", "serving_default",
                            "--inputs", f"inputs={tmp_path / 'req.npy'}"],
                           capture_output=True, text=True, timeout=300, env=ENV)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert json.dumps(expected["labels"][:2].tolist())[1:-1].replace(", ", " ") in \
        shown.stdout.replace("\n", " "), shown.stdout[-1500:]


def test_cli_is_quiet_without_gpu(searched, tmp_path):
    """No TensorFlow start-up lines (cuda drivers, cuInit) unless the user asks for them."""
    kind, run = searched
    if kind != "tabular":
        pytest.skip("one run is enough")
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "_KERASNAS_SET_TF_LOGS")}
    quiet = _run(["-m", "kerasnas.cli", "report", run / "search", "--output", tmp_path / "r.html"],
                 env=env)
    for noise in ("cuInit", "cuda drivers", "absl::InitializeLog"):
        assert noise not in quiet.stderr, quiet.stderr[-2000:]
