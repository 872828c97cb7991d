#!/usr/bin/env python3
"""Derives the JSON schemas synth checks KServe objects with, from the official KServe Python SDK's models.

KServe's CRDs are not served by the Go module proxy here, so the shape of an InferenceService and a
ServingRuntime comes from the SDK pinned in test/inference/python/requirements-kserve.txt: every model's
`openapi_types` and `attribute_map` (the upstream JSON field names), with the Kubernetes types they refer
to taken from the kubernetes client the SDK depends on. Each model becomes a definition whose properties
are exactly the model's fields (constructs/crd-schema.ts then rejects unknown fields, as the API server
would prune them); a type the SDK leaves open (`object`, int-or-string) stays open. Writes
  constructs/imports/schemas/serving.kserve.io_v1beta1_InferenceService.json
  constructs/imports/schemas/serving.kserve.io_v1alpha1_ServingRuntime.json

  .venv-kserve/bin/python scripts/import-kserve-schema.py [outdir]
"""
import json
import os
import re
from importlib.metadata import version as package_version

import kserve
import kubernetes.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import sys

# Where to write: constructs/imports/schemas, or the directory given (the test regenerates into a scratch one to compare).
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "constructs", "imports", "schemas")
PRIMITIVES = {"str": {"type": "string"}, "int": {"type": "integer"}, "float": {"type": "number"},
              "bool": {"type": "boolean"}, "object": {}, "datetime": {"type": "string"}, "date": {"type": "string"}}


# Kubernetes types the SDK's models name by Go package path without shipping them: the kubernetes client's.
K8S_ALIASES = {
    "K8sIoApiAppsV1DeploymentStrategy": "V1DeploymentStrategy",
    "K8sIoApiAutoscalingV2HorizontalPodAutoscalerBehavior": "V2HorizontalPodAutoscalerBehavior",
}


def model_class(name):
    name = K8S_ALIASES.get(name, name)
    return getattr(kserve.models, name, None) or getattr(kubernetes.client.models, name, None)


def type_schema(t, defs):
    if t in PRIMITIVES:
        return dict(PRIMITIVES[t])
    m = re.fullmatch(r"[lL]ist\[(.*)\]", t)
    if m:
        return {"type": "array", "items": type_schema(m.group(1), defs)}
    m = re.fullmatch(r"dict\(([^,]*), (.*)\)|Dict\[([^,]*), (.*)\]", t)
    if m:
        return {"type": "object", "additionalProperties": type_schema(m.group(2) or m.group(4), defs)}
    cls = model_class(t)
    if cls is None:
        # A type the SDK names but does not define (e.g. a quantity): open, as the SDK itself treats it.
        print(f"open: {t} (no model class)", file=sys.stderr)
        return {}
    if t not in defs:
        defs[t] = None
        defs[t] = {"type": "object", "properties": {cls.attribute_map[a]: type_schema(at, defs) for a, at in cls.openapi_types.items()}}
    return {"$ref": f"#/definitions/{t}"}


def write(model, api_version, kind):
    defs = {}
    root = type_schema(model, defs)
    schema = {
        "description": f"{api_version} {kind}, derived from the KServe Python SDK {package_version('kserve')} model {model} by scripts/import-kserve-schema.py",
        "allOf": [root],
        "definitions": dict(sorted(defs.items())),
    }
    group, version = api_version.split("/")
    path = os.path.join(OUT, f"{group}_{version}_{kind}.json")
    with open(path, "w") as f:
        json.dump(schema, f, indent=1, sort_keys=False)
        f.write("\n")
    print(path, len(defs), "definitions", file=sys.stderr)


write("V1beta1InferenceService", "serving.kserve.io/v1beta1", "InferenceService")
write("V1alpha1ServingRuntime", "serving.kserve.io/v1alpha1", "ServingRuntime")
