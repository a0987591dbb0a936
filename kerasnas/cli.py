"""The `kerasnas` command: `search`, `export` and `report`.

`kerasnas --help` (and each sub-command's `--help`) imports no TensorFlow;
it loads only when a command runs.

Examples:

    kerasnas search --data digits --seed 1
    kerasnas search --data table.csv --target price --time-budget 600 --export exports/
    kerasnas export kerasnas_runs/cell-random-1a2b3c4d5e --output exports/ --formats savedmodel
    kerasnas report kerasnas_runs/cell-random-1a2b3c4d5e --output report.html
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kerasnas.automl.names import SPACES, STRATEGIES
from kerasnas.automl.selection import SELECT_CHOICES

# The names search() accepts, from their one home (a light module: no TensorFlow).
_STRATEGIES = ("auto", *STRATEGIES)
_SPACES = ("auto", *SPACES)
_FORMATS = ("keras", "savedmodel", "tflite")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `kerasnas` command."""
    parser = argparse.ArgumentParser(
        prog="kerasnas",
        description="Neural architecture search for Keras: search a data set, export the "
                    "winner for TF Serving / TFLite, and report on a search.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = commands.add_parser(
        "search", help="search an architecture for a data set, refit, test and export it",
        description="Searches an architecture, refits it on training + validation data, "
                    "reports its accuracy on a held-out test split, and exports it.")
    s.add_argument("--data", required=True,
                   help="'digits' (scikit-learn's 8x8 digits), 'tfds:NAME', FILE.npz (arrays "
                        "x, y) or FILE.csv (with a header row)")
    s.add_argument("--target", help="CSV target column (default: the last column)")
    s.add_argument("--strategy", default="auto", choices=_STRATEGIES,
                   help="search strategy (default: auto = regularized evolution, else random;"
                        " grid: every architecture once, small spaces only;"
                        " darts / darts2: one-shot DARTS, first / second order, on a cell space)")
    s.add_argument("--space", default="auto", choices=_SPACES,
                   help="search space (default: auto = residual conv stacks for images, "
                        "MiniRocket / InceptionTime / TCNs for sequences, MLPs for tables)")
    s.add_argument("--max-trials", type=int, default=None,
                   help="most architectures to train (default: 20 without --time-budget, "
                        "else as many as the budget allows)")
    s.add_argument("--time-budget", type=float, default=None,
                   help="seconds for the search and the refit (default: none)")
    s.add_argument("--epochs", type=int, default=10,
                   help="epochs per trial, raised for small data by --min-steps (default: 10)")
    s.add_argument("--min-steps", type=int, default=300,
                   help="fewest optimizer steps per training run (default: 300)")
    s.add_argument("--cv-folds", default="auto",
                   help="k-fold selection: auto (5 folds below 300 examples), none, or K "
                        "(default: auto)")
    s.add_argument("--ensemble", type=int, default=1,
                   help="return the averaged top-K refit models as one (default: 1)")
    s.add_argument("--select", choices=SELECT_CHOICES, default="auto",
                   help="which trial is returned: auto (the simplest within one standard "
                        "error of the best below 1000 examples), best, or one_se (default: auto)")
    s.add_argument("--keep-searched", action="store_true",
                   help="return the searched model even when it does not beat the mean / "
                        "majority or ridge / logistic baseline (default: that baseline is "
                        "returned, with a warning)")
    s.add_argument("--weight-sharing", choices=("auto", "on", "off"), default="auto",
                   help="train a supernet first, rank candidates with inherited weights and "
                        "try the best first (ResidualSpace; default: auto, which is off)")
    s.add_argument("--test-split", type=float, default=0.2,
                   help="share held out as a test set, 0 for none (default: 0.2)")
    s.add_argument("--keep-checkpoints", type=int, default=None, metavar="K",
                   help="keep only the best K trials' weights on disk (default: all)")
    s.add_argument("--trials-per-process", type=int, default=None, metavar="K",
                   help="run the trials in child processes of at most K trials each, so "
                        "memory stays bounded over long searches (default: one process)")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: none)")
    s.add_argument("--space-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="argument of the space's constructor, e.g. channels=8 (repeatable)")
    s.add_argument("--column-type", action="append", default=[], metavar="COLUMN=TYPE",
                   help="type of a CSV column: numeric, categorical, boolean or drop, e.g. "
                        "zip=categorical (repeatable; default: inferred)")
    s.add_argument("--directory", default=None,
                   help="search folder (default: kerasnas_runs/<space>-<strategy>-<fingerprint>);"
                        " an existing search there is resumed")
    s.add_argument("--overwrite", action="store_true", help="start afresh in --directory")
    s.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="write TensorBoard logs to DIR: per-trial training curves and the "
                        "HParams view of the trials (default: none)")
    s.add_argument("--export", default=None, metavar="DIR",
                   help="export folder (default: <search folder>/export)")
    s.add_argument("--formats", default=",".join(_FORMATS),
                   help=f"comma-separated export formats (default: {','.join(_FORMATS)})")
    s.add_argument("--name", default="kerasnas_model",
                   help="exported model name (default: kerasnas_model)")
    s.add_argument("--quiet", action="store_true", help="print only the final summary")
    h = s.add_argument_group("hardware", "convert, time and limit every candidate as TFLite "
                                         "(LiteRT, one thread, batch 1)")
    h.add_argument("--latency-budget-ms", type=float, default=None, metavar="MS",
                   help="reject candidates slower than MS milliseconds per example, before "
                        "training them (default: no limit)")
    h.add_argument("--size-budget-bytes", type=int, default=None, metavar="BYTES",
                   help="reject candidates whose .tflite file is larger (default: no limit)")
    h.add_argument("--quantize", default=None, metavar="MODE",
                   help="TFLite mode candidates are converted, timed and exported in: "
                        "float32, float16, dynamic or int8 (default: int8 when a budget is "
                        "given, else no hardware metrics)")
    h.add_argument("--codesign", action="store_true",
                   help="search the quantization mode, an input downscale (1 or 2) and the "
                        "interpreter threads (1 or 2) with the network (default: off)")
    h.add_argument("--pareto", action="store_true",
                   help="print the trials on the accuracy / latency Pareto front (needs a "
                        "budget or --quantize)")
    from kerasnas.estimation.search_options import add_cli_flags

    add_cli_flags(s)  # --curve-stopping, --halving, --prescreen, --predictor, --downscale-*

    e = commands.add_parser("export", help="export the model of a finished search",
                            description="Exports the refit model of a finished search.")
    e.add_argument("run", help="the search folder (or its result/ sub-folder)")
    e.add_argument("--output", required=True, metavar="DIR", help="export folder")
    e.add_argument("--formats", default=",".join(_FORMATS),
                   help=f"comma-separated formats (default: {','.join(_FORMATS)})")
    e.add_argument("--name", default="kerasnas_model",
                   help="model name (default: kerasnas_model)")
    e.add_argument("--version", type=int, default=None,
                   help="TF Serving version (default: one above the highest already in DIR/NAME)")
    e.add_argument("--quantize", default="auto", metavar="MODE",
                   help="also write NAME_MODE.tflite: int8, float16, dynamic, none, or auto = "
                        "the mode a hardware-aware search measured (default: auto)")
    e.add_argument("--data", default=None,
                   help="training data that calibrates an int8 export of a search that did "
                        "not quantize (as search --data: digits, FILE.npz, FILE.csv)")
    e.add_argument("--target", help="CSV target column of --data (default: the last column)")

    r = commands.add_parser("report", help="write the HTML report of a finished search",
                            description="Writes the HTML report (leaderboard and plots) of a "
                                        "finished search.")
    r.add_argument("run", help="the search folder (or its result/ sub-folder)")
    r.add_argument("--output", default=None,
                   help="HTML file (default: <search folder>/report.html)")
    return parser


def main(argv=None) -> int:
    """Runs the `kerasnas` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # TensorFlow's C++ start-up lines drown the command's own output; a user's own
    # TF_CPP_MIN_LOG_LEVEL wins (kerasnas.infra.quiet).
    from kerasnas.infra.quiet import import_tensorflow

    import_tensorflow()
    try:
        return {"search": _search, "export": _export, "report": _report}[args.command](args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"kerasnas {args.command}: error: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        print(f"kerasnas {args.command}: failed: {err}", file=sys.stderr)
        return 1


def _formats(text):
    formats = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in formats if f not in _FORMATS]
    if unknown or not formats:
        raise ValueError(f"Unknown export format(s) {unknown or text!r}; use a comma-separated "
                         f"subset of {','.join(_FORMATS)}.")
    return formats


def _hardware_kwargs(args) -> dict:
    """`search()`'s hardware arguments from the flags; search() checks their values."""
    if args.pareto and args.latency_budget_ms is None and args.size_budget_bytes is None \
            and args.quantize is None and not args.codesign:
        raise ValueError("--pareto needs hardware metrics: add --latency-budget-ms, "
                         "--size-budget-bytes, --quantize or --codesign.")
    if args.codesign:
        if args.quantize is not None:
            raise ValueError("--codesign searches the quantization mode; drop --quantize.")
        from kerasnas.hardware import HardwareObjective

        return {"hardware": HardwareObjective(latency_budget_ms=args.latency_budget_ms,
                                              size_budget_bytes=args.size_budget_bytes,
                                              codesign=True)}
    return {"latency_budget_ms": args.latency_budget_ms,
            "size_budget_bytes": args.size_budget_bytes, "quantize": args.quantize}


def _pareto_lines(result) -> list[str]:
    """The accuracy / latency front, fastest first, as printed lines."""
    front = result.pareto_front("latency_ms")
    metric, _ = result.front_score()
    name = metric or result.objective["name"]
    lines = [f"Pareto front ({name} vs latency_ms), {len(front)} trials:"]
    for record in front:
        size = record.metrics.get("model_bytes")
        size = "" if size is None else f", {size:,.0f} bytes"
        score = record.score if metric is None else record.metrics[metric]
        lines.append(f"  trial {record.trial_id}: {name} {score:.4f}, "
                     f"{record.metrics['latency_ms']:.4f} ms{size}, {record.architecture}")
    return lines


def _search(args) -> int:
    formats = _formats(args.formats)
    hardware = _hardware_kwargs(args)
    space_args = _space_args(args.space_arg)
    column_types = _column_types(args.column_type)
    if not 0 <= args.test_split < 1:
        raise ValueError(f"--test-split must be in [0, 1), got {args.test_split}.")
    from kerasnas.data import load_dataset
    from kerasnas.estimation.search_options import cli_kwargs

    x, y = load_dataset(args.data, target=args.target)
    x_fit, y_fit, x_test, y_test = _hold_out(x, y, args.test_split, args.seed)

    import kerasnas

    result = kerasnas.search(
        x_fit, y_fit, strategy=args.strategy, space=args.space,
        max_trials="auto" if args.max_trials is None else args.max_trials,
        time_budget=args.time_budget, epochs=args.epochs, seed=args.seed,
        min_steps=args.min_steps, cv_folds=_cv_folds(args.cv_folds), ensemble=args.ensemble,
        directory=args.directory, overwrite=args.overwrite, verbose=0 if args.quiet else 1,
        column_types=column_types, keep_checkpoints=args.keep_checkpoints,
        trials_per_process=args.trials_per_process, select=args.select,
        baseline_fallback=not args.keep_searched, **_tensorboard(args),
        weight_sharing={"auto": "auto", "on": True, "off": False}[args.weight_sharing],
        **hardware, **cli_kwargs(args), **space_args)
    run = Path(result.directory)
    lines = [f"Search folder: {run}",
             f"Best architecture: {result.architecture}"]
    if x_test is not None:
        scores = result.evaluate(x_test, y_test)
        text = ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
        lines.append(f"Test {text} on {len(y_test)} held-out examples")
    export_dir = Path(args.export) if args.export else run / "export"
    from kerasnas.deploy.export import next_version

    paths = result.export(export_dir, formats=formats, name=args.name,
                          version=next_version(export_dir, args.name))
    lines += [f"Exported {fmt}: {path}" for fmt, path in paths.items()]
    if args.pareto:
        lines += _pareto_lines(result)
    lines.append(f"Report: {result.report(run / 'report.html')}")
    print("\n".join(lines), flush=True)
    return 0


def _cv_folds(text):
    """`--cv-folds` as search() takes it: "auto", None or an int."""
    if text in ("auto", "none", "None"):
        return None if text.lower() == "none" else "auto"
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--cv-folds must be auto, none or an int >= 2; got {text!r}.") from None


def _tensorboard(args):
    """`{"tensorboard": DIR}` when `--tensorboard DIR` is given, else nothing."""
    return {} if args.tensorboard is None else {"tensorboard": args.tensorboard}


def _column_types(items):
    """`["zip=categorical"]` -> `{"zip": "categorical"}`; None when there are none."""
    from kerasnas.data.columns import COLUMN_TYPES

    types = {}
    for item in items:
        name, sep, kind = item.rpartition("=")
        if not sep or not name or kind not in COLUMN_TYPES:
            raise ValueError(f"--column-type needs COLUMN=TYPE with TYPE one of {COLUMN_TYPES}, "
                             f"e.g. zip=categorical; got {item!r}.")
        types[name] = kind
    return types or None


def _space_args(items):
    """`["channels=8", "ops=('conv_3x3',)"]` -> `{"channels": 8, "ops": ("conv_3x3",)}`."""
    import ast

    args = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--space-arg needs KEY=VALUE, e.g. channels=8; got {item!r}.")
        try:
            args[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            args[key] = raw  # a bare word such as a name
    return args


def _hold_out(x, y, fraction, seed):
    """Splits a test set off `(x, y)` (stratified for classification); keeps x's type."""
    if fraction == 0:
        return x, y, None, None
    import numpy as np

    from kerasnas.data import encode_labels, prepare_data

    # A full validation pass infers the task (and rejects bad data) before any split.
    task = prepare_data(x, y, validation_split=fraction, seed=seed).task
    n = len(x)
    rng = np.random.default_rng(seed)
    if task.problem == "classification":
        labels = encode_labels(np.asarray(y), task)
        test = []
        for c in range(task.num_classes):
            members = rng.permutation(np.flatnonzero(labels == c))
            if len(members) >= 3:
                test.extend(members[:max(1, int(round(len(members) * fraction)))])
        test = np.sort(np.asarray(test, dtype=int))
    else:
        test = np.sort(rng.permutation(n)[:max(1, int(round(n * fraction)))])
    keep = np.setdiff1d(np.arange(n), test)

    def take(a, index):
        return a.iloc[index] if hasattr(a, "iloc") else np.asarray(a)[index]

    return take(x, keep), take(y, keep), take(x, test), take(y, test)


def _load_result(run):
    from kerasnas.deploy.result import SearchResult

    run = Path(run)
    folder = run / "result" if (run / "result").is_dir() else run
    return SearchResult.load(folder), (run if folder != run else run.parent)


def _export(args) -> int:
    formats = _formats(args.formats)
    result, _ = _load_result(args.run)
    from kerasnas.deploy.export import next_version

    quantize = None if args.quantize in ("none", "None") else args.quantize
    mode = result.quantize_mode(quantize)  # a bad mode fails before --data is read
    data = None
    if args.data is not None and mode == "int8":
        from kerasnas.data import load_dataset

        data, _ = load_dataset(args.data, target=args.target)
    version = args.version if args.version is not None else next_version(args.output, args.name)
    paths = result.export(args.output, formats=formats, name=args.name, version=version,
                          quantize=quantize, representative_data=data)
    print("\n".join(f"Exported {fmt}: {path}" for fmt, path in paths.items()))
    return 0


def _report(args) -> int:
    result, run = _load_result(args.run)
    path = result.report(args.output or run / "report.html")
    print(f"Report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
