"""One of several MLflow clients registering versions of the same model at the same time.

Usage: python concurrent_versions.py <tracking_uri> <model_name> <client_label> <count>
Imports the client, prints "ready", waits for a line on stdin (the suite releases every client at once),
then calls `mlflow.register_model` <count> times from 4 threads. Each call first tries to create the
registered model (all but one get RESOURCE_ALREADY_EXISTS, which the client tolerates), then creates a
version. Prints one JSON document with the version numbers it was given.
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import mlflow

uri, model_name, label, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)

print("ready", flush=True)
sys.stdin.readline()


def register(i):
    mv = mlflow.register_model(f"s3://bucket/{label}/model-{i}", model_name, await_registration_for=0)
    return {"version": int(mv.version), "source": mv.source}


with ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(register, range(count)))

print(json.dumps({"label": label, "results": results}))
