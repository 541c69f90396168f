"""Counting and logging for servers that are not ours (MLServer runs our runtime).

A :class:`Recorder` writes what an outside server answered into the same two places
our own servers write: the endpoint's prediction log (:mod:`._predlog`, read by
:meth:`LocalDeployer.predictions` and the Monitor) and its per-version request
counts (:mod:`._stats`, read by :meth:`LocalDeployer.status`), so a canary is judged
on every replica whatever serves it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlops_kit.core.clock import SYSTEM_CLOCK, Clock
from mlops_kit.core.names import check_name
from mlops_kit.deploy._calls import new_request_id
from mlops_kit.deploy._inputs import cast_like
from mlops_kit.deploy._predlog import Entry, PredictionLog
from mlops_kit.deploy._state import endpoint_log
from mlops_kit.deploy._stats import Stats

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.core.storage import Storage
    from mlops_kit.deploy._served import Served

__all__ = ["Recorder"]

_log = logging.getLogger("mlops_kit.deploy")


class Recorder:
    """An endpoint's prediction log and request counts, written by an outside server.

    Parameters
    ----------
    storage : Storage
        The store the endpoint lives in.
    endpoint : str
        Whose log and counts these are.
    flush_interval : float
        Seconds between two flushes (and two reads of the endpoint's events, which
        tell which stint of a version the counts belong to).
    flush_rows, max_buffer_rows, max_buffer_bytes : int
        As for :class:`~mlops_kit.LocalDeployer`.
    log_predictions : bool
        Keep the prediction log (counts are always kept).
    """

    def __init__(
        self,
        storage: Storage,
        endpoint: str,
        *,
        clock: Clock | None = None,
        flush_interval: float = 5.0,
        flush_rows: int = 10_000,
        max_buffer_rows: int = 100_000,
        max_buffer_bytes: int = 64 * 2**20,
        log_predictions: bool = True,
    ) -> None:
        self.storage = storage
        self.endpoint = check_name(endpoint, "endpoint name")
        self.clock = clock or SYSTEM_CLOCK
        self.flush_interval = flush_interval
        self.served: Served | None = None  # the version answering now: the log's column types
        self._tail = 0
        self._read_tail()
        self.stats = Stats(
            storage, endpoint, self.clock, since=lambda: self._tail, flush_interval=flush_interval
        )
        self.log: PredictionLog | None = None
        if log_predictions:
            self.log = PredictionLog(
                storage,
                endpoint,
                self.clock,
                flush_rows=flush_rows,
                flush_interval=flush_interval,
                max_rows=max_buffer_rows,
                max_bytes=max_buffer_bytes,
                on_full=self._wakeup_now,
                cast=self._cast,
                signature=self._names,
            )
        self._stopping = threading.Event()
        self._wakeup = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"mlops-kit-recorder-{endpoint}", daemon=True)
        self._thread.start()

    def record(
        self,
        label: str,
        frame: pd.DataFrame | Mapping[str, Any],
        output: Any,
        *,
        method: str = "predict",
        latency_ms: float,
        request_id: str | None = None,
    ) -> None:
        """Count and log one answered request of ``label`` (``"model:version"``); ``frame`` is
        the request's table, or its columns (equally long lists or arrays), kept as they are."""
        # a DataFrame is no Mapping
        rows = len(next(iter(frame.values()), ())) if isinstance(frame, Mapping) else len(frame)
        self.stats.record(label, rows, latency_ms, ok=True)
        if self.log is None:
            return
        if isinstance(frame, Mapping):
            inputs = dict(frame)  # the caller's columns, referenced: converted only when flushed
        else:
            # Columns as arrays: the log sizes them in O(columns), never scanning values.
            inputs = {name: frame[name].to_numpy() for name in frame.columns}
        self.log.add(
            Entry(
                time=self.clock.now(),
                request_id=request_id or new_request_id(),
                n_rows=rows,
                inputs=inputs,
                method=method,
                output=output,
                version=label,
                latency_ms=latency_ms,
            )
        )

    def failed(self, label: str, rows: int, *, client: bool) -> None:
        """Count one request of ``label`` refused for bad input (``client``) or failed by the model."""
        self.stats.record(label, rows, 0.0, ok=False, client=client)

    def flush(self) -> int:
        """Write the counts and the buffered rows now; return how many rows."""
        self._read_tail()
        self.stats.flush()
        return 0 if self.log is None else self.log.flush()

    def close(self) -> None:
        """Stop the background thread and flush."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.flush()

    def _read_tail(self) -> None:
        try:
            self._tail = endpoint_log(self.storage, self.endpoint).read(lambda s: s).tail
        except Exception as exc:  # keep counting under the last known stint
            _log.warning("Endpoint %r: could not read its events: %s", self.endpoint, exc)

    def _wakeup_now(self) -> None:
        self._wakeup.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self.flush_interval)
            self._wakeup.clear()
            if self._stopping.is_set():
                break
            try:
                self._read_tail()
                if self.stats.due:
                    self.stats.flush()
                if self.log is not None and (self.log.due or self.log.full):
                    self.log.flush()
            except Exception as exc:  # storage hiccup: the buffers keep the rows for the next try
                _log.warning("Endpoint %r: could not flush (will retry): %s", self.endpoint, exc)

    def _cast(self, frame: pd.DataFrame) -> pd.DataFrame:
        served = self.served
        return cast_like(served.checker if served else None, frame)

    def _names(self) -> list[str]:
        served = self.served
        return list(served.checker.names) if served is not None else []
