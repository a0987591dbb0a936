"""`kerasnas.search(x, y)`: validate, infer the task, search within a budget, refit the winner.

Example:

>>> import kerasnas
>>> from sklearn.datasets import load_digits
>>> x, y = load_digits(return_X_y=True)
>>> result = kerasnas.search(x.reshape(-1, 8, 8), y, max_trials=10, seed=1)   # doctest: +SKIP
>>> result.model.summary()                                                    # doctest: +SKIP
>>> result.predict(x[:3].reshape(-1, 8, 8))                                   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import inspect
import json
import numbers
import time
from pathlib import Path

import numpy as np

#: Strategy names accepted by `search(strategy=...)`: name -> (class in kerasnas.oracles, kwargs).
STRATEGIES = {
    "random": ("RandomSearch", {}),
    "evolution": ("RegularizedEvolution", {}),
    "bayesian": ("BayesianOptimization", {}),
    "reinforce": ("ReinforceController", {}),
    "ppo": ("ReinforceController", {"ppo": True}),
    "net2net": ("Net2NetSearch", {}),
}

#: Space names accepted by `search(space=...)`: name -> class in kerasnas.spaces.
SPACES = {"macro": "MacroSpace", "cell": "CellSpace", "nb201": "NB201Space", "dense": "DenseSpace"}

#: Where searches live when `directory` is None: `DEFAULT_ROOT/<space>-<strategy>-<fingerprint>`.
DEFAULT_ROOT = "kerasnas_runs"

_META_FILE = "kerasnas_search.json"
_RESULT_DIR = "result"


def search(x, y=None, *, validation_data=None, validation_split=0.2, strategy="auto",
           space="auto", max_trials=20, time_budget=None, epochs=10, objective="auto",
           directory=None, overwrite=False, seed=None, verbose=1, batch_size=32,
           early_stopping=3, train_fraction=1.0, refit=True, refit_epochs="auto",
           learning_rate=1e-3, kind=None, problem=None, column_types=None, strategy_args=None,
           latency_budget_ms=None, size_budget_bytes=None, quantize=None, hardware=None,
           **space_args):
    """Searches for a neural architecture for `(x, y)` and returns the refit winner.

    Every argument is checked, and the data validated, before any training.

    Args:
        x: Examples: a numpy array (images `(N, H, W[, C])`, sequences
            `(N, L[, C])` or tabular `(N, D)`), a pandas DataFrame, a
            `tf.data.Dataset` of `(x, y)` pairs, or `"tfds:NAME"` (then `y`
            is None). See `kerasnas.data.prepare_data`.
        y: Targets: class labels of any type (classification) or floats
            (regression); one-hot labels are accepted. Default None.
        validation_data: `(x_val, y_val)`, or None (default) to split
            `validation_split` of `x` off (stratified for classification).
        validation_split: Share held out for validation when
            `validation_data` is None (default 0.2).
        strategy: `"auto"` (default: regularized evolution, or random search
            where it is unavailable), `"random"`, `"evolution"`,
            `"bayesian"`, `"reinforce"`, `"ppo"`, `"net2net"` (grows networks,
            children inherit weights; with `space="auto"` it searches a
            `MacroSpace` for images and sequences), or a `keras_tuner.Oracle`
            instance (used as given; its objective is set if it has none).
        space: `"auto"` (default: a small `CellSpace` for images and
            sequences, a `DenseSpace` for tabular data), `"macro"`,
            `"cell"`, `"nb201"`, `"dense"`, a space class, or a space instance
            (used as given: it should carry its own preprocessing).
        max_trials: Most architectures to train (default 20; None: only the
            time budget limits the search).
        time_budget: Wall-clock seconds for the search, or None for no limit
            (default None). No trial starts after it (nor when less than half
            the shortest finished trial's time is left); a trial still
            training stops at the end of its batch. The refit comes on top.
        epochs: Training epochs per trial (default 10), with early stopping.
        objective: `"auto"` (default: `"val_accuracy"` to maximise for
            classification, `"val_loss"` to minimise for regression), a metric
            name (`"val_loss"`, `"val_accuracy"`, `"val_mae"`, `"params"`,
            `"flops"`, ...), or a `keras_tuner.Objective` (or a list of them).
        directory: The search's folder, or None (default) for
            `./kerasnas_runs/<space>-<strategy>-<fingerprint>`, where the
            fingerprint covers the data, the settings and `seed`. Trials,
            oracle state and the final result (`<directory>/result`) live here.
        overwrite: Start afresh even if `directory` holds a search (default
            False: resume it, running only the trials still missing).
        seed: Seeds the split, the strategy and Keras's initialisers
            (`keras.utils.set_random_seed`) for reproducible runs (default None).
        verbose: 0 silent, 1 one line per trial and a progress bar, 2 also
            Keras's per-epoch lines (default 1).
        batch_size: Training batch size (default 32).
        early_stopping: Patience in epochs of early stopping on the objective,
            or None (default 3).
        train_fraction: Share of the training data each trial trains on
            (default 1.0); the refit always uses all of it.
        refit: Retrain the best architecture from scratch on training +
            validation data (default True); False keeps the search's trained copy.
        refit_epochs: Epochs of the refit: `"auto"` (default: as many as the
            best trial trained, early stopping included) or an int.
        learning_rate: Adam learning rate of every model (default 1e-3).
        kind: Override the inferred input kind, `"image"`, `"sequence"` or
            `"tabular"` (default None: inferred; see `kerasnas.data`).
        problem: Override the inferred problem, `"classification"` or
            `"regression"` (default None: inferred, e.g. float labels mean regression).
        column_types: For a DataFrame, `{column: type}` overriding the inferred
            column types (`"numeric"`, `"categorical"`, `"boolean"`, `"drop"`;
            default None: inferred, see `kerasnas.data.columns`).
        strategy_args: Extra keyword arguments for the strategy's constructor,
            e.g. `{"population_size": 10}` (default None).
        latency_budget_ms, size_budget_bytes: Hard limits on each candidate's
            TFLite latency (ms, measured with LiteRT, one thread, batch 1) and
            `.tflite` size (bytes); candidates over them are rejected before
            training and never win (default None: no limit).
        quantize: TFLite mode every candidate is converted to and measured in
            (`"float32"`, `"float16"`, `"dynamic"`, `"int8"`; default None: no
            hardware metrics, or `"int8"` when a budget is given). Trials then
            record `latency_ms`, `model_bytes` and `quantized_accuracy`.
        hardware: A `kerasnas.hardware.HardwareObjective` for full control
            (latency prediction, MnasNet's reward); instead of the three above.
        **space_args: Extra keyword arguments for the space's constructor,
            e.g. `num_cells=2, channels=8` for `space="cell"`.

    Returns:
        A `kerasnas.SearchResult`; it is also saved to `<directory>/result`.

    Raises:
        ValueError, TypeError: on bad data or arguments, before any training.
        RuntimeError: if no trial finished within the budget.
    """
    from kerasnas.validation import validate_budget

    started = time.monotonic()
    max_trials, time_budget, epochs = validate_budget(max_trials, time_budget, epochs)
    _check_int(epochs, "epochs")
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
    strategy = _check_strategy(strategy)
    space, space_class = _check_space(space, space_args)
    from kerasnas.hardware.trial import hardware_from_args

    hardware = hardware_from_args(hardware, quantize, latency_budget_ms, size_budget_bytes)

    from kerasnas.data import normalization_layers, prepare_data

    data = prepare_data(x, y, validation_data=validation_data,
                        validation_split=validation_split, seed=seed, kind=kind, problem=problem,
                        column_types=column_types)
    if verbose and data.encoder is not None:
        print(data.note, flush=True)  # the inferred table schema
    task = data.task
    objective = _resolve_objective(objective, task)

    import keras

    from kerasnas.tuner import NASTuner

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if space == "auto" and strategy == "net2net" and task.kind != "tabular":
        space, space_class = _check_space("macro", space_args)  # Net2Net grows chains, not cells
    hypermodel = _make_space(space, space_class, task, space_args, learning_rate,
                             lambda: normalization_layers(data))
    oracle, strategy_name = _make_strategy(strategy, objective, max_trials, seed,
                                           strategy_args or {})
    settings = {
        "space": {"class": type(hypermodel).__name__,
                  "encoding": hypermodel.encoding.to_spec()
                  if hasattr(hypermodel, "encoding") else None},
        "strategy": strategy_name, "objective": _objective_text(oracle.objective),
        "task": {"kind": task.kind, "problem": task.problem,
                 "input_shape": list(task.input_shape), "num_classes": task.num_classes},
        "epochs": int(epochs), "batch_size": int(batch_size), "seed": seed,
        "train_fraction": float(train_fraction),
    }
    if hardware is not None:
        settings["hardware"] = repr(hardware)
    if directory is None:
        fingerprint = _fingerprint(settings, data)
        directory = Path(DEFAULT_ROOT) / f"{hypermodel.encoding.name}-{strategy_name}-{fingerprint}"
    directory = Path(directory)
    _check_or_write_meta(directory, settings, overwrite)

    tuner = NASTuner(oracle, hypermodel, epochs=epochs, batch_size=batch_size,
                     time_budget=time_budget, train_fraction=train_fraction,
                     early_stopping=early_stopping, verbose=verbose,
                     directory=str(directory.parent), project_name=directory.name,
                     overwrite=False, hardware=hardware)
    # The tuner clears `directory` on overwrite; we already did and rewrote our metadata.
    search_start = time.monotonic()
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val))
    search_time = time.monotonic() - search_start

    from kerasnas.result import SearchResult

    history = [_record(tuner, oracle.trials[tid]) for tid in oracle.start_order
               if tid in oracle.trials]
    best = oracle.get_best_trials(1)
    if not best or best[0].score is None or not np.isfinite(best[0].score):
        raise RuntimeError(
            f"No trial finished within the budget (max_trials={max_trials}, time_budget="
            f"{time_budget}); raise time_budget or lower epochs. Trials so far are kept in "
            f"{directory} and resume with the same call.")
    best_trial = best[0]
    from kerasnas.tuner import trial_architecture

    architecture = trial_architecture(hypermodel, best_trial)
    if refit:
        # "auto": as many epochs as the best trial trained. Its best epoch alone is often too
        # early: validation accuracy plateaus and ties go to the first epoch reaching it.
        epochs_refit = (max(1, int(best_trial.metrics.get_last_value("epochs")))
                        if refit_epochs == "auto" else int(refit_epochs))
        if verbose:
            print(f"Refitting the best architecture on training + validation data for "
                  f"{epochs_refit} epoch(s)...", flush=True)
        keras.backend.clear_session()
        model = hypermodel.build(best_trial.hyperparameters)
        x_all = np.concatenate([data.x_train, data.x_val])
        y_all = np.concatenate([data.y_train, data.y_val])
        fit = model.fit(x_all, y_all, epochs=epochs_refit, batch_size=int(batch_size),
                        verbose=2 if verbose >= 2 else 0)
        refit_history = {k: [float(v) for v in vs] for k, vs in fit.history.items()}
    else:
        model = tuner.load_model(best_trial)
        refit_history = {}

    if data.encoder is not None:  # a typed table: the model takes raw named columns
        from kerasnas.data.tabular import with_encoder

        model = with_encoder(data.encoder, model)
    result = SearchResult(model=model, architecture=architecture, task=task,
                          objective={"name": oracle.objective.name,
                                     "direction": oracle.objective.direction},
                          history=history, refit_history=refit_history,
                          stopped_by=tuner.stopped_by, search_time=search_time,
                          directory=str(directory))
    saved = result.save(directory / _RESULT_DIR)
    if verbose:
        print(f"Best {oracle.objective.name}: {best_trial.score:.4f} "
              f"({best_trial.metrics.get_last_value('params'):,.0f} params), "
              f"architecture: {architecture}", flush=True)
        print(f"Done in {time.monotonic() - started:.0f} s; result saved to {saved}", flush=True)
    return result


# --------------------------------------------------------------------------- checks
