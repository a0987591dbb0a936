"""`NASTuner`: a Keras Tuner `Tuner` that trains one architecture per trial, within a budget.

On top of `keras_tuner.Tuner` it adds what architecture search needs:

* fidelity knobs: `epochs` per trial (an oracle may override it per trial
  through the `tuner/epochs` hyperparameter, as Keras Tuner's Hyperband does)
  and `train_fraction`, the share of the training data each trial sees;
* early stopping on the objective;
* cost metrics recorded with every trial: `params`, `flops`, `fit_time`
  (seconds), `epochs` (trained) and `best_epoch`; `params` and `flops` can
  serve as objectives;
* every epoch's logs of a trial, in `trial_XX/curves.json` (`trial_curves`):
  the learning curves that reports plot;
* a wall-clock budget: no trial starts after `time_budget` seconds (nor when
  less than half the shortest finished trial's time is left), and a trial
  still training at the deadline stops at the end of its current batch (its
  metrics so far are kept and it is flagged `budget_cut = 1`);
* quiet, compact progress: one line per trial plus an overall progress bar
  (Keras Tuner's own display is silenced); in Jupyter, one block updated in
  place with the trajectory so far (`kerasnas.viz.live`);
* bugs surface: an exception while building or training a trial ends the
  search with a `TrialCrashedError` (a `keras_tuner.errors.FatalError`) rather
  than being recorded as a failed trial. A candidate that cannot work fails
  its trial only, with the reason recorded: it does not build for the input,
  is over `max_params` / `max_flops`, diverges (NaN or infinite loss) or runs
  out of memory (`kerasnas.tuner.trial_failures`).

Example:

>>> import keras_tuner
>>> from kerasnas.oracles import RandomSearch
>>> from kerasnas.spaces import MacroSpace
>>> from kerasnas.tuner.loop import NASTuner
>>> tuner = NASTuner(RandomSearch(objective="val_accuracy", max_trials=4, seed=1),
...                  MacroSpace((8, 8, 1), 10), epochs=3, time_budget=60,
...                  directory="runs", project_name="demo")           # doctest: +SKIP
>>> tuner.search(x, y, validation_data=(x_val, y_val))                # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import zlib

import keras
import keras_tuner
import numpy as np

from kerasnas.estimation import fidelity
from kerasnas.estimation.halving import ContinueTraining
from kerasnas.estimation.stopping import CurveStopping
from kerasnas.estimation.stopping import check_option as check_curve_stopping
from kerasnas.hardware.trial import HardwareMetrics
from kerasnas.infra import kt_internals
from kerasnas.infra.atomic import write_json
from kerasnas.infra.kt_internals import MultiObjective, tuner_utils
from kerasnas.net2net.inherit import WeightInheritance
from kerasnas.net2net.inherit import check_option as check_inherit_option
from kerasnas.tuner import checkpoints, crossval, trial_failures
from kerasnas.tuner import tensorboard as tensorboard_logs
from kerasnas.tuner.budget import TimeBudget
from kerasnas.tuner.features import StopSearch, TunerFeature
from kerasnas.tuner.progress import Progress


class TrialCrashedError(keras_tuner.errors.FatalError):
    """A trial raised an unexpected exception: a bug, so the search stops."""


class _CostLogger(keras.callbacks.Callback):
    """Adds the model's cost (`params`, `flops`) to every epoch's logs."""

    def __init__(self, cost):
        super().__init__()
        self.cost = cost

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.cost)


class NASTuner(keras_tuner.Tuner):
    """Trains and scores one architecture per trial, within a trial and time budget.

    Args:
        oracle: A `keras_tuner.Oracle` (a kerasnas strategy or any Keras Tuner oracle).
        hypermodel: The search space, a kerasnas space (`NASHyperModel`) or any
            `keras_tuner.HyperModel` whose `build(hp)` returns a compiled model.
        epochs: Training epochs per trial (default 10).
        batch_size: Batch size for numpy data (default 32).
        time_budget: Wall-clock seconds for one `search()` call, or None for no
            limit (default None). Counted from the start of `search()`.
        train_fraction: Share of the training examples (numpy data) each trial
            trains on, in (0, 1] (default 1.0). A low-fidelity speed-up.
        early_stopping: Patience in epochs of the early-stopping callback on the
            objective, or None to train every epoch (default 3).
        verbose: 0 silent, 1 one line per trial and a progress bar, 2 also
            Keras's per-epoch lines (default 1).
        inherit_weights: Start a child trial from its parent trial's weights
            (`kerasnas.net2net.inherit`): True, False, or "auto" (default:
            only when the oracle asks, as `Net2NetSearch` does).
        hardware: A `kerasnas.hardware.HardwareObjective`: convert, time and
            score every candidate on TFLite, reject those over hard limits
            (default None: no hardware metrics).
        curve_stopping: Learning-curve early stopping: None (default), True
            or a `kerasnas.estimation.LearningCurveStopping`; a trial whose
            extrapolated final score is confidently worse than the best
            finished trial stops, and records `curve_stopped` and why.
        recipe: A `kerasnas.tuner.recipe.TrainingRecipe` (batch size and length by
            data size, learning-rate schedule), or None (default) to train
            exactly `epochs` at `batch_size` with a constant rate.
        cv_folds: Score each trial by k-fold cross-validation over the
            training and validation data together (an int >= 2), the mean
            of the folds' curves; None (default) uses the validation split.
        tensorboard: A folder for TensorBoard logs: each trial's training
            curves and the HParams dashboard's view of every trial's decisions
            and metrics (`kerasnas.tuner.tensorboard`); None (default) writes none.
        directory, project_name, overwrite: As in Keras Tuner: the project
            lives in `directory/project_name`; `overwrite=False` (default)
            resumes a project found there.
        max_params, max_flops: Fail a candidate over this many parameters or
            FLOPs (multiply-adds) before it trains, with the reason recorded
            (default None: no limit). See `kerasnas.tuner.trial_failures`, which also
            fails candidates that cannot be built or whose loss diverges.
        keep_checkpoints: Keep the best-epoch weights of only this many best
            trials (and of parents a child may still inherit from), deleting the
            rest after each trial so disk use stays bounded (`kerasnas.tuner.checkpoints`);
            default None keeps every trial's, as Keras Tuner does.
        features: More `kerasnas.tuner.features.TunerFeature`s (default None),
            called after the tuner's own (see `features` below), e.g. the
            one-liner's refit reserve (`kerasnas.automl.refit.RefitReserve`).
        **kwargs: Passed to `keras_tuner.Tuner` (e.g. `max_model_size`).

    Attributes:
        features: Every `TunerFeature` the trial loop calls, in order: the time
            budget, weight inheritance, hardware metrics, successive-halving
            continuation, cross-validation, checkpoint pruning, TensorBoard,
            learning-curve stopping, progress, then those of `features=`.
        stopped_by: After `search()`: why it ended (`"max_trials"`,
            `"time_budget"` or the reason a feature's `StopSearch` gave).
    """

    def __init__(self, oracle, hypermodel, *, epochs=10, batch_size=32, time_budget=None,
                 train_fraction=1.0, early_stopping=3, verbose=1, inherit_weights="auto",
                 directory=None, curve_stopping=None,
                 project_name=None, overwrite=False, hardware=None, recipe=None,
                 cv_folds=None, tensorboard=None, max_params=None, max_flops=None,
                 keep_checkpoints=None, features=None, **kwargs):
        if not 0.0 < float(train_fraction) <= 1.0:
            raise ValueError(f"train_fraction must be in (0, 1], got {train_fraction!r}.")
        if int(epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs!r}.")
        extra = list(features or [])
        for feature in extra:
            if not isinstance(feature, TunerFeature):
                raise TypeError(f"features must be kerasnas.tuner.features.TunerFeature "
                                f"instances, got {feature!r}.")
        self.budget = TimeBudget(time_budget)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.time_budget = self.budget.seconds
        self.train_fraction = float(train_fraction)
        self.early_stopping = None if early_stopping is None else int(early_stopping)
        self.verbose = int(verbose)
        self.inherit_weights = check_inherit_option(inherit_weights)
        self.hardware = hardware
        self.curve_stopping = check_curve_stopping(curve_stopping)
        self.recipe = recipe
        self.cv_folds = crossval.check_folds(cv_folds)
        self.tensorboard = tensorboard_logs.TrialLogs(tensorboard)
        self.max_params = trial_failures.check_limit_option("max_params", max_params)
        self.max_flops = trial_failures.check_limit_option("max_flops", max_flops)
        self.keep_checkpoints = checkpoints.check_option(keep_checkpoints)
        self.features = [
            self.budget,
            WeightInheritance(self.inherit_weights),
            HardwareMetrics(hardware),
            ContinueTraining(),
            crossval.CrossValidation(self.cv_folds),
            checkpoints.CheckpointPruning(self.keep_checkpoints),
            self.tensorboard,
            CurveStopping(self.curve_stopping),
            *([Progress()] if self.verbose else []),
            *extra,
        ]
        self.stopped_by = None
        # Keras Tuner prints "Reloading Tuner from ..." when it resumes: report it our way.
        with contextlib.redirect_stdout(io.StringIO()):
            super().__init__(oracle=oracle, hypermodel=hypermodel, directory=directory,
                             project_name=project_name, overwrite=overwrite, **kwargs)
        # A distributed worker's oracle is Keras Tuner's OracleClient, which has no `trials`.
        self.resumed_trials = len(getattr(self.oracle, "trials", {}))
        # tuner0.json is what marks a project as resumable: write it now, not after the first
        # trial, so a kill right after that trial's end cannot make the next run start afresh.
        self.save()

    # ------------------------------------------------------------------ search
    def search(self, *fit_args, **fit_kwargs):
        """Runs trials until `max_trials` are done, the oracle stops, or time is up.

        Arguments are those of `model.fit` (`x`, `y`, `validation_data`,
        `batch_size`, `callbacks`, ...); `epochs` overrides the tuner's.
        Afterwards `self.stopped_by` is `"time_budget"` if the budget ended
        the search, `"max_trials"` if the oracle had nothing left to run, or
        the reason a feature stopped it (`StopSearch`).
        """
        fit_kwargs.pop("verbose", None)
        self.stopped_by = None
        for feature in self.features:
            feature.on_search_begin(self)
        try:
            super().search(*fit_args, verbose=0, **fit_kwargs)
            self.stopped_by = self.stopped_by or "max_trials"
        except StopSearch as stop:  # the time budget, or a feature's own limit
            self.stopped_by = stop.reason
            self.on_search_end()
        except BaseException:
            self.budget.on_search_end(self)  # no deadline outlives its search
            raise
        for feature in self.features:
            feature.on_search_end(self)

    def pre_create_trial(self):
        for feature in self.features:
            feature.before_trial(self)

    def reserved_time(self):
        """Seconds kept free before the deadline: the sum of what the features reserve
        (the one-liner's refit: `kerasnas.automl.refit.RefitReserve`); 0 without any."""
        return float(sum(feature.reserved_time(self) for feature in self.features))

    def time_left(self):
        """Seconds until the deadline of the running search, or None without a budget."""
        return self.budget.time_left()

    def checkpoint_path(self, trial_id) -> str:
        """Where trial `trial_id`'s best-epoch weights are saved (Keras Tuner's own file)."""
        return kt_internals.checkpoint_path(self, trial_id)

    # ------------------------------------------------------------------ trials
    def run_trial(self, trial, x=None, y=None, validation_data=None, **fit_kwargs):
        """Builds, trains and scores one trial; returns its metrics at the best epoch.

        A feature may score the trial its own way (`TunerFeature.run_trial`,
        e.g. k-fold cross-validation); otherwise it is one `fit_trial`.
        """
        keras.utils.set_random_seed(trial_seed(self.oracle, trial.trial_id))
        for feature in self.features:
            metrics = feature.run_trial(self, trial, x, y, validation_data, fit_kwargs)
            if metrics is not None:
                return metrics
        return self.fit_trial(trial, x, y, validation_data, **fit_kwargs)

    def fit_trial(self, trial, x=None, y=None, validation_data=None, **fit_kwargs):
        """Builds `trial`'s model, trains it on `x, y` and scores it on `validation_data`.

        One fit, with every feature's hooks (`on_model_built`, `fit_callbacks`,
        `on_fit_end`); returns the metrics of the best epoch with the cost and
        the features' metrics. Cross-validation calls it once per fold.
        """
        hp = trial.hyperparameters
        epochs = int(hp.values.get("tuner/epochs", fit_kwargs.pop("epochs", self.epochs)))
        initial_epoch = int(hp.values.get("tuner/initial_epoch", 0))
        fit_kwargs.pop("initial_epoch", None)
        fit_kwargs.pop("verbose", None)  # Keras Tuner forwards search()'s verbose
        user_callbacks = kt_internals.deepcopy_callbacks(self, fit_kwargs.pop("callbacks", []) or [])
        fit_kwargs.setdefault("batch_size", self.batch_size if _is_array(x) else None)
        x, y = self._subset(trial, x, y)
        patience = self.early_stopping
        recipe_callbacks = []
        if self.recipe is not None and _is_array(x):
            plan = self.recipe.plan(epochs, len(x), patience)
            epochs, patience = plan.epochs, plan.patience
            fit_kwargs["batch_size"] = plan.batch_size
            recipe_callbacks = self.recipe.callbacks(epochs)
        try:
            model = self._build_or_fail(hp)
            cost = self._cost(model)
            trial_failures.check_limits(cost, self.max_params, self.max_flops)
            for feature in self.features:
                cost.update(feature.on_model_built(self, trial, model, x))
            feature_callbacks = []
            for feature in self.features:
                feature_callbacks += feature.fit_callbacks(self, trial, user_callbacks)
            callbacks = [_CostLogger(cost)] + feature_callbacks + user_callbacks
            callbacks += recipe_callbacks + self._early_stopping_callbacks(patience)
            diverged = trial_failures.NonFiniteLoss()
            callbacks.append(diverged)
            callbacks.append(tuner_utils.TunerCallback(self, trial))
            callbacks.append(tuner_utils.SaveBestEpoch(
                objective=self.oracle.objective,
                filepath=self.checkpoint_path(trial.trial_id)))
            start = time.monotonic()
            # The space's `fit` (Keras Tuner's `HyperModel.fit`): `model.fit` for most spaces,
            # a closed-form solve for a model with a fixed feature layer.
            history = self.hypermodel.fit(hp, model, x, y, validation_data=validation_data,
                                          epochs=epochs, initial_epoch=initial_epoch,
                                          callbacks=callbacks,
                                          verbose=2 if self.verbose >= 2 else 0, **fit_kwargs)
            fit_time = time.monotonic() - start
            if diverged.reason:
                raise trial_failures.TrialFailed(diverged.reason)
        except (keras_tuner.errors.FatalError, keras_tuner.errors.FailedTrialError):
            raise
        except Exception as err:  # noqa: BLE001 - sorted into "trial failed" and "bug" below
            if _is_out_of_memory(err):
                raise keras_tuner.errors.FailedTrialError(
                    f"Trial {trial.trial_id} ran out of memory: {err}") from err
            raise TrialCrashedError(
                f"Trial {trial.trial_id} crashed while building or training its model "
                f"({type(err).__name__}: {err}). This is a bug (in the search space, the data "
                "or a callback), not a bad architecture: the search stops so it can be fixed."
            ) from err
        metrics, best_epoch = _best_epoch(history, self.oracle.objective)
        metrics.update(cost)
        metrics.update({
            "fit_time": float(fit_time),
            "epochs": float(len(history.epoch)),
            "best_epoch": float(initial_epoch + best_epoch),
        })
        for feature in self.features:
            metrics.update(feature.on_fit_end(self, trial, model, x, validation_data))
        _save_curves(self, trial, history, skip=cost)
        return metrics

    def _build_or_fail(self, hp):
        try:
            return kt_internals.try_build(self, hp)
        except keras_tuner.errors.FatalError:
            raise
        except ValueError as err:  # the candidate does not fit the input: a failed trial
            raise trial_failures.build_failure(err) from err

    def _subset(self, trial, x, y):
        if self.train_fraction >= 1.0 or not _is_array(x):
            return x, y
        n = len(x)
        keep = max(1, int(round(n * self.train_fraction)))
        # zlib.crc32, not hash(): str hashes change between processes, and so would the subset.
        rng = np.random.default_rng(zlib.crc32(trial.trial_id.encode()))
        index = np.sort(rng.choice(n, size=keep, replace=False))
        return x[index], (None if y is None else y[index])

    def _cost(self, model):
        cost_fn = getattr(self.hypermodel, "cost", None)
        cost = cost_fn(model) if cost_fn is not None else {"params": model.count_params()}
        return {"params": float(cost.get("params", model.count_params())),
                "flops": float(cost.get("flops", float("nan"))),
                **fidelity.trial_metrics(self.hypermodel)}  # a down-scaled proxy's knobs

    def _early_stopping_callbacks(self, patience=None):
        patience = self.early_stopping if patience is None else patience
        if patience is None:
            return []
        objective = self.oracle.objective
        name = getattr(objective, "name", None)
        if isinstance(objective, MultiObjective) or name in (
                "params", "flops", "default_objective", "latency_ms", "model_bytes"):
            name, direction = "val_loss", "min"
        else:
            direction = objective.direction
        return [keras.callbacks.EarlyStopping(monitor=name, mode=direction,
                                              patience=patience, verbose=0)]

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        for feature in self.features:
            feature.on_trial_end(self, trial)


def trial_seed(oracle, trial_id) -> int:
    """The seed of a trial's initial weights and data order: the oracle's seed and the
    trial id, so a trial re-run after a crash trains exactly as it would have without one."""
    seed = getattr(oracle, "seed", None) or 0
    return (int(seed) * 1_000_003 + zlib.crc32(str(trial_id).encode())) % (2 ** 31 - 1)


def _is_array(x):
    return isinstance(x, np.ndarray)


def _is_out_of_memory(err):
    import tensorflow as tf

    return isinstance(err, (tf.errors.ResourceExhaustedError, MemoryError))


def _best_epoch(history, objective):
    epochs = len(history.epoch)
    logs = [{k: float(v[i]) for k, v in history.history.items() if i < len(v)}
            for i in range(epochs)]
    best = 0
    for i in range(1, epochs):
        if objective.has_value(logs[i]) and objective.better_than(
                objective.get_value(logs[i]), objective.get_value(logs[best])):
            best = i
    metrics = dict(logs[best])
    if objective.name not in metrics and objective.has_value(metrics):
        metrics[objective.name] = float(objective.get_value(metrics))
    return metrics, best


#: Per trial, `curves.json` in its trial folder holds every epoch's logs (learning curves).
CURVES_FILE = "curves.json"


def _save_curves(tuner, trial, history, skip=()):
    """Writes the trial's per-epoch logs `{metric: [value per epoch]}` (not the cost
    metrics in `skip`, which repeat every epoch) for `trial_curves`."""
    logs = {k: [float(v) for v in vs] for k, vs in history.history.items() if k not in skip}
    write_json(os.path.join(tuner.get_trial_dir(trial.trial_id), CURVES_FILE), logs)


def trial_curves(tuner, trial_id) -> dict:
    """`{metric: [value per epoch]}` of a trial ({} if it recorded none, e.g. it failed)."""
    path = os.path.join(str(tuner.project_dir), f"trial_{trial_id}", CURVES_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def trial_architecture(hypermodel, trial):
    """The `Architecture` a trial evaluated (None if the hypermodel has no encoding)."""
    encoding = getattr(hypermodel, "encoding", None)
    return None if encoding is None else encoding.from_hp_values(trial.hyperparameters.values)


__all__ = ["NASTuner", "TrialCrashedError", "trial_architecture", "trial_curves"]
