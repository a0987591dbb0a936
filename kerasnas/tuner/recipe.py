"""The training recipe every trial and the refit follow: batch size, length, learning-rate schedule.

A practitioner does not train 40 examples for "10 epochs" (about twenty
optimizer steps at batch 32: nothing learns) nor 50,000 examples at batch 8.
`TrainingRecipe` turns the user's `epochs` into a plan that holds across data
sizes:

* **batch size** (`batch_size="auto"`): 32 from 512 training examples up;
  below, the power of two nearest `n / 8` (at least 8), so small sets still
  take several steps per epoch;
* **length in steps**: epochs are raised until the run takes at least
  `min_steps` optimizer steps (default 300), so tiny data trains as long as
  it needs; early stopping's patience grows with them (a fifth of the epochs);
* **learning-rate schedule** (`lr_schedule="cosine"`, default): the rate
  decays from the optimizer's initial value to 0 along a half cosine over the
  planned epochs (Loshchilov & Hutter, SGDR, 2017), the schedule of most
  modern image and sequence recipes; `"constant"` keeps it fixed.

Example:

>>> recipe = TrainingRecipe()
>>> plan = recipe.plan(epochs=10, num_examples=32, patience=3)
>>> plan.batch_size, plan.epochs, plan.patience
(8, 75, 15)
"""

from __future__ import annotations

import dataclasses
import math

SCHEDULES = ("cosine", "constant")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one training run does: `epochs`, `batch_size`, early-stopping `patience`."""

    epochs: int
    batch_size: int
    patience: int | None


@dataclasses.dataclass(frozen=True)
class TrainingRecipe:
    """How kerasnas trains a candidate (see the module docstring for the reasons).

    Args:
        batch_size: `"auto"` (default) or a fixed positive int.
        min_steps: Fewest optimizer steps a run takes (default 300); 0 trains
            exactly the given epochs.
        lr_schedule: `"cosine"` (default) or `"constant"`.
    """

    batch_size: int | str = "auto"
    min_steps: int = 300
    lr_schedule: str = "cosine"

    def __post_init__(self):
        if self.batch_size != "auto" and (isinstance(self.batch_size, bool)
                                          or not isinstance(self.batch_size, int)
                                          or self.batch_size < 1):
            raise ValueError(f"batch_size must be 'auto' or a positive int; got "
                             f"{self.batch_size!r}.")
        if isinstance(self.min_steps, bool) or not isinstance(self.min_steps, int) \
                or self.min_steps < 0:
            raise ValueError(f"min_steps must be an int >= 0; got {self.min_steps!r}.")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"Unknown lr_schedule {self.lr_schedule!r}; choose one of "
                             f"{SCHEDULES}.")

    def batch_size_for(self, num_examples: int) -> int:
        """The batch size for `num_examples` training examples."""
        if self.batch_size != "auto":
            return int(self.batch_size)
        if num_examples >= 512:
            return 32
        return max(8, 2 ** int(round(math.log2(max(num_examples, 1) / 8))))

    def plan(self, epochs: int, num_examples: int, patience: int | None = None,
             batch_size: int | None = None) -> Plan:
        """The plan for a run of `epochs` on `num_examples` (a `batch_size` given wins)."""
        batch = int(batch_size) if batch_size else self.batch_size_for(num_examples)
        steps_per_epoch = max(1, math.ceil(num_examples / batch))
        planned = max(int(epochs), math.ceil(self.min_steps / steps_per_epoch))
        if patience is not None and planned > epochs:
            patience = max(int(patience), math.ceil(planned / 5))
        return Plan(planned, batch, patience)

    def callbacks(self, epochs: int) -> list:
        """Keras callbacks that apply the schedule over `epochs`."""
        if self.lr_schedule == "constant":
            return []
        return [CosineDecay(epochs)]


def _cosine_callback_class():
    import keras

    class _CosineDecay(keras.callbacks.Callback):
        """Sets the learning rate to `lr0 * (1 + cos(pi * epoch / epochs)) / 2` each epoch."""

        def __init__(self, epochs):
            super().__init__()
            self.epochs = int(epochs)
            self.initial = None

        def on_train_begin(self, logs=None):
            if self.initial is None:
                self.initial = float(keras.ops.convert_to_numpy(
                    self.model.optimizer.learning_rate))

        def on_epoch_begin(self, epoch, logs=None):
            fraction = min(epoch, self.epochs) / max(self.epochs, 1)
            self.model.optimizer.learning_rate = self.initial * 0.5 * (
                1.0 + math.cos(math.pi * fraction))

    return _CosineDecay


def CosineDecay(epochs):  # noqa: N802 - a class, built lazily so this module imports no Keras
    """A Keras callback decaying the learning rate along a half cosine over `epochs`."""
    return _cosine_callback_class()(epochs)
