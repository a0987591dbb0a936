"""The cluster launchers in examples/: the SLURM script and the Kubernetes manifest."""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SLURM = EXAMPLES / "launch_slurm.sh"
K8S = EXAMPLES / "k8s_job.yaml"
SCRIPT = EXAMPLES / "distributed_search.py"


def test_slurm_script_is_valid_bash():
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run([bash, "-n", str(SLURM)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = SLURM.read_text()
    assert text.startswith("#!/bin/bash")
    assert "#SBATCH --ntasks=" in text
    assert "examples/distributed_search.py" in text


def _fake(bin_dir: Path, name: str, body: str):
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_slurm_script_gives_each_task_its_role(tmp_path):
    """Runs the script with stand-ins for srun / scontrol / python: 1 chief + 2 workers."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake(bin_dir, "scontrol", 'echo node-a; echo node-b\n')
    # srun: run the step's command once per task with its rank, as SLURM would.
    _fake(bin_dir, "srun", 'shift\nfor i in 0 1 2; do SLURM_PROCID=$i "$@"; done\n')
    _fake(bin_dir, "python", 'echo "$KERASTUNER_TUNER_ID $KERASTUNER_ORACLE_IP:'
                             '$KERASTUNER_ORACLE_PORT $KERASNAS_WORKER_TIMEOUT $*"\n')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_JOB_ID": "7",
           "SLURM_JOB_NODELIST": "node-[a-b]", "RUN_DIR": str(tmp_path / "run")}
    result = subprocess.run(["bash", str(SLURM)], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().split("\n")
    assert [line.split()[0] for line in lines] == ["chief", "tuner0", "tuner1"]
    assert all(" node-a:8000 1800 " in line for line in lines), lines
    assert all(f"--directory {tmp_path / 'run'}" in line for line in lines), lines


def test_kubernetes_manifest_has_a_chief_its_service_and_indexed_workers():
    yaml = pytest.importorskip("yaml")
    docs = list(yaml.safe_load_all(K8S.read_text()))
    by_kind = {}
    for doc in docs:
        assert {"apiVersion", "kind", "metadata", "spec"} <= set(doc), doc.get("kind")
        by_kind.setdefault(doc["kind"], []).append(doc)
    (service,) = by_kind["Service"]
    jobs = {job["metadata"]["name"]: job for job in by_kind["Job"]}
    chief, workers = jobs["kerasnas-chief"], jobs["kerasnas-workers"]

    def container(job):
        spec = job["spec"]["template"]["spec"]
        assert spec["restartPolicy"] in ("Never", "OnFailure")
        (c,) = spec["containers"]
        assert {"name", "image", "command"} <= set(c)
        return c, {e["name"]: e["value"] for e in c.get("env", [])}

    chief_c, chief_env = container(chief)
    worker_c, worker_env = container(workers)
    assert chief_env["KERASTUNER_TUNER_ID"] == "chief"
    port = chief_env["KERASTUNER_ORACLE_PORT"]
    assert worker_env["KERASTUNER_ORACLE_PORT"] == port
    assert int(service["spec"]["ports"][0]["targetPort"]) == int(port)
    # Workers reach the chief through the Service, which selects the chief's pod.
    assert worker_env["KERASTUNER_ORACLE_IP"] == service["metadata"]["name"]
    chief_labels = chief["spec"]["template"]["metadata"]["labels"]
    assert all(chief_labels.get(k) == v for k, v in service["spec"]["selector"].items())
    worker_labels = workers["spec"]["template"]["metadata"]["labels"]
    assert not all(worker_labels.get(k) == v for k, v in service["spec"]["selector"].items())
    # Each worker pod gets its own tuner id from its completion index.
    assert workers["spec"]["completionMode"] == "Indexed"
    assert workers["spec"]["parallelism"] == workers["spec"]["completions"] >= 1
    assert "KERASTUNER_TUNER_ID=tuner$JOB_COMPLETION_INDEX" in " ".join(worker_c["command"])
    for c in (chief_c, worker_c):
        assert "/app/examples/distributed_search.py" in " ".join(c["command"])


def test_the_launched_script_parses():
    tree = ast.parse(SCRIPT.read_text())
    assert ast.get_docstring(tree)
    text = SCRIPT.read_text()
    for flag in ("--directory", "--gpus-per-trial", "MirroredStrategy"):
        assert flag in text


@pytest.mark.slow  # a chief and a worker training 2 small MacroSpace models: ~40 s idle
def test_the_launched_script_runs_as_chief_and_worker(tmp_path):
    import socket
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, str(SCRIPT), "--directory", str(tmp_path / "run"), "--max-trials", "2",
            "--epochs", "1"]
    procs = {role: subprocess.Popen(args, env={**env, "KERASTUNER_TUNER_ID": role},
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for role in ("chief", "tuner0")}
    try:
        logs = {role: p.communicate(timeout=300)[0].decode(errors="replace")
                for role, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    for role, p in procs.items():
        assert p.returncode == 0, f"{role}:\n{logs[role][-3000:]}"
    assert "best trial" in logs["chief"]
    assert sorted(p.name for p in (tmp_path / "run" / "search").glob("trial_*")) == \
        ["trial_0", "trial_1"]
