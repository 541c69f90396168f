"""The Open Inference Protocol v2 over REST: server and model health, metadata, infer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.core._version import __version__
from mlops_kit.core.errors import NotFoundError
from mlops_kit.deploy._protocol import OIP_DATATYPES, BadRequest, oip_outputs, parse_oip
from mlops_kit.deploy._server import Server, guarded, version_number

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = [
    "SERVER_NAME",
    "infer",
    "live_check",
    "metadata",
    "model_metadata",
    "model_ready",
    "ready_check",
    "server_metadata",
]

SERVER_NAME = "mlops-kit"


@guarded
async def infer(request: Request) -> tuple[Any, str]:
    server = Server.of(request)
    name, version = request.path_params["name"], request.path_params.get("version")
    _, label = server.served_for(name, version)
    body = await server.body_of(request)
    columns, params, request_id = parse_oip(body, request.headers.get("content-type", ""))
    outcome = await server.run(columns, server.method_of(params), label, request_id)
    answer = {
        "model_name": name,
        "model_version": version_number(outcome.version),
        "id": outcome.request_id,
        "outputs": oip_outputs(outcome.output),
    }
    return answer, outcome.version


async def metadata(request: Request) -> Response:
    server = Server.of(request)
    try:
        content, label = model_metadata(
            server, request.path_params["name"], request.path_params.get("version")
        )
    except BadRequest as exc:
        return server.error(str(exc), exc.status)
    except NotFoundError:
        return server.unavailable()
    return server.reply(content, version=label)


def model_metadata(server: Server, name: str, version: str | None) -> tuple[dict[str, Any], str | None]:
    """The metadata of model ``name`` (REST and gRPC) and the label of the version it describes.

    Raises
    ------
    BadRequest
        An unknown model or version (404).
    NotFoundError
        Nothing is deployed.
    """
    served, label = server.served_for(name, version)
    signature = served.mv.signature
    inputs = [] if signature is None else _tensors(signature.inputs)
    outputs = [] if signature is None or signature.outputs is None else _tensors(signature.outputs)
    content = {
        "name": name,
        "versions": sorted(str(s.mv.version) for s in server.live.snapshot.live.values()),
        "platform": f"mlops-kit/{served.mv.flavor}",
        "inputs": inputs,
        "outputs": outputs,
    }
    return content, label


async def model_ready(request: Request) -> Response:
    server = Server.of(request)
    try:
        _, label = server.served_for(request.path_params["name"], request.path_params.get("version"))
    except BadRequest as exc:
        return server.error(str(exc), exc.status)
    except NotFoundError:
        return server.unavailable()
    return server.reply({"name": request.path_params["name"], "ready": True}, version=label)


async def server_metadata(request: Request) -> Response:
    return Server.of(request).reply({"name": SERVER_NAME, "version": __version__, "extensions": []})


async def live_check(request: Request) -> Response:
    return Server.of(request).reply({"live": True})


async def ready_check(request: Request) -> Response:
    server = Server.of(request)
    ready = server.live.snapshot.primary is not None
    return server.reply({"ready": ready}, 200 if ready else 503)


def _tensors(schema: Any) -> list[dict[str, Any]]:
    return [{"name": n, "datatype": OIP_DATATYPES[c.dtype], "shape": [-1]} for n, c in schema.columns.items()]
