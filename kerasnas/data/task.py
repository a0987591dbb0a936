"""`TaskSpec` (what the data asks for) and `PreparedData` (validated, split arrays)."""

from __future__ import annotations

import dataclasses

import numpy as np

#: Input kinds a `TaskSpec` can have.
KINDS = ("image", "sequence", "tabular")


#: Problems a `TaskSpec` can have.
PROBLEMS = ("classification", "regression")


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """What the data asks for: input kind, problem, shapes and label values.

    Attributes:
        kind: `"image"`, `"sequence"` or `"tabular"`.
        problem: `"classification"` or `"regression"`.
        input_shape: Per-example shape the model's `Input` takes, e.g.
            `(8, 8, 1)`, `(100, 1)` or `(13,)`.
        num_classes: Number of classes (>= 2), classification only.
        classes: The user's label values; encoded label `i` is `classes[i]`
            (classification only).
        output_dim: Number of regression targets (1 for a 1-D target),
            regression only.
        feature_names: Column names of tabular data from pandas or CSV.
        raw_shape: Per-example shape of the `x` the user gave, before channel
            axes were added (`(8, 8)` for digits whose `input_shape` is
            `(8, 8, 1)`); exported models take this shape. None: `input_shape`.
        raw_dtype: numpy dtype name of the user's `x` (`"uint8"`,
            `"float64"`, ...); exported models take it. None: float32.
        columns: For a DataFrame with text, categories or missing values, the
            schema: one `kerasnas.data.columns.Column` per column, saying how
            it is encoded (or why it was dropped). None otherwise.
        max_length: For unequal-length series (`kerasnas.data.ragged`), the
            longest series' length `L_max`, which `input_shape` has and every
            series is brought to; None for fixed-shape data. `raw_shape` is then
            `(None, C)` (or `(None,)` for 1-D series): the result's model takes
            any length.
        min_length: The shortest training series' length (ragged input only).
        ragged_method: How series reach `max_length`: `"resample"` or `"pad"`
            (ragged input only).
        pad_values: With `"pad"`, the padding value of each channel (the
            training series' channel means).
        feature_layout: For an encoded table, what its features are, in order:
            `(kind, width)` groups with kind `"numeric"` (a numeric column),
            `"flag"` (a 0/1 missing flag or boolean) or `"categorical"` (one
            column's one-hot block); `TableSpace` reads it. None otherwise.

    Example:

    >>> task = TaskSpec("tabular", "classification", (4,), 3, ("a", "b", "c"), None, None)
    >>> task.loss, task.output_units, task.objective
    ('sparse_categorical_crossentropy', 3, 'val_accuracy')
    """

    kind: str
    problem: str
    input_shape: tuple
    num_classes: int | None = None
    classes: tuple | None = None
    output_dim: int | None = None
    feature_names: tuple | None = None
    raw_shape: tuple | None = None
    raw_dtype: str | None = None
    columns: tuple | None = None
    max_length: int | None = None
    min_length: int | None = None
    ragged_method: str | None = None
    pad_values: tuple | None = None
    feature_layout: tuple | None = None

    def __post_init__(self):
        if self.feature_layout is not None:  # from JSON: lists
            object.__setattr__(self, "feature_layout", tuple(
                (str(kind), int(width)) for kind, width in self.feature_layout))
        if self.pad_values is not None:  # from JSON: a list
            object.__setattr__(self, "pad_values", tuple(float(v) for v in self.pad_values))
        if self.columns is not None:  # from JSON: dicts back into Columns
            from kerasnas.data.columns import Column

            object.__setattr__(self, "columns", tuple(
                c if isinstance(c, Column) else Column(**c) for c in self.columns))

    @property
    def output_units(self) -> int:
        """Units of the model's last Dense layer."""
        return int(self.num_classes if self.problem == "classification" else self.output_dim)

    @property
    def output_activation(self) -> str:
        """`"softmax"` for classification, `"linear"` for regression."""
        return "softmax" if self.problem == "classification" else "linear"

    @property
    def loss(self) -> str:
        """Keras loss name: sparse categorical cross-entropy or mean squared error."""
        if self.problem == "classification":
            return "sparse_categorical_crossentropy"
        return "mean_squared_error"

    @property
    def metrics(self) -> tuple:
        """Keras metric names: `("accuracy",)` or `("mae",)`."""
        return ("accuracy",) if self.problem == "classification" else ("mae",)

    @property
    def objective(self) -> str:
        """Default search objective: `"val_accuracy"` or `"val_loss"`."""
        return "val_accuracy" if self.problem == "classification" else "val_loss"

    @property
    def objective_direction(self) -> str:
        """`"max"` for `"val_accuracy"`, `"min"` for `"val_loss"`."""
        return "max" if self.problem == "classification" else "min"

    def describe(self) -> str:
        """One line for logs, e.g. `image classification, input (8, 8, 1), 10 classes`."""
        if self.problem == "classification":
            what = f"{self.num_classes} classes"
        else:
            what = f"{self.output_dim} target(s)"
        shape = f"{tuple(self.input_shape)}{self.length_note}"
        return f"{self.kind} {self.problem}, input {shape}, {what}"

    @property
    def length_note(self) -> str:
        """For unequal-length series, e.g. `" (series of 75-150 steps, resampled to 150)"`."""
        if self.max_length is None:
            return ""
        how = "resampled to" if self.ragged_method == "resample" else "padded at the end to"
        return f" (series of {self.min_length}-{self.max_length} steps, {how} {self.max_length})"


@dataclasses.dataclass
class PreparedData:
    """Validated, split arrays and the inferred task.

    Attributes:
        x_train: float32, shape `(N,) + task.input_shape`, raw values (the
            model normalises them).
        y_train: int32 class indices (classification) or float32 targets.
        x_val: Like `x_train`, the validation examples.
        y_val: Like `y_train`, the validation targets.
        task: The `TaskSpec`.
        note: One line on how the input kind was inferred and how to override
            it (empty when `kind=` was given).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: TaskSpec
    note: str = ""
    #: For a typed table (`task.columns`), the Keras column encoder that turned its raw columns
    #: into `x_train` / `x_val`, adapted on the training rows (`kerasnas.data.tabular`).
    encoder: object = None

    def __repr__(self):
        return (f"PreparedData({self.task.describe()}; train {self.x_train.shape}, "
                f"val {self.x_val.shape})")
