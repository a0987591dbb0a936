"""kerasnas.hardware: int8 conversion of every op, latency measurement and prediction, hard
limits, MnasNet's soft reward, Pareto fronts, and the hardware metrics of the trial loop."""

import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasnas.hardware import (
    MNAS_W,
    HardLimits,
    HardwareObjective,
    LatencyRegressor,
    LatencyStats,
    LatencyTable,
    convert,
    crowding_distance,
    dominates,
    measure_latency,
    non_dominated_sort,
    nsga2_rank,
    pareto_front,
    soft_reward,
    spearman,
    tflite_accuracy,
    tflite_predict,
)
from kerasnas.spaces import CellSpace, DenseSpace, MacroSpace, MnasSpace, NAGOSpace, NB201Space
from kerasnas.spaces.ops import OPS, apply_op


def _all_ops_model(shape):
    """One model applying every registered op at strides 1 and 2, behind a Normalization."""
    inputs = keras.Input(shape)
    x = keras.layers.Normalization(mean=0.5, variance=0.1)(inputs)
    pool = keras.layers.GlobalAveragePooling2D if len(shape) == 3 \
        else keras.layers.GlobalAveragePooling1D
    branches = [pool()(apply_op(name, x, 6, stride)) for name in sorted(OPS)
                for stride in (1, 2)]
    outputs = keras.layers.Dense(4, activation="softmax")(keras.layers.Concatenate()(branches))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("shape", [(8, 8, 3), (12, 3)], ids=["2d", "1d"])
def test_every_op_converts_to_full_int8_and_matches_float(shape):
    model = _all_ops_model(shape)
    x = np.random.default_rng(0).random((48, *shape)).astype("float32")
    conversion = convert(model, "int8", representative_data=x)
    assert conversion.fallbacks == {}, conversion.report()
    assert conversion.float_ops == []
    assert "fully integer" in conversion.report()
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MUL"):
        assert op in conversion.op_counts  # conv, sep/dil conv, pools, zero
    assert conversion.input_quantization[0] > 0 and conversion.output_quantization[0] > 0
    int8 = tflite_predict(conversion.flatbuffer, x)
    float32 = model.predict(x, verbose=0)
    error = np.abs(int8 - float32).max()
    assert error < 0.03
    # The untrained model's probabilities are near-uniform, so an argmax may flip where the
    # float top-2 margin is within the quantization error; wherever it is wider, it must not.
    top2 = np.sort(float32, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * error
    assert np.array_equal(int8.argmax(1)[clear], float32.argmax(1)[clear])


def _spaces(shape):
    yield CellSpace(shape, 3, channels=4, num_cells=2, num_blocks=2)
    yield MacroSpace(shape, 3, widths=(4, 8), max_layers=3, stem_channels=4)
    yield MnasSpace(shape, 3, num_blocks=2, base_widths=(4, 8), stem_width=4, layers=(1, 2))
    yield NAGOSpace(shape, 3, width=4, top_nodes=(3, 4), mid_nodes=(1, 2), bottom_nodes=(3, 4))
    if len(shape) == 3:
        yield NB201Space(shape, 3, channels=4, cells_per_stage=1)


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(8, 8, 2), (16, 2)], ids=["2d", "1d"])
def test_sampled_architectures_of_every_space_are_fully_integer(shape):
    rng = np.random.default_rng(0)
    x = rng.random((32, *shape)).astype("float32")
    for space in _spaces(shape):
        for _ in range(4):
            model = space.build_architecture(space.sample(rng), compile=False)
            conversion = convert(model, "int8", representative_data=x)
            assert conversion.fallbacks == {}, (space, conversion.report())
    dense = DenseSpace((10,), 3, max_layers=2, units=(8,))
    xd = rng.random((32, 10)).astype("float32")
    for activation in dense.encoding.activations:
        arch = dense.encoding.from_string(f"8 {activation} dropout=0.0")
        conversion = convert(dense.build_architecture(arch, compile=False), "int8",
                             representative_data=xd)
        assert conversion.fallbacks == {}, (activation, conversion.report())


def test_cell_and_dense_space_models_are_fully_integer():
    """A fast representative of the slow test: a cell net (add and concat joins) and an MLP."""
    rng = np.random.default_rng(1)
    cell = CellSpace((8, 8, 2), 3, channels=4, num_cells=2, num_blocks=2)
    arch = cell.encoding.sample(rng)
    x = rng.random((32, 8, 8, 2)).astype("float32")
    assert convert(cell.build_architecture(arch, compile=False), "int8",
                   representative_data=x).fallbacks == {}
    dense = DenseSpace((10,), 3, max_layers=1, units=(8,))
    model = dense.build_architecture(dense.encoding.from_string("8 gelu dropout=0.1"), compile=False)
    assert convert(model, "int8", representative_data=rng.random((32, 10))).fallbacks == {}


@pytest.mark.parametrize("shape", [(8, 8, 2), (16, 2)], ids=["2d", "1d"])
def test_mnas_space_ops_are_fully_integer(shape):
    """Every MnasSpace op in one model: conv, sep_conv, MBConv, each with SE and the skip."""
    rng = np.random.default_rng(2)
    space = MnasSpace(shape, 3, num_blocks=3, base_widths=(8, 8, 8), stem_width=8)
    arch = space.encoding.from_string(
        "conv k3 x2 w1 se skip | sep_conv k5 x2 w1 se skip | mbconv3 k3 x2 w1 se skip")
    model = space.build_architecture(arch, compile=False)
    x = rng.random((32, *shape)).astype("float32")
    conversion = convert(model, "int8", representative_data=x)
    assert conversion.fallbacks == {}, conversion.report()
    assert conversion.float_ops == []
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "LOGISTIC", "MUL", "ADD",
               "MEAN"):
        assert op in conversion.op_counts, op  # the SE's pool, dense, sigmoid and multiply
    error = np.abs(tflite_predict(conversion.flatbuffer, x) - model.predict(x, verbose=0)).max()
    assert error < 0.05


def test_untrained_squeeze_excitation_runs_on_xnnpack():
    """An untrained SE with a 2-unit bottleneck (8 channels in): zero Dense biases left a
    constant 0 in it for several of these 16 initialisations, an int8 scale XNNPACK refuses."""
    from kerasnas.hardware.runtime import make_interpreter

    x = np.random.default_rng(0).random((32, 8, 8, 2)).astype("float32")
    space = MnasSpace((8, 8, 2), 3, num_blocks=1, base_widths=(8,), stem_width=8)
    arch = space.encoding.from_string("sep_conv k3 x1 w1 se skip")
    for seed in range(16):
        keras.utils.set_random_seed(seed)
        conversion = convert(space.build_architecture(arch, compile=False), "int8",
                             representative_data=x)
        make_interpreter(conversion.flatbuffer)  # XNNPACK prepares every op


def _tiny_model(width=8):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def test_every_mode_runs_and_quantization_shrinks_the_model():
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(128, activation="relu")(inputs)  # 8k weights dominate the size
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    x = np.random.default_rng(0).random((16, 64)).astype("float32")
    sizes = {}
    for mode in ("float32", "float16", "dynamic", "int8"):
        conversion = convert(model, mode, representative_data=x)
        sizes[mode] = conversion.model_bytes
        out = tflite_predict(conversion.flatbuffer, x)
        assert np.abs(out - model.predict(x, verbose=0)).max() < 0.05, mode
    assert sizes["float32"] > sizes["float16"] > sizes["int8"]
    assert sizes["float32"] > sizes["dynamic"]


def test_conversion_rejects_bad_input_before_converting(tmp_path):
    model = _tiny_model()
    with pytest.raises(ValueError, match="needs representative_data"):
        convert(model, "int8")
    with pytest.raises(ValueError, match="shape"):
        convert(model, "int8", representative_data=np.zeros((4, 5, 5, 1)))
    with pytest.raises(ValueError, match="Unknown quantization mode 'int4'"):
        convert(model, "int4")
    with pytest.raises(ValueError, match="threads"):
        measure_latency(b"", threads=0)


def test_trained_digits_model_loses_at_most_one_point_in_int8(digits):
    x, y, xv, yv = digits
    space = MacroSpace((8, 8, 1), 10, widths=(16,), kernels=(3,), max_layers=2, min_layers=2,
                       skips=False)
    keras.utils.set_random_seed(0)
    model = space.build_architecture(space.encoding.from_string("conv_3x3:16 > conv_3x3:16"))
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    float_accuracy = float(np.mean(model.predict(xv, verbose=0).argmax(1) == yv))
    conversion = convert(model, "int8", representative_data=x)
    int8_accuracy = tflite_accuracy(conversion.flatbuffer, xv, yv)
    assert float_accuracy >= 0.85
    assert int8_accuracy >= float_accuracy - 0.01


def test_latency_median_is_robust_to_a_first_call_outlier():
    flatbuffer = convert(_tiny_model(16), "float32").flatbuffer
    cold = measure_latency(flatbuffer, warmup=0, repeats=31)
    warm = measure_latency(flatbuffer, warmup=5, repeats=31)
    assert len(cold.samples_ms) == 31 and len(warm.samples_ms) == 31
    # The first call allocates and packs weights: slower than the median call.
    assert cold.samples_ms[0] > cold.median_ms
    # (Two runs' medians are not compared: at ~2 microseconds a call, timer and scheduler noise
    # alone made one run's median 2.2x the other's on CI.)
    # An injected outlier 1000x the typical call leaves the median where it was.
    spiked = LatencyStats([1000 * warm.median_ms] + warm.samples_ms[1:], 1, 1)
    assert spiked.median_ms < 1.5 * warm.median_ms
    assert warm.cv >= 0 and warm.as_dict()["repeats"] == 31


def test_batch_size_and_threads_are_parameters():
    flatbuffer = convert(_tiny_model(16), "float32").flatbuffer
    stats = measure_latency(flatbuffer, batch_size=4, threads=2, repeats=5)
    assert stats.batch_size == 4 and stats.threads == 2
    assert stats.per_example_ms == pytest.approx(stats.median_ms / 4)
    assert measure_latency(flatbuffer, delegates=False, repeats=3).median_ms > 0


def test_soft_reward_matches_the_formula():
    assert soft_reward(0.8, latency=5.0, target=5.0) == pytest.approx(0.8)
    assert soft_reward(0.8, latency=10.0, target=5.0) == pytest.approx(0.8 * 2 ** -0.07)
    assert soft_reward(0.8, latency=2.5, target=5.0, w=-1.0) == pytest.approx(1.6)
    assert MNAS_W == -0.07
    with pytest.raises(ValueError, match="target"):
        soft_reward(0.8, latency=1.0, target=0)


def test_hard_limits_report_each_violation():
    limits = HardLimits(latency_ms=2.0, model_bytes=1000)
    assert limits.violations({"latency_ms": 1.5, "model_bytes": 900}) == []
    reasons = limits.violations({"latency_ms": 2.5, "model_bytes": 2000})
    assert len(reasons) == 2 and "latency 2.500 ms" in reasons[0] and "2000 bytes" in reasons[1]
    with pytest.raises(ValueError, match="latency_ms limit"):
        HardLimits(latency_ms=-1)


def test_pareto_front_is_non_dominated_and_has_both_extremes():
    rng = np.random.default_rng(0)
    points = [(float(a), 10 * float(b)) for a, b in rng.random((60, 2))]
    front = pareto_front(points)
    for i in front:
        assert not any(dominates(points[j], points[i]) for j in range(len(points)))
    for i in set(range(len(points))) - set(front):
        assert any(dominates(points[j], points[i]) for j in front)
    assert int(np.argmax([p[0] for p in points])) in front  # most accurate
    assert int(np.argmin([p[1] for p in points])) in front  # fastest
    fronts = non_dominated_sort(points)
    assert sorted(i for f in fronts for i in f) == list(range(60))
    distance = crowding_distance(points, front)
    assert sum(math.isinf(d) for d in distance.values()) >= 2
    assert nsga2_rank(points)[:len(front)] == sorted(front, key=lambda i: (-distance[i], i))
    assert pareto_front([(0.9, 3.0), (0.8, 1.0), (0.7, 2.0)]) == [0, 1]


def test_latency_table_sums_layers_and_round_trips(tmp_path):
    # 512 filters: the large model's layers take far longer than timer noise (64 flaked in CI)
    small, large = _tiny_model(4), _tiny_model(512)
    table = LatencyTable("float32", repeats=20).fit([small])
    entries = len(table)
    assert entries >= 3 and table.overhead_ms > 0
    assert table.missing(small) == 0 and table.missing(large) > 0
    table.fit([small])
    assert len(table) == entries  # each layer is measured once
    assert table.predict_model(large) > table.predict_model(small)
    loaded = LatencyTable.load(table.save(tmp_path / "table.json"))
    assert loaded.predict_model(small, measure_missing=False) == pytest.approx(
        table.predict_model(small))


def test_latency_regressor_recovers_a_linear_cost():
    rng = np.random.default_rng(0)
    features = rng.random((30, 9)) * [1e6, 1e5, 1e3, 1e4, 1e4, 1e4, 5, 20, 1e4]
    latency = 0.05 + features @ np.array([2e-7, 1e-6, 0, 1e-6, 0, 1e-6, 1e-2, 1e-3, 0])
    reg = LatencyRegressor().fit(features, latency)
    assert np.all(reg.coef_ >= 0)
    assert spearman(reg.predict(features), latency) > 0.99
    with pytest.raises(ValueError, match="not fitted"):
        LatencyRegressor().predict(features)


def _tuner(tmp_path, hardware, max_trials=4, objective="val_accuracy"):
    from kerasnas.oracles import RandomSearch
    from kerasnas.tuner.loop import NASTuner

    space = MacroSpace((8, 8, 1), 10, widths=(4, 64), kernels=(3,), max_layers=3,
                       stem_channels=4, skips=False)
    oracle = RandomSearch(objective=objective, max_trials=max_trials, seed=2)
    return NASTuner(oracle, space, epochs=1, hardware=hardware, directory=str(tmp_path),
                    project_name="hw", verbose=0)


def test_hardware_metrics_are_recorded_per_trial(digits, tmp_path):
    x, y, xv, yv = digits
    tuner = _tuner(tmp_path, HardwareObjective("int8", target_ms=1.0, repeats=10), max_trials=1)
    tuner.search(x, y, validation_data=(xv, yv))
    for trial in tuner.oracle.trials.values():
        assert trial.status == "COMPLETED"
        m = trial.metrics.get_last_value
        assert m("latency_ms") > 0 and m("latency_measured") == 1.0
        assert m("model_bytes") > 1000
        assert 0 <= m("quantized_accuracy") <= 1
        assert m("mnas_reward") == pytest.approx(
            soft_reward(m("val_accuracy"), m("latency_ms"), 1.0))


@pytest.mark.slow  # 47 s under load: a whole budgeted search with TFLite latency per trial
def test_hard_constrained_search_returns_only_models_within_budget(digits, tmp_path):
    x, y, xv, yv = digits
    budget = 10_000  # bytes: chains with one 64-channel layer fit, two do not
    tuner = _tuner(tmp_path, HardwareObjective("int8", size_budget_bytes=budget, accuracy=False,
                                               repeats=5), max_trials=6)
    tuner.search(x, y, validation_data=(xv, yv))
    trials = list(tuner.oracle.trials.values())
    completed = [t for t in trials if t.status == "COMPLETED"]
    rejected = [t for t in trials if t.status == "FAILED"]
    assert completed and rejected, [t.status for t in trials]
    for t in completed:
        assert t.metrics.get_last_value("model_bytes") <= budget
    for t in rejected:
        assert t.metrics.get_last_value("model_bytes") > budget
        assert "over the limit" in t.message
        assert not t.metrics.exists("val_accuracy")  # rejected before training
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.status == "COMPLETED" and best.metrics.get_last_value("model_bytes") <= budget


def test_hardware_objective_checks_its_arguments():
    with pytest.raises(ValueError, match="needs a fitted predictor"):
        HardwareObjective(latency="predicted")
    with pytest.raises(ValueError, match="latency must be one of"):
        HardwareObjective(latency="guessed")
    with pytest.raises(ValueError, match="Unknown quantization mode"):
        HardwareObjective("int3")


def test_importing_kerasnas_hardware_loads_no_tensorflow():
    code = ("import sys, kerasnas.hardware, kerasnas.hardware.objectives; "
            "from kerasnas.hardware import soft_reward, pareto_front; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pareto_evolution_breeds_from_the_front_and_keeps_its_state():
    from kerasnas.oracles import ParetoEvolution
    from kerasnas.spaces import NB201Encoding

    encoding = NB201Encoding()
    oracle = ParetoEvolution(objective="val_accuracy", population_size=4, sample_size=4,
                             space=encoding, seed=1)
    rng = np.random.default_rng(0)
    archs = [str(encoding.sample(rng)) for _ in range(4)]
    # (accuracy, latency): archs[0] most accurate but slowest, archs[3] dominated by archs[1].
    values = [(0.90, 9.0), (0.80, 2.0), (0.85, 5.0), (0.70, 3.0)]
    oracle.population = [(a, acc) for a, (acc, _) in zip(archs, values, strict=True)]
    oracle._cost = {a: lat for a, (_, lat) in zip(archs, values, strict=True)}
    oracle._fitness = dict(oracle.population)
    parents = {oracle.select_parent() for _ in range(10)}
    assert parents <= {archs[0], archs[1]}  # the front's extremes (infinite crowding distance)
    assert [p[0] for p in oracle.pareto_front()] == [archs[0], archs[2], archs[1]]
    clone = ParetoEvolution(objective="val_accuracy", space=encoding, population_size=4,
                            sample_size=4)
    clone.set_algorithm_state(oracle.get_algorithm_state())
    assert clone._cost == oracle._cost and clone.cost_metric == "latency_ms"
    with pytest.raises(ValueError, match="cost_metric"):
        ParetoEvolution(cost_metric="")


def test_search_result_front_and_report_plot():
    from kerasnas.deploy.result import TrialRecord
    from kerasnas.hardware.front import front_plot, pareto_records

    records = [TrialRecord(str(i), f"a{i}", "COMPLETED", acc, {"latency_ms": lat})
               for i, (acc, lat) in enumerate([(0.9, 3.0), (0.8, 1.0), (0.7, 2.0), (0.95, 8.0)])]
    records.append(TrialRecord("9", "a9", "FAILED", None, {"latency_ms": 0.1}))
    front = pareto_records(records)
    assert [r.trial_id for r in front] == ["1", "0", "3"]  # cheapest first, failed excluded
    assert pareto_records(records, cost="model_bytes") == []
    svg = front_plot(records, "val_accuracy")
    assert svg.startswith("<svg") and "latency_ms" in svg


def test_search_hardware_arguments_are_checked_before_training():
    from kerasnas.hardware.trial import hardware_from_args

    assert hardware_from_args() is None
    hw = hardware_from_args(latency_budget_ms=2.0)
    assert hw.quantize == "int8" and hw.limits.latency_ms == 2.0
    with pytest.raises(ValueError, match="not both"):
        hardware_from_args(HardwareObjective(), latency_budget_ms=1.0)
    with pytest.raises(TypeError, match="HardwareObjective"):
        hardware_from_args("int8")
    with pytest.raises(ValueError, match="latency_ms limit"):
        hardware_from_args(latency_budget_ms=-5)


def test_qat_graph_lists_every_layer_with_its_inputs():
    from kerasnas.hardware.qat import _graph

    space = MacroSpace((8, 8, 1), 3, widths=(4,), max_layers=3, stem_channels=4)
    model = space.build_architecture("conv_3x3:4 > dil_conv_3x3:4 > max_pool_3x3:4+0",
                                     compile=False)
    graph = _graph(model)
    names = [spec["name"] for spec in graph["layers"]]
    assert names == [layer.name for layer in model.layers]
    assert graph["input"] == names[0] and graph["output"] == names[-1]
    concat = [s for s in graph["layers"] if s["class_name"] == "Concatenate"]
    assert concat and concat[0]["multi_input"] and len(concat[0]["inputs"]) == 2
    for spec in graph["layers"][1:]:
        assert spec["inputs"] and all(i in names for i in spec["inputs"])


QAT_PYTHON = os.environ.get("KERASNAS_QAT_PYTHON")


@pytest.mark.slow
@pytest.mark.skipif(not QAT_PYTHON, reason="set KERASNAS_QAT_PYTHON to an interpreter with "
                                           "kerasnas[qat] (tf_keras, tfmot)")
def test_qat_fine_tunes_and_converts_to_int8(digits, tmp_path):
    from kerasnas.hardware.qat import quantization_aware_training

    x, y, xv, yv = digits
    space = MacroSpace((8, 8, 1), 10, widths=(8,), max_layers=2)
    keras.utils.set_random_seed(0)
    model = space.build_architecture("conv_3x3:8 > sep_conv_3x3:8")
    model.fit(x, y, epochs=3, verbose=0)
    out = quantization_aware_training(model, x, y, xv, yv, python=QAT_PYTHON, epochs=1,
                                      workdir=tmp_path)
    # The tf_keras rebuild computes what the Keras 3 model computes.
    assert out["rebuilt_float_accuracy"] == pytest.approx(out["float_accuracy"])
    assert out["qat_int8_accuracy"] >= out["float_accuracy"] - 0.05
    assert convert_report_is_integer(out["qat_flatbuffer"])


def convert_report_is_integer(flatbuffer):
    from kerasnas.hardware.conversion import read_ops

    return not any(op.computes_in_float for op in read_ops(flatbuffer))


@pytest.mark.slow
def test_qat_without_tfmot_fails_with_the_fix(digits, tmp_path):
    from kerasnas.hardware.qat import quantization_aware_training

    pytest.importorskip("keras")
    try:
        import tensorflow_model_optimization  # noqa: F401
        pytest.skip("tfmot is installed in this interpreter")
    except ImportError:
        pass
    x, y, xv, yv = digits
    model = _tiny_model()
    model.compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(RuntimeError, match=r"kerasnas\[qat\]"):
        quantization_aware_training(model, x, y % 3, xv, yv % 3, workdir=tmp_path)
