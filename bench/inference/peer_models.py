"""The churn logistic regression as the peers of `npm run bench:inference` load it: MLServer's sklearn
runtime takes a joblib pickle, and `mlflow models serve` cannot answer for the ONNX fixture (its onnx
flavor builds a DataFrame of a [N] label and [N, 2] probabilities and fails), so both serve the sklearn
pipeline the ONNX fixture was exported from. Refits the exact pipeline of make_models.py (same seeded
data, same estimator), checks that its probabilities equal the ONNX fixture's expected outputs, and
writes <out>/mlserver (model.joblib + model-settings.json) and <out>/mlflow (an MLflow sklearn model
with a column signature).

    <bench venv>/bin/python bench/inference/peer_models.py <out dir>
"""
import json
import os
import shutil
import sys

import joblib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "test", "fixtures", "models")
sys.path.insert(0, FIXTURES)

from make_models import COLUMNS, churn_data  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def main(out):
    train, y = churn_data(2000, seed=7)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)).fit(train[COLUMNS].to_numpy(), y)
    with open(os.path.join(FIXTURES, "expected.json")) as f:
        expected = json.load(f)
    rows = np.asarray(expected["rows"], dtype=np.float32)
    want = np.asarray(expected["outputs"]["churn-logreg"]["probabilities"])
    got = model.predict_proba(rows)
    if not np.allclose(got, want, atol=1e-4):
        raise SystemExit(f"the refitted pipeline differs from the ONNX fixture: max |diff| {np.abs(got - want).max()}")
    mlserver = os.path.join(out, "mlserver")
    os.makedirs(mlserver, exist_ok=True)
    joblib.dump(model, os.path.join(mlserver, "model.joblib"))
    settings = {"name": "churn", "implementation": "mlserver_sklearn.SKLearnModel", "parameters": {"uri": "./model.joblib"}}
    with open(os.path.join(mlserver, "model-settings.json"), "w") as f:
        json.dump(settings, f, indent=1)

    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature

    mlflow_dir = os.path.join(out, "mlflow")
    shutil.rmtree(mlflow_dir, ignore_errors=True)
    example = pd.DataFrame(rows, columns=COLUMNS)
    mlflow.sklearn.save_model(model, mlflow_dir, signature=infer_signature(example, model.predict(example.to_numpy())))
    print(f"wrote {mlserver} and {mlflow_dir} (max |diff| vs the ONNX fixture {np.abs(got - want).max():.2e})")


if __name__ == "__main__":
    main(sys.argv[1])
