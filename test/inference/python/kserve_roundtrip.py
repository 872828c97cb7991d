"""Round-trips KServe objects through the official KServe Python SDK's models.

Reads a JSON list of {"file": path, "type": "V1beta1InferenceService" | "V1alpha1ServingRuntime"}
on stdin; for each file, deserializes the object into the SDK's model with the SDK's own ApiClient
(kserve.api_client), serializes it back with the same client, and prints one JSON line per file:
{"file", "ok": true, "type", "roundtrip": <object>} or {"file", "ok": false, "error": "..."}.
A field the SDK's models do not know is dropped by deserialization, so the caller compares the round trip
with what it wrote; a missing required field raises here.
"""
import json
import re
import sys

import kserve
import kserve.api_client
import kubernetes.client

# The SDK's models refer to Kubernetes types (V1Container, V1PodSecurityContext, ...) that its ApiClient looks
# up in kserve.models: make the kubernetes client's models visible there.
for name, cls in vars(kubernetes.client.models).items():
    if isinstance(cls, type) and hasattr(cls, "openapi_types") and not hasattr(kserve.models, name):
        setattr(kserve.models, name, cls)
# Two Kubernetes types the SDK's models name by Go package path but do not ship: apps/v1 DeploymentStrategy
# and autoscaling/v2 HorizontalPodAutoscalerBehavior, which the kubernetes client has under these names.
K8S_ALIASES = {
    "K8sIoApiAppsV1DeploymentStrategy": "V1DeploymentStrategy",
    "K8sIoApiAutoscalingV2HorizontalPodAutoscalerBehavior": "V2HorizontalPodAutoscalerBehavior",
}
for alias, name in K8S_ALIASES.items():
    setattr(kserve.models, alias, getattr(kubernetes.client.models, name))


class ApiClient(kserve.api_client.ApiClient):
    """The SDK's client, reading the kubernetes client's `dict[K, V]` type notation as its own `dict(K, V)`."""

    def _ApiClient__deserialize(self, data, klass):
        if isinstance(klass, str):
            m = re.fullmatch(r"dict\[([^,]*), (.*)\]", klass)
            if m:
                klass = f"dict({m.group(1)}, {m.group(2)})"
        return kserve.api_client.ApiClient._ApiClient__deserialize(self, data, klass)


class Response:
    def __init__(self, data):
        self.data = data


def main():
    api = ApiClient()
    for job in json.load(sys.stdin):
        with open(job["file"]) as f:
            text = f.read()
        try:
            model = api.deserialize(Response(text), job["type"])
            out = {"file": job["file"], "ok": True, "type": type(model).__name__, "roundtrip": api.sanitize_for_serialization(model)}
        except (ValueError, TypeError, AttributeError) as err:
            out = {"file": job["file"], "ok": False, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(out))


main()
