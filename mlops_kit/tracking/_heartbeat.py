"""The thread that keeps a running run visibly alive and its buffered metrics flushed."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable

from mlops_kit.core.errors import MlopsKitError, MlopsKitWarning

__all__ = ["Pulse"]


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
                warnings.warn(f"A tracked run's heartbeat failed: {exc}", MlopsKitWarning, stacklevel=1)
