"""The six calls of ``inference.GRPCInferenceService``, answered with the REST server's logic.

Errors carry the status the REST route would answer, as a gRPC code: the caller's
mistakes ``INVALID_ARGUMENT`` (400, 415, 422) or ``NOT_FOUND`` (404), nothing deployed
``UNAVAILABLE`` (503), the model raising ``INTERNAL`` (500) with the model's message;
an unexpected error is logged here and answered ``INTERNAL`` without its traceback.
Every answer, an error too, carries the ``x-model-version`` trailing metadata.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

import grpc

from mlops_kit.core._version import __version__
from mlops_kit.core.errors import NotFoundError
from mlops_kit.deploy._grpc import _codec, oip_pb2, oip_pb2_grpc
from mlops_kit.deploy._oip import method_for, output_name, select_outputs
from mlops_kit.deploy._protocol import output_arrays
from mlops_kit.deploy._routes_oip import EXTENSIONS, SERVER_NAME, model_metadata
from mlops_kit.deploy._server import VERSION_HEADER, Server, primary_label

__all__ = ["GRPC_EXTENSIONS", "InferenceService", "code_for"]

# REST's extensions but binary_tensor_data: gRPC carries raw bytes in the core protocol
GRPC_EXTENSIONS = [e for e in EXTENSIONS if e != "binary_tensor_data"]

_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    500: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
}


def code_for(status: int) -> grpc.StatusCode:
    """The gRPC code of an HTTP status the REST server would answer."""
    return _CODES.get(status, grpc.StatusCode.UNKNOWN)


class InferenceService(oip_pb2_grpc.GRPCInferenceServiceServicer):
    """The service of one endpoint, over the :class:`Server` state its HTTP app uses (or its own)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def _tag(self, context: Any, version: str | None) -> tuple[tuple[str, str], ...]:
        metadata = ((VERSION_HEADER, version or primary_label(self.server.live)),)
        context.set_trailing_metadata(metadata)
        return metadata

    async def _fail(self, context: Any, exc: Exception) -> NoReturn:
        status, message, version = self.server.status_of(exc)
        await self._abort(context, status, message, version)

    async def _abort(self, context: Any, status: int, message: str, version: str) -> NoReturn:
        await context.abort(code_for(status), message, trailing_metadata=self._tag(context, version))
        raise RuntimeError("grpc's context.abort returned")  # it raises, always

    async def ServerLive(self, request: Any, context: Any) -> Any:
        self._tag(context, None)
        return oip_pb2.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: Any) -> Any:
        self._tag(context, None)
        return oip_pb2.ServerReadyResponse(ready=self.server.live.snapshot.primary is not None)

    async def ModelReady(self, request: Any, context: Any) -> Any:
        try:
            _, label = self.server.served_for(request.name, request.version or None)
        except NotFoundError:  # nothing deployed: not ready (what a readiness probe asks)
            self._tag(context, None)
            return oip_pb2.ModelReadyResponse(ready=False)
        except Exception as exc:
            await self._fail(context, exc)
        self._tag(context, label)
        return oip_pb2.ModelReadyResponse(ready=True)

    async def ServerMetadata(self, request: Any, context: Any) -> Any:
        self._tag(context, None)
        return oip_pb2.ServerMetadataResponse(
            name=SERVER_NAME, version=__version__, extensions=GRPC_EXTENSIONS
        )

    async def ModelMetadata(self, request: Any, context: Any) -> Any:
        try:
            content, label = model_metadata(self.server, request.name, request.version or None)
        except Exception as exc:
            await self._fail(context, exc)
        self._tag(context, label)
        return oip_pb2.ModelMetadataResponse(
            name=content["name"],
            versions=content["versions"],
            platform=content["platform"],
            inputs=[_tensor_metadata(t) for t in content["inputs"]],
            outputs=[_tensor_metadata(t) for t in content["outputs"]],
        )

    async def ModelInfer(self, request: Any, context: Any) -> Any:
        """Count, time and translate errors as the REST routes do (``guarded``)."""
        server = self.server
        start = time.perf_counter()
        server.metrics.started()
        version, status, message = "", 500, ""
        try:
            response, version = await self._infer(request)
            status = 200
        except Exception as exc:
            status, message, version = server.status_of(exc)
        finally:
            server.metrics.finished(version, status, time.perf_counter() - start)
        if status != 200:
            await self._abort(context, status, message, version)
        self._tag(context, version)
        return response

    async def _infer(self, request: Any) -> tuple[Any, str]:
        server = self.server
        served, label = server.served_for(request.model_name, request.model_version or None)
        decoded = _codec.decode(request, served.checker.names)
        method = method_for(decoded.parameters, decoded.outputs, served)
        outcome = await server.run(decoded.columns, method, label, decoded.request_id)
        arrays = output_arrays(outcome.output, output_name(method))
        if decoded.outputs is not None:
            arrays = [(name, array) for _, name, array in select_outputs(arrays, decoded.outputs)]
        return _codec.infer_response(request.model_name, outcome, arrays), outcome.version


def _tensor_metadata(tensor: dict[str, Any]) -> Any:
    return oip_pb2.ModelMetadataResponse.TensorMetadata(
        name=tensor["name"], datatype=tensor["datatype"], shape=tensor["shape"]
    )
