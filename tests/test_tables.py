"""Real tables (#16): text, integer codes, booleans and NaN, encoded by Keras layers inside the model.

One tiny search (module fixture) on a DataFrame as users have them; the
SavedModel and the `.keras` file are then checked in a fresh process
(`tests/tables_steps.py`) against `result.predict` on raw rows.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

import kerasnas  # noqa: E402
from kerasnas.data import prepare_data  # noqa: E402
from kerasnas.data.columns import infer_columns  # noqa: E402

STEPS = Path(__file__).with_name("tables_steps.py")
CITIES = ("Oslo", "Rome", "Lima", "Pune")


def people(n=240, seed=0):
    """An int age, a text city (with a missing one), a float income with NaN, a bool flag,
    integer-coded stars, a customer id; the label depends on city and flag."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "city": rng.choice(CITIES, n),
        "income": rng.normal(50.0, 12.0, n).round(1),
        "member": rng.random(n) < 0.4,
        "stars": rng.integers(1, 5, n),
        "customer id": [f"c{i:05d}" for i in rng.permutation(n)],
    })
    frame.loc[rng.choice(n, 12, replace=False), "income"] = np.nan
    frame.loc[7, "city"] = None
    label = np.where((frame["city"] == "Oslo") | frame["member"], "buys", "skips")
    return frame, label


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    frame, label = people()
    run = tmp_path_factory.mktemp("tables")
    result = kerasnas.search(frame, label, strategy="random", max_trials=1, epochs=40,
                             early_stopping=None, seed=3, verbose=0, directory=run / "search",
                             min_steps=0, cv_folds=None,
                             layers=(1,), widths=(16,), activations=("relu",), dropouts=(0.0,),
                             ensembles=(1,))
    return result, frame, label, run


def test_mixed_dataframe_trains_and_predicts_from_raw_rows(searched):
    result, frame, label, _ = searched
    types = {c.name: c.type for c in result.task.columns}
    assert types == {"age": "numeric", "city": "categorical", "income": "numeric",
                     "member": "boolean", "stars": "categorical", "customer id": "drop"}
    # The rule reads city and the flag: a model that ignored either could not reach this.
    accuracy = result.evaluate(frame, label)["accuracy"]
    assert accuracy >= 0.95, accuracy
    assert set(result.predict(frame.head(20))) <= {"buys", "skips"}


def test_unseen_category_and_missing_values_at_prediction(searched):
    result, frame, _, _ = searched
    rows = frame.head(6).copy()
    rows["city"] = ["Paris", "Tokyo", None, "Oslo", "Rome", "Lima"]
    rows.loc[rows.index[:3], "income"] = np.nan
    rows.loc[rows.index[1], "age"] = np.nan  # missing in an int column the training never missed
    rows = rows.drop(columns=["customer id"])[["stars", "member", "income", "city", "age"]]
    proba = result.predict_proba(rows)
    assert proba.shape == (6, 2) and np.all(np.isfinite(proba))
    # Unseen cities share the one out-of-vocabulary slot: same row otherwise, same answer.
    twins = pd.concat([rows.iloc[[0]]] * 2)
    twins["city"] = ["Paris", "Tokyo"]
    a, b = result.predict_proba(twins)
    np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['city'\]"):
        result.predict(rows.drop(columns=["city"]))


def test_schema_survives_save_and_the_savedmodel_takes_raw_columns_in_fresh_process(searched):
    result, frame, _, run = searched
    rows = frame.tail(9).copy()
    rows.iloc[0, rows.columns.get_loc("city")] = "Atlantis"
    rows.iloc[1, rows.columns.get_loc("income")] = np.nan
    rows.to_pickle(run / "rows.pkl")
    np.save(run / "proba.npy", result.predict_proba(rows))
    np.save(run / "labels.npy", result.predict(rows).astype(str))
    result.export(run / "export", formats=("keras", "savedmodel"), name="people")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(STEPS), str(run)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "TABLES OK" in done.stdout


def test_column_types_override_changes_the_encoding():
    frame, label = people(n=80)
    plain = prepare_data(frame, label, seed=0)
    stars = 4  # stars 1..4: one-hot of 4 codes + out-of-vocabulary, or one number
    forced = prepare_data(frame, label, seed=0, column_types={"stars": "numeric",
                                                              "age": "drop"})
    assert plain.task.input_shape[0] - forced.task.input_shape[0] == (stars + 1 - 1) + 1
    kinds = {c.name: c.type for c in forced.task.columns}
    assert kinds["stars"] == "numeric" and kinds["age"] == "drop"
    with pytest.raises(ValueError, match="holds text.*'categorical'"):
        prepare_data(frame, label, column_types={"city": "numeric"})
    with pytest.raises(ValueError, match=r"\['town'\] that x does not have"):
        prepare_data(frame, label, column_types={"town": "categorical"})
    with pytest.raises(TypeError, match="applies to a pandas DataFrame"):
        prepare_data(frame[["age"]].to_numpy(), label, column_types={"age": "numeric"})


def test_identifier_and_constant_columns_are_dropped_with_a_note():
    frame, label = people(n=60)
    frame["row"] = np.arange(60)
    frame["country"] = "NO"
    data = prepare_data(frame, label, seed=0)
    notes = {c.name: c.note for c in data.task.columns if c.type == "drop"}
    assert set(notes) == {"customer id", "row", "country"}
    assert "identifier" in notes["customer id"] and "row number" in notes["row"]
    assert notes["country"] == "constant"
    assert "dropped ['customer id', 'row', 'country']" in data.note
    assert "customer id" in data.note.splitlines()[-3]  # the printed schema table
    assert {t.name for t in data.encoder.inputs} == {"age", "city", "income", "member", "stars"}


def test_statistics_come_from_the_training_rows_only():
    frame, label = people(n=80)
    val = frame.head(10).copy()
    val["city"] = "Quito"  # never in training: the out-of-vocabulary slot
    val["income"] = np.nan
    data = prepare_data(frame, label, validation_data=(val, label[:10]))
    columns = {c.name: c for c in data.task.columns}
    assert columns["city"].dtype == "string"
    train_income = frame["income"].to_numpy(dtype=float)
    # Feature layout: age, city (oov + 5 training tokens incl. missing), income, income missing
    income = data.x_val[:, 1 + 6]
    np.testing.assert_allclose(income, np.nanmedian(train_income), rtol=1e-6)
    assert np.all(data.x_val[:, 1 + 6 + 1] == 1.0)  # the missing flag
    assert np.all(data.x_val[:, 1] == 1.0)  # city: out of vocabulary
    assert np.all(data.x_train[:, 1] == 0.0)  # every training city has its own slot


def test_typing_rules():
    frame = pd.DataFrame({
        "code": pd.array([1, 2, 3, 2] * 10, dtype="int64"),
        "many": np.arange(40) * 3,  # distinct ints, not a step-1 run: a quantity
        "shade": pd.Categorical(["dark", "light"] * 20),
        "mixed": ["a", 1, 2.5, None] * 10,  # mixed objects are read as text
        "flag": [True, False] * 20,
    })
    columns = {c.name: c for c in infer_columns(frame)}
    assert [columns[n].type for n in frame.columns] == [
        "categorical", "numeric", "categorical", "categorical", "boolean"]
    assert columns["code"].dtype == "int64" and columns["mixed"].dtype == "string"
    assert columns["mixed"].missing == 10
    with pytest.raises(ValueError, match="Every column was dropped"):
        infer_columns(pd.DataFrame({"k": [1] * 30}))


def test_cli_types_csv_columns(tmp_path, capsys):
    from kerasnas.cli import main
    from kerasnas.deploy.result import SearchResult

    frame, label = people(n=120)
    frame["buys"] = label
    frame.to_csv(tmp_path / "people.csv", index=False)
    code = main(["search", "--data", str(tmp_path / "people.csv"), "--target", "buys",
                 "--column-type", "stars=numeric", "--max-trials", "1", "--epochs", "1",
                 "--seed", "0", "--strategy", "random", "--directory", str(tmp_path / "run"),
                 "--formats", "keras", "--space-arg", "layers=(1,)",
                 "--space-arg", "widths=(8,)", "--min-steps", "0", "--cv-folds", "none"])
    out = capsys.readouterr().out
    assert code == 0
    assert "customer id" in out and "identifier" in out  # the schema table is printed
    columns = {c.name: c.type for c in SearchResult.load(tmp_path / "run" / "result").task.columns}
    assert columns["stars"] == "numeric" and columns["city"] == "categorical"
    assert main(["search", "--data", str(tmp_path / "people.csv"), "--column-type",
                 "stars=number"]) == 2
    assert "COLUMN=TYPE" in capsys.readouterr().err


def test_dict_of_columns_and_structured_arrays_are_tables():
    frame, label = people(n=60)
    as_dict = {name: frame[name].tolist() for name in frame.columns}
    from_dict = prepare_data(as_dict, label, seed=0)
    from_frame = prepare_data(frame, label, seed=0)
    np.testing.assert_array_equal(from_dict.x_train, from_frame.x_train)
    structured = np.zeros(60, dtype=[("size", "f8"), ("colour", "U5")])
    structured["size"] = np.arange(60) % 7
    structured["colour"] = np.array(["red", "green", "blue"])[np.arange(60) % 3]
    data = prepare_data(structured, label, seed=0)
    assert [c.type for c in data.task.columns] == ["numeric", "categorical"]
    with pytest.raises(ValueError, match="one value per example"):
        prepare_data({"a": [1, 2, 3], "b": [1, 2]}, [0, 1, 0])


def test_tflite_gets_the_numeric_part(searched, tmp_path):
    import tensorflow as tf

    result, frame, _, _ = searched
    with pytest.warns(UserWarning, match="TFLite has no string lookups"):
        paths = result.export(tmp_path, formats=("tflite",))
    interpreter = tf.lite.Interpreter(model_path=paths["tflite"])
    detail = interpreter.get_input_details()[0]
    width = result.task.input_shape[0]
    assert tuple(detail["shape_signature"]) == (-1, width) and detail["dtype"] == np.float32
    from kerasnas.data.columns import column_inputs
    from kerasnas.data.tabular import encode

    encoder = result.model.layers[-2]
    rows = encode(encoder, column_inputs(frame.head(3), result.task.columns))
    interpreter.resize_tensor_input(detail["index"], rows.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], rows)
    interpreter.invoke()
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(out, result.predict_proba(frame.head(3)), atol=1e-5)
