#!/bin/bash
# A distributed kerasnas search on SLURM: one chief and N workers, one task each.
#
#   sbatch --ntasks=5 examples/launch_slurm.sh     # a chief and 4 workers
#
# Task 0 is the chief (it serves the oracle over gRPC and trains nothing); tasks 1..N are the
# workers tuner0..tuner(N-1). Every task needs the shared folder $RUN_DIR (a network file
# system), and the workers must reach the chief's node on $KERASTUNER_ORACLE_PORT.
# For several GPUs per trial, request them per task (--gpus-per-task) and pass
# --gpus-per-trial to the script (README: "Scale out").
#SBATCH --job-name=kerasnas
#SBATCH --ntasks=5
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
#SBATCH --output=kerasnas-%j-%t.log

set -euo pipefail

RUN_DIR=${RUN_DIR:-$PWD/runs/kerasnas-$SLURM_JOB_ID}
PYTHON=${PYTHON:-python}
mkdir -p "$RUN_DIR"

# The chief runs on the first node of the allocation.
CHIEF_HOST=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | awk 'NR == 1')  # awk reads all: no SIGPIPE under pipefail
export KERASTUNER_ORACLE_IP=$CHIEF_HOST
export KERASTUNER_ORACLE_PORT=${KERASTUNER_ORACLE_PORT:-8000}
# A worker silent for this long (no trial request, no epoch reported) is taken as lost and its
# trial goes to another worker: keep it above the longest epoch.
export KERASNAS_WORKER_TIMEOUT=${KERASNAS_WORKER_TIMEOUT:-1800}

# One srun step, one process per task; each task derives its role from its rank.
srun --kill-on-bad-exit=0 bash -c '
    if [ "$SLURM_PROCID" -eq 0 ]; then
        export KERASTUNER_TUNER_ID=chief
    else
        export KERASTUNER_TUNER_ID=tuner$((SLURM_PROCID - 1))
    fi
    exec '"$PYTHON"' examples/distributed_search.py --directory '"$RUN_DIR"' "$@"
' bash "$@"
