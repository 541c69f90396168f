"""The overview: what the store holds, or a plain statement that it holds nothing yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.ui._context import ui_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

__all__ = ["routes"]


def home(request: Request) -> Response:
    from mlops_kit.automation import ContinuousTraining
    from mlops_kit.datasets import Dataset
    from mlops_kit.monitor import Monitor
    from mlops_kit.tracking import runs

    ui = ui_of(request)
    store = ui.storage
    sections = [
        ("datasets", "Datasets", list(Dataset.names(store))),
        ("models", "Models", list(ui.registry.models())),
        ("endpoints", "Endpoints", list(ui.deployer.endpoints())),
        ("monitoring", "Monitors", list(Monitor.names(store))),
        ("decisions", "Loops", list(ContinuousTraining.names(store))),
    ]
    latest = list(runs(store, limit=5))
    empty = not latest and not any(names for _, _, names in sections)
    return ui.render(
        request, "home.html", title="Overview", sections=sections, latest=latest, empty=empty, section=""
    )


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [Route("/", home, name="home")]
