"""Cheaper estimation as search options (#11): pre-screen, down-scaled proxies, predictor-guided
search, and the arguments of `kerasnas.search` / `kerasnas search` / a plain Keras Tuner tuner."""

import keras
import keras_tuner
import numpy as np
import pytest

from kerasnas.estimation.fidelity import restore, set_downscale
from kerasnas.estimation.prescreen import Prescreen


# ------------------------------------------------------------------ pre-screen
def test_prescreen_discards_the_bottom_fraction_and_still_trains_max_trials(nb201_toy, tmp_path):
    from kerasnas.bench.nb201 import run_search
    from kerasnas.oracles import RegularizedEvolution

    enc, table = nb201_toy
    score = lambda arch: float(str(arch).count("none"))  # noqa: E731 - any cheap proxy
    oracle = RegularizedEvolution(objective="accuracy", seed=3, population_size=6, sample_size=2)
    oracle.prescreen = Prescreen(score, fraction=0.5, reference=10, name="nones")
    runs = run_search(oracle, table, max_trials=15, directory=str(tmp_path))
    assert len(runs) == 15  # max_trials counts trained trials only
    screen = oracle.prescreen
    assert screen.discarded, "nothing was discarded"
    trained = {arch for arch, _ in runs}
    for entry in screen.discarded:  # recorded, below the threshold, never trained
        assert entry["score"] < entry["threshold"]
        assert entry["arch"] not in trained
    assert screen.kept >= 15
    state = oracle.get_state()["kerasnas"]["prescreen"]  # persisted with the oracle
    assert state["discarded"] == screen.discarded
    fresh = Prescreen(score, fraction=0.5)
    fresh.set_state(state)
    assert fresh.record()["discarded"] == screen.record()["discarded"]


def test_prescreen_rejects_bad_settings():
    from kerasnas.estimation.prescreen import check_proxy, proxy_scorer

    for bad in (0, 1, 1.5, -0.1, True, "half"):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            Prescreen(lambda a: 0.0, fraction=bad)
    with pytest.raises(ValueError, match="Unknown zero-cost proxy 'nope'.*naswot"):
        check_proxy("nope")
    with pytest.raises(TypeError, match="callable"):
        Prescreen(3.0)
    with pytest.raises(ValueError, match="needs labels"):
        proxy_scorer(None, np.zeros((4, 8, 8, 1)), proxy="snip")


def test_proxy_names_match_the_proxies():
    from kerasnas.estimation.prescreen import PROXY_NAMES
    from kerasnas.estimation.proxies import PROXIES

    assert tuple(PROXIES) == PROXY_NAMES


# ------------------------------------------------------------ down-scaled proxies
@pytest.mark.parametrize("name, args, spec", [
    ("MacroSpace", {"widths": (8, 16), "max_layers": 3}, {"width": 0.5}),
    ("ResidualSpace", {"widths": (8, 16), "blocks": (2,)}, {"width": 0.5}),
    ("CellSpace", {"channels": 8, "num_cells": 3, "num_blocks": 2}, {"width": 0.5, "cells": 1}),
])
def test_downscale_builds_smaller_and_restores_full_size(name, args, spec):
    import kerasnas.spaces

    space = getattr(kerasnas.spaces, name)((8, 8, 1), num_classes=10, **args)
    arch = space.sample(np.random.default_rng(0))
    full = space.cost(arch)
    assert set_downscale(space, spec) == spec
    small = space.cost(arch)
    assert small["params"] < full["params"] and small["flops"] < full["flops"]
    restore(space)
    assert space.cost(arch) == full


def test_downscale_resolution_shrinks_images_only():
    from kerasnas.spaces import DenseSpace, MacroSpace

    space = MacroSpace((8, 8, 1), num_classes=10, widths=(8,), max_layers=2)
    arch = space.sample(np.random.default_rng(1))
    full = space.cost(arch)
    set_downscale(space, {"resolution": 0.5})
    model = space.build_architecture(arch, compile=False)
    assert model.get_layer("fidelity_resize").output.shape[1:3] == (4, 4)
    assert space.cost(arch)["flops"] < full["flops"]
    sequences = MacroSpace((16, 1), num_classes=3, widths=(8,), max_layers=2)
    with pytest.raises(ValueError, match="no downscale knob \\['resolution'\\]"):
        set_downscale(sequences, {"resolution": 0.5})
    with pytest.raises(ValueError, match="DenseSpace has no downscale knob \\['width'\\]"):
        set_downscale(DenseSpace((5,), num_classes=2), 0.5)
    with pytest.raises(ValueError, match="no downscale knob \\['cells'\\]"):
        set_downscale(space, {"cells": 1})
    for bad, match in ((0.0, "width must be a number in \\(0, 1\\]"),
                       ({"width": 2}, "width must be a number in \\(0, 1\\]"),
                       ({"cells": 0}, "cells must be an int >= 1"),
                       ({"depth": 1}, "Unknown downscale knob")):
        with pytest.raises(ValueError, match=match):
            set_downscale(space, bad)


# --------------------------------------------------------- predictor-guided search
def test_predictor_guided_search_finds_the_optimum_of_a_known_landscape(nb201_toy, tmp_path):
    from kerasnas.bench.nb201 import run_search
    from kerasnas.estimation.guided import PredictorGuided

    enc, table = nb201_toy
    oracle = PredictorGuided(objective="accuracy", predictor="gp", space=enc, seed=1)
    runs = run_search(oracle, table, max_trials=25, directory=str(tmp_path))
    accuracies = [acc for _, acc in runs]
    # One cell of 15,625 is all 3x3 convolutions: random search finds it with p ~ 0.002.
    assert max(accuracies) == max(table.values())
    assert max(accuracies[:10]) < max(table.values())  # found by the predictor, not the start
    with pytest.raises(ValueError, match="Unknown predictor 'svm'"):
        PredictorGuided(objective="accuracy", predictor="svm")


# ------------------------------------------------------- kerasnas.search arguments
@pytest.mark.parametrize("kwargs, error, match", [
    ({"prescreen": "nope"}, ValueError, "Unknown zero-cost proxy 'nope'"),
    ({"prescreen": "naswot", "prescreen_fraction": 1.0}, ValueError, "strictly between 0 and 1"),
    ({"halving": {"eta": 1}}, ValueError, "halving eta must be an int >= 2"),
    ({"halving": {"min_epochs": 5}, "epochs": 3}, ValueError, "min_epochs \\(5\\) must be <="),
    ({"halving": {"rungs": 3}}, ValueError, "Unknown halving key"),
    ({"halving": True, "cv_folds": 3}, ValueError, "pass cv_folds=None"),
    ({"predictor": "svm"}, ValueError, "Unknown predictor 'svm'"),
    ({"predictor": "gp", "strategy": "evolution"}, ValueError, "Leave strategy='auto'"),
    ({"downscale": 0.5, "refit": False}, ValueError, "Keep refit=True"),
    ({"downscale": {"width": 1.5}}, ValueError, "width must be a number in"),
    ({"curve_stopping": "yes"}, TypeError, "curve_stopping must be"),
])
def test_search_rejects_bad_estimation_arguments_before_any_data(kwargs, error, match):
    import kerasnas

    with pytest.raises(error, match=match):  # x is not even data: the checks come first
        kerasnas.search(object(), None, **kwargs)


@pytest.mark.slow  # a whole search + refit: 74-81 s at load 8; keeps make test under 20 min
def test_search_with_prescreen_and_downscale_records_both(tmp_path, digits):
    import kerasnas

    x_train, y_train, x_val, y_val = digits
    result = kerasnas.search(
        x_train[:200], y_train[:200], validation_data=(x_val, y_val), space="macro",
        widths=(8, 16), max_layers=2, max_trials=2, epochs=1, min_steps=0, cv_folds=None,
        seed=1, verbose=0, directory=tmp_path / "run", prescreen="params",
        prescreen_fraction=0.5, downscale={"width": 0.5, "resolution": 0.5},
        curve_stopping=True, baseline_fallback=False)  # the refit full-size model, not a baseline
    finished = [t for t in result.history if t.status == "COMPLETED"]
    assert len(result.history) == 2
    for record in finished:
        assert record.metrics["fidelity_width"] == 0.5
        assert record.metrics["fidelity_resolution"] == 0.5
    est = result.estimation
    down = est["downscale"]
    assert down["knobs"] == {"width": 0.5, "resolution": 0.5}
    assert down["params_at_search"] < down["params_at_refit"]
    assert result.model.count_params() == down["params_at_refit"]
    assert est["prescreen"]["proxy"] == "params" and est["prescreen"]["discarded"]
    assert est["settings"]["curve_stopping"]["z"] == pytest.approx(1.645)
    reloaded = kerasnas.SearchResult.load(tmp_path / "run" / "result")
    assert reloaded.estimation["downscale"] == down


def test_cli_flags_reach_search_arguments():
    from kerasnas.cli import build_parser
    from kerasnas.estimation.search_options import cli_kwargs

    args = build_parser().parse_args([
        "search", "--data", "digits", "--curve-stopping", "--halving", "--halving-eta", "2",
        "--prescreen", "synflow", "--prescreen-fraction", "0.25", "--predictor", "ranker",
        "--downscale-width", "0.5", "--downscale-cells", "2"])
    assert cli_kwargs(args) == {
        "curve_stopping": True, "halving": {"eta": 2, "min_epochs": 1}, "prescreen": "synflow",
        "prescreen_fraction": 0.25, "predictor": "ranker",
        "downscale": {"width": 0.5, "cells": 2}}
    plain = cli_kwargs(build_parser().parse_args(["search", "--data", "digits"]))
    assert plain == {"curve_stopping": False, "halving": None, "prescreen": None,
                     "prescreen_fraction": 0.5, "predictor": None, "downscale": None}


# ------------------------------------------------------- a plain keras_tuner.Tuner
class _CountEpochs(keras.callbacks.Callback):
    """Epochs each fit ran (a class list: Keras Tuner deep-copies callbacks per trial)."""

    epochs = []

    def on_train_end(self, logs=None):
        _CountEpochs.epochs.append(len(self.model.history.epoch))


@pytest.mark.slow  # three trained trials: 55 s on the loaded 2-core machine
def test_every_option_in_a_plain_keras_tuner_tuner(tmp_path, digits):
    from kerasnas.estimation import LearningCurveStopping
    from kerasnas.estimation.guided import PredictorGuided
    from kerasnas.estimation.prescreen import proxy_scorer
    from kerasnas.spaces import MacroSpace

    x_train, y_train, x_val, y_val = digits
    space = MacroSpace((8, 8, 1), num_classes=10, widths=(4, 8), max_layers=2, stem_channels=4)
    full_space = MacroSpace((8, 8, 1), num_classes=10, widths=(4, 8), max_layers=2,
                            stem_channels=4)
    set_downscale(space, {"width": 0.5})
    oracle = PredictorGuided(objective="val_accuracy", predictor="ranker", max_trials=3,
                             num_initial_points=2, seed=4)
    oracle.prescreen = Prescreen(proxy_scorer(space, x_train[:32], proxy="params"),
                                 fraction=0.5, reference=4, name="params")
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory=str(tmp_path),
                              project_name="plain")
    tuner.search(x_train[:100], y_train[:100], validation_data=(x_val, y_val), epochs=5,
                 verbose=0, callbacks=[LearningCurveStopping(best=2.0, min_epochs=3),  # unbeatable
                                       _CountEpochs()])
    trials = list(oracle.trials.values())
    assert len(trials) == 3 and oracle.prescreen.discarded
    assert _CountEpochs.epochs == [3, 3, 3]  # each trial stopped after 3 of its 5 epochs
    for trial in trials:
        arch = oracle.architecture_of(trial)
        assert space.cost(arch)["params"] < full_space.cost(arch)["params"]


def test_apply_and_attach_wire_each_option(tmp_path):
    from kerasnas.estimation import LearningCurveStopping, SuccessiveHalving
    from kerasnas.estimation.guided import PredictorGuided
    from kerasnas.estimation.search_options import (
        apply_estimation,
        check_estimation,
        tuner_arguments,
    )
    from kerasnas.oracles import RegularizedEvolution
    from kerasnas.spaces import MacroSpace
    from kerasnas.tuner.loop import NASTuner
    from kerasnas.tuner.recipe import TrainingRecipe

    space = MacroSpace((8, 8, 1), num_classes=10, widths=(4, 8), max_layers=2)
    options = check_estimation(curve_stopping=True, halving={"eta": 2, "min_epochs": 1},
                               predictor="ranker", epochs=4)
    evolution = RegularizedEvolution(objective="val_accuracy", max_trials=9, seed=1,
                                     warm_start=space.hand_designs()[:1] or [space.sample(0)])
    oracle, name = apply_estimation(options, evolution, "auto", space, data=None, seed=1)
    assert name == "predictor-ranker-halving"
    assert isinstance(oracle, SuccessiveHalving) and isinstance(oracle.inner, PredictorGuided)
    assert oracle.budgets == [1, 2, 4] and oracle.max_trials == 9
    assert oracle.warm_start == evolution.warm_start  # hand designs still come first
    arguments = tuner_arguments(options, TrainingRecipe(), 5)
    tuner = NASTuner(oracle, space, verbose=0, directory=str(tmp_path), project_name="wired",
                     **arguments)
    assert isinstance(tuner.curve_stopping, LearningCurveStopping)
    assert tuner.recipe.min_steps == 0 and tuner.cv_folds is None  # rungs train their epochs
    off = check_estimation()
    assert apply_estimation(off, evolution, "evolution", space, None) == (evolution, "evolution")
    assert off.describe() == {"curve_stopping": None, "halving": None, "prescreen": None,
                              "prescreen_fraction": None, "predictor": None, "downscale": None}
