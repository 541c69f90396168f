"""Endpoints: what each serves, and one endpoint's traffic, rollback stack, events and predictions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.ui._charts import bars
from mlops_kit.ui._context import Paging, ui_of
from mlops_kit.ui._links import href
from mlops_kit.ui._pages._predictions import latest_predictions

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from mlops_kit.deploy import EndpointStatus

__all__ = ["routes"]

LATEST_PREDICTIONS = 50


def endpoints(request: Request) -> Response:
    ui = ui_of(request)
    paging = Paging.of(request)
    names = list(ui.deployer.endpoints(limit=paging.limit + 1, offset=paging.offset))
    shown = names[: paging.limit]
    return ui.render(
        request,
        "endpoints.html",
        title="Endpoints",
        section="endpoints",
        rows=[ui.deployer.status(n) for n in shown],
        links=paging.links(request, more=len(names) > paging.limit),
    )


def endpoint(request: Request) -> Response:
    ui = ui_of(request)
    name = request.path_params["name"]
    paging = Paging.of(request, default=20)
    status = ui.deployer.status(name)  # NotFoundError for an unknown endpoint: a 404 page
    events = list(ui.deployer.history(name, limit=paging.limit + 1, offset=paging.offset, newest_first=True))
    split = traffic_split(status)
    predictions = latest_predictions(ui.deployer.predictions(name, limit=LATEST_PREDICTIONS))
    charts = [("traffic split", bars([v for v, _, _ in split], [s for _, _, s in split], y_title="share"))]
    return ui.render(
        request,
        "endpoint.html",
        title=f"Endpoint {name}",
        section="endpoints",
        name=name,
        ep=status,
        shadow=status.candidate if status.strategy == "shadow" else None,
        split=split,
        versions=sorted(status.versions.items(), key=lambda kv: _ROLE_ORDER.get(kv[1].role, 9)),
        events=events[: paging.limit],
        links=paging.links(request, more=len(events) > paging.limit),
        predictions=predictions,
        charts=charts if split else [],
        crumbs=[("Endpoints", href(request, "endpoints")), (name, None)],
    )


_ROLE_ORDER = {"primary": 0, "candidate": 1, "shadow": 2, "retired": 3}


def traffic_split(status: EndpointStatus) -> list[tuple[str, str, float]]:
    """``(version, role, share of answered requests)``; a shadow answers none (it gets copies)."""
    if status.primary is None:
        return []
    if status.candidate is None:
        return [(str(status.primary), "primary", 1.0)]
    if status.strategy == "canary":
        weight = float(status.weight or 0.0)
        return [(str(status.primary), "primary", 1.0 - weight), (str(status.candidate), "candidate", weight)]
    return [(str(status.primary), "primary", 1.0), (str(status.candidate), "shadow", 0.0)]


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/endpoints", endpoints, name="endpoints"),
        Route("/endpoints/{name}", endpoint, name="endpoint"),
    ]
