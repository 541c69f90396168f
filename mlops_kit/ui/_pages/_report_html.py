"""A stored drift report's own HTML page, served with a Content-Security-Policy made for it.

The report (``DriftReport.to_html()``) is one self-contained page: a ``<style>`` element
and ``style=`` attributes (its CSS and matplotlib's SVG), inline SVG charts (no images,
no fonts), and one inline script that sorts its tables. So its policy allows inline
styles, that one script by its sha256 (never inline script in general), ``data:``
images, and nothing else: no connection, no fetch, no form, no base URL. ``sandbox
allow-scripts`` gives the page an opaque origin, even when opened on its own rather than
in the UI's sandboxed ``<iframe>``, so its script cannot read the UI's cookies or pages.
The UI's own pages keep their strict policy (see :mod:`mlops_kit.ui._context`).
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.responses import Response

    from mlops_kit.monitor import DriftReport

__all__ = ["report_policy", "report_response"]

_OPEN, _CLOSE = "<script>", "</script>"


def report_policy(page: str) -> str:
    """The policy of a report ``page``: its own sorting script is the only script allowed."""
    sources = "'none'"
    # The renderer writes its script last, after everything taken from the data, so an
    # injected tag (were escaping ever to fail) could not be the last one.
    start, end = page.rfind(_OPEN), page.rfind(_CLOSE)
    if 0 <= start < end:
        script = page[start + len(_OPEN) : end]
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        sources = f"'sha256-{digest}'"
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src {sources}; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'self'; sandbox allow-scripts"
    )


def report_response(report: DriftReport) -> Response:
    """The report's HTML with its policy (the charts need the ``report`` extra: matplotlib)."""
    from starlette.responses import HTMLResponse

    page = report.to_html()
    headers = {
        "Content-Security-Policy": report_policy(page),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, max-age=3600",  # a stored report never changes
    }
    return HTMLResponse(page, headers=headers)
