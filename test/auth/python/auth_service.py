"""MLflow's own basic-auth admin client (mlflow.server.auth.client.AuthServiceClient) against our server.

usage: auth_service.py <tracking_uri> <experiment_id> <registered_model_name>
Credentials (an admin's) come from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD.

mlflow-skinny ships the client but not Flask, which `mlflow.server` (and `mlflow.server.auth`)
import at package level. Those two packages are registered here as bare namespaces and
`mlflow.server.handlers` as a module holding only the three path helpers routes.py imports — with
MLflow's definitions (`/api/<version>.0<path>`, `/ajax-api/...`, no static prefix). Everything else
(the client's requests, `verify_rest_response`, the entities' `from_json`) is MLflow's code.
Prints one JSON line.
"""
import json
import os
import sys
import types

import mlflow
from mlflow.exceptions import MlflowException

_server_dir = os.path.join(os.path.dirname(mlflow.__file__), "server")
for name, path in (("mlflow.server", _server_dir), ("mlflow.server.auth", os.path.join(_server_dir, "auth"))):
    pkg = types.ModuleType(name)
    pkg.__path__ = [path]
    sys.modules[name] = pkg
_handlers = types.ModuleType("mlflow.server.handlers")
_handlers._add_static_prefix = lambda route: route
_handlers._get_rest_path = lambda base_path, version=2: f"/api/{version}.0{base_path}"
_handlers._get_ajax_path = lambda base_path, version=2: f"/ajax-api/{version}.0{base_path}"
sys.modules["mlflow.server.handlers"] = _handlers

from mlflow.server.auth.client import AuthServiceClient  # noqa: E402

uri, experiment_id, model_name = sys.argv[1:4]
client = AuthServiceClient(uri)
out = {"mlflow": mlflow.__version__}
# One user per client major version: the 2.x and 3.x runs share a server.
U = f"svc-user-{mlflow.__version__.split('.')[0]}"


def error_of(fn):
    try:
        fn()
        return None
    except MlflowException as e:
        return e.error_code


user = client.create_user(U, "svc-user-password-1")
out["created"] = {"id": user.id, "username": user.username, "is_admin": user.is_admin}
out["duplicate"] = error_of(lambda: client.create_user(U, "svc-user-password-1"))
got = client.get_user(U)
out["got"] = {"id": got.id, "username": got.username, "is_admin": got.is_admin}
out["missing"] = error_of(lambda: client.get_user("svc-nobody"))
client.update_user_password(U, "svc-user-password-2")
client.update_user_admin(U, True)
out["admin_after_update"] = client.get_user(U).is_admin

# The per-resource permission methods exist in 2.x clients (3.x moved to roles).
if hasattr(client, "create_experiment_permission"):
    ep = client.create_experiment_permission(experiment_id, U, "EDIT")
    out["experiment_permission"] = {"experiment_id": ep.experiment_id, "permission": ep.permission}
    client.update_experiment_permission(experiment_id, U, "MANAGE")
    out["experiment_permission_updated"] = client.get_experiment_permission(experiment_id, U).permission
    out["bad_permission"] = error_of(lambda: client.update_experiment_permission(experiment_id, U, "OWNER"))
    client.delete_experiment_permission(experiment_id, U)
    out["experiment_permission_deleted"] = error_of(lambda: client.get_experiment_permission(experiment_id, U))
    rp = client.create_registered_model_permission(model_name, U, "READ")
    out["model_permission"] = {"name": rp.name, "permission": rp.permission}
    client.update_registered_model_permission(model_name, U, "EDIT")
    out["model_permission_updated"] = client.get_registered_model_permission(model_name, U).permission
    client.delete_registered_model_permission(model_name, U)
    out["model_permission_deleted"] = error_of(lambda: client.get_registered_model_permission(model_name, U))

client.delete_user(U)
out["deleted"] = error_of(lambda: client.get_user(U))
print(json.dumps(out))
