"""Mount an endpoint's app in a host Starlette or FastAPI app, lifespan and OpenAPI included.

``host.mount(path, ep.asgi_app())`` routes requests, but the host never runs the mounted
app's lifespan (so no flush on shutdown), and FastAPI's OpenAPI page leaves mounted apps
out. :func:`mount` mounts the app and also chains its lifespan into the host's and, for
FastAPI, adds its routes to the host's OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import ConfigError

if TYPE_CHECKING:
    from mlops_kit.deploy._endpoint import Endpoint

__all__ = ["mount", "openapi_paths"]

_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")
_PARAM = re.compile(r"{(\w+)}")

# What each route does, in the host's OpenAPI page (keyed by the route's path).
_SUMMARIES = {
    "/invocations": "Predict, MLflow's scoring format (dataframe_split, dataframe_records, instances, inputs, CSV, Parquet)",
    "/predict": "Predict, MLflow's scoring format (same as /invocations)",
    "/v2/models/{name}/infer": "Predict, Open Inference Protocol v2",
    "/v2/models/{name}/versions/{version}/infer": "Predict with one live version, Open Inference Protocol v2",
    "/v2": "Server metadata, Open Inference Protocol v2",
    "/v2/health/live": "Liveness, Open Inference Protocol v2",
    "/v2/health/ready": "Readiness, Open Inference Protocol v2",
    "/v2/models/{name}": "Model metadata: inputs and outputs from the signature",
    "/v2/models/{name}/versions/{version}": "Metadata of one live version",
    "/v2/models/{name}/ready": "Readiness of the model",
    "/v2/models/{name}/versions/{version}/ready": "Readiness of one live version",
    "/health": "MLflow's health check",
    "/version": "The server's version (plain text)",
    "/healthz": "Primary, candidate and strategy; 503 while nothing is deployed",
    "/ping": "Same as /healthz",
    "/metrics": "Prometheus metrics",
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
    },
}
_OIP_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "required": ["inputs"]}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
_ERROR = {
    "description": 'A 4xx for the caller\'s mistakes, 500 if the model raised; the body says why: {"error": "..."}'
}


def mount(endpoint: Endpoint, host: Any, path: str, **options: Any) -> Any:
    """Mount ``endpoint.asgi_app(**options)`` at ``path`` of ``host``; return the mounted app."""
    router: Any = getattr(host, "router", None)
    if not callable(getattr(host, "mount", None)) or not hasattr(router, "lifespan_context"):
        raise ConfigError(
            f"endpoint.mount() needs a Starlette or FastAPI app, got {host!r}. For another ASGI "
            "framework, mount endpoint.asgi_app() yourself and run its lifespan from your app's."
        )
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ConfigError(f"The mount path must look like '/models/churn' (no trailing '/'), got {path!r}.")
    app = endpoint.asgi_app(**options)
    host.mount(path, app)
    router.lifespan_context = _chained(router.lifespan_context, app)
    if callable(getattr(host, "openapi", None)) and hasattr(host, "openapi_schema"):  # FastAPI
        host.openapi = _with_paths(host.openapi, openapi_paths(app, path, tag=f"endpoint {endpoint.name}"))
    return app


def _chained(host_lifespan: Callable[[Any], Any], app: Any) -> Callable[[Any], Any]:
    """The host's lifespan with the mounted app's inside it: started after, stopped (flushed) before."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(host_app: Any) -> AsyncIterator[Any]:
        async with host_lifespan(host_app) as state, inner(app):
            yield state

    return lifespan


def _with_paths(openapi: Callable[[], dict[str, Any]], paths: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def with_endpoint() -> dict[str, Any]:
        schema = openapi()  # FastAPI caches and returns one dict: adding is idempotent
        for route, operations in paths.items():
            schema.setdefault("paths", {}).setdefault(route, operations)
        return schema

    return with_endpoint


def openapi_paths(app: Any, prefix: str = "", *, tag: str = "mlops-kit") -> dict[str, Any]:
    """The OpenAPI ``paths`` of an endpoint's app, under ``prefix``."""
    paths: dict[str, Any] = {}
    for route in app.routes:
        route_path = getattr(route, "path", None)
        if route_path is None or not getattr(route, "methods", None):
            continue
        operations = paths.setdefault(prefix + route_path, {})
        for method in sorted(m for m in route.methods if m != "HEAD"):
            operation: dict[str, Any] = {
                "tags": [tag],
                "summary": _SUMMARIES.get(route_path, route.name),
                "operationId": re.sub(r"\W+", "_", f"{tag}{route_path}_{method}"),
                "responses": {"200": {"description": "The answer"}, "default": _ERROR},
            }
            params = _PARAM.findall(route_path)
            if params:
                operation["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
                ]
            if method == "POST":
                operation["requestBody"] = _OIP_BODY if route_path.endswith("/infer") else _BODY
            operations[method.lower()] = operation
    return paths
