"""mkdocs hooks: render the Sphinx markup our docstrings use, which mkdocstrings shows verbatim.

- ``:class:`~mlops_kit.Registry``` (also ``:meth:``, ``:func:``, ...) becomes ``Registry`` in code
  style (the full path without the ``~``).
- A paragraph ending in ``::`` (a reStructuredText literal block follows) ends in ``:``.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|data|obj):<code>(~?)([^<]+)</code>")
_LITERAL = re.compile(r"::</p>")


def _name(match: re.Match[str]) -> str:
    short, path = match.groups()
    return f"<code>{path.rsplit('.', 1)[-1] if short else path}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _LITERAL.sub(":</p>", _ROLE.sub(_name, html))
