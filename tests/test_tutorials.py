"""Every tutorial runs to the end in fast mode (`KERASNAS_FAST=1` shrinks its budgets)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


def test_tutorials_exist():
    assert TUTORIALS, f"no tutorials/NN_*.py found under {ROOT}"


# The longer tutorials (Keras Tuner users, TF Serving deployment, DARTS, Net2Net, hardware, cheap
# estimation) run in `make test-slow`; test_fresh_process covers export and serving in the fast suite.
SLOW = {"02_keras_tuner_users", "04_deploy_tf_serving", "05_darts", "06_net2net",
        "07_hardware_aware", "08_cheap_estimation"}


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW else p
                                  for p in TUTORIALS], ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    env = {**os.environ, "KERASNAS_FAST": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, (
        f"{path.name} exited with {result.returncode}\n--- stdout\n{result.stdout[-3000:]}"
        f"\n--- stderr\n{result.stderr[-3000:]}")
