"""Fresh-process step of `test_tables.py`: serve a typed-table model as a deployment would.

    python tests/tables_steps.py RUN_DIR

RUN_DIR holds `rows.pkl` (raw DataFrame rows, with an unseen city and a NaN),
`proba.npy` / `labels.npy` (what `result.predict_proba` / `predict` gave in the
searching process), `search/result` and `export/`. This process first calls
the SavedModel's `serving_default` with one raw tensor per column, importing
nothing from kerasnas (as TF Serving would); then reloads the `.keras` file and
the `SearchResult`. Prints `TABLES OK` when all agree.
"""

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(run):
    import pandas as pd
    import tensorflow as tf

    run = Path(run)
    rows = pd.read_pickle(run / "rows.pkl")
    proba, labels = np.load(run / "proba.npy"), np.load(run / "labels.npy")

    signature = tf.saved_model.load(str(run / "export" / "people" / "1")).signatures[
        "serving_default"]
    specs = signature.structured_input_signature[1]
    assert set(specs) == {"age", "city", "income", "member", "stars"}, specs  # id column dropped
    assert specs["city"].dtype == tf.string and specs["member"].dtype == tf.bool, specs
    assert specs["stars"].dtype == tf.int64 and specs["income"].dtype == tf.float32, specs
    request = {  # raw column values, as a client sends them (missing city: "")
        "age": tf.constant(rows["age"].to_numpy(np.float32)),
        "city": tf.constant([c if isinstance(c, str) else "" for c in rows["city"]]),
        "income": tf.constant(rows["income"].to_numpy(np.float32)),  # NaN stays NaN
        "member": tf.constant(rows["member"].to_numpy(bool)),
        "stars": tf.constant(rows["stars"].to_numpy(np.int64)),
    }
    out = signature(**request)
    np.testing.assert_allclose(out["probabilities"].numpy(), proba, atol=1e-5)
    np.testing.assert_array_equal(out["label"].numpy().astype(str), labels)
    assert "kerasnas" not in sys.modules, "serving needed kerasnas"

    import keras

    import kerasnas.data.tabular  # noqa: F401  registers the column encoder's layers

    model = keras.saving.load_model(run / "export" / "people.keras")
    inputs = {k: v.numpy() for k, v in request.items()}
    # Keras's predict takes text as an object array of str (not bytes, not numpy '<U').
    inputs["city"] = np.array([c.decode() for c in inputs["city"]], dtype=object)
    np.testing.assert_allclose(model.predict(inputs, verbose=0), proba, atol=1e-5)

    from kerasnas.deploy.result import SearchResult

    result = SearchResult.load(run / "search" / "result")
    assert [c.type for c in result.task.columns] == [
        "numeric", "categorical", "numeric", "boolean", "categorical", "drop"], result.task.columns
    np.testing.assert_allclose(result.predict_proba(rows), proba, atol=1e-5)
    np.testing.assert_array_equal(result.predict(rows).astype(str), labels)
    print("TABLES OK")


if __name__ == "__main__":
    main(sys.argv[1])
