"""Argument checks of `kerasnas.search`: every one runs before any data is touched or trained."""

from __future__ import annotations

import inspect
import numbers
from typing import Any, NamedTuple

from kerasnas.automl.names import SPACES, STRATEGIES


def _check_int(value, name, *, minimum=1, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}"
                         f"{' or None' if allow_none else ''}; got {value!r}.")


def _check_strategy(strategy):
    """The strategy's canonical name, or the oracle instance itself."""
    import keras_tuner

    from kerasnas.infra.validation import validate_choice

    if isinstance(strategy, keras_tuner.Oracle):
        return strategy
    if not isinstance(strategy, str):
        raise TypeError(f"strategy must be a name or a keras_tuner.Oracle instance; got "
                        f"{strategy!r}.")
    return validate_choice("strategy", strategy, ("auto", *STRATEGIES))


def check_space(space, space_args):
    """`(space, space class)`: the canonical name or the instance, and the class to build.

    The class is None for `"auto"` (chosen once the task is known) and for an
    instance. Extra `space_args` are checked against the class's arguments.
    """
    import keras_tuner

    from kerasnas.infra.validation import validate_choice

    if isinstance(space, str):
        space = validate_choice("space", space, ("auto", *SPACES))
        if space == "auto":
            return space, None
        import kerasnas.spaces

        cls = getattr(kerasnas.spaces, SPACES[space])
    elif inspect.isclass(space) and issubclass(space, keras_tuner.HyperModel):
        cls = space
    elif isinstance(space, keras_tuner.HyperModel):
        if space_args:
            raise TypeError(f"Unknown search() argument(s) {sorted(space_args)}: extra keyword "
                            "arguments go to the space's constructor, but a built space "
                            "instance was given.")
        return space, None
    else:
        raise TypeError(f"space must be a name, a space class or a keras_tuner.HyperModel "
                        f"instance; got {space!r}.")
    check_space_args(cls, space_args)
    return space, cls


def check_space_args(cls, space_args):
    if not space_args:
        return
    reserved = {"input_shape", "num_classes", "output_dim", "preprocessing", "learning_rate"}
    clash = sorted(reserved & set(space_args))
    if clash:
        raise TypeError(f"search() sets {clash} itself from the data; do not pass them.")
    accepted = set()
    inits = [vars(k)["__init__"] for k in cls.__mro__ if "__init__" in vars(k)]
    # A space whose make_encoding takes **kwargs names the encoding it passes them to.
    for target in [*inits, getattr(cls, "make_encoding", None),
                   getattr(cls, "encoding_class", None)]:
        if target is not None and target is not object.__init__:
            params = inspect.signature(target).parameters.values()
            accepted |= {p.name for p in params if p.kind in (p.KEYWORD_ONLY,
                                                             p.POSITIONAL_OR_KEYWORD)}
    accepted -= {"self"}
    unknown = sorted(set(space_args) - accepted)
    if unknown:
        raise TypeError(f"Unknown search() argument(s) {unknown}. search() passes extra keyword "
                        f"arguments to {cls.__name__}, which accepts {sorted(accepted - reserved)}.")


def resolve_objective(objective, task):
    import keras_tuner

    if objective == "auto":
        if task.problem == "classification":
            return keras_tuner.Objective("val_accuracy", "max")
        return keras_tuner.Objective("val_loss", "min")
    known = {"loss", "val_loss", "params", "flops"}
    known |= ({"accuracy", "val_accuracy"} if task.problem == "classification"
              else {"mae", "val_mae"})
    directions = {"params": "min", "flops": "min"}
    items = objective if isinstance(objective, (list, tuple)) else [objective]
    resolved = []
    for item in items:
        if isinstance(item, keras_tuner.Objective):
            resolved.append(item)
        elif isinstance(item, str):
            if item not in known:
                raise ValueError(f"Unknown objective {item!r} for a {task.problem} task; choose "
                                 f"'auto' or one of {sorted(known)}, or pass a "
                                 "keras_tuner.Objective.")
            direction = directions.get(item) or ("max" if "accuracy" in item else "min")
            resolved.append(keras_tuner.Objective(item, direction))
        else:
            raise TypeError(f"objective must be 'auto', a metric name or a "
                            f"keras_tuner.Objective; got {item!r}.")
    return resolved[0] if len(resolved) == 1 else resolved


def objective_text(objective):
    return str(objective)


#: Trials of a search given neither `max_trials` nor `time_budget`.
DEFAULT_MAX_TRIALS = 20


def resolve_max_trials(max_trials, time_budget):
    """`max_trials="auto"`: 20 without a time budget, else None (the budget alone ends it)."""
    if max_trials == "auto":
        return DEFAULT_MAX_TRIALS if time_budget is None else None
    return max_trials


class CheckedArgs(NamedTuple):
    """The arguments `check_search_args` normalised."""

    max_trials: int | None
    time_budget: float | None
    epochs: int
    strategy: Any
    space: Any
    space_class: Any
    estimation: Any = None  # kerasnas.estimation.search_options.EstimationOptions


def check_search_args(*, max_trials, time_budget, epochs, batch_size, early_stopping,
                      refit_epochs, verbose, seed, train_fraction, strategy_args, strategy, space,
                      space_args, lr_schedule, min_steps, cv_folds, ensemble,
                      estimation=None, baseline_fallback=True) -> CheckedArgs:
    """Checks every argument of `kerasnas.search` that needs no data; raises on the first bad one."""
    from kerasnas.infra.validation import validate_budget, validate_choice
    from kerasnas.tuner.recipe import SCHEDULES

    max_trials, time_budget, epochs = validate_budget(max_trials, time_budget, epochs)
    _check_int(epochs, "epochs")
    if batch_size != "auto":
        _check_int(batch_size, "batch_size")
    _check_int(early_stopping, "early_stopping", allow_none=True)
    if refit_epochs != "auto":
        _check_int(refit_epochs, "refit_epochs")
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2; got {verbose!r}.")
    if seed is not None:
        _check_int(seed, "seed", minimum=0)
    if isinstance(train_fraction, bool) or not isinstance(train_fraction, numbers.Real) \
            or not 0 < train_fraction <= 1:
        raise ValueError(f"train_fraction must be in (0, 1]; got {train_fraction!r}.")
    if strategy_args is not None and not isinstance(strategy_args, dict):
        raise TypeError(f"strategy_args must be a dict of keyword arguments; got {strategy_args!r}.")
    validate_choice("lr_schedule", lr_schedule, SCHEDULES)
    _check_int(min_steps, "min_steps", minimum=0)
    if cv_folds not in ("auto", None):
        _check_int(cv_folds, "cv_folds", minimum=2)
    _check_int(ensemble, "ensemble")
    check_baseline_fallback(baseline_fallback)
    strategy = _check_strategy(strategy)
    space, space_class = check_space(space, space_args)
    from kerasnas.darts.one_liner import check_space as check_darts_space

    check_darts_space(strategy, space, space_class)  # DARTS has supernets for 2 spaces only
    from kerasnas.estimation.search_options import check_estimation

    estimation = check_estimation(**(estimation or {}), strategy=strategy, epochs=epochs,
                                  cv_folds=cv_folds)  # halving, prescreen, predictor, ...
    return CheckedArgs(max_trials, time_budget, epochs, strategy, space, space_class, estimation)


def check_baseline_fallback(value) -> bool:
    """`search(baseline_fallback=...)` must be True or False; a clear error otherwise."""
    if type(value).__name__ == "bool_":  # numpy's True / False
        value = bool(value)
    if not isinstance(value, bool):
        raise TypeError(f"baseline_fallback must be True (return the better baseline when the "
                        f"searched model does not beat it) or False (keep the searched model "
                        f"and only warn); got {value!r}.")
    return value


def check_tuner_features(features) -> list:
    """`search(tuner_features=...)` as a list of `TunerFeature`s; a clear error otherwise."""
    from kerasnas.tuner.features import TunerFeature

    if features is None:
        return []
    if isinstance(features, TunerFeature):
        features = [features]
    features = list(features) if isinstance(features, (list, tuple)) else [features]
    bad = [f for f in features if not isinstance(f, TunerFeature)]
    if bad:
        raise TypeError(f"tuner_features must be kerasnas.tuner.TunerFeature instances (a "
                        f"subclass with the hooks you need), got {bad[0]!r}.")
    return features
