"""MLflow 3 logged models through the official 3.x client, unchanged.

Usage: python logged_models.py <tracking_uri> <experiment_name> <model_name>
Logs a scikit-learn model (which creates a LoggedModel with its own artifact location), reads it back,
searches, tags, loads it by `models:/m-<id>`, registers that URI as a version, and finally deletes an
external model. Prints one JSON document with what the client read back; the jest suite asserts on it.
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
from sklearn.tree import DecisionTreeClassifier

warnings.filterwarnings("ignore")
uri, experiment_name, model_name = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient(uri)
experiment_id = mlflow.set_experiment(experiment_name).experiment_id

rng = np.random.default_rng(11)
X = pd.DataFrame({"tenure_months": rng.uniform(1, 72, 200), "support_calls": rng.integers(0, 10, 200).astype("float64")})
y = (X["support_calls"] > 4).astype(int)
model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)

with mlflow.start_run(run_name="logged-model") as run:
    info = mlflow.sklearn.log_model(
        model,
        name="tree",
        signature=infer_signature(X, model.predict(X)),
        params={"max_depth": "3"},
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )
    # Logged-model metrics: the points land on the run and on the model.
    mlflow.log_metric("auc", 0.7, step=0, model_id=info.model_id)
    mlflow.log_metric("auc", 0.91, step=1, model_id=info.model_id)
    try:
        mlflow.log_metric("auc", 0.5, model_id="m-" + "f" * 32)
        unknown_model_metric_error = None
    except MlflowException as e:
        unknown_model_metric_error = e.error_code
model_id = info.model_id

logged = mlflow.get_logged_model(model_id)
mlflow.set_logged_model_tags(model_id, {"team": "churn", "temp": "x"})
mlflow.delete_logged_model_tag(model_id, "temp")
mlflow.log_model_params({"criterion": "gini"}, model_id=model_id)
tagged = mlflow.get_logged_model(model_id)
found = mlflow.search_logged_models(experiment_ids=[experiment_id], filter_string="name = 'tree'", output_format="list")
by_tag = mlflow.search_logged_models(experiment_ids=[experiment_id], filter_string="tags.team = 'churn'", output_format="list")
none_found = mlflow.search_logged_models(experiment_ids=[experiment_id], filter_string="name = 'no-such-model'", output_format="list")
files = sorted(f.path for f in client.list_logged_model_artifacts(model_id))
outputs = [o.model_id for o in client.get_run(run.info.run_id).outputs.model_outputs]
with_metrics = mlflow.get_logged_model(model_id)
by_metric = mlflow.search_logged_models(experiment_ids=[experiment_id], filter_string="metrics.auc > 0.8", output_format="list")
above_all = mlflow.search_logged_models(experiment_ids=[experiment_id], filter_string="metrics.auc > 0.95", output_format="list")
by_metric_order = mlflow.search_logged_models(experiment_ids=[experiment_id], order_by=[{"field_name": "metrics.auc", "ascending": False}], output_format="list")

sample = X.head(15)
loaded = mlflow.pyfunc.load_model(f"models:/{model_id}")
predicted = [int(p) for p in np.asarray(loaded.predict(sample)).ravel()]

registered = mlflow.register_model(f"models:/{model_id}", model_name)
version = client.get_model_version(model_name, registered.version)
by_version = mlflow.pyfunc.load_model(f"models:/{model_name}/{registered.version}")

# A model created outside a run (no artifacts), finalized, then deleted.
external = mlflow.initialize_logged_model(name="external", experiment_id=experiment_id, model_type="agent")
finalized = mlflow.finalize_logged_model(external.model_id, "READY")
client.delete_logged_model(external.model_id)
try:
    mlflow.get_logged_model(external.model_id)
    deleted_error = None
except MlflowException as e:
    deleted_error = e.error_code
try:
    mlflow.get_logged_model("m-" + "0" * 32)
    missing_error = None
except MlflowException as e:
    missing_error = e.error_code

print(
    json.dumps(
        {
            "mlflow_version": mlflow.__version__,
            "run_id": run.info.run_id,
            "experiment_id": experiment_id,
            "model_id": model_id,
            "model_uri": info.model_uri,
            "status": str(logged.status),
            "name": logged.name,
            "source_run_id": logged.source_run_id,
            "artifact_location": logged.artifact_location,
            "params": tagged.params,
            "tags": {k: v for k, v in tagged.tags.items() if not k.startswith("mlflow.")},
            "found": [m.model_id for m in found],
            "by_tag": [m.model_id for m in by_tag],
            "none_found": len(none_found),
            "files": files,
            "run_outputs": outputs,
            "predicted": predicted,
            "expected": [int(p) for p in model.predict(sample)],
            "version": registered.version,
            "version_source": version.source,
            "version_run_id": version.run_id,
            "version_predicts": [int(p) for p in np.asarray(by_version.predict(sample)).ravel()] == predicted,
            "download_uri": client.get_model_version_download_uri(model_name, registered.version),
            "external_status": str(finalized.status),
            "external_type": finalized.model_type,
            "deleted_error": deleted_error,
            "missing_error": missing_error,
            "model_metrics": sorted((m.key, m.step, m.value, m.model_id == model_id, m.run_id == run.info.run_id) for m in with_metrics.metrics),
            "run_auc": client.get_run(run.info.run_id).data.metrics.get("auc"),
            "by_metric": [m.model_id for m in by_metric],
            "above_all": len(above_all),
            "by_metric_order": [m.model_id for m in by_metric_order],
            "unknown_model_metric_error": unknown_model_metric_error,
        }
    )
)
