"""What `kerasnas.search` builds from checked arguments: the space, the strategy, the run folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from kerasnas.automl.checks import check_space_args
from kerasnas.automl.names import META_FILE as _META_FILE
from kerasnas.automl.names import STRATEGIES

#: The space `space="auto"` picks per input kind when the search is latency-bound (a
#: `latency_budget_ms`, or a `hardware=` objective with a latency budget or MnasNet's
#: `target_ms`); kinds not listed keep their usual space. Empty, as measured (benchmarks/README.md,
#: "Spaces under a latency budget", 0.1 ms, 120 s, 2 seeds): MnasSpace, the candidate, lost on
#: digits (0.85 test accuracy against ResidualSpace's 0.99) and on GunPoint (chance against
#: SeriesSpace's 0.93): its MBConv models train ~4x slower per epoch on CPU, so a short search
#: trains one of them. A kind enters here once a measurement shows its space winning.
LATENCY_SPACES: dict = {}


def latency_bound(hardware) -> bool:
    """Whether `hardware` (a `HardwareObjective` or None) limits or rewards latency."""
    if hardware is None:
        return False
    return hardware.limits.latency_ms is not None or hardware.target_ms is not None


def auto_space(task, hardware=None):
    """`(class name, space_args)` of the space `space="auto"` picks for `task`.

    Tables get `TableSpace` (column transforms, numeric embeddings, MLP /
    ResNet / TabM-mini bodies down to the linear model, AdamW's learning rate
    and weight decay searched; `TableSpace.task_args` reads the encoded table's
    feature layout); images get
    `ResidualSpace`, whose family holds the designs practitioners write
    first (ResNets) and places its reductions by the input's size; sequences
    get `SeriesSpace`: MiniRocket with a closed-form head (what wins on small
    series), InceptionTime and the dilated TCNs, searched together. A
    latency-bound search (`latency_bound(hardware)`) gets `LATENCY_SPACES[task.kind]`
    where that lists the kind.
    """
    if latency_bound(hardware) and task.kind in LATENCY_SPACES:
        return LATENCY_SPACES[task.kind], {}
    if task.kind == "tabular":
        return "TableSpace", {}
    if task.kind == "sequence":
        return "SeriesSpace", {}
    return "ResidualSpace", {}


def make_space(space, space_class, task, space_args, learning_rate, preprocessing,
                target_scale=None, hardware=None):
    import keras_tuner

    if isinstance(space, keras_tuner.HyperModel):
        return space
    args = {}
    if space == "auto":
        import kerasnas.spaces

        name, args = auto_space(task, hardware)
        space_class = getattr(kerasnas.spaces, name)
        check_space_args(space_class, space_args)
    if hasattr(space_class, "task_args"):  # what the space reads from the data (a layout)
        args.update(space_class.task_args(task))
    args.update(space_args)
    problem_args = ({"num_classes": task.num_classes} if task.problem == "classification"
                    else {"output_dim": int(task.output_dim or 1)})
    from kerasnas.spaces.base import NASHyperModel

    if target_scale is not None and issubclass(space_class, NASHyperModel):
        problem_args["target_scale"] = target_scale
    # A space that fits its own column statistics (TableSpace) takes the rows as they are.
    layers = None if getattr(space_class, "ADAPTS_INPUTS", False) else preprocessing()
    return space_class(tuple(task.input_shape), learning_rate=learning_rate,
                       preprocessing=layers, **problem_args, **args)


def warm_start(hypermodel, strategy, time_budget):
    """The hand designs a named strategy evaluates first (none for Net2Net or an oracle instance).

    With a `time_budget` they run cheapest first (by FLOPs): under a short
    budget, or on a loaded machine, the first trial is the one most likely to
    finish, and an expensive first design cut before its first epoch ends
    returns an untrained model (measured: the 8x64 TCN first left a 60 s
    search on generated signals at 0.16 accuracy, chance 0.10). Without a
    budget they keep the space's order, strongest design first.
    """
    if not isinstance(strategy, str) or strategy == "net2net" or not hasattr(hypermodel,
                                                                             "hand_designs"):
        return []
    designs = list(hypermodel.hand_designs())
    if time_budget is not None and len(designs) > 1:
        designs.sort(key=lambda arch: hypermodel.cost(arch)["flops"])
    return designs


#: Aging evolution for the one-liner's short searches (tens of trials, not thousands): a
#: population of 8 founders (the hand designs among them) and tournaments of 3, so mutation
#: of the best starts after a third of a 24-trial search instead of never.
AUTO_EVOLUTION = {"population_size": 8, "sample_size": 3}


def auto_strategy(hypermodel=None) -> str:
    """The strategy name `strategy="auto"` runs on `hypermodel`.

    A space that names its own strategy in `AUTO_STRATEGY` gets it (`NAGOSpace`:
    `"bayesian"`, NAGO's search of its generators' few parameters); every other
    space gets regularized evolution (random search where it is unavailable).

    Example:

    >>> from kerasnas.spaces import NAGOSpace
    >>> auto_strategy(NAGOSpace((8, 8, 1), 10)), auto_strategy(None)
    ('bayesian', 'evolution')
    """
    import kerasnas.oracles

    own = getattr(hypermodel, "AUTO_STRATEGY", None)
    if own in STRATEGIES and hasattr(kerasnas.oracles, STRATEGIES[own][0]):
        return own
    return "evolution" if hasattr(kerasnas.oracles, "RegularizedEvolution") else "random"


def make_strategy(strategy, objective, max_trials, seed, strategy_args, warm_start=(),
                   context=None):
    """`(oracle, name)`; `context` is `(space, data, start time, time_budget, verbose)`, which
    the one-shot strategies (DARTS) need to run their supernet search."""
    import keras_tuner

    import kerasnas.oracles
    from kerasnas.darts import one_liner

    if one_liner.is_darts(strategy):
        return one_liner.make_oracle(strategy, objective, seed, strategy_args, context), strategy

    if isinstance(strategy, keras_tuner.Oracle):
        if getattr(strategy.objective, "name", None) == "default_objective":
            from kerasnas.infra.kt_internals import create_objective

            strategy.objective = create_objective(objective)
        return strategy, type(strategy).__name__.lower()
    name = strategy
    extra = {}
    if name == "auto":
        name = auto_strategy(context[0] if context else None)
        extra = dict(AUTO_EVOLUTION) if name == "evolution" else {}
    class_name, named_extra = STRATEGIES[name]
    extra = {**named_extra, **extra}
    if warm_start:
        extra["warm_start"] = list(warm_start)
    cls = getattr(kerasnas.oracles, class_name, None)
    if cls is None:
        raise ValueError(f"Strategy {name!r} ({class_name}) is not available in this kerasnas "
                         f"installation; choose one of "
                         f"{sorted(k for k, (c, _) in STRATEGIES.items() if hasattr(kerasnas.oracles, c))}.")
    kwargs = {**extra, **strategy_args}
    try:
        oracle = cls(objective=objective, max_trials=max_trials, seed=seed, **kwargs)
    except TypeError as err:
        from kerasnas.infra.preflight import accepted_arguments

        raise TypeError(f"Bad strategy_args for {class_name}: {err}. {class_name} accepts "
                        f"{accepted_arguments(cls)}.") from None
    return oracle, name


def space_for_strategy(strategy, space, space_class, task, space_args):
    """`(space, class, space_args)` for strategies that search one family when `space="auto"`:
    Net2Net grows chains (`MacroSpace`), DARTS searches cells (`darts.one_liner.AUTO_SPACE`;
    D-DARTS one genotype per cell, `macro=True` added to `space_args`)."""
    from kerasnas.automl.checks import check_space
    from kerasnas.darts import one_liner

    if one_liner.is_darts(strategy):
        name = one_liner.space_for(strategy, task)  # raises for tables
        if isinstance(space, str):
            space_args = one_liner.space_args_for(strategy, space_args)
        if space == "auto":
            return (*check_space(name, space_args), space_args)
        return space, space_class, space_args
    if space == "auto" and strategy == "net2net" and task.kind != "tabular":
        return (*check_space("macro", space_args), space_args)
    return space, space_class, space_args


def fingerprint(settings, data):
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for array in (data.x_train, data.y_train, data.x_val, data.y_val):
        array = np.ascontiguousarray(array)
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:10]


def check_or_write_meta(directory: Path, settings: dict, overwrite: bool):
    import shutil

    from kerasnas.infra.preflight import check_writable_directory, read_json

    meta = directory / _META_FILE
    check_writable_directory(directory)  # a file, unwritable or a full disk: before any change
    if overwrite and directory.exists():
        shutil.rmtree(directory)
    if meta.exists():
        saved = read_json(meta, what="search metadata", fix="Pass overwrite=True to start "
                          "afresh, or choose another directory")
        differs = sorted(k for k in ("space", "strategy", "objective", "task")
                         if saved.get(k) != json.loads(json.dumps(settings[k], default=str)))
        if differs:
            raise ValueError(f"{directory} holds a different search (its {', '.join(differs)} "
                             "differ from this call's), so it cannot be resumed. Pass "
                             "overwrite=True to replace it, or choose another directory.")
        return
    if directory.exists() and any(directory.iterdir()):
        raise ValueError(f"{directory} is not empty and holds no kerasnas search; choose "
                         "another directory or pass overwrite=True to clear it.")
    directory.mkdir(parents=True, exist_ok=True)
    from kerasnas.infra.atomic import write_text

    write_text(meta, json.dumps(settings, indent=1, sort_keys=True, default=str))

