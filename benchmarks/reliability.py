"""All #12 reliability figures in one run: overhead, workers, memory and disk, kills.

    python benchmarks/reliability.py --json reliability.json            # everything
    python benchmarks/reliability.py --kills 10 --trials 30 --overhead-trials 300

One after the other, so no two compete for the cores, reusing each part's script:

1. per-trial oracle overhead at `--overhead-trials` (1,000) trials for every
   oracle (`reliability_scale.overhead`);
2. throughput of a chief and 1, 2, 4 workers on the NAS-Bench-201 lookup
   benchmark (`reliability_scale.throughput`);
3. resident memory of the whole process tree and disk over `--trials` (100)
   trials, without and with `trials_per_process=--per-process`
   (`reliability_recycle.compare`): RSS growth per trial, disk per trial, and
   the seconds per trial recycling adds;
4. random SIGKILLs until `--kills` (50) have landed: kills survived, trials
   lost or re-run (`reliability_crash.kills`). With `--deadline-minutes`, no new
   killed search starts after that many minutes from the start (what landed
   is reported).

Each part's figures are printed (and written to `--json`) as soon as it ends,
so a run cut short keeps the parts it finished.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50, help="random SIGKILLs to survive")
    parser.add_argument("--trials", type=int, default=100, help="trials of the memory/disk run")
    parser.add_argument("--per-process", type=int, default=25,
                        help="trials_per_process of the recycled memory run")
    parser.add_argument("--overhead-trials", type=int, default=1000)
    parser.add_argument("--scale-trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deadline-minutes", type=float, default=None,
                        help="start no new killed search after this many minutes")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.monotonic()
    import reliability_crash
    import reliability_recycle
    import reliability_scale

    from kerasnas.bench.scale import ORACLES

    figures = {"command": " ".join(sys.argv), "cpus": os.cpu_count()}

    def done(part, value):
        figures[part] = value
        figures["minutes"] = (time.monotonic() - start) / 60
        print(f"\n## {part} ({figures['minutes']:.1f} min so far, load "
              f"{os.getloadavg()[0]:.1f})", flush=True)
        if args.json:
            args.json.write_text(json.dumps(figures))

    workdir = "/dev/shm" if os.path.isdir("/dev/shm") else None
    rows = reliability_scale.overhead(list(ORACLES), args.overhead_trials, args.seed, workdir)
    done("overhead", rows)
    print(reliability_scale.overhead_table(rows, args.overhead_trials, args.seed), flush=True)

    rates = [reliability_scale.throughput("evolution", n, args.scale_trials, 0.25, workdir)
             for n in (1, 2, 4)]
    done("scale", rates)
    print(reliability_scale.scale_table(rates, "evolution", args.scale_trials, 0.25), flush=True)

    memory = reliability_recycle.compare(args.trials, args.per_process, args.seed)
    done("memory", memory)
    print(reliability_recycle.table(memory), flush=True)

    deadline = None if args.deadline_minutes is None else start + 60 * args.deadline_minutes
    kills = reliability_crash.kills(args.kills, args.seed, deadline=deadline)
    done("kills", kills)
    print(json.dumps({k: v for k, v in kills.items()}, indent=1), flush=True)


if __name__ == "__main__":
    main()
