"""Heartbeats: how a reader tells a running run from one whose process was killed.

A running run (tracked or pipeline) rewrites a small record every ``interval`` seconds
from a daemon thread. A reader that finds the run still ``running`` but no heartbeat for
``STALE_PERIODS`` intervals (plus a margin for clocks that disagree) shows it as
``unfinished``: killed processes never leave runs "running" forever.
"""

from __future__ import annotations

import datetime as dt
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlops_kit.core.errors import MlopsKitError, MlopsKitWarning, NotFoundError
from mlops_kit.core.record import Record

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["STALE_MARGIN", "STALE_PERIODS", "Heartbeat", "Pulse", "stale_message"]

STALE_PERIODS = 3  # heartbeats a running run may miss before readers call it unfinished
STALE_MARGIN = dt.timedelta(seconds=60)  # for clocks of writer and reader that disagree


class Heartbeat(Record):
    """When the process of a running run last showed it was alive."""

    at: dt.datetime


class Pulse:
    """Call ``beat()`` every ``interval`` seconds on a daemon thread until :meth:`stop`.

    A daemon thread, so a script that never ends its run still exits; the run is then
    judged unfinished by readers once the beats stop.
    """

    def __init__(self, beat: Callable[[], None], interval: float, name: str) -> None:
        self._beat = beat
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        """Start beating."""
        self._thread.start()

    def stop(self) -> None:
        """Stop, and wait for a beat in progress to end."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._beat()
            except MlopsKitError as exc:  # a storage hiccup: the next beat tries again
                warnings.warn(f"A run's heartbeat failed: {exc}", MlopsKitWarning, stacklevel=1)


def stale_message(
    storage: Storage, key: str, started: dt.datetime, interval_s: float, now: dt.datetime
) -> str | None:
    """Why a ``running`` run whose heartbeat lives at ``key`` is judged unfinished, or
    ``None`` while its heartbeats keep coming."""
    try:
        alive = storage.get_record(key, Heartbeat).at
    except NotFoundError:
        alive = started  # killed before its first heartbeat
    alive = max(alive, started)
    silence = now - alive
    if silence <= STALE_PERIODS * dt.timedelta(seconds=interval_s) + STALE_MARGIN:
        return None
    return (
        f"No heartbeat since {alive:%Y-%m-%d %H:%M:%S} UTC ({silence.total_seconds():.0f} s "
        "ago): the process that ran it was stopped before the run could end."
    )
