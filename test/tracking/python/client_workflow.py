"""A training-style script run by the tracking suite with the official MLflow client (2.x or 3.x).

Usage: python client_workflow.py <tracking_uri> <experiment_name> <workdir>
Logs a small "training" run the way users do, reads everything back through the client and prints
one JSON document with what it read; the jest suite asserts on it.
"""
import json
import math
import os
import sys

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

uri, experiment_name, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)

experiment = mlflow.set_experiment(experiment_name)
# set_experiment again finds the same experiment by name
assert mlflow.set_experiment(experiment_name).experiment_id == experiment.experiment_id

os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
with open(os.path.join(workdir, "model.json"), "w") as f:
    json.dump({"weights": [0.1, 0.2, 0.3]}, f)
with open(os.path.join(workdir, "plots", "loss.txt"), "w") as f:
    f.write("loss curve\n" * 100)
blob = os.urandom(3 * 1024 * 1024)
with open(os.path.join(workdir, "plots", "big.bin"), "wb") as f:
    f.write(blob)

with mlflow.start_run(run_name="train-1") as run:
    run_id = run.info.run_id
    mlflow.log_param("lr", 0.01)
    mlflow.log_params({"epochs": 5, "optimizer": "adam"})
    mlflow.set_tag("team", "ml-platform")
    mlflow.set_tags({"stage": "dev"})
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"accuracy": 0.93, "f1": 0.9})
    mlflow.log_metric("weird", float("nan"))
    mlflow.log_metric("big", float("inf"))
    client.log_batch(
        run_id,
        metrics=[Metric("batch_metric", float(i), 1700000000000 + i, i) for i in range(50)],
        params=[Param("batch_param", "x")],
        tags=[RunTag("batch_tag", "y")],
    )
    mlflow.log_artifact(os.path.join(workdir, "model.json"))
    mlflow.log_artifacts(os.path.join(workdir, "plots"), artifact_path="plots")

    # Re-logging a param with a different value is refused; same value is accepted.
    mlflow.log_param("lr", 0.01)
    try:
        mlflow.log_param("lr", 0.5)
        param_change_error = None
    except MlflowException as e:
        param_change_error = e.error_code

# A second run, so search/order has something to sort.
with mlflow.start_run(run_name="train-2") as run2:
    mlflow.log_param("lr", 0.1)
    mlflow.log_metric("accuracy", 0.71)

finished = client.get_run(run_id)
history = client.get_metric_history(run_id, "loss")
batch_history = client.get_metric_history(run_id, "batch_metric")
found = mlflow.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="metrics.accuracy > 0.9 and params.lr = '0.01'",
    output_format="list",
)
ordered = client.search_runs([experiment.experiment_id], order_by=["metrics.accuracy DESC"])
like = client.search_runs([experiment.experiment_id], filter_string="tags.team LIKE 'ml-%'")
paged = client.search_runs([experiment.experiment_id], max_results=1)
page2 = client.search_runs([experiment.experiment_id], max_results=1, page_token=paged.token)
top_level = sorted(f.path for f in client.list_artifacts(run_id))
# Sub-paths through the run's artifact URI: MLflow 3's run-relative listing of a sub-path also asks
# /logged-models/search (the model registry part) whether the path is a logged model.
artifact_uri = client.get_run(run_id).info.artifact_uri
plots = sorted((f.path, f.is_dir, f.file_size) for f in mlflow.artifacts.list_artifacts(artifact_uri=artifact_uri + "/plots"))
dl = mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri + "/plots", dst_path=os.path.join(workdir, "download"))
with open(os.path.join(dl, "big.bin"), "rb") as f:
    big_ok = f.read() == blob
with open(mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri + "/model.json", dst_path=os.path.join(workdir, "dl2"))) as f:
    model_json = json.load(f)

try:
    client.get_run("0123456789abcdef0123456789abcdef")
    missing_run_error = None
except MlflowException as e:
    missing_run_error = e.error_code

client.delete_run(run2.info.run_id)
active_after_delete = len(client.search_runs([experiment.experiment_id]))
client.restore_run(run2.info.run_id)

def num(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, float) and math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v

print(json.dumps({
    "mlflow_version": mlflow.__version__,
    "experiment_id": experiment.experiment_id,
    "run_id": run_id,
    "run_name": finished.info.run_name,
    "status": finished.info.status,
    "end_time_set": finished.info.end_time is not None,
    "artifact_uri": finished.info.artifact_uri,
    "params": finished.data.params,
    "metrics": {k: num(v) for k, v in finished.data.metrics.items()},
    "tags": {k: v for k, v in finished.data.tags.items() if not k.startswith("mlflow.source")},
    "loss_history": [[m.step, m.value] for m in history],
    "batch_history_len": len(batch_history),
    "found": [r.info.run_id for r in found],
    "ordered_names": [r.info.run_name for r in ordered],
    "like": [r.info.run_name for r in like],
    "paged": [len(paged), paged.token is not None, len(page2), page2[0].info.run_id != paged[0].info.run_id],
    "top_level": top_level,
    "plots": plots,
    "big_ok": big_ok,
    "model_json": model_json,
    "param_change_error": param_change_error,
    "missing_run_error": missing_run_error,
    "active_after_delete": active_after_delete,
}))
