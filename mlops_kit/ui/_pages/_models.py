"""Models: the names, a model's versions, metric charts and alias timeline, and one version."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from mlops_kit.ui._charts import lines
from mlops_kit.ui._context import Paging, ui_of
from mlops_kit.ui._links import href
from mlops_kit.ui._pages._models_version import model_version

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from mlops_kit.registry import ModelEvent, ModelVersion, Registry

__all__ = ["routes"]

# Bounds on the work of one page: a chart over thousands of versions says no more.
MOST_CHARTED = 500
MOST_EVENTS = 100


def models(request: Request) -> Response:
    ui = ui_of(request)
    registry = ui.registry
    paging = Paging.of(request)
    names = list(registry.models(limit=paging.limit + 1, offset=paging.offset))
    rows = [_model_row(registry, name) for name in names[: paging.limit]]
    return ui.render(
        request,
        "models.html",
        title="Models",
        section="models",
        rows=rows,
        links=paging.links(request, more=len(names) > paging.limit),
    )


def _model_row(registry: Registry, name: str) -> dict[str, Any]:
    newest = registry.versions(name, limit=1, newest_first=True)
    latest = newest[0] if newest else None
    aliases = registry.aliases(name)
    mine = [a for a, v in aliases.items() if latest is not None and v == latest.version]
    # Versions are numbered 1, 2, ... and never removed: the newest number is the count.
    return {"name": name, "latest": latest, "aliases": mine, "count": latest.version if latest else 0}


def model(request: Request) -> Response:
    ui = ui_of(request)
    registry = ui.registry
    name = request.path_params["name"]
    paging = Paging.of(request)
    versions = registry.versions(name, limit=paging.limit + 1, offset=paging.offset, newest_first=True)
    aliases = registry.aliases(name)
    archived = set(registry.archived(name))
    charted = registry.versions(name, limit=MOST_CHARTED, newest_first=True)
    total = charted[0].version if charted else 0
    history = list(registry.history(name, limit=MOST_EVENTS + 1, newest_first=True))
    shown = versions[: paging.limit]
    return ui.render(
        request,
        "model.html",
        title=f"Model {name}",
        section="models",
        name=name,
        versions=shown,
        total=total,
        aliases=aliases,
        pointing=_pointing(aliases),
        archived=archived,
        charts=_metric_charts(list(reversed(charted))),
        charted=len(charted),
        most_charted=MOST_CHARTED,
        timeline=[_timeline_entry(e) for e in history[:MOST_EVENTS]],
        more_events=len(history) > MOST_EVENTS,
        most_events=MOST_EVENTS,
        choices=[v.version for v in shown if v.version not in archived],
        links=paging.links(request, more=len(versions) > paging.limit),
        crumbs=[("Models", href(request, "models")), (name, None)],
    )


def _pointing(aliases: dict[str, int]) -> dict[int, list[str]]:
    """The aliases of each version."""
    by_version: dict[int, list[str]] = defaultdict(list)
    for alias, version in sorted(aliases.items()):
        by_version[version].append(alias)
    return dict(by_version)


def _metric_charts(versions: list[ModelVersion]) -> list[tuple[str, str]]:
    """One line chart per metric, x = version (oldest first); versions without it leave a gap."""
    names = sorted({metric for v in versions for metric in v.metrics})
    charts = []
    for metric in names:
        xs = [v.version for v in versions if metric in v.metrics]
        ys = [float(v.metrics[metric]) for v in versions if metric in v.metrics]
        figure = lines({metric: (xs, ys)}, title=metric, x_title="version", y_title=metric)
        charts.append((metric, figure))
    return charts


def _timeline_entry(event: ModelEvent) -> dict[str, Any]:
    """What one audit event says, as the words of the timeline."""
    if event.kind == "alias_set":
        what = "moved" if event.from_version is not None else "set"
    else:
        what = {"alias_deleted": "deleted", "registered": "registered"}.get(event.kind, event.kind)
    return {"event": event, "what": what}


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/models", models, name="models"),
        Route("/models/{name}", model, name="model"),
        Route("/models/{name}/{version}", model_version, name="model_version"),
    ]
