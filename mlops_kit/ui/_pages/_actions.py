"""Actions: set or delete an alias, archive or restore a version, promote or roll back an endpoint.

Each is a POST that the guard lets through only from a signed-in session with the form's
CSRF token, from this UI's own origin. The block call runs in a thread (storage blocks)
inside ``acting_as(...)``, so the audit history names the person who acted; the answer
is a redirect back to the page, saying what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlops_kit.core.clock import acting_as
from mlops_kit.core.errors import InvalidNameError, NotFoundError
from mlops_kit.core.names import check_name
from mlops_kit.ui._context import BadRequest, ui_of
from mlops_kit.ui._links import href

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from mlops_kit.ui._context import UI

__all__ = ["routes"]


async def _act(request: Request, do: Callable[[UI, dict[str, str]], str], *back: object) -> Response:
    """Authorize, run ``do(ui, form)`` in a thread as the signed-in person, redirect to ``back``.

    The guard comes first: a read-only UI or a request without a session is refused (403)
    before anything in the URL or the form is looked at.
    """
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import RedirectResponse

    ui = ui_of(request)
    session, form = await ui.guard.authorize(request)
    with acting_as(f"{session.name} (ui)"):
        # run_in_threadpool copies this context into the worker thread: acting_as holds there.
        done = await run_in_threadpool(do, ui, form)
    return RedirectResponse(href(request, *back, done=done), status_code=303)


def _name(request: Request, what: str) -> str:
    # A malformed name in the URL is a page that does not exist (404).
    return check_name(request.path_params["name"], what)


def _version(request: Request) -> int:
    raw = request.path_params["version"]
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise NotFoundError(f"Versions are numbers (1, 2, ...), not {raw!r}.")
    return int(raw)


def _form_input(call: Callable[[], Any]) -> Any:
    """Run ``call``; a malformed value the person typed (an alias) is a 400, not a missing page."""
    try:
        return call()
    except InvalidNameError as exc:
        raise BadRequest(str(exc)) from exc


async def set_alias(request: Request) -> Response:
    def do(ui: UI, form: dict[str, str]) -> str:
        name = _name(request, "model name")
        alias = form.get("alias", "").strip()
        raw = form.get("version", "").strip()
        if not alias:
            raise BadRequest("Give the alias to set (for example 'production').")
        if not raw.isascii() or not raw.isdigit():
            raise BadRequest(f"The version must be a number (1, 2, ...), got {raw!r}.")
        event = _form_input(lambda: ui.registry.set_alias(name, alias, int(raw)))
        before = "" if event.from_version is None else f" (was {event.from_version})"
        return f"{name}@{event.alias} now points to version {event.version}{before}."

    return await _act(request, do, "models", request.path_params["name"])


async def delete_alias(request: Request) -> Response:
    def do(ui: UI, form: dict[str, str]) -> str:
        name = _name(request, "model name")
        event = ui.registry.delete_alias(name, request.path_params["alias"])
        return f"{name}@{event.alias} deleted (it pointed to version {event.from_version})."

    return await _act(request, do, "models", request.path_params["name"])


async def archive(request: Request) -> Response:
    def do(ui: UI, form: dict[str, str]) -> str:
        name, version = _name(request, "model name"), _version(request)
        ui.registry.archive(name, version)
        return f"{name}:{version} archived: it is no longer 'latest' and takes no alias until restored."

    return await _act(request, do, "models", request.path_params["name"], request.path_params["version"])


async def restore(request: Request) -> Response:
    def do(ui: UI, form: dict[str, str]) -> str:
        name, version = _name(request, "model name"), _version(request)
        ui.registry.restore(name, version)
        return f"{name}:{version} restored."

    return await _act(request, do, "models", request.path_params["name"], request.path_params["version"])


async def promote(request: Request) -> Response:
    def do(ui: UI, form: dict[str, str]) -> str:
        endpoint = _name(request, "endpoint name")
        event = ui.deployer.promote(endpoint, reason=_reason(form))
        return f"Endpoint {endpoint}: {event.model}:{event.version} promoted to primary."

    return await _act(request, do, "endpoints", request.path_params["name"])


async def rollback(request: Request) -> Response:
    def do(ui: UI, form: dict[str, str]) -> str:
        endpoint = _name(request, "endpoint name")
        event = ui.deployer.rollback(endpoint, reason=_reason(form))
        return f"Endpoint {endpoint} rolled back: it serves {event.model}:{event.version}."

    return await _act(request, do, "endpoints", request.path_params["name"])


def _reason(form: dict[str, str]) -> str:
    return form.get("reason", "").strip()[:500]


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    post = ["POST"]
    return [
        Route("/models/{name}/aliases", set_alias, methods=post, name="set_alias"),
        Route("/models/{name}/aliases/{alias}/delete", delete_alias, methods=post, name="delete_alias"),
        Route("/models/{name}/{version}/archive", archive, methods=post, name="archive"),
        Route("/models/{name}/{version}/restore", restore, methods=post, name="restore"),
        Route("/endpoints/{name}/promote", promote, methods=post, name="promote"),
        Route("/endpoints/{name}/rollback", rollback, methods=post, name="rollback"),
    ]
