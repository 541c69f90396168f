"""Time and identity, injectable so that tests never sleep or depend on the wall clock."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import getpass
import socket
import time
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock", "acting_as", "current_user"]


@runtime_checkable
class Clock(Protocol):
    """What every block needs to know about time."""

    def now(self) -> _dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for durations and intervals."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> _dt.datetime:
        """The current UTC time."""
        return _dt.datetime.now(_dt.UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``."""
        time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


_ACTING_AS: contextvars.ContextVar[str | None] = contextvars.ContextVar("mlops_kit_acting_as", default=None)


@contextlib.contextmanager
def acting_as(who: str) -> Iterator[None]:
    """Record ``who`` instead of this process's user in the audit trails written inside.

    A server acting for a person (the UI, after its token check) names that person, so
    the history says who moved an alias, not which account ran the server.

    Examples
    --------
    >>> with acting_as("alice via ui"):
    ...     current_user()
    'alice via ui'
    """
    token = _ACTING_AS.set(who)
    try:
        yield
    finally:
        _ACTING_AS.reset(token)


def current_user() -> str:
    """``user@host`` of this process, recorded as ``created_by`` in audit trails.

    Inside :func:`acting_as`, the name given there.
    """
    acting = _ACTING_AS.get()
    if acting is not None:
        return acting
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
