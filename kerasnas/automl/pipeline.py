"""`kerasnas.search(x, y)`: validate, infer the task, search within a budget, refit the winner.

The argument checks live in `checks.py`, what is built from them (space,
strategy, run folder) in `assemble.py`, the refit, baselines and saved
result in `finish.py` (the refit itself in `refit.py`, the choice of trial in
`selection.py`).

Example:

>>> import kerasnas
>>> from sklearn.datasets import load_digits
>>> x, y = load_digits(return_X_y=True)
>>> result = kerasnas.search(x.reshape(-1, 8, 8), y, max_trials=10, seed=1)   # doctest: +SKIP
>>> result.model.summary()                                                    # doctest: +SKIP
>>> result.predict(x[:3].reshape(-1, 8, 8))                                   # doctest: +SKIP
"""

from __future__ import annotations

import time
from pathlib import Path

from kerasnas.automl import recycle
from kerasnas.automl.assemble import (
    check_or_write_meta,
    fingerprint,
    make_space,
    make_strategy,
    space_for_strategy,
    warm_start,
)
from kerasnas.automl.checks import (
    check_search_args,
    check_tuner_features,
    objective_text,
    resolve_max_trials,
    resolve_objective,
)
from kerasnas.automl.finish import compute_baselines, finish_search, folds_for
from kerasnas.automl.names import DEFAULT_ROOT, RESULT_DIR
from kerasnas.automl.selection import check_select
from kerasnas.estimation.search_options import apply_estimation, finish_estimation, tuner_arguments
from kerasnas.infra import quiet
from kerasnas.tuner import checkpoints


def search(x, y=None, *, validation_data=None, validation_split=0.2, strategy="auto",
           space="auto", max_trials="auto", time_budget=None, epochs=10, objective="auto",
           directory=None, overwrite=False, seed=None, verbose=1, batch_size="auto",
           early_stopping=3, train_fraction=1.0, refit=True, refit_epochs="auto",
           learning_rate=1e-3, kind=None, problem=None, column_types=None, strategy_args=None,
           latency_budget_ms=None, size_budget_bytes=None, quantize=None, hardware=None,
           lr_schedule="cosine", min_steps=300, cv_folds="auto", ensemble=1, tensorboard=None,
           curve_stopping=False, halving=None, prescreen=None, prescreen_fraction=0.5,
           predictor=None, downscale=None, keep_checkpoints=None, trials_per_process=None,
           select="auto", tuner_features=None, ragged="pad", baseline_fallback=True,
           weight_sharing="auto", **space_args):
    """Searches for a neural architecture for `(x, y)` and returns the refit winner.

    Every argument is checked, and the data validated, before any training.

    Args:
        x: Examples: a numpy array (images `(N, H, W[, C])`, sequences
            `(N, L[, C])` or tabular `(N, D)`), a pandas DataFrame, a
            `tf.data.Dataset` of `(x, y)` pairs, or `"tfds:NAME"` (then `y`
            is None). See `kerasnas.data.prepare_data`. Sequences of different
            lengths (aeon's / sktime's unequal-length data sets) come as a list
            of `(L_i, C)` (or `(L_i,)`) arrays, time steps first; each is
            brought to the longest length `L_max` as `ragged` says, and the
            returned model (and its `.keras` / SavedModel) takes any length:
            a batch `(N, T, C)` with NaN after each series' end (`result.predict`
            takes the list itself). Series longer than `L_max` are cropped to
            their first `L_max` steps (`"resample"`: resampled down). See
            `kerasnas.data.ragged`.
        y: Targets: class labels of any type (classification) or floats
            (regression); one-hot labels are accepted. Default None.
        validation_data: `(x_val, y_val)`, or None (default) to split
            `validation_split` of `x` off (stratified for classification).
        validation_split: Share held out for validation when
            `validation_data` is None (default 0.2).
        strategy: `"auto"` (default: regularized evolution, or random search
            where it is unavailable; Bayesian optimisation for `space="nago"`,
            the space's `AUTO_STRATEGY`), `"random"`, `"grid"` (every architecture
            once, for spaces of at most 100,000), `"evolution"`,
            `"bayesian"`, `"reinforce"`, `"ppo"`, `"ctnas"` (a learned comparator
            rewards the controller, `kerasnas.oracles.ctnas`), `"nao"` (gradient
            steps in a learned embedding, decoded back to architectures,
            `kerasnas.oracles.nao`), `"net2net"` (grows networks,
            children inherit weights; with `space="auto"` it searches a
            `MacroSpace` for images and sequences), `"darts"` / `"darts2"` (one-shot
            DARTS, first / second order, on a `CellSpace` or `NB201Space`),
            `"pcdarts"` (PC-DARTS: partial channels and edge normalisation; see
            `kerasnas.darts.one_liner`), or a `keras_tuner.Oracle` instance
            (used as given; its objective is set if it has none).
        space: `"auto"` (default: a `ResidualSpace` of ResNets / dilated
            TCNs for images, `SeriesSpace` for sequences, `TableSpace` for tables),
            `"macro"`, `"cell"`, `"nb201"`, `"dense"`, `"residual"`, `"series"`,
            `"table"`, `"mnas"` (MnasNet's per-block mobile space), `"nago"`
            (NAGO's hierarchical random-graph generators), a space class, or a
            space instance (used as given: it should carry its own
            preprocessing). The space's `hand_designs()` are the first trials
            of a named strategy (`"auto"` included), so a search is never
            worse than its best known design.
        max_trials: Most architectures to train: `"auto"` (default: 20
            without a `time_budget`; with one, no limit: the search runs
            until the time is spent), an int, or None (only the time budget).
        time_budget: Wall-clock seconds for the whole call, refit included, or
            None for no limit (default None). The search stops early enough to
            leave the refit its expected time (1.25x the slowest trial's
            training, per ensemble member); no trial starts after that, a trial
            still training stops at the end of its batch, and the refit stops
            at the deadline.
        epochs: Training epochs per trial (default 10), with early stopping;
            the training recipe raises them for small data (`min_steps`).
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
        batch_size: `"auto"` (default: 32 from 512 examples up, smaller below,
            see `kerasnas.tuner.recipe`) or a fixed int.
        early_stopping: Patience in epochs of early stopping on the objective,
            or None (default 3); it grows with the epochs `min_steps` adds.
        lr_schedule: `"cosine"` (default: decay to 0 over each run) or
            `"constant"`.
        min_steps: Fewest optimizer steps of each training run (default 300),
            so tiny data trains as long as it needs; 0 trains exactly `epochs`.
        cv_folds: `"auto"` (default: 5-fold cross-validation below 300
            examples, where one validation split ranks architectures by
            noise; a single split above), an int >= 2, or None.
        ensemble: Refit the `ensemble` best architectures and return their
            averaged prediction as one model (default 1: the best alone).
        tensorboard: A folder for TensorBoard logs: per-trial training curves
            and the HParams dashboard of every trial's decisions and metrics
            (default None).
        keep_checkpoints: Keep only the best this-many trials' weights on disk
            (at least `ensemble`; parents a child may still inherit from are
            kept too), so a long search's disk use stays bounded (default None:
            every trial's, as Keras Tuner does). See `kerasnas.tuner.checkpoints`.
        trials_per_process: Run the trials in child processes of at most this
            many trials each, so memory stays bounded (TensorFlow grows by
            5-9 MB per trial in one process); default None: all in this
            process, no start-up cost. See `kerasnas.automl.recycle`.
        train_fraction: Share of the training data each trial trains on
            (default 1.0); the refit always uses all of it.
        select: Which trial is refit and returned: `"auto"` (default: below
            1,000 examples, the one with the fewest parameters whose score is
            within one standard error of the best, since a small validation
            split ranks by noise; above, the best), `"best"` or `"one_se"`
            (the rule at any size); with `ensemble` > 1, `downscale` or `halving`
            the best by score are refit. See `kerasnas.automl.selection`.
        baseline_fallback: What is returned when the searched model does not beat
            the better of two baselines on the same validation data or folds, in
            the objective's metric (the mean / majority class, and ridge / logistic
            regression with cross-validated regularisation on the standardised
            flattened features; see `kerasnas.automl.baseline`): True (default)
            returns that baseline, fit on training + validation data, as a plain
            Keras model (`result.returned`, e.g. `"baseline:ridge"`; a tie is no
            win, so the simpler model is returned); False keeps the searched model.
            Either way `result.warnings`, the summary and the report say so.
        refit: Retrain the best architecture from scratch on training +
            validation data (default True); False keeps the search's trained copy.
        refit_epochs: Epochs of the refit: `"auto"` (default: as many as the
            best trial trained, early stopping included) or an int.
        learning_rate: Adam learning rate of every model (default 1e-3; on
            tables `space="auto"` (`TableSpace`) searches AdamW's rate and weight
            decay per architecture instead).
        kind: Override the inferred input kind, `"image"`, `"sequence"` or
            `"tabular"` (default None: inferred; see `kerasnas.data`).
        problem: Override the inferred problem, `"classification"` or
            `"regression"` (default None: inferred: float targets, and integers with
            more than 20 distinct values and under 5 examples per value (prices,
            counts), mean regression; see `kerasnas.data.inference.looks_like_amounts`).
        column_types: For a DataFrame, `{column: type}` overriding the inferred
            column types (`"numeric"`, `"categorical"`, `"boolean"`, `"drop"`;
            default None: inferred, see `kerasnas.data.columns`).
        ragged: For `x` a list of unequal-length series, how each reaches
            `L_max`: `"pad"` (default: its steps, then its channel's training
            mean, i.e. 0 after normalisation, up to `L_max`; better on the
            measured data, see `benchmarks/README.md`) or `"resample"` (linear
            interpolation to `L_max` steps, first and last steps kept).
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
        curve_stopping, halving, prescreen, prescreen_fraction, predictor, downscale:
            Cheaper performance estimation, all off by default (see
            `kerasnas.estimation.search_options`): learning-curve early stopping
            (True), successive halving (True or `{"min_epochs": 1, "eta": 3}`),
            a zero-cost proxy (`"naswot"`, ...) discarding the bottom
            `prescreen_fraction` (0.5) of proposals, a predictor-guided strategy
            (`"gp"`, `"mlp_ensemble"`, `"ranker"`), down-scaled proxies refit at
            full size (True: half the channels, or `{"width", "cells", "resolution"}`).
        weight_sharing: `"auto"` (default: off, as measured on this package's
            benchmarks; see `kerasnas.oneshot.one_liner`), True or False. With
            True, a supernet of the space (`ResidualSpace` so far) trains for 30 %
            of the time budget, ranks up to 200 random candidates with inherited
            weights, and the 3 best are the first trials after the hand designs;
            every trial records its one-shot score. `result.estimation["ranked"]`
            is the number of candidates ranked.
        tuner_features: More `kerasnas.tuner.TunerFeature`s for the trial loop
            (default None), called after the built-in ones: your own hook at the
            begin and end of each trial, fit and the search (see
            `kerasnas.tuner.features`).
        **space_args: Extra keyword arguments for the space's constructor,
            e.g. `num_cells=2, channels=8` for `space="cell"`.

    Returns:
        A `kerasnas.SearchResult`; it is also saved to `<directory>/result`.

    Raises:
        ValueError, TypeError: on bad data or arguments, before any training.
        RuntimeError: if no trial finished within the budget.
    """
    tuner_features = check_tuner_features(tuner_features)
    from kerasnas.oneshot.one_liner import check_weight_sharing

    check_weight_sharing(weight_sharing)
    if trials_per_process is not None:
        return recycle.search_in_children(search, locals(), trials_per_process)
    started = time.monotonic()  # the budget covers the whole call, TensorFlow's import included
    quiet.import_tensorflow()
    max_trials = resolve_max_trials(max_trials, time_budget)
    checked = check_search_args(
        max_trials=max_trials, time_budget=time_budget, epochs=epochs, batch_size=batch_size,
        early_stopping=early_stopping, refit_epochs=refit_epochs, verbose=verbose, seed=seed,
        train_fraction=train_fraction, strategy_args=strategy_args, strategy=strategy,
        space=space, space_args=space_args, lr_schedule=lr_schedule, min_steps=min_steps,
        cv_folds=cv_folds, ensemble=ensemble, baseline_fallback=baseline_fallback,
        estimation=dict(
            curve_stopping=curve_stopping, halving=halving, prescreen=prescreen, refit=refit,
            prescreen_fraction=prescreen_fraction, predictor=predictor, downscale=downscale))
    max_trials, time_budget, epochs = checked.max_trials, checked.time_budget, checked.epochs
    strategy, space, space_class = checked.strategy, checked.space, checked.space_class
    keep_checkpoints = checkpoints.check_option(keep_checkpoints)
    select = check_select(select)
    from kerasnas.hardware.trial import hardware_from_args

    hardware = hardware_from_args(hardware, quantize, latency_budget_ms, size_budget_bytes)

    from kerasnas.data import normalization_layers, prepare_data, target_scale

    data = prepare_data(x, y, validation_data=validation_data,
                        validation_split=validation_split, seed=seed, kind=kind, problem=problem,
                        column_types=column_types, ragged=ragged)
    if verbose and data.note:
        print(data.note, flush=True)  # how the input kind (or the table schema) was inferred
    task = data.task
    objective = resolve_objective(objective, task)
    folds = folds_for(cv_folds, data)

    import keras

    from kerasnas.automl.refit import RefitReserve
    from kerasnas.tuner.loop import NASTuner
    from kerasnas.tuner.recipe import TrainingRecipe

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    space, space_class, space_args = space_for_strategy(strategy, space, space_class, task,
                                                        space_args)
    hypermodel = make_space(space, space_class, task, space_args, learning_rate,
                             lambda: normalization_layers(data), target_scale(data),
                             hardware=hardware)
    if hardware is not None:  # codesign: the hardware settings become decisions too
        hypermodel = hardware.space_for(hypermodel)
    warm = warm_start(hypermodel, strategy, time_budget)
    from kerasnas.oneshot import one_liner as oneshot

    sharing = oneshot.wanted(weight_sharing, hypermodel, strategy)
    oracle, strategy_name = make_strategy(strategy, objective, max_trials, seed,
                                           strategy_args or {}, warm_start=warm,
                                           context=(hypermodel, data, started, time_budget, verbose))
    oracle, strategy_name = apply_estimation(checked.estimation, oracle, strategy_name,
                                             hypermodel, data, seed)
    if sharing and not hasattr(oracle, "extend_warm_start"):
        raise ValueError(f"weight_sharing=True puts the ranked candidates first among the "
                         f"strategy's trials; {type(oracle).__name__} takes no warm start. Drop "
                         "halving= (or pass weight_sharing=False).")
    recipe = TrainingRecipe(batch_size=batch_size, min_steps=int(min_steps),
                            lr_schedule=lr_schedule)
    trial_loop = tuner_arguments(checked.estimation, recipe, folds)
    settings = {
        "space": {"class": type(hypermodel).__name__,
                  "encoding": hypermodel.encoding.to_spec()
                  if hasattr(hypermodel, "encoding") else None},
        "strategy": strategy_name, "objective": objective_text(oracle.objective),
        "task": {"kind": task.kind, "problem": task.problem,
                 "input_shape": list(task.input_shape), "num_classes": task.num_classes},
        "epochs": int(epochs), "batch_size": batch_size, "seed": seed,
        "train_fraction": float(train_fraction), "recipe": repr(recipe), "cv_folds": folds,
        "estimation": checked.estimation.describe(),
    }
    if sharing:  # a search with weight sharing is another search (its first trials differ)
        settings["weight_sharing"] = True
    if hardware is not None:
        settings["hardware"] = repr(hardware)
    if task.max_length is not None:  # trials trained on padded and on resampled series differ
        settings["task"]["ragged"] = [task.ragged_method, task.max_length]
    if directory is None:
        run_key = fingerprint(settings, data)
        directory = Path(DEFAULT_ROOT) / f"{hypermodel.encoding.name}-{strategy_name}-{run_key}"
    directory = Path(directory)
    check_or_write_meta(directory, settings, overwrite)

    # The baselines before the search, so that the budget covers them; they also stand in when
    # no trial finishes within it.
    baselines = compute_baselines(data, folds, oracle.objective.name)
    deadline = None if time_budget is None else started + time_budget
    # Keep time for the refit (1.25x the slowest trial's expected refit per member), then
    # the caller's own features.
    features = [RefitReserve(data, recipe, ensemble, refit_epochs)] if refit else []
    sharing_record = None
    if sharing:  # the supernet ranks candidates; the best join the warm start
        sharing_record, sharing_features = oneshot.prepare(
            hypermodel, data, oracle, seed=seed, time_budget=time_budget, directory=directory,
            verbose=verbose)
        features += sharing_features
    features += list(tuner_features or [])
    tuner = NASTuner(oracle, hypermodel, epochs=epochs,
                     batch_size=32 if batch_size == "auto" else batch_size,
                     # A budget spent before the search (TensorFlow's import on a loaded
                     # machine) stops it before its first trial instead of failing here.
                     time_budget=None if deadline is None else max(deadline - time.monotonic(),
                                                                   1e-6),
                     train_fraction=train_fraction, early_stopping=early_stopping,
                     verbose=verbose, directory=str(directory.parent),
                     project_name=directory.name, overwrite=False, hardware=hardware,
                     tensorboard=tensorboard, features=features, **trial_loop,
                     keep_checkpoints=keep_checkpoints and max(keep_checkpoints, ensemble))
    search_start = time.monotonic()
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val))
    search_time = time.monotonic() - search_start

    estimation = finish_estimation(checked.estimation, tuner, hypermodel)  # back to full size
    if sharing_record is not None:
        estimation = {**estimation, "ranked": sharing_record["ranked"],
                      "weight_sharing": sharing_record}
    result = finish_search(tuner, data, hypermodel, recipe, refit=refit, refit_epochs=refit_epochs,
                           batch_size=batch_size, ensemble=ensemble, folds=tuner.cv_folds,
                           deadline=deadline, verbose=verbose, directory=directory,
                           search_time=search_time, budget=(max_trials, time_budget),
                           estimation=estimation, select=select,
                           baseline_fallback=baseline_fallback, baselines=baselines)
    if verbose:
        print(f"Done in {time.monotonic() - started:.0f} s; result saved to "
              f"{directory / RESULT_DIR}", flush=True)
    return result
