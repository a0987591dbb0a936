"""The end of `kerasnas.search`: refit the winner(s), compare with baselines, save the result.

`finish_search` runs once the tuner's search loop has stopped: it refits the
best architecture (or the `ensemble` best) on training + validation data within
what is left of the time budget (`kerasnas.automl.refit`), wraps typed tables in their
column encoder, scores the trivial and linear baselines on the same validation
data (`kerasnas.automl.baseline`) and saves the `SearchResult` under
`<directory>/result`.

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
                  select="auto"):
    """Refits the winner(s), checks them against the baselines, saves the `SearchResult`.

    The winner is the best trial, or on small data the simplest within one
    standard error of it (`select`, see `kerasnas.automl.selection`).
    """
    from kerasnas.automl import baseline
    from kerasnas.automl.refit import refit_epochs_of, refit_top
    from kerasnas.deploy.result import SearchResult
    from kerasnas.tuner import crossval
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
    if not best:
        max_trials, time_budget = budget
        raise RuntimeError(
            f"No trial finished within the budget (max_trials={max_trials}, time_budget="
            f"{time_budget}); raise time_budget or lower epochs. Trials so far are kept in "
            f"{directory} and resume with the same call.")
    architecture = trial_architecture(hypermodel, best[0])
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
    if data.encoder is not None:  # a typed table: the model takes raw named columns
        from kerasnas.data.tabular import with_encoder

        model = with_encoder(data.encoder, model)

    task = data.task
    index_folds = None
    if folds:
        y_all = np.concatenate([data.y_train, data.y_val])
        index_folds = crossval.fold_indices(y_all, folds, seed=0,
                                            stratify=task.problem == "classification")
    found = {} if data.encoder is not None else baseline.baselines(
        data.x_train, data.y_train, data.x_val, data.y_val, task.problem, folds=index_folds)
    warnings = notes + baseline.compare(float(best[0].score), found, oracle.objective.name)
    result = SearchResult(model=model, architecture=architecture, task=task,
                          objective={"name": oracle.objective.name,
                                     "direction": oracle.objective.direction},
                          history=history, refit_history=refit_history,
                          stopped_by=tuner.stopped_by, search_time=search_time,
                          directory=str(directory), baselines=found, warnings=warnings,
                          estimation=estimation, selection=selection)
    result.save(directory / RESULT_DIR)
    if verbose:
        print(f"Best {oracle.objective.name}: {best[0].score:.4f} "
              f"({best[0].metrics.get_last_value('params'):,.0f} params), "
              f"architecture: {architecture}", flush=True)
        if selection:
            from kerasnas.automl.selection import describe

            print(f"Selected by the one-standard-error rule: {describe(selection)}.", flush=True)
        if found:
            print("Baselines on the same validation data: " + ", ".join(
                f"{k} {v:.4f}" for k, v in found.items()), flush=True)
        for warning in warnings:
            print(f"WARNING: {warning}", flush=True)
    return result


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
