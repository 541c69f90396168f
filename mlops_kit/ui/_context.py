"""What every page needs: the store, the blocks read through their public API, the templates."""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from mlops_kit.core.errors import ConfigError
from mlops_kit.ui._links import href
from mlops_kit.ui._security import Guard

if TYPE_CHECKING:
    from starlette.datastructures import URL
    from starlette.requests import Request
    from starlette.responses import HTMLResponse

    from mlops_kit.core.storage import Storage
    from mlops_kit.deploy import LocalDeployer
    from mlops_kit.registry import Registry

__all__ = ["UI", "BadRequest", "Paging", "label", "ui_of"]

T = TypeVar("T")

PAGE_SIZE = 50
MOST_PER_PAGE = 500


class BadRequest(ConfigError):
    """A query string the page cannot use (a page size of -1, an unknown sort column)."""


@dataclass(frozen=True)
class Paging:
    """``?limit=&offset=`` of a listing, checked; ``links`` gives the previous and next pages."""

    limit: int
    offset: int

    @classmethod
    def of(cls, request: Request, default: int = PAGE_SIZE) -> Paging:
        limit = _int_arg(request, "limit", default, 1, MOST_PER_PAGE)
        offset = _int_arg(request, "offset", 0, 0, None)
        return cls(limit, offset)

    def slice(self, request: Request, items: Sequence[T]) -> tuple[list[T], dict[str, str | None]]:
        """This page of ``items`` (names, read whole: they are few and cheap) and its links."""
        shown = list(items[self.offset : self.offset + self.limit])
        return shown, self.links(request, more=self.offset + self.limit < len(items))

    def links(self, request: Request, *, more: bool) -> dict[str, str | None]:
        """URLs of the previous and next pages (``None`` at either end)."""
        url = request.url.remove_query_params(["done", "sig"])  # an action's notice stays on its page
        prev = None
        if self.offset > 0:
            prev = _relative(url.include_query_params(offset=max(0, self.offset - self.limit)))
        nxt = _relative(url.include_query_params(offset=self.offset + self.limit)) if more else None
        return {"prev": prev, "next": nxt, "first": str(self.offset + 1)}


def _relative(url: URL) -> str:
    # A link without scheme and host still works behind a proxy that rewrites them.
    return f"{url.path}?{url.query}" if url.query else url.path


def _int_arg(request: Request, name: str, default: int, least: int, most: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"?{name}= must be a whole number, got {raw!r}.") from None
    if value < least or (most is not None and value > most):
        bound = f"from {least} to {most}" if most is not None else f"{least} or more"
        raise BadRequest(f"?{name}= must be {bound}, got {value}.")
    return value


class UI:
    """The app's state: the store and the blocks over it, the templates, the guard for actions."""

    def __init__(self, storage: Storage, guard: Guard) -> None:
        import jinja2

        self.storage = storage
        self.guard = guard
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("mlops_kit.ui", "templates"),
            autoescape=True,  # names, tags, columns and categories are user data
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = _when
        self.env.filters["number"] = _number
        self.env.globals["short"] = _short
        self.env.globals["href"] = href

    @functools.cached_property
    def registry(self) -> Registry:
        from mlops_kit.registry import Registry

        return Registry(self.storage)

    @functools.cached_property
    def deployer(self) -> LocalDeployer:
        from mlops_kit.deploy import LocalDeployer

        return LocalDeployer(self.registry)

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        from starlette.responses import HTMLResponse

        page = self.env.get_template(template).render(
            request=request,
            store=self.storage.url,
            actions=self.guard.allowed,
            session=self.guard.session(request),
            csrf=self.guard.csrf(request),
            done=self.guard.notice(request),
            **context,
        )
        return HTMLResponse(page, status_code=status, headers=_HEADERS)


# No framing by other sites, no inline script from anywhere but this app, no sniffing.
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'self'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _when(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def _short(value: Any, most: int = 12) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= most else text[:most] + "…"


def label(text: object) -> str:
    """A user string for a chart's label: Plotly reads a few HTML tags in text, so escape it."""
    return html.escape(str(text), quote=False)


def ui_of(request: Request) -> UI:
    """The :class:`UI` of the app serving ``request``."""
    ui = request.app.state.ui
    assert isinstance(ui, UI)
    return ui
