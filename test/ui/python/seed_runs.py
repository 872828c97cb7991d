"""Runs that use every part of the web UI, created with the official MLflow 3.x client.

usage: seed_runs.py <tracking_uri> <experiment_name> <work_dir>

One parent run, autologged by mlflow.sklearn around a GridSearchCV (autolog logs the best candidates
as child runs), with two datasets (log_input), system metrics, key+step images, a legacy image, a
log_table table, a long-named metric, and the logged model registered as a model version. Prints one
JSON line with the ids the tests look up.
"""
import json
import os
import sys
import time

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC

LONG_METRIC = "validation/per_class/precision_of_class_versicolor_macro_averaged_over_folds"


def image(step: int) -> np.ndarray:
    """A 64x64 RGB picture that changes with the step (a bar that grows), so steps look different."""
    img = np.zeros((64, 64, 3), dtype=np.uint8)
    img[:, :, 2] = 180
    img[8:56, 4 : 4 + 12 * (step + 1), 0] = 230
    return img


def main() -> None:
    uri, experiment, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    exp_id = mlflow.set_experiment(experiment).experiment_id
    # Sample system metrics every second and send each sample at once, so a short run has several.
    mlflow.set_system_metrics_sampling_interval(1)
    mlflow.set_system_metrics_samples_before_logging(1)
    mlflow.sklearn.autolog(max_tuning_runs=4, log_datasets=False, silent=True)

    iris = load_iris(as_frame=True)
    frame = iris.frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0)
    x_train, y_train = train.drop(columns="target"), train["target"]

    with mlflow.start_run(run_name="svc-grid-search", log_system_metrics=True) as parent:
        mlflow.log_input(mlflow.data.from_pandas(train, name="iris-train", targets="target"), context="training")
        mlflow.log_input(mlflow.data.from_pandas(test, name="iris-test", targets="target"), context="evaluation")
        search = GridSearchCV(SVC(), {"C": [0.1, 1.0, 10.0], "kernel": ["linear", "rbf"]}, cv=3)
        search.fit(x_train, y_train)
        for step in range(5):
            mlflow.log_metric("train_loss", float(1.0 / (step + 1)), step=step)
            mlflow.log_metric(LONG_METRIC, 0.8 + step * 0.03, step=step)
            mlflow.log_image(image(step), key="eval/decision_boundary", step=step)
        mlflow.log_image(image(2), artifact_file="plots/confusion_matrix.png")
        predictions = search.predict(test.drop(columns="target"))
        mlflow.log_table(
            data={"sepal_length": test["sepal length (cm)"].tolist(), "label": test["target"].tolist(), "prediction": predictions.tolist()},
            artifact_file="tables/predictions.json",
        )
        mlflow.set_tag("team", "vision")
        time.sleep(3)  # several system-metric samples

    client = MlflowClient()
    model = mlflow.last_logged_model()
    if model is None:
        raise SystemExit("autolog logged no model")
    version = mlflow.register_model(f"models:/{model.model_id}", "iris-svc")
    children = client.search_runs([exp_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    print(
        json.dumps(
            {
                "experiment_id": exp_id,
                "parent_run_id": parent.info.run_id,
                "child_run_ids": sorted(r.info.run_id for r in children),
                "model_id": model.model_id,
                "model_name": "iris-svc",
                "model_version": version.version,
                "long_metric": LONG_METRIC,
                "image_key": "eval/decision_boundary",
                "image_steps": 5,
                "mlflow_version": mlflow.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
