"""Codesign: hardware settings searched with the network (`kerasnas.hardware.codesign`)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kerasnas.graphs import graph_of
from kerasnas.hardware import CodesignEncoding, CodesignSpace, HardwareObjective
from kerasnas.spaces import DenseSpace, MacroSpace
from kerasnas.spaces.architecture import Architecture, Encoding
from kerasnas.spaces.encodings import CellEncoding, MacroEncoding, NB201Encoding


@pytest.mark.parametrize("inner", [NB201Encoding(), CellEncoding(num_blocks=2), MacroEncoding()],
                         ids=lambda e: e.name)
def test_encoding_adds_the_hardware_decisions_and_round_trips(inner):
    enc = CodesignEncoding(inner, modes=("int8", "float16"), downscales=(1, 2), threads=(1, 4))
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(100):
        arch = enc.sample(rng)
        assert enc.from_string(str(arch)) == arch
        assert Architecture.from_json(arch.to_json()) == arch
        assert enc.inner_architecture(arch).encoding == inner
        assert {"hw_quantize", "hw_downscale", "hw_threads"} <= enc.active(arch.as_dict())
        seen.add((arch["hw_quantize"], arch["hw_downscale"], arch["hw_threads"]))
    assert len(seen) == 8  # every combination is reachable
    assert Encoding.from_spec(enc.to_spec()) == enc
    if inner.size() is not None:
        assert enc.size() == inner.size() * 8
    child = enc.mutate(enc.default(), rng)
    assert child != enc.default()
    arch = enc.with_settings(inner.default(), quantize="float16", downscale=2)
    assert enc.settings(arch) == {"quantize": "float16", "downscale": 2, "threads": 1}
    assert graph_of(arch).attributes[0]["stride"] == 2.0
    assert graph_of(arch).ops == graph_of(inner.default()).ops


def test_bad_codesign_arguments_name_the_fix():
    with pytest.raises(ValueError, match="Unknown quantization mode 'int4'"):
        CodesignEncoding(NB201Encoding(), modes=("int4",))
    with pytest.raises(ValueError, match="downscales must list ints >= 1"):
        CodesignEncoding(NB201Encoding(), downscales=(0,))
    with pytest.raises(ValueError, match="codesign must be True, False or a dict"):
        HardwareObjective(codesign={"precision": ("int8",)})
    with pytest.raises(ValueError, match="threads must list ints"):
        HardwareObjective(codesign={"threads": (1.5,)})
    with pytest.raises(ValueError, match="Downscaling pools a sequence or an image"):
        CodesignSpace(DenseSpace((10,), num_classes=2))
    enc = CodesignEncoding(NB201Encoding())
    with pytest.raises(ValueError, match="Not a codesign architecture"):
        enc.from_string(str(NB201Encoding().default()))


def test_space_pools_the_input_and_keeps_the_networks_layers():
    base = MacroSpace((8, 8, 1), num_classes=10)
    space = CodesignSpace(base, modes=("int8",), downscales=(1, 2), threads=(1,))
    inner = base.encoding.from_string("conv_3x3:16 > conv_3x3:16")
    full = space.build_architecture(space.encoding.with_settings(inner, downscale=1))
    half = space.build_architecture(space.encoding.with_settings(inner, downscale=2))
    assert full.input_shape == half.input_shape == (None, 8, 8, 1)
    assert half.get_layer("input_downscale").pool_size == (2, 2)
    assert "input_downscale" not in [layer.name for layer in full.layers]
    assert full.count_params() == half.count_params()  # pooling has no weights
    assert space.cost(space.encoding.with_settings(inner, downscale=2))["flops"] \
        < space.cost(space.encoding.with_settings(inner, downscale=1))["flops"]
    assert all(a.encoding == space.encoding for a in space.hand_designs())


def test_each_trial_is_measured_with_its_own_settings():
    hw = HardwareObjective("int8", threads=1, codesign=True)
    trial = hw.for_values({"hw_quantize": "float16", "hw_threads": 2})
    assert (trial.quantize, trial.threads) == ("float16", 2)
    assert (hw.quantize, hw.threads) == ("int8", 1)  # the search's own settings are untouched
    assert hw.for_values({"width": 3}) is hw
    assert hw.settings()["codesign"]["modes"] == ("int8", "dynamic", "float16", "float32")


def test_each_trial_is_converted_in_its_own_mode():
    import types

    import keras
    import keras_tuner

    from kerasnas.hardware.trial import start_trial

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(50, 64)).astype("float32")
    hw = HardwareObjective(codesign={"modes": ("int8", "float32"), "downscales": (1,)},
                           repeats=3, warmup=1)
    sizes = {}
    for mode in ("int8", "float32"):
        hp = keras_tuner.HyperParameters()
        hp.values.update({"hw_quantize": mode, "hw_threads": 1})
        state = start_trial(None, types.SimpleNamespace(hyperparameters=hp), model, x, hw)
        assert state.objective.quantize == mode
        sizes[mode] = state.metrics["model_bytes"]
    assert sizes["float32"] > 3 * sizes["int8"]  # 4 bytes per weight against 1


def test_codesign_search_records_the_settings_and_its_front_mixes_modes(tmp_path):
    import kerasnas

    x, y = load_digits(return_X_y=True)
    x = x.reshape(-1, 8, 8, 1)[:400].astype("float32")
    y = y[:400]
    hw = HardwareObjective(codesign={"modes": ("int8", "float32"), "downscales": (1, 2),
                                     "threads": (1,)})
    result = kerasnas.search(x, y, space="macro", strategy="random", max_trials=8, epochs=2,
                             hardware=hw, seed=3, directory=tmp_path / "run", verbose=0,
                             cv_folds=None, min_steps=0, max_layers=2, widths=(8, 16))
    finished = [r for r in result.history if r.status == "COMPLETED"]
    assert len(finished) >= 6
    for record in finished:
        assert " @ quantize=" in record.architecture
        assert record.metrics.get("latency_ms", 0) > 0
        assert record.metrics.get("quantized_accuracy") is not None
    front = result.pareto_front("latency_ms")
    modes = {r.architecture.split("quantize=")[1].split()[0] for r in front}
    assert modes == {"int8", "float32"}, [r.architecture for r in front]
    # The winner's own settings travel with the result, and export writes its mode.
    winner = result.architecture
    assert result.hardware["quantize"] == winner["hw_quantize"]
    assert result.hardware["downscale"] == winner["hw_downscale"]
    paths = result.export(tmp_path / "export", formats=("tflite",))
    if winner["hw_quantize"] == "int8":
        assert "tflite_int8" in paths
    else:
        assert set(paths) == {"tflite"}
