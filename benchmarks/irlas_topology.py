"""IRLAS's topology reward on NAS-Bench-201: accuracy and topology of what the controller finds.

Reads the raw runs of `benchmarks/nb201_strategies.py` (`--raw PATH`) for
`reinforce` (ReinforceController) and `reinforce_irlas` (the same with
`expert="auto"`: NB201's ResNet cell, `kerasnas.oracles.mirror.EXPERTS`),
same seeds, and reports per strategy:

* best test accuracy @100 and @300 queries (mean ± std over seeds), and a
  one-sided Mann-Whitney U p-value that the topology reward's is higher;
* the topology similarity to the expert (`MirrorStimuli.similarity`: the
  uniformly weighted Ruzicka similarity of the live topology's feature
  counts, 1 = the expert's own topology) of the best cell found @100 and
  @300, and the mean over the queries 201-300 (where the policy has settled);
* the share of seeds whose best cell @300 is the expert cell itself.

Usage:

    .venv/bin/python benchmarks/nb201_strategies.py --seeds 100 --oracles reinforce \\
        reinforce_irlas --jobs 2 --raw nb201_irlas.json
    .venv/bin/python benchmarks/irlas_topology.py nb201_irlas.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAMES = ("reinforce", "reinforce_irlas")
BUDGETS = (100, 300)


def _best(run, budget):
    accuracy = run["accuracy"][:budget]
    i = int(np.argmax(accuracy))
    return accuracy[i], run["archs"][i]


def analyse(runs):
    from scipy.stats import mannwhitneyu

    from kerasnas.oracles.mirror import MirrorStimuli
    from kerasnas.spaces.encodings import NB201Encoding

    enc = NB201Encoding()
    mirror = MirrorStimuli(enc, "auto")
    expert = str(mirror.expert)
    by_name = {name: sorted((r for r in runs if r["name"] == name), key=lambda r: r["seed"])
               for name in NAMES}
    seeds = {name: [r["seed"] for r in group] for name, group in by_name.items()}
    if not all(by_name.values()) or seeds[NAMES[0]] != seeds[NAMES[1]]:
        raise SystemExit(f"need runs of {NAMES} on the same seeds; got "
                         f"{ {k: len(v) for k, v in by_name.items()} } runs.")
    similarity = {}

    def sim(text):
        if text not in similarity:
            similarity[text] = mirror.similarity(enc.from_string(text))
        return similarity[text]

    head = (["strategy", "seeds"] + [f"best @{b}" for b in BUDGETS]
            + [f"similarity of best @{b}" for b in BUDGETS]
            + ["similarity, queries 201-300", "best @300 is the expert", "p @100", "p @300"])
    print(f"Expert (NB201's ResNet cell): {expert} (test accuracy in the table: "
          f"{_expert_accuracy(runs, expert)})\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    base = {b: [_best(r, b)[0] for r in by_name[NAMES[0]]] for b in BUDGETS}
    for name, group in by_name.items():
        cells = [name, str(len(group))]
        for b in BUDGETS:
            values = [_best(r, b)[0] for r in group]
            cells.append(f"{np.mean(values):.2f} ± {np.std(values):.2f}")
        for b in BUDGETS:
            values = [sim(_best(r, b)[1]) for r in group]
            cells.append(f"{np.mean(values):.3f}")
        late = [np.mean([sim(a) for a in r["archs"][200:300]]) for r in group]
        cells.append(f"{np.mean(late):.3f}")
        cells.append(f"{np.mean([_best(r, 300)[1] == expert for r in group]):.0%}")
        for b in BUDGETS:
            if name == NAMES[0]:
                cells.append("-")
            else:
                values = [_best(r, b)[0] for r in group]
                cells.append(f"{mannwhitneyu(values, base[b], alternative='greater').pvalue:.2f}")
        print("| " + " | ".join(cells) + " |")


def _expert_accuracy(runs, expert):
    for run in runs:
        if expert in run["archs"]:
            return f"{run['accuracy'][run['archs'].index(expert)]:.2f}"
    return "not queried in these runs"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path, nargs="+", help="raw files of nb201_strategies.py")
    args = parser.parse_args(argv)
    runs = [r for path in args.raw for r in json.loads(path.read_text())["runs"]]
    analyse(runs)


if __name__ == "__main__":
    main()
