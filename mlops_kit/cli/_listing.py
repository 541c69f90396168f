"""``--limit N`` and ``--all`` for every listing: the newest N rows, and a note when rows were left out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

if TYPE_CHECKING:
    pass

__all__ = ["DEFAULT_LIMIT", "clip", "limit_options", "note_clipped"]

DEFAULT_LIMIT = 50
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def limit_options(fn: F) -> F:
    """Add ``--limit N`` (default 50) and ``--all``; the command gets ``limit`` and ``show_all``."""
    fn = click.option("--all", "show_all", is_flag=True, help="Show every row (overrides --limit).")(fn)
    return click.option(
        "--limit",
        "-n",
        "limit",
        type=click.IntRange(1),
        default=DEFAULT_LIMIT,
        show_default=True,
        metavar="N",
        help="Show only the newest N rows.",
    )(fn)


def clip(
    rows: Sequence[T], limit: int, show_all: bool, what: str, *, newest: Literal["first", "last"] | None
) -> list[T]:
    """At most ``limit`` of ``rows``, in their order, with a note on stderr when some were left out.

    ``newest`` says where the newest rows are (``"first"``, ``"last"``); ``None`` for rows in
    name order, of which the first are kept. The note goes to stderr, so ``--json`` output
    stays one JSON document.
    """
    if show_all or len(rows) <= limit:
        return list(rows)
    which = "first" if newest is None else "newest"
    note_clipped(limit, len(rows), what, which)
    return list(rows[-limit:]) if newest == "last" else list(rows[:limit])


def note_clipped(limit: int, total: int | None, what: str, which: str) -> None:
    """Say on stderr that only ``limit`` of ``total`` rows are shown (``None``: more, uncounted)."""
    of = "" if total is None else f" of {total}"
    more = " (there are more)" if total is None else ""
    click.echo(f"showing the {which} {limit}{of} {what}{more}; --limit N or --all for more", err=True)
