"""The model registry workflow with the official MLflow client (2.x or 3.x), unchanged.

Usage: python registry_workflow.py <tracking_uri> <experiment_name> <model_name>
Trains two scikit-learn models, logs and registers them with `log_model(registered_model_name=...)`,
promotes with stages and aliases, then loads the champion back by alias and predicts. Prints one JSON
document with what the client read back; the jest suite asserts on it.
"""
import json
import sys
import warnings

import numpy as np
import pandas as pd
import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")
uri, experiment_name, model_name = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient(uri)
major = int(mlflow.__version__.split(".")[0])
mlflow.set_experiment(experiment_name)

rng = np.random.default_rng(7)
X = pd.DataFrame(
    {
        "tenure_months": rng.integers(1, 72, 400).astype("float64"),
        "monthly_charges": rng.uniform(20, 120, 400),
        "support_calls": rng.integers(0, 10, 400).astype("float64"),
    }
)
# Churn when support calls outweigh tenure: learnable, with both classes well represented.
y = (2 * X["support_calls"] - 0.25 * X["tenure_months"] > 0).astype(int)

run_ids = []
models = []
for c in (0.1, 1.0):
    model = LogisticRegression(C=c, max_iter=500).fit(X, y)
    signature = infer_signature(X, model.predict(X))
    with mlflow.start_run(run_name=f"churn-C{c}") as run:
        mlflow.log_param("C", c)
        mlflow.log_metric("accuracy", float(model.score(X, y)))
        kwargs = {"name": "model"} if major >= 3 else {"artifact_path": "model"}
        # cloudpickle: readable by both client majors without extra packages (3.x defaults to skops).
        mlflow.sklearn.log_model(
            model,
            registered_model_name=model_name,
            signature=signature,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            **kwargs,
        )
        run_ids.append(run.info.run_id)
        models.append(model)

versions = client.search_model_versions(f"name='{model_name}'")
by_version = {int(v.version): v for v in versions}
v1, v2 = sorted(by_version)[:2]

client.transition_model_version_stage(model_name, str(v1), "Production")
promoted = client.transition_model_version_stage(model_name, str(v2), "production", archive_existing_versions=True)
after = {int(v.version): v.current_stage for v in client.search_model_versions(f"name='{model_name}'")}

client.set_registered_model_alias(model_name, "champion", str(v2))
client.set_registered_model_alias(model_name, "challenger", str(v1))
champion = client.get_model_version_by_alias(model_name, "champion")
client.update_model_version(model_name, str(v2), description="Promoted after offline evaluation")
client.set_model_version_tag(model_name, str(v2), "validation_status", "approved")
mv2 = client.get_model_version(model_name, str(v2))
latest_production = client.get_latest_versions(model_name, stages=["Production"])
latest_all = client.get_latest_versions(model_name)
registered = client.get_registered_model(model_name)

loaded = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
sample = X.head(20)
predicted = [int(p) for p in np.asarray(loaded.predict(sample)).ravel()]
expected = [int(p) for p in models[1].predict(sample)]
by_number = mlflow.pyfunc.load_model(f"models:/{model_name}/{v1}")
predicted_v1 = [int(p) for p in np.asarray(by_number.predict(sample)).ravel()]

try:
    client.get_model_version_by_alias(model_name, "no-such-alias")
    missing_alias = None
except MlflowException as e:
    missing_alias = e.error_code
try:
    client.set_registered_model_alias(model_name, "latest", str(v1))
    reserved_alias = None
except MlflowException as e:
    reserved_alias = e.error_code

client.delete_registered_model_alias(model_name, "challenger")

# What the run records about its model: 3.x links the LoggedModel as a run output (runs/outputs);
# 2.x appends to the mlflow.log-model.history tag (runs/log-model).
first_run = client.get_run(run_ids[0])
if major >= 3:
    run_logged = [o.model_id for o in first_run.outputs.model_outputs]
else:
    history = json.loads(first_run.data.tags.get("mlflow.log-model.history", "[]"))
    run_logged = [[h["artifact_path"], "sklearn" in h["flavors"], h["run_id"]] for h in history]

print(
    json.dumps(
        {
            "mlflow_version": mlflow.__version__,
            "run_ids": run_ids,
            "versions": sorted(by_version),
            "version_runs": [by_version[v].run_id for v in sorted(by_version)],
            "statuses": sorted({v.status for v in versions}),
            "sources": [by_version[v].source for v in sorted(by_version)],
            "promoted_stage": promoted.current_stage,
            "stages_after": {str(k): v for k, v in sorted(after.items())},
            "champion_version": champion.version,
            "champion_aliases": sorted(champion.aliases),
            "description": mv2.description,
            "tags": mv2.tags,
            "latest_production": [v.version for v in latest_production],
            "latest_all": sorted((v.current_stage, v.version) for v in latest_all),
            "registered_aliases": dict(registered.aliases),
            "predicted": predicted,
            "expected": expected,
            "predicted_v1_ok": predicted_v1 == [int(p) for p in models[0].predict(sample)],
            "missing_alias_error": missing_alias,
            "reserved_alias_error": reserved_alias,
            "download_uri": client.get_model_version_download_uri(model_name, str(v2)),
            "run_logged": run_logged,
        }
    )
)
