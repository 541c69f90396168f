"""The app's CSS and JavaScript, and Plotly's bundle from the installed plotly package."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from typing import TYPE_CHECKING

from mlops_kit.core.extras import require

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

__all__ = ["routes"]

_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml"}
_OWN = {"ui.css", "ui.js", "favicon.svg"}


@functools.cache
def _asset(name: str) -> bytes:
    if name == "plotly.min.js":
        plotly = require("plotly.offline", extra="ui", purpose="The UI's charts", package="plotly")
        return str(plotly.get_plotlyjs()).encode()
    return resources.files("mlops_kit.ui").joinpath("static", name).read_bytes()


def static(request: Request) -> Response:
    return static_named(request, request.path_params["name"])


def static_named(request: Request, name: str) -> Response:
    from starlette.responses import Response

    if name not in _OWN and name != "plotly.min.js":
        return Response("not found", status_code=404, media_type="text/plain")
    body = _asset(name)
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=_TYPES[name.rsplit(".", 1)[1]], headers=headers)


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/static/{name}", static, name="static"),
        # Browsers ask for it whatever the page says.
        Route("/favicon.ico", lambda request: static_named(request, "favicon.svg")),
    ]
