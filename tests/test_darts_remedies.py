"""DARTS collapse remedies (kerasnas.darts.search): α warm-up, DARTS+ counting parameter-free ops."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from kerasnas import darts  # noqa: E402
from kerasnas.darts.model import DartsModel  # noqa: E402
from kerasnas.darts.search import AlphaRecorder, _check_stop_ops, parameter_free_ops  # noqa: E402
from kerasnas.darts.supernet import build_supernet  # noqa: E402
from kerasnas.spaces import NB201Space  # noqa: E402

OPS = ("none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3")


def tiny_space():
    return NB201Space((8, 8, 1), 10, channels=2, cells_per_stage=1, ops=OPS)


class RawAlphas(keras.callbacks.Callback):
    """Raw α (not rounded) at the start and after every epoch."""

    def on_train_begin(self, logs=None):
        self.seen = [self.model.alpha_values()["cell"]]

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(self.model.alpha_values()["cell"])


def test_warmup_freezes_alpha_then_alpha_learns_in_the_traced_step(digits):
    raw = RawAlphas()
    result = darts.search(tiny_space(), digits.x_train[:64], digits.y_train[:64], epochs=3,
                          warmup_epochs=2, batch_size=16, seed=0, callbacks=[raw])
    start, after1, after2, after3 = raw.seen
    np.testing.assert_array_equal(after1, start)       # warm-up: not one α update
    np.testing.assert_array_equal(after2, start)       # (Adam's weight decay would move it too)
    assert np.abs(after3 - after2).max() > 1e-5        # after the warm-up α learns (retraced step)
    assert len(result.alpha_trajectory) == 3
    assert result.history["loss"][0] > 0               # w trained during the warm-up


def test_stop_rule_counts_pooling_as_parameter_free():
    space = tiny_space()
    keras.utils.set_random_seed(0)
    model = DartsModel(build_supernet(space), seed=0)
    ops = model.supernet.ops
    stop_ops = _check_stop_ops(space, "parameter_free")
    assert set(stop_ops) == {"skip_connect", "avg_pool_3x3"} == set(parameter_free_ops(ops))

    def set_alpha(op):
        alpha = np.zeros((6, len(ops)), "float32")
        alpha[:, ops.index(op)] = 3.0
        model.alphas[0].assign(alpha)

    for counted, fires in ((stop_ops, True), (("skip_connect",), False)):
        recorder = AlphaRecorder(max_skips=2, stop_ops=counted)
        recorder.set_model(model)
        model.stop_training = False
        set_alpha("nor_conv_3x3")
        recorder.on_epoch_end(0)
        set_alpha("avg_pool_3x3")                       # every edge pooling: the pooling collapse
        recorder.on_epoch_end(1)
        assert (recorder.stopped_early == 2) is fires and model.stop_training is fires
        if fires:                                       # the architecture of the epoch before
            assert len(recorder.architectures) == 1
            assert "avg_pool" not in str(recorder.architectures[0])


def test_remedy_arguments_fail_before_training(digits):
    space = tiny_space()
    with pytest.raises(ValueError, match="warmup_epochs must be an int in"):
        darts.search(space, digits.x_train, digits.y_train, epochs=2, warmup_epochs=2)
    with pytest.raises(ValueError, match="not among the space's ops"):
        darts.search(space, digits.x_train, digits.y_train, max_skips=2, stop_ops=("max_pool_5x5",))
    with pytest.raises(ValueError, match="stop_ops must be"):
        darts.search(space, digits.x_train, digits.y_train, max_skips=2, stop_ops="pools")
