"""Clients of a gRPC server of an endpoint for the tests: Triton's gRPC client
(``tritonclient.grpc``), and its generated stub for requests built by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

import mlops_kit as mk


@contextmanager
def grpc_of(endpoint: mk.Endpoint, **options: Any) -> Iterator[triton.InferenceServerClient]:
    """A gRPC server of ``endpoint`` on a free port, and Triton's client of it."""
    with endpoint.grpc_server(port=0, **options) as server:
        client = triton.InferenceServerClient(server.address)
        try:
            yield client
        finally:
            client.close()


@contextmanager
def stub_of(endpoint: mk.Endpoint) -> Iterator[pb_grpc.GRPCInferenceServiceStub]:
    """The same server through Triton's generated stub: hand-made requests, whole answers."""
    with endpoint.grpc_server(port=0) as server, grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.GRPCInferenceServiceStub(channel)


def inputs(**columns: tuple[str, Any]) -> list[triton.InferInput]:
    """Triton inputs (raw contents, its default) from ``name=(datatype, values)``."""
    out = []
    for name, (datatype, values) in columns.items():
        array = np.array(values, dtype=object if datatype == "BYTES" else None)
        tensor = triton.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array.astype(triton_dtype(datatype)))
        out.append(tensor)
    return out


def triton_dtype(datatype: str) -> Any:
    from tritonclient.utils import triton_to_np_dtype

    return triton_to_np_dtype(datatype)


def typed(name: str, datatype: str, field: str, values: list[Any], shape: list[int] | None = None) -> Any:
    tensor = pb.ModelInferRequest().InferInputTensor(
        name=name, datatype=datatype, shape=shape or [len(values)]
    )
    getattr(tensor.contents, field).extend(values)
    return tensor


def request(model: str = "m", *tensors: Any, version: str = "", **fields: Any) -> Any:
    return pb.ModelInferRequest(model_name=model, model_version=version, inputs=list(tensors), **fields)


def failure(call: Any, message: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(message)
    return info.value


def version_of(call: Any) -> str:
    return dict(call.trailing_metadata())["x-model-version"]
