"""Column typing for tables: which columns are numbers, categories, flags, or dropped.

`infer_columns` reads a pandas DataFrame and returns one `Column` per column,
saying how the model will encode it (`kerasnas.data.tabular` builds the Keras
layers from them). The rules, each overridable with `column_types={name: type}`:

| column                                           | type            |
|--------------------------------------------------|-----------------|
| one distinct value (or none)                     | `"drop"` (constant) |
| strings or mixed values, every value different   | `"drop"` (identifier) |
| integers 0..N-1 (or any step-1 run), all distinct | `"drop"` (row number) |
| strings, pandas `category`, mixed objects        | `"categorical"` |
| integers with <= `MAX_CODES` distinct values     | `"categorical"` (integer-coded) |
| `bool`                                           | `"boolean"`     |
| other numbers (float, int)                       | `"numeric"`     |

Missing values never stop a search: numeric ones are imputed with the
training median (plus a 0/1 "was missing" feature when the training column had
any), missing categories are a category of their own (`""`), and categories
never seen in training map to one out-of-vocabulary slot.

Example:

>>> import pandas as pd
>>> frame = pd.DataFrame({"age": [31, 45, 27, 52, 38, 61, 22, 49, 33, 57, 40, 29],
...                       "city": ["Oslo", "Rome", "Oslo", None] * 3,
...                       "income": [3.1, None, 2.2, 4.0] * 3, "member": [True, False] * 6,
...                       "stars": [1, 2, 3] * 4})
>>> for c in infer_columns(frame):
...     print(c.name, c.type, c.dtype)
age numeric float32
city categorical string
income numeric float32
member boolean bool
stars categorical int64
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

#: Types a column can have (`column_types` values).
COLUMN_TYPES = ("numeric", "categorical", "boolean", "drop")
#: Integer columns with at most this many distinct values are read as category codes
#: (a 1-5 rating, a 0-3 class code); more distinct integers are read as quantities.
MAX_CODES = 10
#: A text column is an identifier (dropped) when at least this share of its values are
#: distinct: a name or an id predicts nothing about unseen rows and one-hot encodes to noise.
IDENTIFIER_SHARE = 0.9
#: ... judged only on at least this many rows (on 5 rows, 5 distinct cities is normal).
MIN_IDENTIFIER_ROWS = 20
#: One-hot slots per categorical column at most: the most frequent training categories
#: keep their own slot, rarer ones share the out-of-vocabulary slot (bounds the input width).
MAX_CATEGORIES = 64
#: The missing-category token of text columns (a category of its own).
MISSING_TOKEN = ""
#: The code a missing value of an integer-coded category becomes inside the model.
MISSING_CODE = int(np.iinfo(np.int64).min) + 1


@dataclasses.dataclass(frozen=True)
class Column:
    """How one column of a table is encoded.

    Attributes:
        name: The column's name in the user's DataFrame.
        type: `"numeric"`, `"categorical"`, `"boolean"` or `"drop"`.
        dtype: The dtype the exported model takes for it: `"float32"`,
            `"int64"`, `"string"` or `"bool"` (unused for dropped columns).
        input_name: The model's input name (the name made safe for SavedModel
            signatures: letters, digits, `_ . - /`).
        missing: Missing values in the training rows it was typed on.
        distinct: Distinct non-missing values there.
        note: Why it has its type, e.g. `"identifier: 100% distinct"`.
    """

    name: str
    type: str
    dtype: str
    input_name: str
    missing: int = 0
    distinct: int = 0
    note: str = ""


def infer_columns(frame, column_types=None) -> tuple[Column, ...]:
    """Types every column of `frame` (see the module docstring for the rules).

    Args:
        frame: A pandas DataFrame of features (without the target).
        column_types: Optional `{column name: type}` overriding the inferred
            types; a type is one of `COLUMN_TYPES`. Default None.

    Returns:
        A tuple of `Column`, in the frame's column order.

    Raises:
        ValueError: an override names an unknown column or type, or asks for a
            type the values cannot have (text as `"numeric"`); every column is
            dropped.
    """
    overrides = _check_overrides(frame, column_types)
    columns, used_names = [], set()
    for name in frame.columns:
        column = _type_column(frame[name], str(name), overrides.get(str(name)))
        input_name = _unique(_safe_name(column.name), used_names)
        columns.append(dataclasses.replace(column, input_name=input_name))
    if all(c.type == "drop" for c in columns):
        raise ValueError("Every column was dropped (" + "; ".join(
            f"{c.name}: {c.note}" for c in columns) + "); nothing is left to learn from. Keep "
            "columns with column_types={name: 'numeric' | 'categorical' | 'boolean'}.")
    return tuple(columns)


def as_frame(x):
    """A dict of columns or a numpy structured array as a pandas DataFrame; anything else as is.

    Example:

    >>> as_frame({"age": [31, 45], "city": ["Oslo", "Rome"]}).shape
    (2, 2)
    """
    if isinstance(x, dict) or (isinstance(x, np.ndarray) and x.dtype.names):
        import pandas as pd

        try:
            return pd.DataFrame(x)
        except ValueError as err:
            raise ValueError(f"x is a dict of columns that do not make a table ({err}); pass "
                             "one value per example in every column.") from None
    return x


def needs_columns(frame) -> bool:
    """Whether a DataFrame needs column typing: text, categories, mixed objects or missing values.

    All-number DataFrames without missing values keep the plain array path.
    """
    import pandas as pd

    for _, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype) or not (
                pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            return True
    return bool(frame.isna().to_numpy().any())


def schema_table(columns) -> str:
    """The schema as a short text table: column, type, model input dtype, missing, note."""
    width = max([len("column")] + [len(c.name) for c in columns])
    lines = [f"{'column':<{width}}  {'type':<11}  {'dtype':<7}  {'missing':>7}  note"]
    for c in columns:
        dtype = "-" if c.type == "drop" else c.dtype
        lines.append(f"{c.name:<{width}}  {c.type:<11}  {dtype:<7}  {c.missing:>7}  {c.note}")
    return "\n".join(lines)


def column_inputs(frame, columns) -> dict[str, np.ndarray]:
    """The model's inputs for `frame`: `{input_name: (N,) array}` in each column's model dtype.

    Missing text becomes `MISSING_TOKEN`, anything else becomes text in a text
    column, and numbers stay numbers with NaN for missing (the model imputes
    them). Extra columns are ignored; column order does not matter.

    Raises:
        TypeError: `frame` is not a DataFrame.
        ValueError: a column the model uses is absent, or a number column
            holds text.
    """
    import pandas as pd

    frame = as_frame(frame)
    if not (hasattr(frame, "columns") and hasattr(frame, "to_numpy")):
        raise TypeError(f"This model was trained on a DataFrame; pass a pandas DataFrame with "
                        f"the columns {[c.name for c in columns if c.type != 'drop']}, got "
                        f"{type(frame).__name__}.")
    by_name = {str(c): c for c in frame.columns}
    used = [c for c in columns if c.type != "drop"]
    absent = [c.name for c in used if c.name not in by_name]
    if absent:
        raise ValueError(f"x lacks the column(s) {absent} the model was trained on; pass a "
                         "DataFrame with every training column (missing values may be NaN).")
    inputs = {}
    for c in used:
        series = frame[by_name[c.name]]
        missing = pd.isna(series).to_numpy()
        if c.dtype == "string":
            values = np.array([MISSING_TOKEN if m else _text(v) for v, m in
                               zip(series.tolist(), missing, strict=True)], dtype=object)
        else:
            try:
                values = pd.to_numeric(series.astype(object).where(~missing, np.nan),
                                       errors="raise").to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"column {c.name!r} holds non-numbers, but the model reads it "
                                 f"as {c.type} ({c.dtype}); pass numbers there.") from None
            if c.dtype == "bool":
                values = np.where(missing, 0.0, values).astype(bool)
            elif c.dtype == "int64":
                values = np.where(missing, MISSING_CODE, np.round(
                    np.where(missing, 0, values))).astype(np.int64)
            else:
                values = values.astype(np.float32)
        inputs[c.input_name] = values
    return inputs


# --------------------------------------------------------------------------- typing
def _type_column(series, name, override) -> Column:
    import pandas as pd

    missing = int(pd.isna(series).sum())
    present = series[~pd.isna(series)]
    distinct = int(present.nunique())
    rows = len(present)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        source = "text" if dtype.categories.dtype.kind in "OSU" else _number_kind(
            dtype.categories.dtype)
    elif pd.api.types.is_bool_dtype(dtype):
        source = "bool"
    elif pd.api.types.is_numeric_dtype(dtype):
        source = _number_kind(dtype)
    else:
        source = "text"
    integral = source == "int" or (source == "float" and rows > 0 and bool(
        np.all(np.mod(present.to_numpy(dtype=np.float64), 1) == 0)))
    base = dict(name=name, input_name=name, missing=missing, distinct=distinct)

    if override is not None:
        return _forced(override, source, integral, base)
    if distinct <= 1:
        return Column(type="drop", dtype="-", note="constant", **base)
    if source == "bool":
        return Column(type="boolean", dtype="bool", note="true/false", **base)
    if source == "text":
        if rows >= MIN_IDENTIFIER_ROWS and distinct >= IDENTIFIER_SHARE * rows:
            return Column(type="drop", dtype="-",
                          note=f"identifier: {distinct / rows:.0%} distinct", **base)
        kept = min(distinct, MAX_CATEGORIES)
        note = f"{distinct} categories" + ("" if kept == distinct else
                                           f", the {kept} most frequent one-hot")
        return Column(type="categorical", dtype="string", note=note, **base)
    if integral and rows >= MIN_IDENTIFIER_ROWS and distinct == rows:
        ordered = np.sort(present.to_numpy(dtype=np.float64))
        if np.all(np.diff(ordered) == 1):
            return Column(type="drop", dtype="-", note="identifier: a row number", **base)
    if source == "int" and distinct <= MAX_CODES:
        return Column(type="categorical", dtype="int64",
                      note=f"integer codes ({distinct} values)", **base)
    return Column(type="numeric", dtype="float32", note="number", **base)


def _forced(kind, source, integral, base) -> Column:
    name = base["name"]
    if kind == "drop":
        return Column(type="drop", dtype="-", note="column_types", **base)
    if kind == "numeric":
        if source == "text":
            raise ValueError(f"column_types[{name!r}] = 'numeric', but {name!r} holds text; use "
                             "'categorical' (or convert it to numbers first).")
        return Column(type="numeric", dtype="float32", note="column_types", **base)
    if kind == "boolean":
        if source != "bool":
            raise ValueError(f"column_types[{name!r}] = 'boolean', but {name!r} is not a bool "
                             "column; use 'categorical' for a two-valued column.")
        return Column(type="boolean", dtype="bool", note="column_types", **base)
    if source == "text":
        return Column(type="categorical", dtype="string", note="column_types", **base)
    if source == "bool":
        return Column(type="categorical", dtype="bool", note="column_types", **base)
    if not integral:
        raise ValueError(f"column_types[{name!r}] = 'categorical', but {name!r} holds numbers "
                         "that are not whole; use 'numeric', or convert the codes to text.")
    dtype = "int64" if source == "int" else "float32"
    return Column(type="categorical", dtype=dtype, note="column_types", **base)


def _check_overrides(frame, column_types) -> dict:
    if column_types is None:
        return {}
    if not isinstance(column_types, dict):
        raise TypeError(f"column_types must be a dict {{column name: type}}, e.g. "
                        f"{{'zip': 'categorical'}}; got {type(column_types).__name__}.")
    names = [str(c) for c in frame.columns]
    unknown = [k for k in column_types if str(k) not in names]
    if unknown:
        raise ValueError(f"column_types names column(s) {unknown} that x does not have; its "
                         f"columns are {names}.")
    bad = {k: v for k, v in column_types.items() if v not in COLUMN_TYPES}
    if bad:
        raise ValueError(f"column_types has unknown type(s) {bad}; choose from {COLUMN_TYPES}.")
    return {str(k): v for k, v in column_types.items()}


def _number_kind(dtype) -> str:
    kind = np.dtype(getattr(dtype, "numpy_dtype", dtype)).kind
    return {"b": "bool", "i": "int", "u": "int"}.get(kind, "float")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _safe_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.\-/]", "_", name)
    return safe if re.match(r"[A-Za-z0-9.]", safe) else "c" + safe


def _unique(name, used) -> str:
    candidate, i = name, 1
    while candidate in used:
        i += 1
        candidate = f"{name}_{i}"
    used.add(candidate)
    return candidate
