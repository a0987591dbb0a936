"""Input adapters: validation with clear errors, task inference, splits, loading.

`prepare_data` turns what a user has (numpy arrays, pandas objects, a
`tf.data.Dataset`, or a data set name) into float32 arrays plus a `TaskSpec`
that says what kind of model to build. Every check runs before any training.

How the task is inferred (`kerasnas.data.inference.infer_kind`; each rule can be
overridden with `kind=` or `problem=`, and `PreparedData.note` says in one line
what was inferred and how to override it):

| x                          | kind (default)                                        |
|----------------------------|-------------------------------------------------------|
| `(N, H, W, C)`             | image                                                 |
| `(N, A, B)`                | image `(A, B, 1)` when both sides look spatial (each  |
|                            | >= 8, neither > 4x the other: `(8, 8)`, `(28, 28)`);  |
|                            | else a sequence of length A with B channels           |
|                            | (`(40, 1)`, `(100, 6)`)                               |
| `(N, D)` numpy             | a sequence `(D, 1)` when the columns behave like a    |
|                            | signal (>= 16 columns of one scale, neighbours        |
|                            | correlated: `looks_like_signal`); else tabular        |
| pandas DataFrame           | always tabular                                        |
| list of `(L_i, C)` or      | a sequence whose series differ in length, brought to  |
| `(L_i,)` arrays, lengths   | the longest `L_max` (`ragged="resample"` or `"pad"`;  |
| differing                  | see `kerasnas.data.ragged`)                           |

| y                                   | problem (default)                     |
|-------------------------------------|---------------------------------------|
| int, str or bool labels `(N,)`      | classification                        |
| one-hot rows `(N, K)` of 0/1        | classification with K classes         |
| float `(N,)`                        | regression, `output_dim=1`            |
| float `(N, K)` that is not one-hot  | regression, `output_dim=K`            |

Float labels are regression targets even when they are all whole numbers
(0.0/1.0): pass `problem="classification"` to treat them as classes.

Normalisation is not applied to the arrays: `normalization_layers` returns
Keras layers adapted on the training split, which go inside the model so it
takes raw inputs. Likewise the model predicts class indices and
`decode_labels` maps them back to the user's own label values.

Example:

>>> from kerasnas.data import load_dataset, prepare_data
>>> x, y = load_dataset("digits")
>>> data = prepare_data(x, y, seed=0)
>>> data.task.kind, data.task.problem, data.task.input_shape, data.task.num_classes
('image', 'classification', (8, 8, 1), 10)
"""

from kerasnas.data.labels import decode_labels, encode_labels
from kerasnas.data.loaders import TFDS_DOWNLOAD_HOST, load_dataset
from kerasnas.data.prepare import normalization_layers, prepare_data, target_scale
from kerasnas.data.task import KINDS, PROBLEMS, PreparedData, TaskSpec
from kerasnas.infra.validation import validate_budget, validate_choice

__all__ = [
    "KINDS", "PROBLEMS", "TaskSpec", "PreparedData", "prepare_data", "load_dataset",
    "normalization_layers", "target_scale", "encode_labels", "decode_labels", "validate_budget",
    "validate_choice", "TFDS_DOWNLOAD_HOST",
]
