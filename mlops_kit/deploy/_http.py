"""The HTTP face of an endpoint: a Starlette app.

Routes: the Open Inference Protocol v2 (``/v2``, health, model metadata, ready,
infer; :mod:`._routes_oip`), MLflow's scoring route ``POST /invocations`` (also at
``/predict``, with ``/health`` and ``/version``; :mod:`._routes_mlflow`), ``/healthz``
and ``/metrics`` (:mod:`._routes_ops`). Every error is ``{"error": "..."}`` (MLflow's
``{"error_code": ..., "message": ...}`` on MLflow's routes) with a 4xx status for the
caller's mistakes and 500 only when the model itself raised (or on a bug, logged
server-side); no traceback ever reaches a response. The handlers share one
:class:`._server.Server` kept in ``app.state.server``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mlops_kit.core.extras import missing_extra
from mlops_kit.deploy import _shutdown
from mlops_kit.deploy._server import VERSION_HEADER, Server, primary_label

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from mlops_kit.deploy._endpoint import Endpoint

__all__ = ["VERSION_HEADER", "make_app", "primary_label"]

_MLFLOW_PATHS = ("/invocations", "/predict", "/health", "/version")


def make_app(endpoint: Endpoint, *, max_body_bytes: int = 10 * 2**20, max_batch_rows: int = 4096) -> Any:
    """Build the Starlette app of ``endpoint`` (see :meth:`Endpoint.asgi_app`)."""
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
    except ImportError as exc:
        raise missing_extra("Serving over HTTP", "Starlette, uvicorn and prometheus-client", "serve") from exc
    server = Server.create(endpoint, max_body_bytes=max_body_bytes, max_batch_rows=max_batch_rows)
    server.sigterm_flushes = _shutdown.install()  # a mounted app's lifespan never runs

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        server.lifespan_started = True
        yield
        await run_in_threadpool(endpoint.flush)  # graceful shutdown: nothing logged is lost
        server.metrics.close()

    app = Starlette(
        routes=_routes(), lifespan=lifespan, exception_handlers={404: _not_found, 405: _not_allowed}
    )
    app.state.server = server
    app.state.endpoint = endpoint
    app.state.metrics = server.metrics
    app.state.batcher = server.batcher
    return app


def _routes() -> list[Any]:
    from starlette.routing import Route

    from mlops_kit.deploy import _routes_mlflow as mlflow
    from mlops_kit.deploy import _routes_oip as oip
    from mlops_kit.deploy import _routes_ops as ops

    model = "/v2/models/{name}"
    version = "/v2/models/{name}/versions/{version}"
    return [  # the inference routes first: Starlette tries routes in order, on every request
        Route("/invocations", mlflow.invocations, methods=["POST"]),
        Route(f"{model}/infer", oip.infer, methods=["POST"]),
        Route(f"{version}/infer", oip.infer, methods=["POST"]),
        Route("/predict", mlflow.invocations, methods=["POST"]),
        Route("/v2", oip.server_metadata, methods=["GET"]),
        Route("/v2/health/live", oip.live_check, methods=["GET"]),
        Route("/v2/health/ready", oip.ready_check, methods=["GET"]),
        Route(model, oip.metadata, methods=["GET"]),
        Route(version, oip.metadata, methods=["GET"]),
        Route(f"{model}/ready", oip.model_ready, methods=["GET"]),
        Route(f"{version}/ready", oip.model_ready, methods=["GET"]),
        Route("/health", mlflow.health, methods=["GET"]),
        Route("/version", mlflow.version, methods=["GET"]),
        Route("/healthz", ops.healthz, methods=["GET"]),
        Route("/ping", ops.healthz, methods=["GET"]),
        Route("/metrics", ops.prometheus, methods=["GET"]),
    ]


async def _not_found(request: Request, exc: Exception) -> Response:
    return _route_error(request, f"No route {request.method} {request.url.path}.", 404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _route_error(request, f"Method {request.method} is not allowed on {request.url.path}.", 405)


def _route_error(request: Request, message: str, status: int) -> Response:
    server = Server.of(request)
    if request.url.path.endswith(_MLFLOW_PATHS):  # MLflow's clients read MLflow's error bodies
        from mlops_kit.deploy._routes_mlflow import mlflow_error

        content, status = mlflow_error(message, status)
        return server.reply(content, status)
    return server.error(message, status)
