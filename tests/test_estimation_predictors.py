"""Predictors with zero-cost features, the shared candidate pool, and PredictorGuided's
acquisitions and refits (#11)."""

import numpy as np
import pytest

from kerasnas.estimation import kendall_tau
from kerasnas.estimation.predictors import make_predictor
from kerasnas.oracles.candidates import candidate_pool
from kerasnas.spaces.encodings import MacroEncoding, NB201Encoding


# ------------------------------------------------------------- candidate pool
def test_candidate_pool_caps_neighbours_and_leaves_out_known():
    enc = MacroEncoding(max_layers=4, widths=(8, 16, 32))
    rng = np.random.default_rng(0)
    best, other = str(enc.sample(rng)), str(enc.sample(rng))
    all_neighbours = {str(a) for a in enc.neighbors(enc.from_string(best))}
    assert len(all_neighbours) > 5
    known = {best, other, sorted(all_neighbours)[0]}
    args = dict(top_k=1, num_mutations=0, num_random_candidates=0)
    pool = candidate_pool(enc, {best: 1.0, other: 0.5}, known, np.random.default_rng(1), **args)
    assert set(pool) == all_neighbours - known
    capped = candidate_pool(enc, {best: 1.0, other: 0.5}, set(), np.random.default_rng(1),
                            max_neighbors=5, **args)
    assert len(capped) == 5 and set(capped) <= all_neighbours
    with_other = candidate_pool(enc, {best: 1.0, other: 0.5}, set(), np.random.default_rng(1),
                                parents=[other], **args)
    assert set(with_other) > all_neighbours  # the extra parent's neighbourhood joins


# ------------------------------------------------- predictors with extra features
def test_predictor_uses_zero_cost_features_beside_the_encoding():
    enc = NB201Encoding()
    rng = np.random.default_rng(0)
    archs = [enc.sample(rng) for _ in range(100)]
    hidden = {str(a): float(v) for a, v in zip(archs, rng.normal(size=100), strict=True)}
    score = [hidden[str(a)] for a in archs]  # unrelated to the encoding, known to the feature
    feats = lambda batch: np.array([[hidden[str(a)]] for a in batch])  # noqa: E731
    for name in ("ranker", "mlp_ensemble"):
        plain = make_predictor(name, enc, seed=1).fit(archs[:30], score[:30])
        fed = make_predictor(name, enc, seed=1, features=feats).fit(archs[:30], score[:30])
        assert kendall_tau(fed.predict(archs[30:]), score[30:]) > 0.7
        assert abs(kendall_tau(plain.predict(archs[30:]), score[30:])) < 0.3
    with pytest.raises(ValueError, match="'gp' predictor's categorical kernel takes no extra"):
        make_predictor("gp", enc, features=feats)
    bad = make_predictor("ranker", enc, features=lambda batch: np.zeros((1, 2)))
    with pytest.raises(ValueError, match="must return 30 rows of finite numbers"):
        bad.fit(archs[:30], score[:30])


def test_feature_vector_transforms_and_rejects_non_finite():
    from kerasnas.estimation.zc_features import feature_vector

    v = feature_vector({"params": np.e ** 3, "flops": 1.0, "naswot": -np.inf},
                       ("params", "flops", "naswot"))
    np.testing.assert_allclose(v, [3.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="'jacob_cov' score is nan"):
        feature_vector({"jacob_cov": float("nan")}, ("jacob_cov",))
    with pytest.raises(ValueError, match="No 'flops' score"):
        feature_vector({"params": 1.0}, ("params", "flops"))


def test_zero_cost_features_of_a_space_count_parameters():
    from kerasnas.estimation.zc_features import zero_cost_features
    from kerasnas.spaces import MacroSpace

    space = MacroSpace((8, 8, 1), 10, max_layers=2, widths=(4, 8), stem_channels=4)
    archs = [space.sample(np.random.default_rng(s)) for s in (1, 2)]
    feats = zero_cost_features(space)
    f = feats(archs)
    assert f.shape == (2, 2)
    count = space.build_architecture(archs[0]).count_params()
    assert f[0, 0] == pytest.approx(np.log(count))
    with pytest.raises(ValueError, match="need a minibatch: pass x"):
        zero_cost_features(space, names=("params", "naswot"))
    with pytest.raises(ValueError, match="Unknown proxies \\['size'\\]"):
        zero_cost_features(space, names=("size",))


# ------------------------------------------------- PredictorGuided acquisitions
def test_exploration_changes_the_proposals_and_still_finds_good_cells(nb201_toy, tmp_path):
    from kerasnas.bench.nb201 import run_search
    from kerasnas.estimation.guided import PredictorGuided

    enc, table = nb201_toy
    runs = {}
    for acq, kappa in (("ucb", 0.0), ("its", 0.0), ("ucb", 1.0), ("ei", 0.0)):
        oracle = PredictorGuided(objective="accuracy", predictor="ranker", space=enc, seed=1,
                                 acquisition=acq, exploration=kappa, num_random_candidates=30,
                                 top_k=5)
        runs[acq, kappa] = [a for a, _ in run_search(oracle, table, 20,
                                                     directory=str(tmp_path / f"{acq}{kappa}"))]
    plain = runs.pop(("ucb", 0.0))
    for explored in runs.values():
        assert plain[:10] == explored[:10]  # the same random start
        assert plain[10:] != explored[10:]
        assert max(table[a] for a in explored) >= max(table.values()) - 2


def test_refit_every_reuses_the_predictor_and_resumes_exactly(nb201_toy, tmp_path):
    from kerasnas.estimation.guided import PredictorGuided

    enc, table = nb201_toy

    def oracle():
        return PredictorGuided(objective="accuracy", predictor="ranker", space=enc, seed=2,
                               refit_every=3, num_random_candidates=20)

    a = oracle()
    for arch in [enc.sample(np.random.default_rng(s)) for s in range(12)]:
        a._fitness[str(arch)] = table[str(arch)]
    first = a.fit_predictor()
    a._fitness[str(enc.sample(np.random.default_rng(99)))] = 80.0
    assert a.fit_predictor() is first  # 1 new observation < refit_every
    state = a.get_state()
    b = oracle()
    b.set_state(state)  # a resumed search refits on the same 12 with the same seed
    probe = [enc.sample(np.random.default_rng(s)) for s in range(100, 110)]
    np.testing.assert_array_equal(b.fit_predictor().predict(probe), first.predict(probe))
    for arch in [enc.sample(np.random.default_rng(s)) for s in range(200, 202)]:
        a._fitness[str(arch)] = table[str(arch)]
    assert a.fit_predictor() is not first  # 3 new observations: refitted
    with pytest.raises(ValueError, match="Unknown acquisition 'pi'"):
        PredictorGuided(objective="accuracy", acquisition="pi")
    with pytest.raises(ValueError, match="needs predictor 'ranker' or 'mlp_ensemble'"):
        PredictorGuided(objective="accuracy", predictor="gp", features=lambda archs: None)
