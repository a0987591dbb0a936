"""NAGOSpace / NAGOEncoding: the random graph generators, determinism per parameters and seed,
RandWire's DAGs, the Keras network (1D and 2D, int8), the GP features and BO's resume, and
`kerasnas.search(space="nago")` choosing Bayesian optimisation."""

import itertools
import json

import keras
import keras_tuner
import numpy as np
import pytest

from kerasnas.graphs.view import GraphFeaturizer, graph_of, graph_of_model
from kerasnas.oracles.surrogates import cardinalities, decision_indices
from kerasnas.spaces import random_graphs as rg
from kerasnas.spaces.encodings import NAGO_LEVELS, NAGOEncoding

#: The smallest network of the default grids' shape: three stages of one cell of three
#: operations (9 operations), cheap to trace; mid=ws(n=2) and a random bottom ER graph give
#: weighted sums at both the cell and the operation level.
TINY = "top=ws(n=3,k=2) mid=ws(n=2,k=2) bottom=er(n=3,p=0.5,seed=2)"
TINY_GRIDS = {"top_nodes": (3,), "mid_nodes": (1, 2), "bottom_nodes": (3,)}


def _rngs(count):
    return (np.random.default_rng(seed) for seed in range(count))


# ------------------------------------------------------------------------------ generators
def test_erdos_renyi_has_p_times_pairs_edges_on_average():
    n, draws = 6, 400
    for p in (0.25, 0.5, 0.75):
        counts = [len(rg.erdos_renyi(n, p, rng)) for rng in _rngs(draws)]
        pairs = n * (n - 1) // 2
        # The mean of `draws` Binomial(pairs, p) counts: 4 standard errors of slack.
        assert abs(np.mean(counts) - p * pairs) < 4 * np.sqrt(pairs * p * (1 - p) / draws)
    assert rg.erdos_renyi(n, 0.0, np.random.default_rng(0)) == ()
    assert rg.erdos_renyi(n, 1.0, np.random.default_rng(0)) == rg.complete_graph(n)


def test_watts_strogatz_without_rewiring_is_the_ring_lattice():
    for n, k in ((6, 2), (7, 4), (10, 4), (9, 6)):
        lattice = {tuple(sorted((i, (i + j) % n))) for i in range(n) for j in range(1, k // 2 + 1)}
        assert set(rg.watts_strogatz(n, k, 0.0, np.random.default_rng(0))) == lattice
        # Rewiring moves edges but keeps n k / 2 of them, without self-loops or repeats.
        for rng in _rngs(20):
            edges = rg.watts_strogatz(n, k, 1.0, rng)
            assert len(edges) == len(set(edges)) == n * k // 2
            assert all(i < j for i, j in edges)
        assert any(set(rg.watts_strogatz(n, k, 0.75, rng)) != lattice for rng in _rngs(5))
    # k >= n - 1 joins every node to every other: the complete graph.
    assert rg.watts_strogatz(4, 4, 0.5, np.random.default_rng(0)) == rg.complete_graph(4)


def test_barabasi_albert_has_m_times_n_minus_m_edges_and_prefers_hubs():
    for n, m in ((3, 1), (5, 2), (6, 3), (10, 4)):
        for rng in _rngs(20):
            edges = rg.barabasi_albert(n, m, rng)
            assert len(edges) == len(set(edges)) == m * (n - m)
            assert all(i < j < n for i, j in edges)
    assert rg.barabasi_albert(1, 2, np.random.default_rng(0)) == ()
    # Preferential attachment: in BA(1) trees of 30 nodes the first nodes collect the edges.
    degrees = np.zeros(30)
    for rng in _rngs(100):
        for i, j in rg.barabasi_albert(30, 1, rng):
            degrees[[i, j]] += 1
    assert degrees[:3].mean() > 3 * degrees[-10:].mean()


def test_generators_are_deterministic_per_seed_and_check_their_arguments():
    for generator in rg.GENERATORS:
        draw = [rg.generate(generator, 6, np.random.default_rng(seed), k=2, p=0.5, m=2)
                for seed in (7, 7, 8, 9, 10)]
        assert draw[0] == draw[1]
        assert len(set(draw[1:])) > 1
    with pytest.raises(ValueError, match="Unknown graph generator 'sw'"):
        rg.generate("sw", 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n >= 1"):
        rg.generate("er", 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="probability"):
        rg.generate("er", 3, np.random.default_rng(0), p=1.5)


def _check_dag(dag):
    n = dag.num_nodes
    assert all(0 <= s < t <= n + 1 for s, t in dag.edges)
    assert len(set(dag.edges)) == len(dag.edges)
    assert [v for v in range(n + 2) if not dag.predecessors(v)] == [dag.input]
    assert [v for v in range(n + 2) if not dag.successors(v)] == [dag.output]
    assert dag.output not in dag.successors(dag.input)  # the input feeds graph nodes only


def test_every_graph_of_sampled_architectures_is_a_dag_with_one_input_and_one_output():
    enc, rng = NAGOEncoding(), np.random.default_rng(0)
    for _ in range(150):
        plan = enc.plan(enc.sample(rng), (32, 32, 3))
        for dag in (plan.top, *plan.mid, *itertools.chain(*plan.bottom)):
            _check_dag(dag)
    # A disconnected graph becomes parallel branches between the input and the output.
    dag = rg.to_dag(3, ())
    assert dag.sources() == dag.sinks() == (1, 2, 3)


# -------------------------------------------------------------------------------- encoding
def test_same_values_give_the_same_graphs_and_another_seed_another_sample():
    text = "top=er(n=5,p=0.5,seed=1) mid=er(n=3,p=0.5,seed=2) bottom=ba(n=5,m=1,seed=3)"
    enc = NAGOEncoding()
    arch = enc.from_string(text)
    plan = enc.plan(arch, (32, 32, 3))
    fresh = NAGOEncoding(**enc.get_config())  # another object, as in a resumed process
    assert fresh.plan(fresh.from_string(text), (32, 32, 3)) == plan

    def graphs(plan, level):
        return {"top": (plan.top,), "mid": plan.mid, "bottom": plan.bottom}[level]

    for level in NAGO_LEVELS:
        other = enc.architecture({**arch.as_dict(), f"{level}_seed": 4})
        changed = enc.plan(other, (32, 32, 3))
        assert graphs(changed, level) != graphs(plan, level), level
        for unchanged in NAGO_LEVELS[:NAGO_LEVELS.index(level)]:
            assert graphs(changed, unchanged) == graphs(plan, unchanged), (level, unchanged)
    # Each stage draws its own mid graph, each cell its own bottom graph.
    assert len(set(plan.bottom[0])) > 1 or len(set(plan.mid)) > 1


def test_canonical_forms_and_string_round_trip():
    enc, rng = NAGOEncoding(), np.random.default_rng(1)
    for _ in range(300):
        arch = enc.sample(rng)
        assert enc.from_string(str(arch)) == arch
        assert arch.mutate(rng) != arch
    one = enc.from_string("top=ws(n=3,k=4,p=0.5,seed=3) mid=ba(n=1,m=3,seed=2) "
                          "bottom=er(n=4,p=1.0,seed=4)")
    # WS(4) on 3 nodes is the complete graph, as WS(2): k canonical, p and seed inactive; one
    # mid node has no generator; ER(1.0) is complete, whatever the seed.
    assert str(one) == "top=ws(n=3,k=2) mid=er(n=1) bottom=er(n=4,p=1.0)"
    assert one == enc.from_string("top=ws(n=3,k=2,p=1.0) mid=ws(n=1) bottom=er(n=4,p=1.0)")
    # BA(m) with m >= n - 1: the last node joins every other, nothing is random.
    star = enc.from_string("top=ba(n=3,m=3,seed=1) mid=er(n=1) bottom=er(n=4,p=1.0)")
    assert str(star).startswith("top=ba(n=3,m=2) ")
    for bad, message in (("top=ws(n=3) mid=er(n=1)", "levels \\['bottom'\\] are missing"),
                         ("top=er(n=3,k=2) mid=er(n=1) bottom=er(n=3)", "er takes"),
                         ("top=ws(n=7) mid=er(n=1) bottom=er(n=3)", "not a valid value"),
                         ("top=ws n=3 mid=er(n=1) bottom=er(n=3)", "LEVEL=GENERATOR")):
        with pytest.raises(ValueError, match=message):
            enc.from_string(bad)


def test_bad_space_arguments_are_named_before_any_building():
    from kerasnas.spaces import NAGOSpace

    for kwargs, message in (({"ks": (3,)}, "ks must be even"),
                            ({"top_generators": ("ws", "lattice")}, "top_generators"),
                            ({"ps": (0.5, 2.0)}, "probabilities"),
                            ({"merge": "max"}, "merge must be one of"),
                            ({"conv": "dilated"}, "conv must be one of"),
                            ({"mid_nodes": (0, 1)}, "mid_nodes must list ints >= 1"),
                            ({"seeds": 0}, "seeds")):
        with pytest.raises(ValueError, match=message):
            NAGOSpace((8, 8, 1), 10, **kwargs)
    with pytest.raises(ValueError, match="input_shape"):
        NAGOSpace((64,), 10)


def test_gp_features_order_the_grids_and_leave_the_seeds_out():
    enc = NAGOEncoding()
    base = enc.from_string("top=ws(n=4,k=2,p=0.25,seed=0) mid=er(n=2,p=0.5,seed=0) "
                           "bottom=ws(n=5,k=2,p=0.5,seed=0)")

    def with_(**values):
        return enc.architecture({**base.as_dict(), **values})

    rows = decision_indices(enc, [base, with_(top_seed=3, bottom_seed=2), with_(top_p=0.5),
                                  with_(top_p=1.0), with_(bottom_nodes=4), with_(bottom_nodes=6)])
    assert rows.shape[1] == len(cardinalities(enc))
    assert np.all(rows < np.array(cardinalities(enc)))
    distance = (rows[:, None, :] != rows[None, :, :]).sum(-1)
    assert distance[0, 1] == 0                      # seeds: sampling noise, not features
    assert distance[0, 2] < distance[0, 3]          # p = 0.25 is nearer 0.5 than 1.0
    assert distance[4, 5] == 2 * distance[0, 4] == 2  # 4 and 6 operations: two steps apart
    assert enc.crossover_groups()[0][0] == "top_generator"


def test_graph_view_flattens_the_three_levels_into_one_dag_of_operations():
    enc = NAGOEncoding()
    arch = enc.from_string(TINY)
    plan = enc.plan(arch, (16, 16, 1))
    graph = graph_of(arch, (16, 16, 1))
    assert graph.ops[:2] == ("input", "stem") and graph.ops[-2:] == ("pool", "output")
    assert graph.ops.count("sep_conv") == plan.num_ops
    assert {a.get("reduce") for a in graph.attributes if "reduce" in a} == set(plan.levels)
    batch = GraphFeaturizer.for_encoding(enc).architectures([arch, enc.default()])
    assert batch.features.shape[:2] == (2, graph.num_nodes)


# ----------------------------------------------------------------------------------- Keras
def test_space_builds_1d_and_2d_deterministically_and_trains_a_step():
    from kerasnas.spaces import NAGOSpace

    rng = np.random.default_rng(0)
    for shape, classes in (((40, 3), 4), ((8, 8, 1), 10)):
        space = NAGOSpace(shape, classes)
        arch = space.hand_designs()[0]
        assert space.encoding.plan(arch, shape).num_ops == 18
        first = space.build_architecture(arch, compile=False)
        again = space.build_architecture(NAGOSpace(shape, classes).architecture(str(arch)),
                                         compile=False)
        assert first.output_shape == (None, classes)
        assert graph_of_model(first) == graph_of_model(again)
        assert first.count_params() == again.count_params()
        reseeded = space.encoding.architecture({**arch.as_dict(), "bottom_seed": 1})
        assert graph_of_model(space.build_architecture(reseeded, compile=False)) \
            != graph_of_model(first)
        tiny = NAGOSpace(shape, classes, **TINY_GRIDS)
        model = tiny.build_architecture(TINY)
        model.run_eagerly = True  # one step needs no graph tracing (20 s on a loaded machine)
        assert any(type(layer).__name__ == "WeightedSum" for layer in model.layers)
        x = rng.random((16, *shape)).astype("float32")
        y = rng.integers(classes, size=16)
        before = [w.numpy().copy() for w in model.trainable_weights]
        loss = model.train_on_batch(x, y)
        assert np.isfinite(np.ravel(loss)[0])
        changed = [not np.allclose(a, w.numpy()) for a, w in zip(
            before, model.trainable_weights, strict=True)]
        assert all(changed)  # every weight (the sum weights too) gets a gradient


def test_reductions_pool_the_inputs_of_later_stages(tmp_path):
    from kerasnas.spaces import NAGOSpace
    from kerasnas.spaces.nago import WeightedSum

    space = NAGOSpace((16, 16, 1), 3, **TINY_GRIDS)
    arch = space.architecture(TINY)
    assert space.encoding.plan(arch, (16, 16, 1)).levels == (0, 0, 1)
    model = space.build_architecture(arch, compile=False)
    assert any(isinstance(layer, keras.layers.AveragePooling2D) for layer in model.layers)
    widths = {layer.filters for layer in model.layers
              if isinstance(layer, keras.layers.SeparableConv2D)}
    assert widths == {16, 32}
    # The saved model loads back and computes the same function.
    x = np.random.default_rng(0).random((4, 16, 16, 1)).astype("float32")
    model.save(tmp_path / "nago.keras")
    loaded = keras.models.load_model(tmp_path / "nago.keras")
    assert np.allclose(loaded(x), model(x), atol=1e-6)
    assert any(isinstance(layer, WeightedSum) for layer in loaded.layers)


def test_models_are_fully_integer_in_tflite():
    from kerasnas.hardware import convert
    from kerasnas.spaces import NAGOSpace

    space = NAGOSpace((16, 16, 2), 3, **TINY_GRIDS)
    x = np.random.default_rng(0).random((32, 16, 16, 2)).astype("float32")
    conversion = convert(space.build_architecture(TINY, compile=False), "int8",
                         representative_data=x)
    assert conversion.fallbacks == {} and conversion.float_ops == [], conversion.report()
    assert {"DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MUL", "ADD"} <= set(conversion.op_counts)


# ------------------------------------------------------------------------------ strategy
class _ScoreHyperModel(keras_tuner.HyperModel):
    """Declares NAGO's decisions and builds nothing: the trials score a formula instead."""

    def __init__(self, encoding):
        super().__init__(name="nago_score")
        self.encoding = encoding

    def declare_hyperparameters(self, hp):
        self.encoding.declare(hp)

    def build(self, hp):
        self.encoding.declare(hp)


def _score(arch):
    """A smooth function of the generator parameters plus the sampled graphs' edge count."""
    plan = arch.encoding.plan(arch)
    edges = len(plan.top.edges) + sum(len(d.edges) for d in plan.mid)
    return -abs(arch["top_nodes"] - 4) - abs(arch["bottom_p"] - 0.75) + 0.01 * edges


class _ScoreTuner(keras_tuner.Tuner):
    def __init__(self, oracle, encoding, crash_at=None, **kwargs):
        self.encoding, self.crash_at = encoding, crash_at
        super().__init__(oracle=oracle, hypermodel=_ScoreHyperModel(encoding), **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        if self.crash_at is not None and int(trial.trial_id) == self.crash_at:
            raise KeyboardInterrupt  # escapes Keras Tuner like a real interruption
        return {"score": _score(self.encoding.from_hp_values(trial.hyperparameters.values))}


def _proposals(tuner):
    """The completed trials' architectures, in the order they started."""
    trials = [tuner.oracle.trials[i] for i in tuner.oracle.start_order]
    return [str(tuner.encoding.from_hp_values(t.hyperparameters.values)) for t in trials
            if t.status == "COMPLETED"]


def test_bayesian_search_on_nago_resumes_exactly(tmp_path):
    from kerasnas.oracles import BayesianOptimization

    enc = NAGOEncoding()

    def oracle():
        return BayesianOptimization(objective=keras_tuner.Objective("score", "max"),
                                    max_trials=14, num_initial_points=5, seed=4)

    kwargs = {"project_name": "nago", "overwrite": True}
    straight = _ScoreTuner(oracle(), enc, directory=str(tmp_path / "a"), **kwargs)
    straight.search(verbose=0)
    crashing = _ScoreTuner(oracle(), enc, crash_at=9, directory=str(tmp_path / "b"), **kwargs)
    with pytest.raises(KeyboardInterrupt):
        crashing.search(verbose=0)
    resumed = _ScoreTuner(oracle(), enc, directory=str(tmp_path / "b"), project_name="nago",
                          overwrite=False)
    resumed.search(verbose=0)
    assert _proposals(resumed) == _proposals(straight)
    assert len(set(_proposals(straight))) == 14


def test_auto_strategy_of_nago_is_bayesian_optimisation():
    from kerasnas.automl.assemble import auto_strategy, make_strategy
    from kerasnas.oracles import BayesianOptimization, RegularizedEvolution
    from kerasnas.spaces import MacroSpace, NAGOSpace

    nago = NAGOSpace((8, 8, 1), 10)
    assert auto_strategy(nago) == "bayesian"
    assert auto_strategy(MacroSpace((8, 8, 1), 10)) == "evolution"
    # What kerasnas.search runs for strategy="auto": the space's hand designs first, then BO.
    oracle, name = make_strategy("auto", "val_accuracy", 5, 0, {},
                                 warm_start=nago.hand_designs(), context=(nago, None, 0, None, 0))
    assert name == "bayesian" and isinstance(oracle, BayesianOptimization)
    oracle, name = make_strategy("auto", "val_accuracy", 5, 0, {},
                                 context=(MacroSpace((8, 8, 1), 10), None, 0, None, 0))
    assert name == "evolution" and isinstance(oracle, RegularizedEvolution)


@pytest.mark.slow  # one real trial and the baselines: ~30 s on a loaded 2-core machine
def test_search_on_nago_picks_bayesian_optimisation(digits, tmp_path):
    import kerasnas

    result = kerasnas.search(digits.x_train, digits.y_train, space="nago", max_trials=1,
                             epochs=1, seed=0, min_steps=0, cv_folds=None, refit=False,
                             baseline_fallback=False, verbose=0, directory=tmp_path / "run",
                             **TINY_GRIDS)
    meta = json.loads((tmp_path / "run" / "kerasnas_search.json").read_text())
    assert meta["strategy"] == "bayesian"
    assert meta["space"]["class"] == "NAGOSpace"
    assert NAGOEncoding(**TINY_GRIDS).from_string(result.history[0].architecture)
