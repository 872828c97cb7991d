"""The rest of the registry client API (2.x or 3.x), unchanged: what registry_workflow.py does not use.

Usage: python registry_extras.py <tracking_uri> <experiment_name> <model_name>
Registers a logged model by `runs:/<run>/model` (3.x finds the LoggedModel the run produced), loads by
stage and by `latest`, copies a version to another model, searches registered models (the client adds
its prompt condition to the filter) and versions with paging, tags, renames and deletes, and reads back
the client's error codes. Prints one JSON document; the jest suite asserts on it.
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
uri, experiment_name, name = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient(uri)
major = int(mlflow.__version__.split(".")[0])
mlflow.set_experiment(experiment_name)

rng = np.random.default_rng(3)
X = pd.DataFrame({"a": rng.uniform(0, 1, 100), "b": rng.uniform(0, 1, 100)})
y = (X.a > X.b).astype(int)
model = LogisticRegression().fit(X, y)
sample = X.head(10)
expected = [int(p) for p in model.predict(sample)]


def predict(model_uri):
    return [int(p) for p in np.asarray(mlflow.pyfunc.load_model(model_uri).predict(sample)).ravel()]


def error_code(fn):
    try:
        fn()
        return None
    except MlflowException as e:
        return e.error_code


with mlflow.start_run() as run:
    kwargs = {"name": "model"} if major >= 3 else {"artifact_path": "model"}
    mlflow.sklearn.log_model(
        model,
        signature=infer_signature(X, model.predict(X)),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        **kwargs,
    )

out = {"run_id": run.info.run_id}
v1 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
v2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
out["registered"] = [v1.version, v2.version]
out["runs_source"] = v1.source
out["runs_run_id"] = v1.run_id
client.transition_model_version_stage(name, v2.version, "Staging")
out["by_stage_ok"] = predict(f"models:/{name}/Staging") == expected
out["by_latest_ok"] = predict(f"models:/{name}/latest") == expected
out["has_signature"] = mlflow.models.get_model_info(f"models:/{name}/1").signature is not None

copied = client.copy_model_version(f"models:/{name}/1", f"{name}-copy")
out["copied"] = [copied.name, copied.version, copied.source]
out["copy_ok"] = predict(f"models:/{name}-copy/1") == expected

# The client appends `tags.`mlflow.prompt.is_prompt` != 'true'` to these filters.
out["search_like"] = sorted(m.name for m in client.search_registered_models(filter_string=f"name LIKE '{name}%'"))
out["search_all"] = sorted(m.name for m in client.search_registered_models() if m.name.startswith(name))
out["fluent_search"] = sorted(m.name for m in mlflow.search_registered_models(filter_string=f"name = '{name}'"))
page1 = client.search_model_versions(f"name='{name}'", max_results=1, order_by=["version_number DESC"])
page2 = client.search_model_versions(f"name='{name}'", max_results=1, order_by=["version_number DESC"], page_token=page1.token)
out["pages"] = [[v.version for v in page1], bool(page1.token), [v.version for v in page2]]

client.rename_registered_model(f"{name}-copy", f"{name}-renamed")
out["renamed"] = [client.get_model_version(f"{name}-renamed", "1").name, error_code(lambda: client.get_registered_model(f"{name}-copy"))]
client.set_registered_model_tag(name, "owner", "ml-platform")
client.delete_registered_model_tag(name, "owner")
client.set_registered_model_tag(name, "team", "churn")
client.update_registered_model(name, description="Churn classifier")
client.set_model_version_tag(name, v1.version, "tmp", "x")
client.delete_model_version_tag(name, v1.version, "tmp")
registered = client.get_registered_model(name)
out["registered_model"] = [registered.tags, registered.description, sorted((v.current_stage, v.version) for v in registered.latest_versions)]
out["v1_tags"] = client.get_model_version(name, v1.version).tags

client.delete_model_version(name, v2.version)
out["after_delete"] = sorted(v.version for v in client.search_model_versions(f"name='{name}'"))
v3 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
out["after_delete_next"] = v3.version
client.delete_registered_model(f"{name}-renamed")
out["errors"] = {
    "deleted_model": error_code(lambda: client.get_registered_model(f"{name}-renamed")),
    "duplicate_model": error_code(lambda: client.create_registered_model(name)),
    "bad_stage": error_code(lambda: client.transition_model_version_stage(name, v1.version, "Prod")),
    "missing_version": error_code(lambda: client.get_model_version(name, "99")),
    "bad_filter": error_code(lambda: client.search_model_versions("name = 'x' OR name = 'y'")),
}
print(json.dumps(out))
