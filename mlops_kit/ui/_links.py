"""Links inside the UI: every path part quoted, under the app's mount point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["href"]


def href(request: Request, *parts: object, **query: Any) -> str:
    """``/<mount>/<part>/<part>?query``; ``None`` query values are left out, lists repeat."""
    root = request.scope.get("root_path", "").rstrip("/")
    path = "/".join(quote(str(p), safe="") for p in parts)
    url = f"{root}/{path}"
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((key, str(v)) for v in values)
    return f"{url}?{urlencode(pairs)}" if pairs else url
