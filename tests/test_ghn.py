"""GHN (`kerasnas.estimation.ghn`): predicted parameters fit each model, beat untrained ones
on unseen architectures, screen an oracle's proposals, start a trial; bad input is refused."""

import keras
import numpy as np
import pytest

from kerasnas.estimation.ghn import (
    CALIBRATION_EXAMPLES,
    GHNScores,
    GraphHyperNetwork,
    ghn_scorer,
)
from kerasnas.spaces import MacroSpace

#: A small digits space: trains and scores in seconds.
SMALL = dict(max_layers=3, widths=(8, 16), stem_channels=8)


def _space(**kwargs):
    return MacroSpace((8, 8, 1), num_classes=10, **{**SMALL, **kwargs})


def test_predicted_parameters_have_each_variables_shape_and_the_model_runs(digits):
    space = _space()
    ghn = GraphHyperNetwork(space, seed=0)  # untrained: the shapes are what is checked
    for seed in range(3):
        model = space.build_architecture(space.sample(seed))
        predicted = ghn.predict_parameters(model)
        assert [p.shape for p in predicted] == [tuple(v.shape) for v in model.trainable_variables]
        assert all(np.all(np.isfinite(p)) for p in predicted)
        ghn.load_into(model, digits.x_train)
        for variable, value in zip(model.trainable_variables, predicted, strict=True):
            np.testing.assert_allclose(np.asarray(variable), value, rtol=1e-5, atol=1e-6)
        out = model.predict(digits.x_val, verbose=0)
        assert out.shape == (len(digits.x_val), 10)
        np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-4)


def test_batchnorm_is_recalibrated_to_the_statistics_through_the_predicted_network(digits):
    space = _space()
    ghn = GraphHyperNetwork(space, seed=1)
    model = space.build_architecture(space.sample(4), compile=False)
    ghn.load_into(model, digits.x_train)
    x = digits.x_train[:CALIBRATION_EXAMPLES]
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            # The input of this BatchNorm in training mode is what inference mode now sees:
            # earlier BatchNorms normalise with the recalibrated statistics (the same batch).
            inputs = keras.Model(model.input, layer.input)(x, training=False)
            np.testing.assert_allclose(np.asarray(layer.moving_mean),
                                       np.mean(inputs, axis=(0, 1, 2)), atol=2e-4)
            np.testing.assert_allclose(np.asarray(layer.moving_variance),
                                       np.var(inputs, axis=(0, 1, 2)), rtol=2e-3, atol=2e-4)


def test_other_models_of_the_same_data_are_predicted_too(digits):
    # Any functional or sequential model of the space's input and classes: a node per layer.
    space = _space()
    ghn = GraphHyperNetwork(space, seed=0)
    sequential = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
                                   keras.layers.BatchNormalization(), keras.layers.Flatten(),
                                   keras.layers.Dense(10, activation="softmax")])
    predicted = ghn.predict_parameters(sequential)
    assert [p.shape for p in predicted] == [tuple(v.shape) for v in sequential.trainable_variables]
    assert 0.0 <= ghn.score(sequential, digits.x_val, digits.y_val,
                            x_calibration=digits.x_train) <= 1.0
    sequences = MacroSpace((16, 2), num_classes=3, **SMALL)  # 1D kernels (k, c_in, c_out)
    model = sequences.build_architecture(sequences.sample(0))
    predicted = GraphHyperNetwork(sequences).predict_parameters(model)
    assert [p.shape for p in predicted] == [tuple(v.shape) for v in model.trainable_variables]


def test_trained_ghn_beats_untrained_models_on_held_out_architectures(digits):
    space = _space()
    held_out = [space.sample(np.random.default_rng(100 + i)) for i in range(5)]
    # 24 architectures, 120 steps: about 20 s of CPU (a pool of 8 overfits its architectures).
    ghn = GraphHyperNetwork(space, seed=0, meta_batch=2, pool_size=24)
    ghn.fit(digits.x_train, digits.y_train, steps=120, exclude=held_out)
    assert not set(ghn._pool) & set(held_out)  # never trained on
    predicted = ghn.score(held_out, digits.x_val, digits.y_val)
    untrained = []
    for i, arch in enumerate(held_out):
        keras.utils.set_random_seed(i)
        out = space.build_architecture(arch, compile=False)(digits.x_val, training=False)
        untrained.append(float(np.mean(np.argmax(out, -1) == digits.y_val)))
    assert np.mean(predicted) > np.mean(untrained) + 0.15, (predicted, untrained)
    assert np.mean(ghn.losses[-20:]) < np.mean(ghn.losses[:20])


def test_same_seed_trains_the_same_ghn_and_save_load_keeps_it(digits, tmp_path):
    space = _space()
    arch = space.sample(7)
    runs = []
    for _ in range(2):
        ghn = GraphHyperNetwork(space, seed=5, meta_batch=2, pool_size=2)
        ghn.fit(digits.x_train, digits.y_train, steps=3)
        runs.append((ghn.predict_parameters(arch), ghn.losses))
    assert runs[0][1] == runs[1][1]
    for a, b in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_array_equal(a, b)
    ghn.save(tmp_path / "ghn.npz")
    loaded = GraphHyperNetwork.load(tmp_path / "ghn.npz", _space())
    for a, b in zip(loaded.predict_parameters(arch), runs[1][0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.score(arch, digits.x_val, digits.y_val) == ghn.score(arch, digits.x_val,
                                                                       digits.y_val)
    with pytest.raises(ValueError, match="another space"):
        GraphHyperNetwork.load(tmp_path / "ghn.npz", _space(widths=(8,)))


@pytest.mark.slow  # three searches: about 30 s on a loaded 2-core CPU
def test_ghn_scorer_screens_an_oracles_proposals_and_the_search_resumes_exactly(
        nb201_toy, tmp_path, digits):
    from kerasnas.bench.nb201 import NB201LookupTuner, run_search, trial_results
    from kerasnas.estimation.prescreen import Prescreen
    from kerasnas.oracles import RegularizedEvolution
    from kerasnas.spaces import NB201Space

    _, table = nb201_toy
    space = NB201Space((8, 8, 1), num_classes=10, channels=4, cells_per_stage=1)
    ghn = GraphHyperNetwork(space, seed=0, meta_batch=2, pool_size=2)
    ghn.fit(digits.x_train, digits.y_train, steps=2)

    def oracle():
        made = RegularizedEvolution(objective="accuracy", seed=3, population_size=4,
                                    sample_size=2, max_trials=8)
        made.prescreen = Prescreen(ghn_scorer(ghn, digits.x_val, digits.y_val), fraction=0.5,
                                   reference=4, name="ghn")
        return made

    straight_oracle = oracle()
    straight = run_search(straight_oracle, table, 8, directory=tmp_path / "straight")
    screen = straight_oracle.prescreen
    assert screen.discarded and len(straight) == 8
    trained = {arch for arch, _ in straight}
    for entry in screen.discarded:
        assert entry["score"] < entry["threshold"] and entry["arch"] not in trained
        assert entry["score"] == ghn.score(entry["arch"], digits.x_val, digits.y_val)

    class Crashing(NB201LookupTuner):
        def run_trial(self, trial, *args, **kwargs):
            if int(trial.trial_id) == 5:
                raise KeyboardInterrupt
            return super().run_trial(trial, *args, **kwargs)

    kwargs = {"directory": str(tmp_path / "resumed"), "project_name": "nb201"}
    with pytest.raises(KeyboardInterrupt):
        Crashing(oracle(), table, overwrite=True, **kwargs).search(verbose=0)
    resumed = NB201LookupTuner(oracle(), table, overwrite=False, **kwargs)
    resumed.search(verbose=0)
    assert trial_results(resumed.oracle, table) == straight
    assert resumed.oracle.prescreen.discarded == screen.discarded


def test_ghn_scores_feature_records_the_score_and_starts_the_trial_from_the_prediction(digits):
    space = _space()
    ghn = GraphHyperNetwork(space, seed=0, meta_batch=2, pool_size=2)
    ghn.fit(digits.x_train, digits.y_train, steps=2)
    feature = GHNScores(ghn, digits.x_val, digits.y_val, initialise=True)
    arch = space.sample(3)

    class Trial:
        class hyperparameters:  # noqa: N801
            values = arch.to_hp_values()

    class Tuner:
        hypermodel = space

    model = space.build_architecture(arch)
    metrics = feature.on_model_built(Tuner, Trial, model, digits.x_train)
    assert metrics == {"ghn_accuracy": ghn.score(arch, digits.x_val, digits.y_val),
                       "ghn_initialised": 1.0}
    for variable, value in zip(model.trainable_variables, ghn.predict_parameters(arch),
                               strict=True):
        np.testing.assert_allclose(np.asarray(variable), value, rtol=1e-5, atol=1e-6)
    accuracy = model.evaluate(digits.x_val, digits.y_val, verbose=0)[1]
    assert accuracy == pytest.approx(metrics["ghn_accuracy"], abs=0.011)  # same network


def test_bad_input_raises_clear_errors(digits):
    from kerasnas.spaces import DenseSpace, NB201Space

    space = _space()
    ghn = GraphHyperNetwork(space, seed=0)
    other = _space(widths=(4,))
    with pytest.raises(ValueError, match="belongs to"):
        ghn.score(other.sample(0), digits.x_val, digits.y_val, x_calibration=digits.x_train)
    with pytest.raises(ValueError):
        ghn.score("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", digits.x_val,
                  digits.y_val, x_calibration=digits.x_train)
    nb201 = NB201Space((16, 16, 1), num_classes=10, channels=4, cells_per_stage=1)
    with pytest.raises(ValueError, match="input shape"):
        ghn.predict_parameters(nb201.build_architecture(nb201.sample(0)))
    with pytest.raises(ValueError, match="output shape"):
        ghn.predict_parameters(MacroSpace((8, 8, 1), 3, **SMALL).build_architecture(
            MacroSpace((8, 8, 1), 3, **SMALL).sample(0)))
    with pytest.raises(ValueError, match="regression"):
        GraphHyperNetwork(DenseSpace((4,)))
    with pytest.raises(TypeError, match="kerasnas space"):
        GraphHyperNetwork("macro")
    with pytest.raises(ValueError, match="shape \\(n, 8, 8, 1\\)"):
        ghn.fit(digits.x_train[:, :4], digits.y_train)
    with pytest.raises(ValueError, match=r"labels in \[0, 10\)"):
        ghn.fit(digits.x_train, digits.y_train + 10)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        ghn.fit(digits.x_train, digits.y_train, steps=0)
    with pytest.raises(ValueError, match="call fit"):
        ghn.score(space.sample(0), digits.x_val, digits.y_val)
    with pytest.raises(ValueError, match="untrained"):
        ghn_scorer(ghn, digits.x_val, digits.y_val)
    with pytest.raises(ValueError, match="units must be a positive int"):
        GraphHyperNetwork(space, units=0)
    assert not ghn.losses and not ghn._built  # every check ran before any model was built
