"""``mlops-kit export ...``: what other engines need to serve an endpoint."""

from __future__ import annotations

from mlops_kit.cli._app import main


@main.group()
def export() -> None:
    """Write what other engines need to serve an endpoint."""
