"""Bad input, table-driven: every case fails fast, with a message naming the problem and the fix.

Each row is one mistake a user can make with `kerasnas.search`, the spaces, the
oracles, `SearchResult.load`, the exporters or the `kerasnas` command. The test
asserts that it raises (or, for the CLI, exits with status 2) with a message
that matches both the problem and the fix, that it happened before any trial
started (no trial folder or oracle state written, within seconds), and that the
files already on disk - an earlier search's folder, a saved result, an earlier
export - are byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

#: A bad call must fail within this many seconds: checks run before anything is built or
#: trained (a one-epoch trial of the smallest model takes longer than this on a loaded 2-core
#: machine). TensorFlow's import is paid once by `_imports`, outside the timing.
FAST_S = 10.0


@pytest.fixture(scope="module", autouse=True)
def _imports():
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401

    import kerasnas.automl.pipeline  # noqa: F401
    import kerasnas.cli  # noqa: F401
    import kerasnas.deploy.export  # noqa: F401
    import kerasnas.deploy.result  # noqa: F401


# ------------------------------------------------------------------------------ fixtures
def _data(n=40, classes=3, shape=(6,), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape)).astype("float32")
    y = np.arange(n) % classes
    return x, y


def _digest(root: Path) -> dict[str, str]:
    """`{relative path: sha256}` of every file under `root` (folders included as names)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        found[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


@pytest.fixture
def world(tmp_path):
    """An earlier search folder (meta + oracle state), a saved-result folder, an export folder."""
    run = tmp_path / "previous_run"
    run.mkdir()
    (run / "kerasnas_search.json").write_text(json.dumps({"space": "earlier"}))
    (run / "oracle.json").write_text('{"kept": true}')
    saved = tmp_path / "saved_result"
    saved.mkdir()
    (saved / "result.json").write_text('{"task": {"kind": "tabular"')  # truncated: corrupted
    (saved / "model.keras").write_bytes(b"not a zip file")
    foreign = tmp_path / "foreign_result"
    foreign.mkdir()
    (foreign / "result.json").write_text(json.dumps({"name": "someone else's file"}))
    (foreign / "model.keras").write_bytes(b"PK")
    exported = tmp_path / "export"
    (exported / "kerasnas_model" / "1").mkdir(parents=True)
    (exported / "kerasnas_model" / "1" / "saved_model.pb").write_bytes(b"v1")
    (exported / "kerasnas_model.keras").write_bytes(b"earlier keras file")
    (tmp_path / "a_file").write_text("a file, not a folder")
    return tmp_path


def _search(**kwargs):
    import kerasnas

    x, y = kwargs.pop("data", _data())
    kwargs.setdefault("max_trials", 2)
    kwargs.setdefault("epochs", 1)
    kwargs.setdefault("verbose", 0)
    return kerasnas.search(x, y, **kwargs)


def _model():
    import keras

    inputs = keras.Input((6,))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))


def _export(directory, **kwargs):
    from kerasnas.deploy.export import export_model

    return export_model(_model(), directory, **kwargs)


def _cli(*argv):
    from kerasnas.cli import main

    return main([str(a) for a in argv])


def _oracle_state(tmp):
    """A Keras Tuner oracle's saved state with no kerasnas part (a foreign oracle's file)."""
    import keras_tuner

    oracle = keras_tuner.oracles.RandomSearchOracle(objective="accuracy", max_trials=3, seed=1)
    return oracle.get_state()


# ---------------------------------------------------------------------------------- table
# (id, call(tmp) -> raises, exception type, regex for the problem, regex for the fix)
CASES = [
    # kerasnas.search: data
    ("empty x", lambda t: _search(data=(np.zeros((0, 6), "float32"), np.zeros(0, int)),
                                  directory=t / "r"),
     ValueError, r"(?i)empty|no examples|0 examples", r"(?i)pass|at least"),
    ("mismatched lengths", lambda t: _search(data=(_data()[0], _data()[1][:-5]),
                                            directory=t / "r"),
     ValueError, r"40.*35|35.*40", r"(?i)same (number|length)|one .* per"),
    ("NaN in x", lambda t: _search(data=(np.where(np.eye(40, 6) > 0, np.nan, 1.0), _data()[1]),
                                   directory=t / "r"),
     ValueError, r"(?i)nan", r"(?i)impute|remove|drop|replace|fill"),
    ("inf in x", lambda t: _search(data=(np.where(np.eye(40, 6) > 0, np.inf, 1.0), _data()[1]),
                                   directory=t / "r"),
     ValueError, r"(?i)inf", r"(?i)remove|replace|clip|fill|drop"),
    ("one class", lambda t: _search(data=(_data()[0], np.zeros(40, int)), directory=t / "r"),
     ValueError, r"(?i)one class|single class|only one", r"(?i)at least two|regression|problem="),
    ("text x", lambda t: _search(data=(np.array([["a"] * 6] * 40), _data()[1]),
                                 directory=t / "r"),
     (ValueError, TypeError), r"(?i)numer|string|text", r"(?i)encode|convert|dataframe|pass"),
    ("1-D x", lambda t: _search(data=(np.arange(40.0), _data()[1]), directory=t / "r"),
     ValueError, r"(?i)shape|dimension|1-d|\(40,\)", r"(?i)reshape|pass"),
    ("y is None", lambda t: _search(data=(_data()[0], None), directory=t / "r"),
     (ValueError, TypeError), r"(?i)\by\b.*(none|missing|needs|required)", r"(?i)pass"),
    ("NaN labels", lambda t: _search(data=(_data()[0], np.where(np.arange(40) == 3, np.nan,
                                                                 np.arange(40) % 3)),
                                     directory=t / "r"),
     ValueError, r"(?i)nan|missing", r"(?i)remove|drop|fill|impute"),
    ("labels of rank 3", lambda t: _search(data=(_data()[0], np.zeros((40, 3, 2))),
                                           directory=t / "r"),
     ValueError, r"(?i)rank 3", r"(?i)pass labels \(N,\), one-hot"),
    ("validation shape differs", lambda t: _search(
        validation_data=(np.zeros((10, 7), "float32"), np.arange(10) % 3), directory=t / "r"),
     ValueError, r"\(7,\).*\(6,\)", r"(?i)shaped like x"),
    ("validation labels unseen", lambda t: _search(
        validation_data=(np.zeros((10, 6), "float32"), np.arange(10) % 3 + 5), directory=t / "r"),
     ValueError, r"(?i)label\(s\) 5, 6, 7 not seen in training", r"(?i)encode validation labels"),
    ("validation_split 1.5", lambda t: _search(validation_split=1.5, directory=t / "r"),
     ValueError, r"validation_split", r"(?i)between|\(0, 1\)"),
    # kerasnas.search: arguments
    ("negative max_trials", lambda t: _search(max_trials=-3, directory=t / "r"),
     ValueError, r"max_trials.*-3", r"(?i)positive"),
    ("negative time_budget", lambda t: _search(time_budget=-5, max_trials=None,
                                               directory=t / "r"),
     ValueError, r"time_budget.*-5", r"(?i)time_budget=600|> 0"),
    ("NaN time_budget", lambda t: _search(time_budget=float("nan"), directory=t / "r"),
     ValueError, r"time_budget.*nan", r"(?i)finite"),
    ("zero epochs", lambda t: _search(epochs=0, directory=t / "r"),
     ValueError, r"epochs.*0", r"(?i)positive|>= ?1"),
    ("unknown strategy", lambda t: _search(strategy="evolutoin", directory=t / "r"),
     ValueError, r"strategy 'evolutoin'", r"did you mean 'evolution'"),
    ("unknown space", lambda t: _search(space="resnet", directory=t / "r"),
     ValueError, r"space 'resnet'", r"(?i)choose one of"),
    ("unknown objective", lambda t: _search(objective="val_f1", directory=t / "r"),
     ValueError, r"objective 'val_f1'", r"(?i)choose|keras_tuner.Objective"),
    ("unknown space argument", lambda t: _search(space="dense", widthz=3, directory=t / "r"),
     TypeError, r"widthz", r"(?i)accepts"),
    ("unknown strategy argument", lambda t: _search(strategy="evolution",
                                                    strategy_args={"populaton": 5},
                                                    directory=t / "r"),
     (ValueError, TypeError), r"populaton", r"(?i)accepts|did you mean|population_size"),
    # kerasnas.search: the run folder
    ("directory is a file", lambda t: _search(directory=t / "a_file"),
     (ValueError, OSError), r"a_file", r"(?i)choose another|folder|directory="),
    ("directory under a file", lambda t: _search(directory=t / "a_file" / "run"),
     (ValueError, OSError), r"a_file", r"(?i)choose another|directory="),
    ("unwritable directory", lambda t: _search(directory="/proc/kerasnas_run"),
     (ValueError, OSError), r"(?i)/proc.*(writ|create)|(writ|create).*/proc",
     r"(?i)choose another|directory="),
    ("full disk", lambda t: _full_disk(t),
     (ValueError, OSError), r"(?i)free|full|space", r"(?i)free (up )?|choose another"),
    ("another search's folder", lambda t: _search(directory=t / "previous_run"),
     ValueError, r"(?i)different search", r"overwrite=True"),
    ("corrupted search metadata", lambda t: _corrupt_meta(t),
     ValueError, r"(?i)kerasnas_search.json.*(corrupt|not valid|unreadable|JSON)",
     r"(?i)overwrite=True|another directory|delete"),
    ("bad data with overwrite=True", lambda t: _search(
        data=(np.zeros((0, 6), "float32"), np.zeros(0, int)), directory=t / "previous_run",
        overwrite=True),
     ValueError, r"(?i)empty|no examples|0 examples", r"(?i)pass|at least"),
    # spaces
    ("space with zero layers", lambda t: _space("MacroSpace", max_layers=0),
     ValueError, r"max_layers", r"1 <= min_layers <= max_layers"),
    ("unknown op", lambda t: _space("CellSpace", ops=("sep_conv_3x3", "warp_drive")),
     ValueError, r"warp_drive", r"(?i)register_op|choose|known"),
    ("unparseable architecture", lambda t: _nb201().from_string("|conv9x9~0|+|"),
     ValueError, r"(?i)not an NB201 string", r"(?i)need 3 nodes joined by"),
    # oracles
    ("population smaller than sample", lambda t: _oracle("RegularizedEvolution",
                                                         population_size=3, sample_size=5),
     ValueError, r"sample_size \(5\).*population_size \(3\)", r"lower sample_size"),
    ("unknown reward", lambda t: _oracle("ReinforceController", reward="accuracy"),
     ValueError, r"reward.*accuracy", r"normalized"),
    ("negative oracle max_trials", lambda t: _oracle("RandomSearch", max_trials=-1),
     ValueError, r"max_trials.*-1", r"(?i)positive|>= ?1|None"),
    ("foreign oracle state", lambda t: _oracle("RegularizedEvolution").set_state(_oracle_state(t)),
     ValueError, r"(?i)not.*kerasnas|no kerasnas|another oracle|foreign",
     r"(?i)overwrite=True|another directory|project"),
    # SearchResult.load
    ("load missing folder", lambda t: _load(t / "nothing_here"),
     FileNotFoundError, r"(?i)no saved search result", r"(?i)pass the folder"),
    ("load corrupted result", lambda t: _load(t / "saved_result"),
     ValueError, r"(?i)result.json.*(corrupt|not valid|unreadable|truncated)",
     r"(?i)save|search again|re-?run"),
    ("load foreign result", lambda t: _load(t / "foreign_result"),
     ValueError, r"(?i)not a kerasnas|lacks|missing", r"(?i)kerasnas.search|save"),
    # exporters
    ("export unknown format", lambda t: _export(t / "export", formats=("onnx",)),
     ValueError, r"onnx", r"(?i)choose from"),
    ("export version 0", lambda t: _export(t / "export", version=0),
     ValueError, r"version.*0", r"(?i)positive"),
    ("export over an existing version", lambda t: _export(t / "export", version=1),
     ValueError, r"(?i)already exists", r"(?i)another version|next_version|--version"),
    ("export into a file", lambda t: _export(t / "a_file"),
     (ValueError, OSError), r"a_file", r"(?i)folder|directory|choose"),
    ("export no model", lambda t: _export_none(t / "new_export"),
     (ValueError, TypeError), r"(?i)model", r"(?i)keras.Model|pass"),
    # the `kerasnas` command
    ("cli missing data file", lambda t: _cli("search", "--data", t / "no.csv", "--max-trials",
                                             "1", "--directory", t / "r"),
     SystemExit, r"no\.csv", r"(?i)path|digits|csv|npz"),
    ("cli negative trials", lambda t: _cli("search", "--data", "digits", "--max-trials", "-3",
                                           "--directory", t / "r"),
     SystemExit, r"max_trials.*-3", r"(?i)positive"),
    ("cli test split", lambda t: _cli("search", "--data", "digits", "--test-split", "1.5",
                                      "--max-trials", "1", "--directory", t / "r"),
     SystemExit, r"test-split.*1\.5", r"(?i)\[0, 1\)"),
    ("cli export without result", lambda t: _cli("export", t / "previous_run", "--output",
                                                 t / "out"),
     SystemExit, r"(?i)no saved search result", r"(?i)pass the folder"),
    ("cli export corrupted result", lambda t: _cli("export", t / "saved_result", "--output",
                                                   t / "out"),
     SystemExit, r"(?i)result.json", r"(?i)save|search again|re-?run"),
    ("cli report foreign result", lambda t: _cli("report", t / "foreign_result"),
     SystemExit, r"(?i)not a kerasnas|lacks|missing", r"(?i)kerasnas.search|save"),
]


def _space(name, **kwargs):
    import kerasnas.spaces

    return getattr(kerasnas.spaces, name)(input_shape=(8, 8, 1), num_classes=3, **kwargs)


def _nb201():
    from kerasnas.spaces.encodings import NB201Encoding

    return NB201Encoding()


def _oracle(name, **kwargs):
    import kerasnas.oracles

    return getattr(kerasnas.oracles, name)(objective="accuracy", seed=1, **kwargs)


def _load(directory):
    from kerasnas.deploy.result import SearchResult

    return SearchResult.load(directory)


def _export_none(directory):
    from kerasnas.deploy.export import export_model

    return export_model(None, directory)


def _full_disk(tmp):
    from kerasnas.infra import preflight

    real = preflight.free_bytes
    preflight.free_bytes = lambda path: 1024  # a nearly full disk: 1 KiB free
    try:
        return _search(directory=tmp / "r")
    finally:
        preflight.free_bytes = real


def _corrupt_meta(tmp):
    run = tmp / "corrupt_run"
    run.mkdir()
    (run / "kerasnas_search.json").write_text('{"space": ')
    return _search(directory=run)


def _run_cli(call, tmp, capsys):
    """The CLI returns a status; turn a non-zero one into SystemExit carrying its stderr."""
    status = call(tmp)
    err = capsys.readouterr().err
    if status:
        raise SystemExit(f"status {status}: {err}")
    return status


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_fast_with_a_clear_message(case, world, capsys):
    name, call, errors, problem, fix = case
    before = _digest(world)
    start = time.monotonic()
    with pytest.raises(errors) as info:
        if name.startswith("cli"):
            _run_cli(call, world, capsys)
        else:
            call(world)
    elapsed = time.monotonic() - start
    message = str(info.value)
    if name.startswith("cli"):
        assert message.startswith("status 2"), message  # a usage error, not a crash (1)
    assert "Traceback" not in message
    assert re.search(problem, message), f"problem not named: {message}"
    assert re.search(fix, message), f"no fix given: {message}"
    assert elapsed < FAST_S, f"took {elapsed:.1f} s: the check runs too late"
    after = _digest(world)
    created = sorted(set(after) - set(before))
    # Nothing changed or removed; new files only where the case itself made them (its corrupt run
    # folder), and never a trial or oracle state.
    assert {k: v for k, v in after.items() if k in before} == before
    assert not [p for p in created if "trial_" in p or p.endswith("oracle.json")], created
    assert not [p for p in created if not p.startswith("corrupt_run")], created


def test_the_table_covers_every_entry_point():
    names = " ".join(c[0] for c in CASES)
    assert len(CASES) >= 30
    for word in ("space", "oracle", "load", "export", "cli", "directory", "NaN"):
        assert word in names, word
