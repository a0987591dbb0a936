"""The Keras-free encodings: validity, canonical form and every round trip (pure Python)."""

import csv
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from kerasnas.spaces.architecture import SPACE_HP_NAME, Architecture, Encoding
from kerasnas.spaces.encodings import CellEncoding, DenseEncoding, MacroEncoding, NB201Encoding

ENCODINGS = {
    "macro": MacroEncoding(),
    "macro_noskip": MacroEncoding(max_layers=4, min_layers=1, skips=False),
    "cell": CellEncoding(),
    "cell_macro": CellEncoding(num_blocks=3, macro=True, num_cells=3),
    "nb201": NB201Encoding(),
    "dense": DenseEncoding(),
    "dense_linear": DenseEncoding(min_layers=0, max_layers=2),
}
SAMPLES = 200


def samples(encoding, n=SAMPLES, seed=0):
    rng = np.random.default_rng(seed)
    return [encoding.sample(rng) for _ in range(n)]


def decisions_changed(encoding, a, b):
    """How many decisions separate `a` and `b`, read off the network they describe.

    Cell blocks are compared as unordered pairs of branches (the encoding stores
    them sorted, so one change can swap the stored order); elsewhere only
    decisions active in both count (changing `num_layers` resets the layers it
    drops).
    """
    if isinstance(encoding, CellEncoding):
        changes = 0
        for cell in encoding.cell_names:
            for (o1, i1, o2, i2, c), (p1, j1, p2, j2, d) in zip(
                    encoding.blocks(a, cell), encoding.blocks(b, cell), strict=True):
                changes += c != d
                ours, theirs = Counter([(i1, o1), (i2, o2)]), Counter([(j1, p1), (j2, p2)])
                gone, new = list((ours - theirs).elements()), list((theirs - ours).elements())
                if len(gone) == 1:
                    changes += sum(x != y for x, y in zip(gone[0], new[0], strict=True))
                else:
                    changes += 2 * len(gone)
        return changes
    shared = encoding.active(a.as_dict()) & encoding.active(b.as_dict())
    return sum(a[name] != b[name] for name in shared)


def test_every_nb201_benchmark_string_round_trips(nb201_csv):
    encoding = NB201Encoding()
    with open(nb201_csv, newline="") as f:
        strings = [row["arch"] for row in csv.DictReader(f)]
    assert len(strings) == encoding.size() == 15_625
    archs = set()
    for text in strings:
        arch = encoding.from_string(text)
        assert str(arch) == text
        archs.add(arch)
    assert len(archs) == 15_625


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_mutate_gives_a_valid_different_architecture(name):
    encoding = ENCODINGS[name]
    rng = np.random.default_rng(1)
    for arch in samples(encoding):
        child = arch.mutate(rng)
        assert child != arch
        assert encoding.architecture(child.as_dict()) == child  # valid and canonical
        assert decisions_changed(encoding, arch, child) == 1, (str(arch), str(child))


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_hp_values_json_and_string_round_trip(name):
    encoding = ENCODINGS[name]
    for arch in samples(encoding):
        values = arch.to_hp_values()
        assert values[SPACE_HP_NAME] == encoding.key
        assert all(type(v) in (int, float, str, bool) for v in values.values())
        assert encoding.from_hp_values(values) == arch
        assert encoding.from_hp_values({**values, "learning_rate": 0.1}) == arch
        text = arch.to_json()
        json.loads(text)
        again = Architecture.from_json(text)
        assert again == arch and hash(again) == hash(arch)
        assert encoding.from_string(str(arch)) == arch


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_neighbors_are_distinct_valid_and_one_decision_away(name):
    encoding = ENCODINGS[name]
    for arch in samples(encoding):
        neighbors = arch.neighbors()
        assert neighbors and arch not in neighbors
        assert len(set(neighbors)) == len(neighbors)
        for other in neighbors:
            assert encoding.architecture(other.as_dict()) == other
            assert decisions_changed(encoding, arch, other) == 1, (str(arch), str(other))


def test_nb201_neighborhood_is_the_full_one_edge_neighborhood():
    encoding = NB201Encoding()
    arch = encoding.sample(np.random.default_rng(3))
    assert len(arch.neighbors()) == 6 * 4


def test_swapped_cell_branches_are_one_architecture():
    encoding = CellEncoding(num_blocks=2)
    values = encoding.default().as_dict()
    values.update({"normal_b1_in1": 2, "normal_b1_op1": "skip_connect",
                   "normal_b1_in2": 0, "normal_b1_op2": "sep_conv_5x5"})
    swapped = {**values, "normal_b1_in1": 0, "normal_b1_op1": "sep_conv_5x5",
               "normal_b1_in2": 2, "normal_b1_op2": "skip_connect"}
    a, b = encoding.architecture(values), encoding.architecture(swapped)
    assert a == b and hash(a) == hash(b) and str(a) == str(b)
    assert encoding.architecture({**values, "normal_b1_comb": "concat"}) != a


def test_inactive_layers_do_not_change_equality():
    macro = MacroEncoding()
    values = macro.default().as_dict() | {"num_layers": 2}
    a = macro.architecture(values)
    b = macro.architecture(values | {"layer4_op": "max_pool", "layer5_width": 64,
                                     "layer3_skip1": True})
    assert a == b and hash(a) == hash(b)
    assert macro.architecture(values | {"num_layers": 5, "layer4_op": "max_pool"}) != \
        macro.architecture(values | {"num_layers": 5})
    dense = DenseEncoding()
    short = dense.default().as_dict() | {"num_layers": 1}
    assert dense.architecture(short) == dense.architecture(short | {"units3": 256})


def test_inactive_decisions_are_zero_in_the_one_hot_vector():
    macro = MacroEncoding(max_layers=3, min_layers=1, skips=False)
    arch = macro.from_string("conv_3x3:16")
    vector = macro.one_hot(arch)
    assert vector.sum() == 1 + 3  # num_layers + op, width, kernel of layer 0


@pytest.mark.parametrize("encoding, text, match", [
    (NB201Encoding(), "nonsense", "Not an NB201 string"),
    (NB201Encoding(), "|foo~0|+|none~0|none~1|+|none~0|none~1|none~2|",
     "'foo' is not a valid value for 'edge_1_0'"),
    (NB201Encoding(), "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "Bad NB201 edge"),
    (NB201Encoding(), "|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 edges"),
    (MacroEncoding(), "conv_3x3:16 > conv_3x3:12", "12 is not a valid value for 'layer1_width'"),
    (MacroEncoding(), "conv3x3:16 > conv_3x3:16", "Cannot parse macro layer 'conv3x3:16'"),
    (MacroEncoding(), " > ".join(["conv_3x3:16"] * 7), "7 is not a valid value for 'num_layers'"),
    (MacroEncoding(), "conv_3x3:16 > conv_3x3:16+1", "layer 1 takes skips only from layers"),
    (MacroEncoding(skips=False), "conv_3x3:16 > conv_3x3:16 > conv_3x3:16+0", "skips=False"),
    (CellEncoding(num_blocks=1), "normal: sep_conv_3x3~0 skip_connect~1 add | "
     "reduce: sep_conv_3x3~0 skip_connect~1 add | extra: sep_conv_3x3~0 skip_connect~1 add",
     "unknown cells"),
    (DenseEncoding(), "32 relu dropout=0.0 skip extra", "expected 'W1-W2-"),
    (CellEncoding(num_blocks=1), "normal: sep_conv_3x3~0 foo~1 add | "
     "reduce: sep_conv_3x3~0 skip_connect~1 add", "'foo' is not a valid value"),
    (CellEncoding(num_blocks=1), "normal: sep_conv_3x3~0 skip_connect~2 add | "
     "reduce: sep_conv_3x3~0 skip_connect~1 add", "2 is not a valid value for 'normal_b0_in"),
    (CellEncoding(num_blocks=1), "normal: sep_conv_3x3~0 skip_connect~1 add",
     "Cannot parse cell architecture"),
    (DenseEncoding(), "abc relu dropout=0.0", "Cannot parse dense architecture"),
    (DenseEncoding(), "33 relu dropout=0.0", "33 is not a valid value for 'units0'"),
    (DenseEncoding(), "32 relux dropout=0.0", "'relux' is not a valid value for 'activation'"),
])
def test_bad_strings_raise_useful_errors(encoding, text, match):
    with pytest.raises(ValueError, match=match):
        encoding.from_string(text)


def test_bad_values_raise_useful_errors():
    encoding = NB201Encoding()
    values = encoding.default().as_dict()
    with pytest.raises(ValueError, match="missing decisions \\['edge_3_2'\\]"):
        encoding.architecture({k: v for k, v in values.items() if k != "edge_3_2"})
    with pytest.raises(ValueError, match="'conv_7x7' is not a valid value for 'edge_2_1'"):
        encoding.architecture(values | {"edge_2_1": "conv_7x7"})
    with pytest.raises(ValueError, match="Unknown encoding 'nope'"):
        Architecture.from_json(json.dumps({"space": {"name": "nope", "config": {}},
                                           "values": {}}))
    with pytest.raises(ValueError, match="min_layers <= max_layers"):
        MacroEncoding(max_layers=2, min_layers=3)
    with pytest.raises(ValueError, match="No encoding with key"):
        Encoding.from_key("macro-0000000000")


def test_encodings_import_without_keras():
    code = ("import sys, kerasnas.spaces.encodings, kerasnas.spaces.architecture; "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dense_linear_model_is_the_zero_layer_mlp():
    enc = DenseEncoding(min_layers=0, max_layers=2)
    linear = enc.from_string("linear")
    assert linear["num_layers"] == 0 and str(linear) == "linear"
    assert enc.active(linear.as_dict()) == {"num_layers"}
    # Its inactive decisions are canonical, so one linear model is one architecture.
    assert len({a for a in samples(enc, 300) if a["num_layers"] == 0}) == 1
    with pytest.raises(ValueError, match="linear"):
        DenseEncoding().from_string("linear")  # min_layers=1 holds no linear model
