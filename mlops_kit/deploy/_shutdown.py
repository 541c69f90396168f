"""Flush every prediction log on SIGTERM, even when no lifespan tells the endpoint to stop.

Starlette and FastAPI never run the lifespan of a mounted app, and uvicorn, after its
graceful shutdown, restores the SIGTERM handler it found and raises the signal again:
with Python's default handler the process dies at once, before ``atexit``, and the
buffered rows are lost. So building an endpoint's app (in the main thread) puts a
handler in front of whatever handles SIGTERM: it flushes every live endpoint of the
process, then hands the signal on (to uvicorn's handler while it serves, or to the
default, which ends the process as before). Requests still answered after a SIGTERM
(uvicorn lets them finish) flush their rows before their response goes out.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

__all__ = ["draining", "install"]

_log = logging.getLogger("mlops_kit.deploy")
_FLUSH_SECONDS = 10.0  # how long a SIGTERM waits for the flush before handing the signal on

_previous: Any = None
_draining = threading.Event()


def draining() -> bool:
    """Whether this process got a SIGTERM: every answered request flushes its rows at once."""
    return _draining.is_set()


def install() -> bool:
    """Put the flushing handler in front of SIGTERM's; return whether it is in place.

    Only the main thread can set handlers, and an ignored SIGTERM stays ignored.
    """
    global _previous
    if threading.current_thread() is not threading.main_thread():
        return signal.getsignal(signal.SIGTERM) is _on_sigterm
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm:
        return True
    if current == signal.SIG_IGN:
        return False
    _previous = current
    signal.signal(signal.SIGTERM, _on_sigterm)
    return True


def _on_sigterm(sig: int, frame: FrameType | None) -> None:
    _draining.set()
    _flush_all()
    previous = _previous
    if callable(previous):
        previous(sig, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the default: die of the signal, as without us
    signal.raise_signal(signal.SIGTERM)


def _flush_all() -> None:
    # In a thread: the handler interrupts the main thread anywhere, perhaps holding a lock
    # that a flush needs; waiting for the thread with a timeout cannot deadlock.
    worker = threading.Thread(target=_flush_lives, name="mlops-kit-sigterm-flush", daemon=True)
    worker.start()
    worker.join(_FLUSH_SECONDS)
    if worker.is_alive():
        _log.error("SIGTERM: the prediction logs did not flush within %.0f s", _FLUSH_SECONDS)


def _flush_lives() -> None:
    from mlops_kit.deploy import _live

    with _live._LOCK:
        lives = list(_live._LIVE.values())
    for live in lives:
        try:
            live.flush()
        except Exception as exc:
            _log.error("Endpoint %r: could not flush its prediction log on SIGTERM: %s", live.name, exc)
