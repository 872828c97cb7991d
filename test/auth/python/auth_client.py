"""The official MLflow client against a basic-auth server. Credentials come from the environment
(MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD), exactly as users configure it.

usage: auth_client.py <tracking_uri> <mode> <experiment_name>
  log     create/set the experiment, log a run (params, metrics, batch), read it back
  denied  try to log into an experiment the user may only read
  search  list experiment names visible to the user
Prints one JSON line; MLflow exceptions are reported as {"error": ..., "error_code": ...}.
"""
import json
import sys

import mlflow
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

uri, mode, experiment_name = sys.argv[1:4]
mlflow.set_tracking_uri(uri)
client = MlflowClient()

try:
    if mode == "log":
        experiment = mlflow.set_experiment(experiment_name)
        with mlflow.start_run(run_name="authenticated") as run:
            mlflow.log_param("lr", "0.01")
            mlflow.log_metric("loss", 0.5, step=0)
            mlflow.log_metric("loss", 0.25, step=1)
            client.log_batch(run.info.run_id, metrics=[Metric("acc", 0.9, 0, 0)], params=[Param("p", "v")])
        got = client.get_run(run.info.run_id)
        print(json.dumps({
            "experiment_id": experiment.experiment_id,
            "run_id": run.info.run_id,
            "status": got.info.status,
            "user_id": got.info.user_id,
            "params": got.data.params,
            "metrics": got.data.metrics,
            "history": [m.value for m in client.get_metric_history(run.info.run_id, "loss")],
        }))
    elif mode == "denied":
        experiment = client.get_experiment_by_name(experiment_name)
        client.create_run(experiment.experiment_id)
        print(json.dumps({"error": None}))
    elif mode == "search":
        print(json.dumps({"names": sorted(e.name for e in client.search_experiments())}))
except MlflowException as e:
    print(json.dumps({"error": str(e)[:500], "error_code": e.error_code}))
