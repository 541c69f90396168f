"""``serve``: run an endpoint's ASGI app with uvicorn."""

from __future__ import annotations

from typing import Any

__all__ = ["serve"]


def serve(endpoint: Any, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> None:
    """Placeholder."""
    raise NotImplementedError
