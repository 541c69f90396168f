"""``FakeClock``: time that tests control, accepted by every block as ``clock=``."""

from __future__ import annotations

import datetime as dt
import threading

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly.

    Parameters
    ----------
    start : datetime or str
        The initial time (UTC if naive). Default ``2026-01-01T00:00:00Z``.
    tick : float
        Seconds added after every ``now()`` call, so consecutive timestamps differ.

    Examples
    --------
    >>> clock = FakeClock("2026-03-01T12:00:00Z")
    >>> clock.now().isoformat()
    '2026-03-01T12:00:00+00:00'
    >>> clock.sleep(90)  # returns at once
    >>> clock.now().isoformat(), clock.monotonic()
    ('2026-03-01T12:01:30+00:00', 90.0)
    """

    def __init__(self, start: dt.datetime | str = "2026-01-01T00:00:00Z", *, tick: float = 0.0) -> None:
        if isinstance(start, str):
            start = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        self._start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
        self._elapsed = 0.0
        self.tick = tick
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The current fake time (timezone-aware)."""
        with self._lock:
            value = self._start + dt.timedelta(seconds=self._elapsed)
            self._elapsed += self.tick
            return value

    def monotonic(self) -> float:
        """Seconds elapsed since the clock was made."""
        with self._lock:
            return self._elapsed

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` without waiting."""
        self.advance(seconds)

    def advance(self, seconds: float | dt.timedelta) -> None:
        """Move the clock forward."""
        if isinstance(seconds, dt.timedelta):
            seconds = seconds.total_seconds()
        if seconds < 0:
            raise ValueError("A clock cannot go back.")
        with self._lock:
            self._elapsed += seconds

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()!r})"
