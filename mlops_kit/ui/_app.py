"""``ui_app(storage)``: the Starlette app, its routes, and pages for errors instead of tracebacks."""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import StorageLike, check_storage
from mlops_kit.core.errors import InvalidNameError, MlopsKitError, NotFoundError, StorageError
from mlops_kit.core.extras import require
from mlops_kit.ui._context import UI, BadRequest, ui_of
from mlops_kit.ui._security import Forbidden, Guard

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["ui_app"]

_log = logging.getLogger("mlops_kit.ui")


def ui_app(
    storage: StorageLike = None, *, allow_actions: bool = False, token: str | None = None
) -> Starlette:
    """The web UI over ``storage``, as an ASGI app to serve or mount.

    Parameters
    ----------
    storage : Storage or str, optional
        The store to show (default: ``$MLOPS_KIT_STORAGE``, else ``./.mlops``).
    allow_actions : bool, default False
        Offer actions (set or delete an alias, archive, promote, rollback) to people who
        sign in with ``token``. Off, the UI is read-only.
    token : str, optional
        The shared secret for signing in (8 characters or more); needed with
        ``allow_actions``.

    Returns
    -------
    starlette.applications.Starlette
        Mount it (``app.mount("/mlops", ui_app(store))``) or serve it with uvicorn.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> app = mk.ui_app(mk.MemoryStorage())
    >>> sorted(r.path for r in app.routes)[:3]
    ['/', '/datasets', '/datasets/{name}']
    """
    require("starlette", extra="ui", purpose="The web UI")
    require("jinja2", extra="ui", purpose="The web UI")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware

    from mlops_kit.core.storage import resolve_storage
    from mlops_kit.ui import _pages

    store = resolve_storage(check_storage(storage))
    ui = UI(store, Guard(allow_actions=allow_actions, token=token))
    app = Starlette(
        lifespan=_warm_up,
        routes=_pages.routes(),
        middleware=[Middleware(GZipMiddleware, minimum_size=1024)],
        exception_handlers={
            MlopsKitError: _error_page,
            Exception: _error_page,
            404: _not_found,
            405: _not_allowed,
        },
    )
    app.state.ui = ui
    return app


@contextlib.asynccontextmanager
async def _warm_up(app: Starlette) -> AsyncIterator[None]:
    """Import the blocks (pandas, scikit-learn...) at start-up, not on the first person's page."""
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(_import_blocks)
    yield


def _import_blocks() -> None:
    for module in (
        "mlops_kit.automation",
        "mlops_kit.datasets",
        "mlops_kit.deploy",
        "mlops_kit.monitor",
        "mlops_kit.registry",
        "mlops_kit.tracking",
        "pandas",
    ):
        importlib.import_module(module)


def _not_found(request: Request, exc: Exception) -> Response:
    return _page(request, 404, "Not found", f"Nothing at {request.url.path}.")


def _not_allowed(request: Request, exc: Exception) -> Response:
    return _page(
        request, 405, "Method not allowed", f"{request.method} is not allowed on {request.url.path}."
    )


def _error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, (NotFoundError, InvalidNameError)):
        return _page(request, 404, "Not found", str(exc))
    if isinstance(exc, Forbidden):
        return _page(request, 403, "Not allowed", str(exc))
    if isinstance(exc, BadRequest):
        return _page(request, 400, "Bad request", str(exc))
    if isinstance(exc, StorageError):
        return _page(request, 503, "Storage unavailable", f"The store could not be read: {exc}")
    if isinstance(exc, MlopsKitError):  # e.g. a conflict on an action: the person can fix it
        return _page(request, 409, "Could not do that", str(exc))
    _log.exception("error on %s", request.url.path)
    return _page(request, 500, "Something went wrong", "The server's log has the details.")


def _page(request: Request, status: int, title: str, message: str, **extra: Any) -> Response:
    return ui_of(request).render(request, "error.html", status=status, title=title, message=message, **extra)
