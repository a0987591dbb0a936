"""One script for every process of a distributed kerasnas search (chief and workers).

Keras Tuner picks the role from the environment: `KERASTUNER_TUNER_ID=chief`
serves the oracle over gRPC at `KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT`;
any other id (`tuner0`, `tuner1`, ...) is a worker that asks the chief for
trials, trains them and reports back. `launch_slurm.sh` and `k8s_job.yaml`
start one chief and N workers running this file.

A worker lost mid-trial (killed, pre-empted) is noticed by the chief after
`KERASNAS_WORKER_TIMEOUT` seconds without news (default 1800; set it above your
longest epoch) and its trial goes to another worker.

Each trial may itself train on several GPUs: see the README section
"Scale out: chief, workers and several GPUs per trial".

Run (one process per role, e.g. on one machine):

    KERASTUNER_TUNER_ID=chief  KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 \
        python examples/distributed_search.py --directory runs/digits &
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 \
        python examples/distributed_search.py --directory runs/digits
"""

import argparse
import os

import numpy as np
from sklearn.datasets import load_digits

from kerasnas.oracles import RegularizedEvolution
from kerasnas.spaces import MacroSpace
from kerasnas.tuner import NASTuner


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--directory", required=True, help="shared folder (every process)")
    parser.add_argument("--max-trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--gpus-per-trial", type=int, default=0,
                        help="train each trial with tf.distribute.MirroredStrategy on this "
                             "many local GPUs (0: the default device)")
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32").reshape(-1, 8, 8, 1)
    order = np.random.default_rng(0).permutation(len(x))  # the same split in every process
    x, y = x[order], y[order]
    split = int(0.8 * len(x))

    kwargs = {}
    if args.gpus_per_trial:
        import tensorflow as tf

        gpus = [f"/gpu:{i}" for i in range(args.gpus_per_trial)]
        kwargs["distribution_strategy"] = tf.distribute.MirroredStrategy(gpus)
    oracle = RegularizedEvolution(objective="val_accuracy", max_trials=args.max_trials, seed=1)
    tuner = NASTuner(oracle, MacroSpace(input_shape=(8, 8, 1), num_classes=10),
                     epochs=args.epochs, directory=args.directory, project_name="search",
                     **kwargs)
    tuner.search(x[:split], y[:split], validation_data=(x[split:], y[split:]))
    if os.environ.get("KERASTUNER_TUNER_ID", "chief") == "chief":
        best = tuner.oracle.get_best_trials(1)[0]
        print(f"best trial {best.trial_id}: val_accuracy {best.score:.4f}")


if __name__ == "__main__":
    main()
