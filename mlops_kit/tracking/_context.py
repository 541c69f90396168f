"""The tracked run of the innermost ``with mk.start_run(...)`` block, per context."""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_kit.tracking._run import ActiveRun

__all__ = ["CURRENT", "current_run"]

CURRENT: contextvars.ContextVar[ActiveRun | None] = contextvars.ContextVar("mlops_kit_run", default=None)


def current_run() -> ActiveRun | None:
    """The run of the innermost ``with mk.start_run(...)`` block in this context, if any.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> current_run() is None
    True
    >>> with mk.start_run("exp", storage=mk.MemoryStorage()) as run:
    ...     current_run() is run
    True
    """
    return CURRENT.get()
