"""What MLflow's own REST layer sends and retries, for the TypeScript client to be compared with.

Usage: python http_behaviour.py <tracking_uri> <cases.json>
Each case is {"id": ..., "env": {...}}: the MLFLOW_TRACKING_* variables are replaced by the case's, then
one `GET /api/2.0/mlflow/runs/get?run_id=<id>` goes through mlflow.utils.rest_utils.http_request with the
default host credentials, exactly as MlflowClient calls do. The server under test records what arrived;
this prints {id: status or error class} as one JSON line.
"""
import json
import os
import sys

from mlflow.utils.rest_utils import http_request

try:
    from mlflow.utils.credentials import get_default_host_creds
except ImportError:  # MLflow 2.x
    from mlflow.tracking._tracking_service.utils import get_default_host_creds

uri, cases_file = sys.argv[1], sys.argv[2]
with open(cases_file) as f:
    cases = json.load(f)
VARIABLES = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
out = {}
for case in cases:
    for name in VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(case["env"])
    try:
        response = http_request(get_default_host_creds(uri), "/api/2.0/mlflow/runs/get", "GET", params={"run_id": case["id"]})
        out[case["id"]] = response.status_code
    except Exception as e:  # exhausted retries surface as MlflowException
        out[case["id"]] = type(e).__name__
print(json.dumps(out))
