"""What every handler of one endpoint shares, over HTTP and gRPC: the live models, the
batcher, the metrics, the body limit, and the helpers that turn answers and errors into
responses."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import check_positive_int
from mlops_kit.core.errors import ConfigError, NotFoundError, SchemaError
from mlops_kit.deploy import _shutdown
from mlops_kit.deploy._metrics import CLIENT_CLOSED
from mlops_kit.deploy._oip_rest import BinaryBody
from mlops_kit.deploy._protocol import BadRequest, to_json
from mlops_kit.deploy._served import METHODS, ModelFailed
from mlops_kit.deploy._values import BadValues

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from mlops_kit.deploy._batching import Batcher
    from mlops_kit.deploy._endpoint import Endpoint
    from mlops_kit.deploy._live import Live
    from mlops_kit.deploy._metrics import Metrics
    from mlops_kit.deploy._served import Served

__all__ = ["VERSION_HEADER", "ErrorFormat", "Server", "guarded", "primary_label", "version_number"]

_log = logging.getLogger("mlops_kit.deploy")
_INLINE_ROWS = 64  # without batching, bigger requests predict in a worker thread, off the event loop
VERSION_HEADER = "x-model-version"

Handler = Callable[["Request"], Awaitable[tuple[Any, str]]]
ErrorFormat = Callable[[str, int], tuple[Any, int]]  # (message, status) -> (body, status)


def primary_label(live: Live) -> str:
    """The version that answers by default (``none`` while nothing is deployed): the header of
    every response that no particular version answered."""
    primary = live.snapshot.primary
    return "none" if primary is None else str(primary.label)


def version_number(label: str) -> str:
    """The protocol's ``model_version`` of an answer: ``"3"`` for ``"churn:3"``, and the labels
    as they are when a keyed canary split the rows (``"churn:3,churn:4"``)."""
    return label if "," in label else label.split(":")[-1]


class Server:
    """The state of one endpoint's app, kept in ``app.state.server`` (and shared by a gRPC
    server started beside it)."""

    def __init__(
        self, endpoint: Endpoint, metrics: Metrics, batcher: Batcher, *, max_body_bytes: int
    ) -> None:
        self.endpoint = endpoint
        self.live = endpoint.live
        self.metrics = metrics
        self.batcher = batcher
        self.max_body_bytes = max_body_bytes
        self.lifespan_started = False  # set by the app's lifespan, which a host's mount skips
        self.sigterm_flushes = False  # whether a SIGTERM flushes the prediction log anyway
        self._told_no_lifespan = False

    def tell_no_lifespan(self) -> None:
        """Warn, once, that this app serves without its lifespan (mounted with ``host.mount``)."""
        if self._told_no_lifespan or self.lifespan_started:
            return
        self._told_no_lifespan = True
        name = self.endpoint.name
        fallback = (
            "buffered predictions are flushed on SIGTERM and at exit instead"
            if self.sigterm_flushes
            else "buffered predictions may be lost when the server stops (no SIGTERM hook: the app "
            "was not built in the main thread, or SIGTERM is ignored)"
        )
        _log.warning(
            "Endpoint %r serves requests but its lifespan never started (mounted with app.mount()? "
            "Starlette and FastAPI do not run a mounted app's lifespan): %s. Mount it with "
            "endpoint.mount(app, '/path') to run it with your app's lifespan and list its routes "
            "in your app's OpenAPI page.",
            name,
            fallback,
        )

    @classmethod
    def create(cls, endpoint: Endpoint, *, max_body_bytes: int, max_batch_rows: int) -> Server:
        """A server state with its own metrics and batcher (needs prometheus-client, not Starlette)."""
        check_positive_int(max_body_bytes, "max_body_bytes")
        check_positive_int(max_batch_rows, "max_batch_rows", hint="1 turns batching off")
        from mlops_kit.deploy._batching import Batcher
        from mlops_kit.deploy._metrics import Metrics

        live = endpoint.live  # attach now: load the models before the first request
        metrics = Metrics(endpoint.name)
        if live.log is not None:
            live.log.listen(metrics.log_problem)  # entries the prediction log set aside or dropped
        return cls(endpoint, metrics, Batcher(live, max_batch_rows), max_body_bytes=max_body_bytes)

    @staticmethod
    def of(request: Request) -> Server:
        server: Server = request.app.state.server
        return server

    def reply(self, content: Any, status: int = 200, version: str | None = None) -> Response:
        from starlette.responses import Response

        headers = {VERSION_HEADER: version or primary_label(self.live)}
        return Response(to_json(content), status_code=status, media_type="application/json", headers=headers)

    def binary(self, body: BinaryBody, version: str) -> Response:
        """A 200 in the binary tensor data extension: JSON header, then the outputs' bytes."""
        from starlette.responses import Response

        headers = {VERSION_HEADER: version, "inference-header-content-length": str(body.header_length)}
        return Response(body.content, media_type="application/octet-stream", headers=headers)

    def error(self, message: str, status: int, version: str | None = None) -> Response:
        return self.reply({"error": message}, status, version)

    def unavailable(self) -> Response:
        return self.error(self.unavailable_message(), 503)

    def unavailable_message(self) -> str:
        """The message of a request that finds nothing deployed."""
        return f"Endpoint {self.endpoint.name!r} serves no model right now."

    async def body_of(self, request: Request) -> bytes:
        """The request body, refused with 413 past the limit before it is all read."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and not declared.isdigit():
            raise BadRequest(f"Invalid Content-Length {declared!r}.")
        if declared is not None and int(declared) > limit:
            raise BadRequest(f"The request body is larger than the limit of {limit} bytes.", status=413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadRequest(f"The request body is larger than the limit of {limit} bytes.", status=413)
            chunks.append(chunk)
        return b"".join(chunks)

    def served_for(self, name: str, version: str | None) -> tuple[Served, str | None]:
        """The live model a ``/v2/models/{name}[/versions/{version}]`` path names, and its label
        (``None`` for the endpoint's default routing)."""
        snap = self.live.snapshot
        if snap.primary is None:
            raise NotFoundError("nothing deployed")
        names = {self.endpoint.name, *(s.mv.name for s in snap.live.values())}
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

    @staticmethod
    def method_of(params: dict[str, Any]) -> str:
        method = params.get("method", "predict")
        if method not in METHODS:
            raise BadRequest(f"Unknown method {method!r}; expected one of {list(METHODS)}.")
        return str(method)

    async def run(self, columns: Any, method: str, version: str | None, request_id: str | None) -> Any:
        """Answer one request: small ones inline or through the batcher, big ones in a thread."""
        from starlette.concurrency import run_in_threadpool

        from mlops_kit.deploy._calls import Outcome

        live = self.live
        raw = columns if isinstance(columns, dict) else None
        rows = len(next(iter(columns.values()), [])) if raw is not None else len(columns)
        if rows == 0:
            raise BadRequest("The request has no rows.", status=422)
        batched = self.batcher.max_rows > 1 and rows <= self.batcher.max_rows
        if batched or rows <= _INLINE_ROWS:
            call = live.begin(columns, method, version=version, request_id=request_id, raw=raw)
            if isinstance(call, Outcome):  # a keyed canary split its rows: already answered
                return call
            if batched:  # the model runs in a worker thread, with the calls waiting beside it
                return await self.batcher.run(call)
            return live.finish(call, live.predict(call))
        return await run_in_threadpool(
            live.infer, columns, method, version=version, request_id=request_id, raw=raw
        )

    def error_for(self, exc: Exception, errors: ErrorFormat | None = None) -> tuple[Response, int, str]:
        """The response for an exception raised while answering, its status and the version
        it is counted under; ``errors`` shapes the body (default: ``{"error": message}``)."""
        status, message, version = self.status_of(exc)
        if errors is None:
            return self.error(message, status, version or None), status, version
        content, status = errors(message, status)
        return self.reply(content, status, version or None), status, version

    def status_of(self, exc: Exception) -> tuple[int, str, str]:
        """The HTTP status and message for an exception raised while answering, and the version
        it is counted under (``""`` if none); an unexpected error is logged, never shown."""
        if isinstance(exc, BadRequest):
            return exc.status, str(exc), ""
        if isinstance(exc, BadValues):  # a SchemaError, but a wrong value rather than a wrong shape
            return 400, str(exc), ""
        if isinstance(exc, SchemaError):
            return 422, str(exc), ""
        if isinstance(exc, ConfigError):
            return 400, str(exc), ""
        if isinstance(exc, NotFoundError):
            if self.live.snapshot.primary is None:
                return 503, self.unavailable_message(), ""
            return 404, str(exc), ""
        if isinstance(exc, ModelFailed):
            return 500, str(exc), exc.label
        if _is_client_disconnect(exc):  # not our failure, and nobody is left to answer
            _log.info(
                "Endpoint %r: the client closed the connection before sending its whole request",
                self.endpoint.name,
            )
            return CLIENT_CLOSED, "The client closed the connection.", ""
        _log.error("Endpoint %r: internal error while serving a request", self.endpoint.name, exc_info=exc)
        return 500, f"Internal error ({type(exc).__name__}); see the server log.", ""


async def _flush(server: Server) -> None:
    from starlette.concurrency import run_in_threadpool

    try:
        await run_in_threadpool(server.live.flush)
    except Exception as exc:
        _log.error("Endpoint %r: could not flush its prediction log: %s", server.endpoint.name, exc)


def _is_client_disconnect(exc: Exception) -> bool:
    from starlette.requests import ClientDisconnect

    return isinstance(exc, ClientDisconnect)


def guarded(
    handler: Handler, *, errors: ErrorFormat | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """Count, time and translate errors for an inference route.

    ``errors`` turns an error's message and status into the body and status a route
    family answers with (MLflow's routes use MLflow's format); by default the body is
    ``{"error": message}`` with the status of :meth:`Server.problem`.
    """

    async def route(request: Request) -> Response:
        server = Server.of(request)
        start = time.perf_counter()
        server.metrics.started()
        version, status = "", 500
        if not server.lifespan_started:
            server.tell_no_lifespan()
        try:
            content, version = await handler(request)
            status = 200
            if isinstance(content, BinaryBody):
                return server.binary(content, version)
            return server.reply(content, version=version)
        except Exception as exc:
            response, status, version = server.error_for(exc, errors)
            return response
        finally:
            server.metrics.finished(version, status, time.perf_counter() - start)
            if _shutdown.draining():  # after a SIGTERM: this request's rows are stored before it is answered
                await _flush(server)

    route.__name__ = handler.__name__
    route.__doc__ = handler.__doc__
    return route
