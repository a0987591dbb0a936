"""`SearchResult`: what `kerasnas.search` returns, and how a finished search is saved and reloaded.

Example:

>>> import kerasnas
>>> result = kerasnas.search(x, y, max_trials=10)                  # doctest: +SKIP
>>> result.predict(x[:5])                                          # labels, in y's own values
>>> result.best_trials(3)                                          # the three best TrialRecords
>>> result.export("exports")                                       # .keras, SavedModel, TFLite
>>> result.report("report.html")                                   # leaderboard and plots
>>> result.save("my_search")                                       # doctest: +SKIP
>>> kerasnas.SearchResult.load("my_search").predict(x[:5])         # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from kerasnas.infra.numbers import is_finite_number

#: Metrics every trial records besides the model's own (see `kerasnas.tuner.loop`).
COST_KEYS = ("params", "flops", "fit_time", "epochs", "best_epoch", "budget_cut")

_MODEL_FILE = "best_model.keras"
_RESULT_FILE = "result.json"
#: Calibration rows kept for an int8 export of a search that quantized (model inputs, float32).
_CALIBRATION_FILE = "calibration.npy"


@dataclasses.dataclass
class TrialRecord:
    """One trial of the search.

    Attributes:
        trial_id: Keras Tuner's trial id (`"00"`, `"01"`, ...), in start order.
        architecture: The architecture in its space's string form.
        status: `"COMPLETED"`, `"FAILED"`, `"INVALID"` or `"RUNNING"`.
        score: The objective's value at the trial's best epoch (None if it did not finish).
        metrics: Every metric at the best epoch (`val_accuracy`, `loss`, ...)
            plus `params`, `flops`, `fit_time` (seconds), `epochs` and `best_epoch`.
        curves: Every epoch's logs, `{metric: [value per epoch]}` (the learning
            curves; empty for a trial that did not train).
        reason: Why a FAILED trial failed, one line (e.g. `"diverged: loss became
            nan at batch 3 (epoch 1)"`, see `kerasnas.tuner.trial_failures`); `""` otherwise.
    """

    trial_id: str
    architecture: str
    status: str
    score: float | None
    metrics: dict
    curves: dict = dataclasses.field(default_factory=dict)
    reason: str = ""

    @property
    def cut(self) -> bool:
        """True if the time budget stopped this trial: its score is partial, not a verdict."""
        return bool(self.metrics.get("budget_cut"))

    @property
    def params(self) -> float | None:
        return self.metrics.get("params")

    @property
    def flops(self) -> float | None:
        return self.metrics.get("flops")

    @property
    def fit_time(self) -> float | None:
        return self.metrics.get("fit_time")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class SearchResult:
    """The outcome of a search: the refit best model and the record of every trial.

    Attributes:
        model: The returned Keras model (`returned` says which): the best
            architecture's, refit on train + validation data (or the search's own
            trained copy with `refit=False`), or, when that architecture did not
            beat a baseline on the validation data, the better baseline fit on the
            same data (`search(baseline_fallback=False)` keeps the searched one).
            Its preprocessing (normalisation) is built in: it takes raw features.
        returned: Which model `model` is: `"search"` (the searched architecture, or
            the ensemble of the best ones), or `"baseline:mean"`,
            `"baseline:majority"` (the trivial baselines: a `Dense` with a zero
            kernel and the mean / the classes' log-priors as bias),
            `"baseline:ridge"`, `"baseline:logistic"` (Flatten -> Normalization ->
            Dense holding the fitted coefficients; `kerasnas.automl.baseline`).
        architecture: The best searched `Architecture` (also when a baseline is returned).
        task: The `kerasnas.data.TaskSpec` the search inferred.
        objective: `{"name": ..., "direction": "max" | "min"}`.
        history: Every trial, in the order they ran (the search trajectory).
        leaderboard: Every trial, best first (finished trials by score, then the rest).
        refit_history: The refit's Keras `History.history` dict (per-epoch metrics).
        stopped_by: `"max_trials"` or `"time_budget"`.
        baselines: Scores of the trivial and linear baselines on the same
            validation data or folds, in the objective's metric
            (`baseline_metric`; `kerasnas.automl.baseline`), e.g. `{"trivial": 0.5,
            "linear": 0.81}`; empty if not computed.
        baseline_models: How each baseline was fit, e.g. `{"trivial": {"model":
            "mean"}, "linear": {"model": "ridge", "alpha": 12.6}}` (the
            regularisation its inner cross-validation chose).
        baseline_metric: `"accuracy"`, `"mse"`, `"mae"` or `"crossentropy"`, or None.
        warnings: What the user must know about the result, e.g. that it is
            no better than a baseline; shown by `summary()` and the report.
        search_time: Wall-clock seconds of the search phase (without the refit).
        directory: The Keras Tuner project folder of the search.
        darts: For `strategy="darts"` / `"darts2"`, the supernet search's record
            (`kerasnas.darts.DartsResult.record()`: `alpha_trajectory`, the softmax of α per
            cell type per epoch, the architecture derived after each epoch, ...); else None.
    """

    def __init__(self, *, model, architecture, task, objective, history, refit_history=None,
                 stopped_by=None, search_time=None, directory=None, baselines=None,
                 warnings=None, darts=None, estimation=None, selection=None, returned=None,
                 baseline_models=None, baseline_metric=None, hardware=None, calibration=None):
        self.model = model
        self.returned = returned or "search"
        self.architecture = architecture
        self.task = task
        self.objective = dict(objective)
        self.history = list(history)
        self.refit_history = dict(refit_history or {})
        self.stopped_by = stopped_by
        self.search_time = search_time
        self.directory = None if directory is None else str(directory)
        self.baselines = dict(baselines or {})
        self.baseline_models = dict(baseline_models or {})
        self.baseline_metric = baseline_metric
        self.warnings = list(warnings or [])
        self.darts = darts if darts is not None else _darts_record(self.directory)
        #: What the cheaper estimation did (`kerasnas.estimation.search_options`): its settings,
        #: the pre-screen's discarded proposals, the rungs, the down-scaled vs refit parameters.
        self.estimation = dict(estimation or {})
        #: Why the returned architecture is not the top-scoring one (`kerasnas.automl.selection`: the
        #: simplest trial within one standard error of the best), or None.
        self.selection = dict(selection) if selection else None
        #: The hardware settings of a hardware-aware search (`HardwareObjective.settings()`:
        #: `quantize`, the limits, `threads`, ...), or None. `export` writes the `.tflite` in
        #: this `quantize` mode beside the float one.
        self.hardware = dict(hardware) if hardware else None
        #: Up to 100 training inputs (float32, as the model takes them) that calibrate an int8
        #: export; kept when the search quantized, else None.
        self.calibration = None if calibration is None else np.asarray(calibration, np.float32)

    # ------------------------------------------------------------ records
    @property
    def leaderboard(self) -> list[TrialRecord]:
        sign = 1.0 if self.objective.get("direction", "max") == "max" else -1.0

        def key(record):  # finished trials by score, then those cut by the budget, then failed
            finished = record.status == "COMPLETED" and is_finite_number(record.score)
            if finished:
                return (int(record.cut), -sign * record.score, record.trial_id)
            return (2, 0.0, record.trial_id)

        return sorted(self.history, key=key)

    def best_trials(self, k: int = 5) -> list[TrialRecord]:
        """The `k` best finished trials, best first (default k=5)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}.")
        return [r for r in self.leaderboard
                if r.status == "COMPLETED" and is_finite_number(r.score)][:k]

    def pareto_front(self, cost: str = "latency_ms", score: str | None = "auto"
                     ) -> list[TrialRecord]:
        """Finished trials on the Pareto front of the objective vs `cost`, cheapest first.

        `cost` is a trial metric to minimise: `"latency_ms"` or `"model_bytes"`
        (recorded by a hardware-aware search, see `kerasnas.hardware`), or
        `"params"` / `"flops"`. Empty if no trial recorded it. `score` is what
        is maximised against it: `"auto"` (default) is the objective, except
        after a codesign search, where it is the accuracy in each candidate's
        own quantization mode (`quantized_accuracy`, or `quantized_mae`
        minimised), so that an int8 candidate does not look as accurate as its
        float32 twin; None is always the objective; or any trial metric.
        """
        from kerasnas.hardware.front import pareto_records

        name, direction = self.front_score(score)
        return pareto_records(self.history, cost, direction, name)

    def front_score(self, score="auto") -> tuple:
        """`(metric or None, direction)` that `pareto_front(score=...)` maximises / minimises."""
        direction = self.objective.get("direction", "max")
        if score == "auto":
            if not (self.hardware or {}).get("codesign"):
                return None, direction
            regression = self.task is not None and self.task.problem == "regression"
            return ("quantized_mae", "min") if regression else ("quantized_accuracy", "max")
        if score is None or score == self.objective.get("name"):
            return None, direction
        return score, "min" if any(k in score for k in ("mae", "mse", "loss")) else "max"

    def summary(self, k: int = 5) -> str:
        """A text table of the `k` best trials (default 5)."""
        name = self.objective["name"]
        lines = [f"{'rank':>4}  {'trial':>5}  {name:>14}  {'params':>9}  {'fit s':>6}  architecture"]
        for rank, r in enumerate(self.best_trials(k), start=1):
            params = r.params if is_finite_number(r.params) else float("nan")
            lines.append(f"{rank:>4}  {r.trial_id:>5}  {r.score:>14.4f}  {params:>9.0f}  "
                         f"{r.fit_time or 0:>6.1f}  {r.architecture}")
        cut = [r.trial_id for r in self.history if r.cut]
        if cut:
            lines.append(f"cut by the time budget (partial scores, not ranked above finished "
                         f"trials): trial(s) {', '.join(cut)}")
        lines += [f"failed: trial {r.trial_id} ({r.architecture}): {r.reason or r.status}"
                  for r in self.history if r.status == "FAILED"]
        if self.selection:
            from kerasnas.automl.selection import describe

            label = "returned" if self.returned == "search" else "selected trial"
            lines.append(f"{label}: {describe(self.selection)}")
        if self.baselines:
            lines.append(f"baselines on the same validation data{self._metric_note()}: "
                         + self.describe_baselines())
        if self.returned != "search":
            lines.append(f"returned: {self.returned}, not the searched architecture (it did "
                         "not beat this baseline; search(baseline_fallback=False) keeps it)")
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _metric_note(self) -> str:
        return f" ({self.baseline_metric})" if self.baseline_metric else ""

    def describe_baselines(self) -> str:
        """E.g. `"trivial (mean) 1.0214, linear (ridge, alpha=31.6) 0.8123"`."""
        parts = []
        for key, value in self.baselines.items():
            info = dict(self.baseline_models.get(key) or {})
            name = info.pop("model", None)
            how = ", ".join([str(name), *(f"{k}={v:.3g}" for k, v in info.items()
                                          if is_finite_number(v))]) if name else ""
            parts.append(f"{key} ({how}) {value:.4f}" if how else f"{key} {value:.4f}")
        return ", ".join(parts)

    # --------------------------------------------------------- prediction
    def predict_proba(self, x, batch_size: int = 256) -> np.ndarray:
        """Class probabilities, shape `(N, num_classes)` (classification only)."""
        if self.task.problem != "classification":
            raise ValueError("predict_proba is for classification; this search was a "
                             "regression: use predict().")
        return self.model.predict(as_model_input(x, self.task), batch_size=batch_size, verbose=0)

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """Predicted labels in `y`'s own values (classification) or predicted targets (regression).

        Args:
            x: Examples in the same form as the training `x` (numpy array or
                pandas DataFrame); images may omit a trailing channel axis of 1.
            batch_size: Default 256.
        """
        outputs = self.model.predict(as_model_input(x, self.task), batch_size=batch_size,
                                     verbose=0)
        if self.task.problem == "classification":
            from kerasnas.data import decode_labels

            return decode_labels(np.argmax(outputs, axis=-1), self.task)
        return outputs[:, 0] if outputs.shape[-1] == 1 else outputs

    def evaluate(self, x, y) -> dict[str, float]:
        """`{"accuracy": ...}` (classification) or `{"mse": ..., "mae": ...}` (regression)."""
        prediction = self.predict(x)
        y = np.asarray(y)
        if len(y) != len(prediction):
            raise ValueError(f"x has {len(prediction)} examples but y has {len(y)}.")
        if self.task.problem == "classification":
            if y.ndim == 2 and y.shape[1] == len(self.task.classes or ()) and y.shape[1] > 1:
                y = np.asarray(self.task.classes)[np.argmax(y, axis=1)]  # one-hot labels
            return {"accuracy": float(np.mean(prediction == y.reshape(prediction.shape)))}
        error = np.asarray(prediction, dtype=np.float64) - y.reshape(np.shape(prediction))
        return {"mse": float(np.mean(error ** 2)), "mae": float(np.mean(np.abs(error)))}

    # ------------------------------------------------------------- outputs
    def export(self, directory, *, formats=("keras", "savedmodel", "tflite"),
               name="kerasnas_model", version=1, quantize="auto",
               representative_data=None) -> dict[str, str]:
        """Exports the model for deployment; see `kerasnas.deploy.export.export_model`.

        Args:
            directory: Output folder (created if missing).
            formats: Any of `"keras"`, `"savedmodel"` (TF Serving layout
                `directory/name/version/`), `"tflite"` (float32). Default: all three.
                Each takes examples in the training `x`'s own shape and dtype.
            name: Model name (default `"kerasnas_model"`).
            version: TF Serving version (default 1).
            quantize: A quantized `.tflite` written beside the float one,
                `directory/name_MODE.tflite`: `"auto"` (default) writes the
                mode the search measured its candidates in when it quantized
                (`self.hardware["quantize"]`), none otherwise; `"int8"`,
                `"float16"` or `"dynamic"` on request; None for none.
            representative_data: Training inputs that calibrate an int8 export
                (default None: the rows the search kept, `self.calibration`).

        Returns:
            `{format: path}`; the quantized file under `"tflite_MODE"`.

        Example:

        >>> result = kerasnas.search(x, y, latency_budget_ms=0.05)   # doctest: +SKIP
        >>> result.export("exports")["tflite_int8"]                   # doctest: +SKIP
        'exports/kerasnas_model_int8.tflite'
        """
        from kerasnas.deploy.export import export_model

        mode = self.quantize_mode(quantize)
        data = representative_data
        if mode == "int8" and data is None:
            data = self.calibration
            if data is None:
                raise ValueError(
                    "An int8 .tflite needs calibration data, and this search kept none (it did "
                    "not quantize): pass representative_data=x_train (about 100 training "
                    "examples), or quantize='dynamic', which needs none.")
        elif mode == "int8":
            if self.task.columns is not None:
                raise ValueError(
                    "The int8 .tflite of a table takes encoded rows (TFLite has no string "
                    "lookups), so raw columns cannot calibrate it: leave representative_data "
                    "out when the search quantized (it kept encoded rows), or search with "
                    "quantize='int8' to keep them.")
            data = as_model_input(data, self.task)
        classes = self.task.classes if self.task.problem == "classification" else None
        return export_model(self.model, directory, formats=formats, name=name, version=version,
                            classes=classes, input_shape=self.task.raw_shape,
                            input_dtype=self.task.raw_dtype, quantize=mode,
                            representative_data=data)

    def quantize_mode(self, quantize="auto") -> str | None:
        """The quantized `.tflite` mode `export(quantize=...)` writes, or None for none."""
        if quantize == "auto":
            mode = (self.hardware or {}).get("quantize")
            return None if mode in (None, "float32") else mode
        if quantize is None or quantize == "float32":
            return None
        from kerasnas.hardware.conversion import check_mode

        return check_mode(quantize)

    def report(self, path) -> str:
        """Writes an HTML page with the leaderboard and plots; returns its path."""
        from kerasnas.deploy.report import write_report

        return write_report(self, path)

    # --------------------------------------------------------- persistence
    def save(self, directory) -> str:
        """Saves the model and the search record to `directory` (reload with `load`)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        from kerasnas.infra.atomic import replacing

        with replacing(directory / _MODEL_FILE) as tmp:  # a kill leaves the old model or the new
            self.model.save(tmp)
        data = {
            "architecture": None if self.architecture is None else self.architecture.to_json(),
            "task": _task_to_dict(self.task),
            "objective": self.objective,
            "history": [r.to_dict() for r in self.history],
            "refit_history": self.refit_history,
            "stopped_by": self.stopped_by,
            "search_time": self.search_time,
            "directory": self.directory,
            "baselines": self.baselines,
            "baseline_models": self.baseline_models,
            "baseline_metric": self.baseline_metric,
            "returned": self.returned,
            "warnings": self.warnings,
            "darts": self.darts,
            "estimation": self.estimation,
            "selection": self.selection,
        }
        data["hardware"] = self.hardware
        data["layer_modules"] = _layer_modules(self.model)
        if self.calibration is not None:
            from kerasnas.infra.atomic import write_bytes

            buffer = io.BytesIO()
            np.save(buffer, self.calibration)
            write_bytes(directory / _CALIBRATION_FILE, buffer.getvalue())
        _write_atomically(directory / _RESULT_FILE, json.dumps(_jsonable(data), indent=1))
        return str(directory)

    @classmethod
    def load(cls, directory) -> "SearchResult":
        """Reloads a `SearchResult` written by `save` (or by `kerasnas.search`)."""
        directory = Path(directory)
        if not (directory / _RESULT_FILE).exists():
            raise FileNotFoundError(
                f"No saved search result in {directory} (expected {_RESULT_FILE} and "
                f"{_MODEL_FILE}); pass the folder that kerasnas.search() or `kerasnas search` "
                "printed as 'result saved to'.")
        import keras

        from kerasnas.infra.preflight import read_json
        from kerasnas.spaces.architecture import Architecture

        rerun = ("Save the result again (SearchResult.save) or re-run the same "
                 "kerasnas.search() call, which resumes from its trials")
        data = read_json(directory / _RESULT_FILE, what="a saved search result", fix=rerun)
        missing = sorted({"task", "objective", "history"} - set(data)) \
            if isinstance(data, dict) else ["task"]
        if missing or not (directory / _MODEL_FILE).is_file():
            lacks = missing or [_MODEL_FILE]
            raise ValueError(f"{directory} is not a kerasnas search result: it lacks {lacks}. "
                             f"Pass the folder kerasnas.search() saved (its 'result saved to'), "
                             f"or {rerun[0].lower()}{rerun[1:]}.")
        _import_layer_modules(data.get("layer_modules", ()))
        model = keras.saving.load_model(directory / _MODEL_FILE)
        arch = data["architecture"]
        return cls(model=model, architecture=None if arch is None else Architecture.from_json(arch),
                   task=_task_from_dict(data["task"]), objective=data["objective"],
                   history=[TrialRecord(**r) for r in data["history"]],
                   refit_history=data["refit_history"], stopped_by=data["stopped_by"],
                   search_time=data["search_time"], directory=data["directory"],
                   baselines=data.get("baselines"), warnings=data.get("warnings"),
                   darts=data.get("darts"), estimation=data.get("estimation"),
                   selection=data.get("selection"), returned=data.get("returned"),
                   baseline_models=data.get("baseline_models"),
                   baseline_metric=data.get("baseline_metric"), hardware=data.get("hardware"),
                   calibration=_read_calibration(directory, rerun))

    def plot_architecture(self):
        """The best architecture drawn as SVG (a `kerasnas.viz.Drawing`; `.save("a.svg")`).

        Drawn for the task's input shape, the one the refit model takes (a down-scaled
        proxy search may have trained at another resolution), so a residual stack shows
        exactly which blocks stride. The report and the notebook view show this drawing.
        """
        from kerasnas.viz.draw import draw_architecture

        return draw_architecture(self.architecture,
                                 None if self.task is None else self.task.input_shape)

    def _repr_html_(self):
        """Notebook display: summary, the drawn architecture, two plots, the top trials."""
        from kerasnas.viz.notebook import result_html

        return result_html(self)

    def __repr__(self):
        best = self.best_trials(1)
        score = f"{best[0].score:.4f}" if best else "n/a"
        returned = "" if self.returned == "search" else f", returned={self.returned!r}"
        return (f"SearchResult({len(self.history)} trials, best {self.objective['name']}="
                f"{score}, architecture={str(self.architecture)!r}{returned})")


def _read_calibration(directory, fix):
    """The calibration rows `save` wrote, or None when there are none."""
    path = Path(directory) / _CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is damaged ({err}): delete it to export without int8 "
                         f"calibration, or {fix[0].lower()}{fix[1:]}.") from None


def as_model_input(x, task) -> np.ndarray:
    """`x` as a float32 array of shape `(N,) + task.input_shape`.

    Accepts a numpy array (a missing trailing channel axis of size 1 is added)
    or a pandas DataFrame (its `task.feature_names` columns are used). For a
    typed table (`task.columns`), `{column input name: (N,) array}` instead. For
    unequal-length series (`task.max_length`), a list of series (or a NaN-tailed
    array) as the `(N, T, C)` batch of `kerasnas.data.ragged.model_input`.
    """
    if getattr(task, "max_length", None) is not None:
        from kerasnas.data.ragged import model_input

        return model_input(x, task)
    if task.columns is not None:
        from kerasnas.data.columns import column_inputs

        return column_inputs(x, task.columns)
    if hasattr(x, "to_numpy") and hasattr(x, "columns"):
        names = list(task.feature_names or x.columns)
        missing = [n for n in names if n not in x.columns]
        if missing:
            raise ValueError(f"x lacks the column(s) {missing} the model was trained on.")
        x = x[names].to_numpy()
    try:
        array = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise TypeError(f"x must be numeric (a numpy array or DataFrame of numbers): {err}") from None
    shape = tuple(task.input_shape)
    raw = tuple(task.raw_shape or shape)
    if array.shape[1:] == shape:
        return array
    if array.shape[1:] == raw or array.shape[1:] + (1,) == shape:
        return array.reshape((len(array),) + shape)
    raise ValueError(f"x has per-example shape {array.shape[1:]}, but this search was trained on "
                     f"examples of shape {raw}; pass x of shape (N, {', '.join(map(str, raw))}).")


def _layer_modules(model) -> list[str]:
    """Modules defining the model's non-Keras layer classes (kerasnas's own, a user's ops).

    Custom layers register with Keras when their module is imported; `load`
    imports these first so a fresh process can rebuild the model.
    """
    modules = {"kerasnas.spaces.layers"}
    stack = [model]
    while stack:
        layer = stack.pop()
        module = type(layer).__module__
        if not module.startswith("keras") and module != "__main__":
            modules.add(module)
        stack.extend(getattr(layer, "layers", ()))
    return sorted(modules)


def _import_layer_modules(modules) -> None:
    import importlib
    import warnings

    for module in ["kerasnas.spaces.layers", *modules]:
        try:
            importlib.import_module(module)
        except ImportError as err:
            warnings.warn(f"Could not import {module!r}, which defines layers of the saved model "
                          f"({err}); import it before SearchResult.load.", stacklevel=3)


def _write_atomically(path: Path, text: str) -> None:
    """Writes `text` to `path` through a temporary file and a rename: never half-written."""
    from kerasnas.infra.atomic import write_text

    write_text(path, text)


def _darts_record(directory):
    """The record a DARTS search left in its project folder (`kerasnas.darts.oracle`), or None."""
    if directory is None or not (Path(directory) / "darts.json").exists():
        return None
    from kerasnas.darts.oracle import read_record

    return read_record(directory)


def _jsonable(value: Any):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _task_to_dict(task) -> dict:
    data = dataclasses.asdict(task)
    data["classes_dtype"] = None if task.classes is None else np.asarray(task.classes).dtype.str
    return _jsonable(data)


def _task_from_dict(data) -> Any:
    from kerasnas.data import TaskSpec

    data = dict(data)
    dtype = data.pop("classes_dtype", None)
    if data.get("classes") is not None:
        data["classes"] = tuple(np.asarray(data["classes"], dtype=dtype).tolist())
    for key in ("input_shape", "feature_names", "raw_shape"):
        if data.get(key) is not None:
            data[key] = tuple(data[key])
    return TaskSpec(**data)
