"""Operations routes: ``/healthz`` (also ``/ping``) and Prometheus' ``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.deploy._server import VERSION_HEADER, Server, primary_label

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["healthz", "prometheus"]


async def healthz(request: Request) -> Response:
    server = Server.of(request)
    snap = server.live.snapshot
    body = {
        "status": "ok" if snap.primary is not None else "unavailable",
        "endpoint": server.endpoint.name,
        "primary": None if snap.primary is None else snap.primary.label,
        "candidate": None if snap.candidate is None else snap.candidate.label,
        "strategy": snap.state.strategy,
    }
    return server.reply(body, 200 if snap.primary is not None else 503)


async def prometheus(request: Request) -> Response:
    from starlette.responses import Response

    server = Server.of(request)
    text, content_type = server.metrics.render()
    return Response(text, media_type=content_type, headers={VERSION_HEADER: primary_label(server.live)})
