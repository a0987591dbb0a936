"""The refit: train the winning architecture(s) again on training + validation data.

`refit_trial` retrains one trial's architecture from scratch, as long as the
trial trained (its recorded `epochs`, so the planned length of the training
recipe carries over), with the same recipe (batch size, cosine schedule), and
stops at the search's deadline if one is given. `refit_top` refits the `k`
best trials for an ensemble.

Example:

>>> model, history = refit_trial(tuner, best_trial, data, recipe)   # doctest: +SKIP
"""

from __future__ import annotations

import math
import time

import numpy as np

from kerasnas.tuner.features import TunerFeature

#: Seconds a refit leaves before the deadline for what follows it: loading the trial's copy
#: when the refit is cut, putting the column encoder in front, saving the result (measured
#: 2-3 s on digits: refits cut at the deadline ended searches of 60 s at 62-63 s).
FINISH_SECONDS = 3.0


def refit_epochs_of(trial, refit_epochs="auto", recipe=None, num_examples=None) -> int:
    """Epochs of a refit: `"auto"` = as many as `trial` trained (its best epoch is too early:
    validation accuracy plateaus and ties go to the first epoch reaching it), raised by
    `recipe` to its `min_steps` optimizer steps on the refit's `num_examples`.

    The raise matters on small data: a trial stopped early on a plateau of a
    tiny validation split (breast cancer: 85 validation examples, accuracy
    tied from epoch 2, stopped at epoch 9) would otherwise refit for about 60
    optimizer steps, far from converged (measured: the linear model refit so
    scored 0.916 on the test split; trained for the recipe's 300 steps,
    0.958-0.965 over 3 seeds). Larger data, whose trials already take more
    than `min_steps` steps, keeps the trial's length.

    Example:

    >>> refit_epochs_of(trial, recipe=TrainingRecipe(), num_examples=426)   # doctest: +SKIP
    43
    """
    if refit_epochs != "auto":
        return int(refit_epochs)
    trained = max(1, int(round(trial.metrics.get_last_value("epochs"))))
    if recipe is None or not num_examples:
        return trained
    return max(trained, recipe.plan(trained, int(num_examples)).epochs)


def refit_trial(tuner, trial, data, recipe=None, *, epochs="auto", batch_size=32,
                deadline=None, verbose=0, clear_session=True):
    """`(model, history dict, cut)`: `trial`'s architecture trained on train + validation data.

    If the deadline stops the refit before its planned epochs, the trial's own
    trained copy (its best epoch, trained on the training split) is returned
    instead, with an empty history and `cut=True`: a half-trained refit is
    never returned. A refit expected to need more than the time left (the
    trial's fit time, per fold, scaled by the larger data) is not even
    started, since building and tracing it alone can take many seconds.

    Args:
        tuner: The `NASTuner` that ran `trial` (its hypermodel builds the model).
        trial: A finished Keras Tuner trial.
        data: The search's `PreparedData`.
        recipe: The `TrainingRecipe` of the search, or None (constant rate,
            `batch_size`).
        epochs: `"auto"` (default: as many as the trial trained) or an int.
        batch_size: Used without a recipe (default 32).
        deadline: `time.monotonic()` value at which training stops at the end
            of the current batch (default None: no deadline).
        verbose: Keras's fit verbosity (default 0).
        clear_session: Free the search's graphs first (default True; False
            keeps models refit earlier usable, as an ensemble needs).
    """
    import keras

    from kerasnas.tuner.budget import DeadlineStop
    from kerasnas.tuner.loop import trial_seed

    if deadline is not None:
        deadline -= FINISH_SECONDS  # what comes after the refit must fit in the budget too
    if deadline is not None and time.monotonic() + expected_refit_time(tuner, trial, data,
                                                                       recipe) > deadline:
        return tuner.load_model(trial), {}, True
    if clear_session:
        keras.backend.clear_session()
    # Seeded by trial, not by whatever ran before: a search resumed after a crash refits alike.
    keras.utils.set_random_seed(trial_seed(tuner.oracle, f"refit-{trial.trial_id}"))
    model = tuner.hypermodel.build(trial.hyperparameters)
    x_all = np.concatenate([data.x_train, data.x_val])
    y_all = np.concatenate([data.y_train, data.y_val])
    n_epochs = refit_epochs_of(trial, epochs, recipe, len(x_all))
    callbacks = []
    if recipe is not None:
        plan = recipe.plan(n_epochs, len(x_all))
        # `n_epochs` already is the recipe's length (the trial's, raised to `min_steps`).
        batch_size, callbacks = plan.batch_size, recipe.callbacks(n_epochs)
    stop = DeadlineStop(deadline) if deadline is not None else None
    fit = tuner.hypermodel.fit(trial.hyperparameters, model, x_all, y_all, epochs=n_epochs,
                               batch_size=int(batch_size),
                               callbacks=callbacks + ([stop] if stop else []), verbose=verbose)
    history = {k: [float(v) for v in vs] for k, vs in fit.history.items()}
    if stop is not None and stop.cut:
        # A refit cut short is worse than the trial's own trained copy: never return it.
        return tuner.load_model(trial), {}, True
    from kerasnas.automl.linear_solve import solve_linear_regression

    solve_linear_regression(model, x_all, y_all)  # exact weights for a linear regression
    return model, history, False


def expected_refit_time(tuner, trial, data, recipe=None, epochs="auto") -> float:
    """Seconds a refit of `trial` should take: its fit time per fold, scaled by the
    refit's optimizer steps over the trial's.

    Steps, not epochs: the refit's larger data may take a larger batch (the
    recipe's), and on small data its length is raised to `min_steps`
    (`refit_epochs_of`), several times the trial's when early stopping ended
    the trial on a plateau. 0 when the trial recorded no fit time.
    """
    if not trial.metrics.exists("fit_time"):
        return 0.0
    folds = getattr(tuner, "cv_folds", None) or 1
    per_fold = float(trial.metrics.get_last_value("fit_time")) / folds
    n_all = len(data.x_train) + len(data.x_val)
    n_fit = n_all * (folds - 1) / folds if folds > 1 else len(data.x_train)
    if not trial.metrics.exists("epochs") or trial.metrics.exists("closed_form"):
        # A closed-form fit (a rocket head) costs one solve on the larger data, not epochs.
        return per_fold * n_all / max(1, n_fit)
    trial_recipe = getattr(tuner, "recipe", None)
    trial_batch = trial_recipe.batch_size_for(int(n_fit)) if trial_recipe else tuner.batch_size
    refit_batch = recipe.batch_size_for(n_all) if recipe else tuner.batch_size
    trained = max(1.0, float(trial.metrics.get_last_value("epochs")))
    trial_steps = trained * math.ceil(n_fit / trial_batch)
    refit_steps = refit_epochs_of(trial, epochs, recipe, n_all) * math.ceil(n_all / refit_batch)
    return per_fold * refit_steps / max(1.0, trial_steps)


#: Multiple of the slowest candidate's expected refit time kept free per ensemble member.
REFIT_RESERVE = 1.25
#: Candidates for the refit: the best this many finished trials by score (or the ensemble's
#: members, if more); the slowest of them sets the reserve.
RESERVE_CANDIDATES = 3


class RefitReserve(TunerFeature):
    """The tuner feature that keeps time for the refit: `REFIT_RESERVE` (1.25) times the
    expected refit time (`expected_refit_time`) of the slowest of the best
    `RESERVE_CANDIDATES` finished trials, per ensemble member, free before the
    search's deadline.

    The refit of a small data set can be several times its trial (see
    `refit_epochs_of`); reserving only the trial's own time would leave the
    refit to be cut and the under-trained trial copy returned. 0 before any
    trial finished.

    Args:
        data: The search's `PreparedData` (the refit trains on train + validation).
        recipe: The refit's `TrainingRecipe`, or None.
        ensemble: How many top trials are refit (default 1).
        epochs: The refit's length: `"auto"` (default) or an int (`refit_epochs`).

    Example:

    >>> tuner = NASTuner(oracle, space, time_budget=120,
    ...                  features=[RefitReserve(data, recipe)])    # doctest: +SKIP
    """

    def __init__(self, data, recipe=None, ensemble=1, epochs="auto"):
        self.data, self.recipe, self.epochs = data, recipe, epochs
        self.multiple = REFIT_RESERVE * int(ensemble)
        self.members = int(ensemble)

    def reserved_time(self, tuner):
        # Only a trial that can be chosen is refit: the top by score (the selection rule may
        # pick a smaller one among them), not the slowest trial of the whole search.
        ranked = [t for t in tuner.oracle.get_best_trials(len(tuner.oracle.trials))
                  if t.status == "COMPLETED" and t.metrics.exists("fit_time")]
        times = [expected_refit_time(tuner, t, self.data, self.recipe, self.epochs)
                 for t in ranked[:max(RESERVE_CANDIDATES, self.members)]]
        return self.multiple * max(times) if times else 0.0


def refit_top(tuner, trials, data, recipe=None, *, epochs="auto", batch_size=32,
              deadline=None, verbose=0):
    """Refits each of `trials` (best first); returns `(models, histories, cut)`.

    A refit that would start after `deadline` is skipped, so an ensemble may
    hold fewer members than asked (never fewer than one); `cut` counts the
    members that fell back to their trial's trained copy (see `refit_trial`).
    """
    models, histories, cut = [], [], 0
    for trial in trials:
        if models and deadline is not None and time.monotonic() >= deadline:
            break
        model, history, was_cut = refit_trial(tuner, trial, data, recipe, epochs=epochs,
                                              batch_size=batch_size, deadline=deadline,
                                              verbose=verbose, clear_session=not models)
        models.append(model)
        histories.append(history)
        cut += was_cut
    return models, histories, cut
