"""A shadow's worker: mirrored requests predicted off the callers' path, one at a time.

A request stays in the worker's queue until the shadow has answered it and its
entry is in the prediction log, so a reader that waits on :meth:`ShadowWorker.settled`
sees every answered request exactly once: in the log, or still pending.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mlops_kit.deploy._inputs import as_frame
from mlops_kit.deploy._logframe import estimate_bytes

if TYPE_CHECKING:
    from mlops_kit.deploy._predlog import Entry
    from mlops_kit.deploy._served import Served
    from mlops_kit.deploy._stats import Stats

__all__ = ["ShadowWorker"]


class ShadowWorker:
    """Predicts mirrored requests with the shadow and hands each entry to ``deliver``.

    At most ``max_items`` requests, about ``max_bytes``, wait; beyond, a request is
    not mirrored (counted in :attr:`dropped`) and its entry is logged as it is.
    """

    def __init__(
        self, name: str, stats: Stats, deliver: Callable[[Entry], None], *, max_items: int, max_bytes: int
    ) -> None:
        self.name = name
        self.stats = stats
        self.deliver = deliver
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.dropped = 0
        self._pending: deque[tuple[Served, Any, str, Entry]] = deque()
        self._bytes = 0
        self._submitted = 0
        self._done = 0
        self._stopping = False
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, served: Served, data: Any, method: str, entry: Entry) -> bool:
        """Queue a request for the shadow; ``False`` if the queue is full or closed."""
        size = estimate_bytes(entry)
        with self._cv:
            if (
                self._stopping
                or len(self._pending) >= self.max_items
                or (self._pending and self._bytes + size > self.max_bytes)
            ):
                self.dropped += 1
                return False
            entry.nbytes = size
            self._pending.append((served, data, method, entry))
            self._bytes += size
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"mlops-kit-shadow-{self.name}", daemon=True
                )
                self._thread.start()
            self._cv.notify()
        return True

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._stopping:
                    self._cv.wait()
                if not self._pending:
                    return
                served, data, method, entry = self._pending[0]  # stays visible to readers until logged
            self._mirror(served, data, method, entry)
            with self._cv:
                if not self._pending or self._pending[0][3] is not entry:
                    continue  # close() gave up waiting and delivered it already
                self._pending.popleft()
                self._bytes -= entry.nbytes
                self._done += 1
                self.deliver(entry)
                self._cv.notify_all()

    def _mirror(self, served: Served, data: Any, method: str, entry: Entry) -> None:
        start = time.perf_counter()
        try:
            output = served.call(method, served.checker.prepare(as_frame(data)))
        except Exception:  # a shadow's failure is counted, never seen by a caller
            self.stats.record(served.label, entry.n_rows, 0.0, ok=False, shadow=True)
        else:
            latency = (time.perf_counter() - start) * 1000.0
            self.stats.record(served.label, entry.n_rows, latency, ok=True, shadow=True)
            entry.shadow_output = output
            entry.shadow_version = served.label

    @contextmanager
    def settled(self, timeout: float) -> Iterator[list[Entry]]:
        """Wait (up to ``timeout`` seconds) for the requests queued now; while the block runs no
        entry is delivered, and it gets the entries still pending (without shadow output)."""
        with self._cv:
            target = self._submitted
            self._cv.wait_for(lambda: self._done >= target, timeout)
            yield [item[3] for item in self._pending]

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued requests (up to ``timeout``), then deliver any left as they are."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cv:
            left = [item[3] for item in self._pending]
            self._pending.clear()
            self._bytes = 0
            for entry in left:
                self.deliver(entry)
