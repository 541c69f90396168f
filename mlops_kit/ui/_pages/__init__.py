"""The UI's routes, one module per section."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.ui._pages import (
    _actions,
    _datasets,
    _decisions,
    _endpoints,
    _home,
    _models,
    _monitoring,
    _runs,
    _session,
    _static,
)

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

__all__ = ["routes"]


def routes() -> list[BaseRoute]:
    """Every route of the app."""
    return [
        *_home.routes(),
        *_static.routes(),
        *_session.routes(),
        *_datasets.routes(),
        *_runs.routes(),
        *_models.routes(),
        *_endpoints.routes(),
        *_monitoring.routes(),
        *_decisions.routes(),
        *_actions.routes(),
    ]
