"""All #12 reliability figures in one run: kills, memory and disk, then oracle overhead and workers.

    python benchmarks/reliability.py --kills 50 --trials 100            # everything
    python benchmarks/reliability.py --skip-scale --kills 10 --trials 30

Runs `benchmarks/reliability_crash.py` (kills survived and trials lost, RSS
growth and disk per trial over `--trials` trials) and then
`benchmarks/reliability_scale.py` (per-trial oracle overhead at 1,000 trials,
throughput of 1, 2 and 4 workers), one after the other so no two compete for the
cores, and prints each part's figures. See both scripts for what they measure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50, help="random SIGKILLs to survive")
    parser.add_argument("--trials", type=int, default=100, help="trials of the memory/disk run")
    parser.add_argument("--keep", type=int, default=5, help="keep_checkpoints of that run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-scale", action="store_true",
                        help="leave out reliability_scale.py (overhead, workers)")
    args = parser.parse_args(argv)
    import reliability_crash

    figures = {"kills": reliability_crash.kills(args.kills, args.seed),
               "resources": reliability_crash.resources(args.trials, args.keep, args.seed)}
    figures["resources"].pop("rss_mb", None)
    print(json.dumps(figures, indent=1), flush=True)
    if not args.skip_scale:
        import reliability_scale

        reliability_scale.main([])


if __name__ == "__main__":
    main()
