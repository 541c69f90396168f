"""The HTTP face of an endpoint: a Starlette app.

Routes: the Open Inference Protocol v2 (``/v2``, health, model metadata, ready,
infer), MLflow's scoring route ``POST /invocations`` (also at ``/predict``),
``/healthz`` and ``/metrics``. Every error is ``{"error": "..."}`` with a 4xx status
for the caller's mistakes and 500 only when the model itself raised (or on a bug,
logged server-side); no traceback ever reaches a response.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mlops_kit.core._version import __version__
from mlops_kit.core.errors import ConfigError, NotFoundError, SchemaError
from mlops_kit.core.storage import MissingExtraError
from mlops_kit.deploy._protocol import (
    OIP_DATATYPES,
    BadRequest,
    oip_outputs,
    parse_invocations,
    parse_oip,
    to_json,
    to_jsonable,
)
from mlops_kit.deploy._served import METHODS, ModelFailed

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from mlops_kit.deploy._endpoint import Endpoint
    from mlops_kit.deploy._served import Served

__all__ = ["make_app"]

_log = logging.getLogger("mlops_kit.deploy")
_INLINE_ROWS = 1_000  # bigger requests predict in a worker thread, off the event loop


def make_app(endpoint: Endpoint, *, max_body_bytes: int = 10 * 2**20, max_batch_rows: int = 256) -> Any:
    """Build the Starlette app of ``endpoint`` (see :meth:`Endpoint.asgi_app`)."""
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response
        from starlette.routing import Route
    except ImportError as exc:
        raise MissingExtraError(
            "Serving over HTTP needs Starlette, uvicorn and prometheus-client: pip install 'mlops-kit[serve]'"
        ) from exc
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes <= 0:
        raise ConfigError(f"max_body_bytes= must be a positive integer, got {max_body_bytes!r}.")
    if isinstance(max_batch_rows, bool) or not isinstance(max_batch_rows, int) or max_batch_rows <= 0:
        raise ConfigError(
            f"max_batch_rows= must be a positive integer (1 turns batching off), got {max_batch_rows!r}."
        )
    from mlops_kit.deploy._batching import Batcher
    from mlops_kit.deploy._calls import Outcome
    from mlops_kit.deploy._metrics import Metrics

    metrics = Metrics(endpoint.name)
    live = endpoint.live  # attach now: load the models before the first request
    batcher = Batcher(live, max_batch_rows)

    def reply(content: Any, status: int = 200, version: str | None = None) -> Response:
        headers = {VERSION_HEADER: version or primary_label(live)}
        return Response(to_json(content), status_code=status, media_type="application/json", headers=headers)

    def error(message: str, status: int, version: str | None = None) -> Response:
        return reply({"error": message}, status, version)

    async def body_of(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and not declared.isdigit():
            raise BadRequest(f"Invalid Content-Length {declared!r}.")
        if declared is not None and int(declared) > max_body_bytes:
            raise BadRequest(
                f"The request body is larger than the limit of {max_body_bytes} bytes.", status=413
            )
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise BadRequest(
                    f"The request body is larger than the limit of {max_body_bytes} bytes.", status=413
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def served_for(name: str, version: str | None) -> tuple[Served, str | None]:
        snap = live.snapshot
        if snap.primary is None:
            raise NotFoundError("nothing deployed")
        names = {endpoint.name, *(s.mv.name for s in snap.live.values())}
        if name not in names:
            raise BadRequest(f"Unknown model {name!r}; this server serves {sorted(names)}.", status=404)
        if version is None:
            return snap.primary, None
        for label, served in snap.live.items():
            if version in (label, str(served.mv.version)):
                return served, label
        live_versions = sorted(str(s.mv.version) for s in snap.live.values())
        raise BadRequest(
            f"Version {version!r} of {name!r} is not live; live versions: {live_versions}.", status=404
        )

    def method_of(params: dict[str, Any]) -> str:
        method = params.get("method", "predict")
        if method not in METHODS:
            raise BadRequest(f"Unknown method {method!r}; expected one of {list(METHODS)}.")
        return str(method)

    async def run(columns: Any, method: str, version: str | None, request_id: str | None) -> Any:
        raw = columns if isinstance(columns, dict) else None
        rows = len(next(iter(columns.values()), [])) if raw is not None else len(columns)
        if rows == 0:
            raise BadRequest("The request has no rows.", status=422)
        if rows <= _INLINE_ROWS:
            call = live.begin(columns, method, version=version, request_id=request_id, raw=raw)
            if isinstance(call, Outcome):  # a keyed canary split its rows: already answered
                return call
            if max_batch_rows > 1 and rows <= max_batch_rows:
                return await batcher.run(call)
            return live.finish(call, live.predict(call))
        return await run_in_threadpool(
            live.infer, columns, method, version=version, request_id=request_id, raw=raw
        )

    def guarded(
        handler: Callable[[Request], Awaitable[tuple[Any, str]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        """Count, time and translate errors for an inference route."""

        async def route(request: Request) -> Response:
            start = time.perf_counter()
            metrics.started()
            version, status = "", 500
            try:
                content, version = await handler(request)
                status = 200
                return reply(content, version=version)
            except BadRequest as exc:
                status = exc.status
                return error(str(exc), status)
            except SchemaError as exc:
                status = 422
                return error(str(exc), status)
            except ConfigError as exc:
                status = 400
                return error(str(exc), status)
            except NotFoundError as exc:
                status = 503 if live.snapshot.primary is None else 404
                message = (
                    f"Endpoint {endpoint.name!r} serves no model right now." if status == 503 else str(exc)
                )
                return error(message, status)
            except ModelFailed as exc:
                version = exc.label
                return error(str(exc), 500, version)
            except Exception as exc:
                _log.exception("Endpoint %r: internal error while serving a request", endpoint.name)
                return error(f"Internal error ({type(exc).__name__}); see the server log.", 500)
            finally:
                metrics.finished(version, status, time.perf_counter() - start)

        return route

    @guarded
    async def invocations(request: Request) -> tuple[Any, str]:
        body = await body_of(request)
        columns, params = parse_invocations(body, request.headers.get("content-type", ""))
        outcome = await run(columns, method_of(params), None, None)
        return {"predictions": to_jsonable(outcome.output)}, outcome.version

    @guarded
    async def infer(request: Request) -> tuple[Any, str]:
        name, version = request.path_params["name"], request.path_params.get("version")
        _, label = served_for(name, version)
        body = await body_of(request)
        columns, params, request_id = parse_oip(body, request.headers.get("content-type", ""))
        outcome = await run(columns, method_of(params), label, request_id)
        answer = {
            "model_name": name,
            "model_version": outcome.version.split(":")[-1]
            if "," not in outcome.version
            else outcome.version,
            "id": outcome.request_id,
            "outputs": oip_outputs(outcome.output),
        }
        return answer, outcome.version

    async def metadata(request: Request) -> Response:
        try:
            served, label = served_for(request.path_params["name"], request.path_params.get("version"))
        except BadRequest as exc:
            return error(str(exc), exc.status)
        except NotFoundError:
            return error(f"Endpoint {endpoint.name!r} serves no model right now.", 503)
        signature = served.mv.signature
        inputs = [] if signature is None else _tensors(signature.inputs)
        outputs = [] if signature is None or signature.outputs is None else _tensors(signature.outputs)
        return reply(
            {
                "name": request.path_params["name"],
                "versions": sorted(str(s.mv.version) for s in live.snapshot.live.values()),
                "platform": f"mlops-kit/{served.mv.flavor}",
                "inputs": inputs,
                "outputs": outputs,
            },
            version=label,
        )

    async def model_ready(request: Request) -> Response:
        try:
            _, label = served_for(request.path_params["name"], request.path_params.get("version"))
        except BadRequest as exc:
            return error(str(exc), exc.status)
        except NotFoundError:
            return error(f"Endpoint {endpoint.name!r} serves no model right now.", 503)
        return reply({"name": request.path_params["name"], "ready": True}, version=label)

    async def server(request: Request) -> Response:
        return reply({"name": "mlops-kit", "version": __version__, "extensions": []})

    async def live_check(request: Request) -> Response:
        return reply({"live": True})

    async def ready_check(request: Request) -> Response:
        ready = live.snapshot.primary is not None
        return reply({"ready": ready}, 200 if ready else 503)

    async def healthz(request: Request) -> Response:
        snap = live.snapshot
        body = {
            "status": "ok" if snap.primary is not None else "unavailable",
            "endpoint": endpoint.name,
            "primary": None if snap.primary is None else snap.primary.label,
            "candidate": None if snap.candidate is None else snap.candidate.label,
            "strategy": snap.state.strategy,
        }
        return reply(body, 200 if snap.primary is not None else 503)

    async def prometheus(request: Request) -> Response:
        text, content_type = metrics.render()
        return Response(text, media_type=content_type, headers={VERSION_HEADER: primary_label(live)})

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(endpoint.flush)  # graceful shutdown: nothing logged is lost

    model = "/v2/models/{name}"
    version = "/v2/models/{name}/versions/{version}"
    routes = [  # the inference routes first: Starlette tries routes in order, on every request
        Route("/invocations", invocations, methods=["POST"]),
        Route(f"{model}/infer", infer, methods=["POST"]),
        Route(f"{version}/infer", infer, methods=["POST"]),
        Route("/predict", invocations, methods=["POST"]),
        Route("/v2", server, methods=["GET"]),
        Route("/v2/health/live", live_check, methods=["GET"]),
        Route("/v2/health/ready", ready_check, methods=["GET"]),
        Route(model, metadata, methods=["GET"]),
        Route(version, metadata, methods=["GET"]),
        Route(f"{model}/ready", model_ready, methods=["GET"]),
        Route(f"{version}/ready", model_ready, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/ping", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: _not_found, 405: _not_allowed})
    app.state.endpoint = endpoint
    app.state.metrics = metrics
    app.state.batcher = batcher
    return app


def _tensors(schema: Any) -> list[dict[str, Any]]:
    return [{"name": n, "datatype": OIP_DATATYPES[c.dtype], "shape": [-1]} for n, c in schema.columns.items()]


VERSION_HEADER = "x-model-version"


def primary_label(live: Any) -> str:
    """The version that answers by default (``none`` while nothing is deployed): the header of
    every response that no particular version answered."""
    primary = live.snapshot.primary
    return "none" if primary is None else str(primary.label)


async def _not_found(request: Request, exc: Exception) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(
        {"error": f"No route {request.method} {request.url.path}."},
        status_code=404,
        headers={VERSION_HEADER: primary_label(request.app.state.endpoint.live)},
    )


async def _not_allowed(request: Request, exc: Exception) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(
        {"error": f"Method {request.method} is not allowed on {request.url.path}."},
        status_code=405,
        headers={VERSION_HEADER: primary_label(request.app.state.endpoint.live)},
    )
