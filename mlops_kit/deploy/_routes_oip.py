"""The Open Inference Protocol v2 over REST: server and model health, metadata, infer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.core._version import __version__
from mlops_kit.core.errors import NotFoundError
from mlops_kit.deploy._oip import (
    metadata_outputs,
    metadata_parameters,
    method_for,
    output_name,
    select_outputs,
)
from mlops_kit.deploy._oip_rest import HEADER_LENGTH, encode_outputs, parse_infer
from mlops_kit.deploy._protocol import OIP_DATATYPES, BadRequest, oip_outputs, output_arrays
from mlops_kit.deploy._server import Server, guarded, version_number

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

EXTENSIONS = ["binary_tensor_data"]  # the Open Inference Protocol extensions served

__all__ = [
    "EXTENSIONS",
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
    served, label = server.served_for(name, version)
    body = await server.body_of(request)
    headers = request.headers
    parsed = parse_infer(
        body, headers.get("content-type", ""), headers.get(HEADER_LENGTH), served.checker.names
    )
    method = method_for(parsed.parameters, parsed.outputs, served)
    outcome = await server.run(parsed.columns, method, label, parsed.request_id)
    answer: dict[str, Any] = {
        "model_name": name,
        "model_version": version_number(outcome.version),
        "id": outcome.request_id,
    }
    if parsed.outputs is None and not parsed.binary_output:  # the common case: every output, in JSON
        answer["outputs"] = oip_outputs(outcome.output, output_name(method))
        return answer, outcome.version
    arrays = output_arrays(outcome.output, output_name(method))
    if parsed.outputs is None:
        chosen = [(n, n, a) for n, a in arrays]
    else:
        chosen = select_outputs(arrays, parsed.outputs)
    binary = [parsed.binary.get(asked, parsed.binary_output) for asked, _, _ in chosen]
    return encode_outputs(answer, [(n, a) for _, n, a in chosen], binary), outcome.version


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
    content: dict[str, Any] = {
        "name": name,
        "versions": sorted(str(s.mv.version) for s in server.live.snapshot.live.values()),
        "platform": f"mlops-kit/{served.mv.flavor}",
        "inputs": [] if signature is None else _tensors(signature.inputs),
        "outputs": metadata_outputs(served),
    }
    parameters = metadata_parameters(served)
    if parameters:
        content["parameters"] = parameters
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
    return Server.of(request).reply({"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS})


async def live_check(request: Request) -> Response:
    return Server.of(request).reply({"live": True})


async def ready_check(request: Request) -> Response:
    server = Server.of(request)
    ready = server.live.snapshot.primary is not None
    return server.reply({"ready": ready}, 200 if ready else 503)


def _tensors(schema: Any) -> list[dict[str, Any]]:
    return [{"name": n, "datatype": OIP_DATATYPES[c.dtype], "shape": [-1]} for n, c in schema.columns.items()]
