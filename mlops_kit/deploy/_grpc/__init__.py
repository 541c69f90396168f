"""The Open Inference Protocol over gRPC: the service ``inference.GRPCInferenceService``.

:mod:`._service` answers its six calls with the REST server's own logic
(:class:`~mlops_kit.deploy._server.Server`: routing to a version, the input checks, the
batcher, the metrics, the error statuses, the prediction log) and the protocol's rules
shared with REST (:mod:`mlops_kit.deploy._oip`: requested outputs, methods, one ``[n, F]``
tensor); :mod:`._codec` reads protocol buffers into columns and answers back into buffers;
:mod:`._runner` starts and stops a grpcio server. ``oip.proto`` is the protocol's
service definition; ``oip_pb2*.py`` are generated from it (``python scripts/gen_grpc.py``).

Nothing here imports grpcio at import time: :func:`require` does, with a clear error
when the ``grpc`` extra is missing.
"""

from __future__ import annotations

from typing import Any

from mlops_kit.core.extras import missing_extra

__all__ = ["require"]


def require() -> tuple[Any, Any, Any]:
    """``grpc`` and the generated ``oip_pb2`` and ``oip_pb2_grpc`` modules.

    Raises
    ------
    MissingExtraError
        If grpcio or protobuf is missing, or older than the generated code needs.
    """
    try:
        import grpc
        import grpc.aio  # the asyncio server

        from mlops_kit.deploy._grpc import oip_pb2, oip_pb2_grpc
    except ImportError as exc:
        raise missing_extra(f"Serving over gRPC ({exc})", "grpcio and protobuf", "grpc") from exc
    except Exception as exc:  # the generated code checks the versions it was made for
        raise missing_extra(f"Serving over gRPC ({exc})", "grpcio or protobuf", "grpc", upgrade=True) from exc
    return grpc, oip_pb2, oip_pb2_grpc
