"""`kerasnas.search(x, y, strategy="darts")` (first order), `"darts2"` (second order), `"pcdarts"`.

`"pcdarts"` is PC-DARTS (Xu et al., ICLR 2020): first order, each edge's ops on
a quarter of the channels (`partial_channels=4`) and edge normalisation;
`strategy_args` can change both. `"ddarts"` is D-DARTS's cell-level search
(Heuillet et al., 2021): a `CellSpace(macro=True)`, so every cell has its own α
instead of one normal and one reduction cell shared by all (first order); a
deeper network is then derived from the searched cells with
`kerasnas.darts.deepen(arch, num_cells)`.

What the one-liner does with them:

1. Before any data is touched, `check_space` refuses a space DARTS has no
   supernet for (only `CellSpace` and `NB201Space` have one).
2. `space="auto"` becomes a `CellSpace` for images and sequences
   (`AUTO_SPACE`, see `space_for`); tables get a clear error.
3. `make_oracle` returns a `DartsOracle` whose first (and only) trial runs the
   supernet search on the one-liner's training split, which
   `kerasnas.darts.search` halves (one half trains w, the other drives α), for at
   most `SEARCH_SHARE` of the time left, with a line per epoch when `verbose`.
4. The derived `Architecture` is then trained by the tuner like any trial (it is
   trial `00` of the Keras Tuner project and the leaderboard), refit, saved,
   exported and reported as usual; `SearchResult.darts` holds the α trajectory
   and the report draws it (`kerasnas.viz.alpha`).

`strategy_args` go to `kerasnas.darts.search`: `epochs`, `batch_size`,
`learning_rate`, `min_learning_rate`, `max_skips` (DARTS+ early stopping),
`warmup_epochs` (α frozen at first), `stop_ops` (what DARTS+ counts), `run_eagerly`.

Example:

>>> import kerasnas
>>> result = kerasnas.search(x, y, strategy="darts", channels=8,
...                         strategy_args={"epochs": 5, "max_skips": 2})   # doctest: +SKIP
>>> result.darts["alpha_trajectory"][-1]["normal"]                          # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import time

#: DARTS strategy names and their order (1: first-order, ξ = 0; 2: the unrolled step).
ORDERS = {"darts": 1, "darts2": 2, "pcdarts": 1, "ddarts": 1}
#: Each name's default `kerasnas.darts.search` arguments: PC-DARTS's K = 4 (the paper's on
#: CIFAR-10) and edge normalisation.
VARIANTS = {"darts": {}, "darts2": {}, "ddarts": {},
            "pcdarts": {"partial_channels": 4, "edge_normalisation": True}}
#: Space arguments a name needs: D-DARTS searches one genotype per cell.
SPACE_ARGS = {"ddarts": {"macro": True}}
#: Spaces DARTS has a supernet for (names of `kerasnas.search(space=...)`).
SPACES = ("cell", "nb201")
#: `space="auto"` with DARTS: the `CellSpace` (the paper's space; every candidate op on
#: every edge of a 2D or 1D cell). `NB201Space` is the other choice (`space="nb201"`).
AUTO_SPACE = "cell"
#: Share of the time left (of `time_budget`) the supernet search may use; the rest trains
#: the derived architecture as a trial and refits it. Half: the supernet's step costs
#: several derived steps, and the derived network then trains from scratch twice.
SEARCH_SHARE = 0.5
#: `strategy_args` DARTS accepts (the arguments of `kerasnas.darts.search` it passes on).
SEARCH_ARGS = ("epochs", "batch_size", "learning_rate", "min_learning_rate", "max_skips",
               "warmup_epochs", "stop_ops", "run_eagerly", "partial_channels",
               "edge_normalisation")


def is_darts(strategy) -> bool:
    """True for `"darts"`, `"darts2"`, `"pcdarts"` and `"ddarts"`."""
    return isinstance(strategy, str) and strategy in ORDERS


def check_space(strategy, space, space_class) -> None:
    """Raises `ValueError` when DARTS is asked to search a space it has no supernet for.

    Args:
        strategy: The checked strategy (a name or an oracle).
        space: The checked space: a name, a class or an instance.
        space_class: The class `kerasnas.automl.checks` resolved (None for `"auto"` and instances).
    """
    if not is_darts(strategy) or space == "auto":
        return
    from kerasnas.spaces import CellSpace, NB201Space

    cls = space_class or (space if inspect.isclass(space) else type(space))
    if strategy == "ddarts" and not (issubclass(cls, CellSpace) and (
            getattr(space, "macro", True) if not isinstance(space, str) else True)):
        raise ValueError("strategy='ddarts' (D-DARTS) searches one genotype per cell of a "
                         "CellSpace: pass space='cell' (or 'auto'), or a CellSpace(..., "
                         "macro=True).")
    if not issubclass(cls, (CellSpace, NB201Space)):
        name = space if isinstance(space, str) else cls.__name__
        raise ValueError(
            f"strategy={strategy!r} (DARTS) searches a CellSpace or an NB201Space only, not "
            f"{name!r}: pass space='cell' or space='nb201' (space='auto' picks 'cell'), or "
            f"keep space={name!r} with another strategy such as 'evolution'.")


def space_args_for(strategy, space_args):
    """`space_args` with what the DARTS variant `strategy` needs (D-DARTS: `macro=True`).

    Raises:
        ValueError: `strategy="ddarts"` with `macro=False`.
    """
    needed = SPACE_ARGS.get(strategy, {}) if isinstance(strategy, str) else {}
    for key, value in needed.items():
        if key in space_args and space_args[key] != value:
            raise ValueError(f"strategy={strategy!r} needs {key}={value!r}; got "
                             f"{key}={space_args[key]!r}.")
    return {**space_args, **needed}


def space_for(strategy, task):
    """The space name `space="auto"` means with DARTS for `task` (`AUTO_SPACE`).

    Raises:
        ValueError: For tabular data (DARTS cells convolve over images and sequences).
    """
    if task.kind == "tabular":
        raise ValueError(
            f"strategy={strategy!r} (DARTS) searches convolutional cells of images and "
            "sequences; this data is tabular. Use strategy='auto' (an MLP search), or pass "
            "kind='sequence' if the columns are really a signal.")
    return AUTO_SPACE


def make_oracle(strategy, objective, seed, strategy_args, context):
    """The `DartsOracle` of `kerasnas.search(strategy=...)`.

    Args:
        strategy: `"darts"` or `"darts2"`.
        objective: The search's objective.
        seed: Seeds the split, α and the supernet's weights.
        strategy_args: Keyword arguments of `kerasnas.darts.search` (`SEARCH_ARGS`).
        context: `(space, prepared data, start time (time.monotonic), time_budget or None,
            verbose)` from `kerasnas.search`.
    """
    from kerasnas.darts.oracle import DartsOracle

    unknown = sorted(set(strategy_args) - set(SEARCH_ARGS))
    if unknown:
        raise TypeError(f"Bad strategy_args for strategy={strategy!r}: {unknown}; DARTS accepts "
                        f"{list(SEARCH_ARGS)} (the arguments of kerasnas.darts.search).")
    space, data, started, time_budget, verbose = context
    deadline = None if time_budget is None else started + time_budget
    runner = make_runner(space, data, order=ORDERS[strategy], deadline=deadline,
                         verbose=verbose, seed=seed,
                         search_args={**VARIANTS[strategy], **strategy_args})
    return DartsOracle(objective, runner=runner, seed=seed)


def make_runner(space, data, *, order, deadline, verbose, seed, search_args):
    """A callable running the supernet search on `data`'s training split; returns its record."""

    def run():
        from kerasnas.darts.search import EPOCHS, search

        budget = None if deadline is None else max(1.0, SEARCH_SHARE * (deadline
                                                                   - time.monotonic()))
        epochs = search_args.get("epochs", EPOCHS)
        callbacks = [progress_callback(epochs)] if verbose else []
        if verbose:
            partial = search_args.get("partial_channels")
            name = "DARTS" if partial is None else f"PC-DARTS (K={partial})"
            print(f"{name} ({'second' if order == 2 else 'first'} order): supernet search on "
                  f"{len(data.x_train)} examples (halves for w and alpha), {epochs} epoch(s)"
                  + (f", at most {budget:.0f} s" if budget else "") + "...", flush=True)
        result = search(space, data.x_train, data.y_train, order=order, time_budget=budget,
                        seed=seed, callbacks=callbacks, **search_args)
        record = result.record()
        if verbose:
            print(f"DARTS derived {record['architecture']} in {record['search_seconds']:.0f} s; "
                  "training it as a trial.", flush=True)
        return record

    return run


def progress_callback(epochs):
    """A Keras callback printing one line per supernet epoch (the one-liner's progress)."""
    import keras

    from kerasnas.darts.derive import count_op

    class DartsProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            arch = self.model.derive()
            cell = "normal" if "normal" in getattr(arch.encoding, "cell_names", ()) else None
            metrics = ", ".join(f"{k} {float(v):.4f}" for k, v in logs.items())
            print(f"  DARTS epoch {epoch + 1}/{epochs}: {metrics}, skip_connect edges "
                  f"{count_op(arch, 'skip_connect', cell)}, {time.monotonic() - self.start:.0f} s",
                  flush=True)

    return DartsProgress()
