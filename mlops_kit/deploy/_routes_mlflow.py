"""MLflow's scoring protocol: ``POST /invocations`` (also at ``/predict``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.deploy._protocol import parse_invocations, to_jsonable
from mlops_kit.deploy._server import Server, guarded

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["invocations"]


@guarded
async def invocations(request: Request) -> tuple[Any, str]:
    server = Server.of(request)
    body = await server.body_of(request)
    columns, params = parse_invocations(body, request.headers.get("content-type", ""))
    outcome = await server.run(columns, server.method_of(params), None, None)
    return {"predictions": to_jsonable(outcome.output)}, outcome.version
