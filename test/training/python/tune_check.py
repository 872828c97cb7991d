"""Reads a finished search back with the official MLflow client: the parent run, its child runs and the model version."""
import json
import sys

from mlflow import MlflowClient

uri, experiment, tuning, model = sys.argv[1:5]
c = MlflowClient(uri)
exp = c.get_experiment_by_name(experiment)
runs = c.search_runs([exp.experiment_id], f"tags.`mlops.tuning` = '{tuning}'", max_results=1000)
parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
versions = c.search_model_versions(f"name = '{model}'")
print(json.dumps({
    "parents": [{"run_id": p.info.run_id, "status": p.info.status, "metrics": p.data.metrics, "params": p.data.params, "best_run_id": p.data.tags.get("mlops.tuning.best_run_id")} for p in parents],
    "children": [{"run_id": r.info.run_id, "status": r.info.status, "parent": r.data.tags["mlflow.parentRunId"], "auc": r.data.metrics.get("auc"), "params": r.data.params} for r in children],
    "versions": [{"version": v.version, "run_id": v.run_id, "source": v.source} for v in versions],
}))
