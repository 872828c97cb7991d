"""Calls the inference server's gRPC service with the official Triton client (tritonclient[grpc]).

Reads a plan as JSON on stdin: {"address": "host:port", "model": name, "cases": [{"inputs": [{name,
datatype, shape, data}], "outputs": [names] | null, "contents": "raw" | "typed"}]} and prints one JSON
object: the health and metadata answers, then per case either {"outputs": {name: {datatype, shape,
data}}} or {"error": {"code", "message"}}. "raw" goes through InferenceServerClient.infer
(set_data_from_numpy, raw_input_contents); "typed" builds a ModelInferRequest with typed contents using
the client's generated service_pb2 and sends it through its generated stub.
"""
import json
import sys

import grpc
import numpy as np
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException, np_to_triton_dtype, triton_to_np_dtype

TYPED_FIELD = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
    "INT64": "int64_contents", "UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents",
    "UINT64": "uint64_contents", "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}


def as_array(spec):
    if spec["datatype"] == "BYTES":
        return np.array([s.encode() for s in spec["data"]], dtype=np.object_).reshape(spec["shape"])
    return np.array(spec["data"], dtype=triton_to_np_dtype(spec["datatype"])).reshape(spec["shape"])


def listed(arr):
    flat = arr.reshape(-1)
    if arr.dtype == np.object_:
        return [v.decode() if isinstance(v, bytes) else v for v in flat.tolist()]
    return flat.tolist()


def infer_raw(client, model, case):
    inputs = []
    for spec in case["inputs"]:
        arr = as_array(spec)
        i = triton.InferInput(spec["name"], list(arr.shape), spec["datatype"])
        i.set_data_from_numpy(arr)
        inputs.append(i)
    outputs = [triton.InferRequestedOutput(n) for n in case["outputs"]] if case.get("outputs") else None
    result = client.infer(model, inputs, outputs=outputs, request_id=case.get("id", ""))
    response = result.get_response()
    return {
        "id": response.id,
        "model_version": response.model_version,
        "outputs": {o.name: {"datatype": o.datatype, "shape": list(o.shape), "data": listed(result.as_numpy(o.name))} for o in response.outputs},
    }


def infer_typed(stub, model, case):
    request = service_pb2.ModelInferRequest(model_name=model, id=case.get("id", ""))
    for spec in case["inputs"]:
        tensor = request.inputs.add(name=spec["name"], datatype=spec["datatype"], shape=spec["shape"])
        field = getattr(tensor.contents, TYPED_FIELD[spec["datatype"]])
        field.extend([s.encode() for s in spec["data"]] if spec["datatype"] == "BYTES" else spec["data"])
    for name in case.get("outputs") or []:
        request.outputs.add(name=name)
    response = stub.ModelInfer(request)
    result = triton.InferResult(response)
    return {
        "id": response.id,
        "model_version": response.model_version,
        "outputs": {o.name: {"datatype": o.datatype, "shape": list(o.shape), "data": listed(result.as_numpy(o.name))} for o in response.outputs},
    }


def main():
    plan = json.load(sys.stdin)
    client = triton.InferenceServerClient(url=plan["address"])
    stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(plan["address"]))
    model = plan["model"]
    out = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model),
        "server_metadata": client.get_server_metadata(as_json=True),
        "model_metadata": client.get_model_metadata(model, as_json=True),
        "cases": [],
    }
    for case in plan["cases"]:
        try:
            target = case.get("model", model)
            out["cases"].append(infer_typed(stub, target, case) if case.get("contents") == "typed" else infer_raw(client, target, case))
        except InferenceServerException as e:
            out["cases"].append({"error": {"code": e.status(), "message": e.message()}})
        except grpc.RpcError as e:
            out["cases"].append({"error": {"code": str(e.code()), "message": e.details()}})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
