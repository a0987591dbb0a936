"""The end of `kerasnas.search`: compare with baselines, refit the winner(s), save the result.

`finish_search` runs once the tuner's search loop has stopped: it scores the
trivial and linear baselines on the same validation data or folds
(`kerasnas.automl.baseline`); if the best trial beats them (or
`search(baseline_fallback=False)`), it refits the best architecture (or the
`ensemble` best) on training + validation data within what is left of the time
budget (`kerasnas.automl.refit`), else it returns the better baseline as a Keras
model fit on the same data (`baseline_model`; `SearchResult.returned` names it).
It wraps typed tables in their column encoder and saves the `SearchResult`
under `<directory>/result`.

Example:

>>> from kerasnas.automl.finish import folds_for   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from kerasnas.automl.names import RESULT_DIR


def folds_for(cv_folds, data):
    """The number of cross-validation folds `search(cv_folds=...)` resolves to (None: one split)."""
    from kerasnas.tuner import crossval

    if cv_folds == "auto":
        n = len(data.x_train) + len(data.x_val)
        return crossval.CV_FOLDS if n < crossval.CV_THRESHOLD else None
    return cv_folds


def finish_search(tuner, data, hypermodel, recipe, *, refit, refit_epochs, batch_size, ensemble,
                  folds, deadline, verbose, directory, search_time, budget, estimation=None,
                  select="auto", baseline_fallback=True, baselines=None):
    """Checks the winner(s) against the baselines, refits them, saves the `SearchResult`.

    The winner is the best trial, or on small data the simplest within one
    standard error of it (`select`, see `kerasnas.automl.selection`). When its
    validation score does not beat the better baseline (`kerasnas.automl.baseline`,
    same data or folds, same metric) the result warns, and with
    `baseline_fallback` (default True) that baseline, fit on training + validation
    data, is returned instead (`result.returned`, e.g. `"baseline:ridge"`) and the
    winner is not refit; with False the refit winner is kept and only warned about.
    `baselines` is `compute_baselines`'s answer when the caller computed it before
    the search (so the time budget covers it), else None (computed here). When no
    trial finished within the budget, the better baseline is returned (with a
    warning) where there is one and `baseline_fallback` is True.
    """
    from kerasnas.automl import baseline
    from kerasnas.deploy.result import SearchResult
    from kerasnas.tuner.loop import trial_architecture

    oracle = tuner.oracle
    history = [trial_record(tuner, oracle.trials[tid]) for tid in oracle.start_order
               if tid in oracle.trials]
    best = [t for t in oracle.get_best_trials(max(1, ensemble))
            if t.score is not None and np.isfinite(t.score)]
    selection = None
    # Down-scaled proxies and halving's rungs score unlike models (other sizes, other lengths):
    # "within one standard error" has no meaning between them, so the best is kept there.
    proxies = bool({"downscale", "halving"} & set(estimation or {}))
    if best and ensemble <= 1 and not proxies:
        from kerasnas.automl.selection import choose_trial

        chosen, selection = choose_trial(oracle, data, folds, select)
        best = [chosen]
    found, warnings = (compute_baselines(data, folds, oracle.objective.name)
                       if baselines is None else (baselines[0], list(baselines[1])))
    if not best and found is not None and baseline_fallback and found.scores:
        return _baseline_only(tuner, data, found, warnings, directory=directory,
                              refit=refit, search_time=search_time, history=history,
                              budget=budget, verbose=verbose)
    if not best:
        max_trials, time_budget = budget
        raise RuntimeError(
            f"No trial finished within the budget (max_trials={max_trials}, time_budget="
            f"{time_budget}); raise time_budget or lower epochs. Trials so far are kept in "
            f"{directory} and resume with the same call.")
    architecture = trial_architecture(hypermodel, best[0])
    task = data.task
    score = float(best[0].score)
    metric = baseline.metric_for(oracle.objective.name, task.problem)
    choice = None if found is None else baseline.fallback_choice(score, found.scores, metric)
    warnings += [] if found is None else baseline.compare(score, found.scores,
                                                          oracle.objective.name, task.problem)
    returned = "search"
    if choice and baseline_fallback:
        # The searched model lost to a baseline: it is not refit (nothing would use it).
        fitted, model = baseline_model(choice, found, data, refit)
        returned, refit_history = f"baseline:{fitted.kind}", {}
        warnings.append(
            f"The {found.describe(choice)} baseline is returned instead of the searched model "
            f"(result.returned == {returned!r}), fit on "
            f"{'training + validation' if refit else 'training'} data: it scored "
            f"{_unit(metric)} {found.scores[choice]:.4f} on the same validation data where the "
            f"best architecture scored {score:.4f}. Pass baseline_fallback=False to keep the "
            "searched model.")
        if verbose:
            print(f"The best architecture ({oracle.objective.name} {score:.4f}) does not beat the "
                  f"{found.describe(choice)} baseline ({_unit(metric)} "
                  f"{found.scores[choice]:.4f}): returning the baseline.", flush=True)
    else:
        if choice:
            warnings.append(
                f"baseline_fallback=False: the searched model is returned although the "
                f"{found.describe(choice)} baseline scored {_unit(metric)} "
                f"{found.scores[choice]:.4f} against its {score:.4f}.")
        model, refit_history, notes = _searched_model(tuner, best, data, recipe, refit=refit,
                                                      refit_epochs=refit_epochs,
                                                      batch_size=batch_size, deadline=deadline,
                                                      verbose=verbose, estimation=estimation)
        warnings = notes + warnings
    if data.encoder is not None:  # a typed table: the model takes raw named columns
        from kerasnas.data.tabular import with_encoder

        model = with_encoder(data.encoder, model)
    if task.max_length is not None:  # unequal-length series: the model takes any length
        from kerasnas.data.ragged import with_series_input

        model = with_series_input(model, task)

    result = SearchResult(model=model, architecture=architecture, task=task,
                          objective={"name": oracle.objective.name,
                                     "direction": oracle.objective.direction},
                          history=history, refit_history=refit_history,
                          stopped_by=tuner.stopped_by, search_time=search_time,
                          directory=str(directory),
                          baselines={} if found is None else found.scores,
                          baseline_models={} if found is None else found.models,
                          baseline_metric=None if found is None else found.metric,
                          returned=returned, warnings=warnings,
                          estimation=estimation, selection=selection,
                          **hardware_record(tuner, data, best[0].hyperparameters.values))
    result.save(directory / RESULT_DIR)
    if verbose:
        print(f"Best {oracle.objective.name}: {best[0].score:.4f} "
              f"({best[0].metrics.get_last_value('params'):,.0f} params), "
              f"architecture: {architecture}", flush=True)
        if selection:
            from kerasnas.automl.selection import describe

            print(f"Selected by the one-standard-error rule: {describe(selection)}.", flush=True)
        if found is not None:
            print(f"Baselines on the same validation data ({_unit(found.metric)}): " + ", ".join(
                f"{k} ({found.describe(k)}) {v:.4f}" for k, v in found.scores.items()),
                flush=True)
        for warning in warnings:
            print(f"WARNING: {warning}", flush=True)
    return result


def hardware_record(tuner, data, values) -> dict:
    """`{"hardware": settings, "calibration": rows}` of a hardware-aware search (`tuner.hardware`),
    so `SearchResult.export` writes the quantized `.tflite` it measured; `{}` otherwise. With
    codesign the settings are the winner's own (`values`: its hyperparameters). The
    calibration rows (int8 only) are drawn as the trials drew theirs."""
    hardware = getattr(tuner, "hardware", None)
    if hardware is None:
        return {}
    hardware = hardware.for_values(values)
    record = {"hardware": hardware.settings()}
    if "hw_downscale" in values:
        record["hardware"]["downscale"] = int(values["hw_downscale"])
    if hardware.quantize == "int8":
        from kerasnas.hardware.conversion import representative_sample

        record["calibration"] = representative_sample(data.x_train,
                                                      hardware.calibration_examples)
    return record


def _unit(metric) -> str:
    return {"accuracy": "accuracy", "mse": "MSE", "mae": "MAE",
            "crossentropy": "cross-entropy"}.get(metric, str(metric))


def _baseline_only(tuner, data, found, warnings, *, directory, refit, search_time, history,
                   budget, verbose):
    """The result when no trial finished: the better baseline, saying why."""
    from kerasnas.deploy.result import SearchResult

    oracle, task = tuner.oracle, data.task
    lower = found.metric in ("mse", "mae", "crossentropy")
    choice = min(found.scores, key=lambda k: (found.scores[k] if lower else -found.scores[k],
                                              k != "trivial"))
    fitted, model = baseline_model(choice, found, data, refit)
    returned = f"baseline:{fitted.kind}"
    max_trials, time_budget = budget
    warnings = warnings + [
        f"No trial finished within the budget (max_trials={max_trials}, time_budget="
        f"{time_budget}): the {found.describe(choice)} baseline is returned "
        f"(result.returned == {returned!r}); raise time_budget for a searched model. Trials so "
        f"far are kept in {directory} and resume with the same call."]
    if data.encoder is not None:
        from kerasnas.data.tabular import with_encoder

        model = with_encoder(data.encoder, model)
    if task.max_length is not None:
        from kerasnas.data.ragged import with_series_input

        model = with_series_input(model, task)
    result = SearchResult(model=model, architecture=None, task=task,
                          objective={"name": oracle.objective.name,
                                     "direction": oracle.objective.direction},
                          history=history, refit_history={}, stopped_by=tuner.stopped_by,
                          search_time=search_time, directory=str(directory),
                          baselines=found.scores, baseline_models=found.models,
                          baseline_metric=found.metric, returned=returned, warnings=warnings)
    result.save(directory / RESULT_DIR)
    if verbose:
        for warning in warnings:
            print(f"WARNING: {warning}", flush=True)
    return result


def compute_baselines(data, folds, objective_name):
    """`(Baselines or None, warnings)`: both baselines on the search's validation data or folds
    (`folds` is the search's fold count or None; the folds are the tuner's own)."""
    from kerasnas.automl import baseline
    from kerasnas.tuner import crossval

    task = data.task
    index_folds = None
    if folds:
        y_all = np.concatenate([data.y_train, data.y_val])
        x_all = np.concatenate([data.x_train, data.x_val])
        index_folds = crossval.folds_of(x_all, y_all, folds, seed=crossval.FOLD_SEED)
    metric = baseline.metric_for(objective_name, task.problem)
    try:
        return baseline.evaluate(data.x_train, data.y_train, data.x_val, data.y_val, task.problem,
                                 folds=index_folds, metric=metric, num_classes=task.num_classes,
                                 shared_units=task.kind in SHARED_UNIT_KINDS), []
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, MemoryError) as err:
        return None, [f"The baselines could not be computed ({type(err).__name__}: {err}); the "
                      "searched model is returned unchecked."]


#: Input kinds whose flattened features are all one quantity (pixels, time steps): the
#: baselines' standardisation then judges a near-constant column by the typical deviation.
SHARED_UNIT_KINDS = ("image", "sequence")


def baseline_model(key, found, data, refit=True):
    """`(LinearBaseline, keras.Model)`: baseline `key` (`"trivial"` / `"linear"`) fit on training
    + validation data (training only with `refit=False`), with the regularisation `found` chose,
    as a compiled Keras model of the task's input shape (the column encoder not included)."""
    from kerasnas.automl import baseline

    task = data.task
    x, y = data.x_train, data.y_train
    if refit:
        x, y = np.concatenate([x, data.x_val]), np.concatenate([y, data.y_val])
    fitted = baseline.fit_baseline(key, found, x, y, task.problem, num_classes=task.num_classes,
                                   shared_units=task.kind in SHARED_UNIT_KINDS)
    return fitted, fitted.keras_model(task.input_shape, loss=task.loss, metrics=task.metrics)


def _searched_model(tuner, best, data, recipe, *, refit, refit_epochs, batch_size, deadline,
                    verbose, estimation):
    """`(model, refit history, notes)`: the winner(s) refit (or the trained copies), one model."""
    from kerasnas.automl.refit import refit_epochs_of, refit_top

    notes = []
    if refit:
        if verbose:
            members = f"the {len(best)} best architectures" if len(best) > 1 else \
                "the best architecture"
            n_epochs = refit_epochs_of(best[0], refit_epochs, recipe,
                                       len(data.x_train) + len(data.x_val))
            print(f"Refitting {members} on training + validation data for {n_epochs} "
                  "epoch(s)...", flush=True)
        # A down-scaled trial's copy is not the full-size model: its refit may not be cut.
        models, histories, cut = refit_top(tuner, best, data, recipe, epochs=refit_epochs,
                                           batch_size=32 if batch_size == "auto" else batch_size,
                                           deadline=None if "downscale" in (estimation or {})
                                           else deadline, verbose=2 if verbose >= 2 else 0)
        refit_history = histories[0]
        if cut:
            notes.append(f"The time budget ended {cut} refit(s) early; the search's trained "
                         "copy (training split only) is returned instead. Raise time_budget "
                         "for a full refit.")
    else:
        models, refit_history = [tuner.load_model(t) for t in best], {}
    model = models[0]
    if len(models) > 1:
        from kerasnas.deploy.ensemble import build_ensemble

        model = build_ensemble(models)
    return model, refit_history, notes


def trial_record(tuner, trial):
    """The `TrialRecord` of a finished trial (`SearchResult.history`): metrics, curves, why it failed."""
    from kerasnas.deploy.result import TrialRecord
    from kerasnas.tuner.loop import trial_architecture, trial_curves

    metrics = {name: float(trial.metrics.get_last_value(name))
               for name in trial.metrics.metrics}
    try:
        arch = str(trial_architecture(tuner.hypermodel, trial))
    except (ValueError, KeyError):
        arch = "?"
    score = None if trial.score is None else float(trial.score)
    from kerasnas.tuner.trial_failures import reason

    return TrialRecord(trial_id=trial.trial_id, architecture=arch, status=str(trial.status),
                       score=score, metrics=metrics, curves=trial_curves(tuner, trial.trial_id),
                       reason=reason(trial.message) if trial.status == "FAILED" else "")
