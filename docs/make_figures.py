"""Makes the README's pictures from a real search: the report screenshot and architecture drawings.

Runs the search `make demo` runs (scikit-learn digits, seed 1, 150 s budget,
6 epochs per trial), writes its HTML report, draws its best architecture, and
screenshots the report with headless Chromium (Debian: `apt-get install -y
chromium`; without it the screenshot step is skipped and said so).

    .venv/bin/python docs/make_figures.py [--out docs/images] [--time-budget 150]

Writes `report.html`, `report.png` (the top of the report), `best_architecture.svg`
and one drawing per other space (`nb201_cell.svg`, `macro_chain.svg`,
`dense_stack.svg`, random architectures of each space, seed 0) into `--out`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images", help="output folder (docs/images)")
    parser.add_argument("--time-budget", type=float, default=150.0,
                        help="search seconds (150, as `make demo`)")
    parser.add_argument("--run-dir", default=None,
                        help="search folder (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true",
                        help="redraw from the finished search in --run-dir instead of searching")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import kerasnas
    from kerasnas.data import load_dataset
    from kerasnas.spaces.encodings import DenseEncoding, MacroEncoding, NB201Encoding
    from kerasnas.viz import draw_architecture

    x, y = load_dataset("digits")
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="kerasnas_figures_"))
    if args.reuse:
        result = kerasnas.SearchResult.load(run_dir / "result")
    else:
        result = kerasnas.search(x, y, seed=1, time_budget=args.time_budget, epochs=6,
                                 directory=run_dir, overwrite=True)
    report = Path(result.report(out / "report.html"))
    result.plot_architecture().save(out / "best_architecture.svg")
    rng = np.random.default_rng(0)
    for name, encoding in (("nb201_cell", NB201Encoding()), ("macro_chain", MacroEncoding()),
                           ("dense_stack", DenseEncoding())):
        draw_architecture(encoding.sample(rng)).save(out / f"{name}.svg")
    print(result.summary())
    print(f"wrote {report}, {out / 'best_architecture.svg'} and the space drawings")
    return screenshot(report, out / "report.png")


def screenshot(page: Path, png: Path, width=1200, height=2000) -> int:
    """Screenshots `page` with headless Chromium; returns 0 (or 0 with a note if it is absent)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
        "google-chrome")
    if browser is None:
        print("No chromium found (apt-get install -y chromium): skipped report.png.")
        return 0
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--screenshot={png.resolve()}",
                    f"--window-size={width},{height}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=180)
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
