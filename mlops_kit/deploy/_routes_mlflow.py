"""MLflow's scoring protocol: ``POST /invocations`` (also at ``/predict``), ``GET /health``
and ``GET /version``, with MLflow's error bodies (``{"error_code": ..., "message": ...}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.core._version import __version__
from mlops_kit.deploy._protocol import parse_invocations, to_jsonable
from mlops_kit.deploy._server import VERSION_HEADER, Server, guarded, primary_label

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["health", "invocations", "mlflow_error", "version"]

# MLflow's error codes for our statuses; 422 (a request not matching the signature) is
# MLflow's BAD_REQUEST, answered with 400 as MLflow does.
_CODES = {404: "RESOURCE_DOES_NOT_EXIST", 500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}


def mlflow_error(message: str, status: int) -> tuple[dict[str, str], int]:
    """An error as MLflow's scoring server writes it, and the status it answers with."""
    if status == 422:
        status = 400
    code = _CODES.get(status, "BAD_REQUEST" if 400 <= status < 500 else "INTERNAL_ERROR")
    return {"error_code": code, "message": message}, status


async def _invocations(request: Request) -> tuple[Any, str]:
    server = Server.of(request)
    body = await server.body_of(request)
    content_type = request.headers.get("content-type", "")
    columns, params = parse_invocations(body, content_type, max_cells=server.max_body_bytes // 2)
    outcome = await server.run(columns, server.method_of(params), None, None)
    return {"predictions": to_jsonable(outcome.output)}, outcome.version


invocations = guarded(_invocations, errors=mlflow_error)
invocations.__name__ = "invocations"


async def health(request: Request) -> Response:
    """MLflow's health check: 200 while a model is served, else MLflow's 503 error body."""
    server = Server.of(request)
    if server.live.snapshot.primary is None:
        content, status = mlflow_error(server.unavailable_message(), 503)
        return server.reply(content, status)
    return server.reply({"status": "ok"})


async def version(request: Request) -> Response:
    """The server's version, as plain text (MLflow answers its own version there)."""
    from starlette.responses import PlainTextResponse

    server = Server.of(request)
    return PlainTextResponse(__version__, headers={VERSION_HEADER: primary_label(server.live)})
