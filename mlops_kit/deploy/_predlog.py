"""The prediction log: every request's inputs, outputs, versions and latency.

Requests add entries to a bounded in-memory buffer; nothing is converted on the
request path (an entry keeps references to the request's columns and the model's
output). A flush turns the buffer into one Parquet blob and appends a
:class:`PredictionBatch` pointing to it to the endpoint's predictions log, so
replicas in several processes or machines never overwrite each other's batches.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.core.clock import Clock, current_user
from mlops_kit.deploy._records import PredictionBatch
from mlops_kit.deploy._served import output_columns
from mlops_kit.deploy._state import predictions_log

if TYPE_CHECKING:
    import datetime as dt

    from mlops_kit.core.storage import Storage

__all__ = ["Entry", "PredictionLog"]

_log = logging.getLogger("mlops_kit.deploy")
META = ("time", "request_id", "version", "shadow_version", "latency_ms")


@dataclass
class Entry:
    """One request, as the caller saw it. Converted to columns only when flushed."""

    time: dt.datetime
    request_id: str
    n_rows: int
    inputs: pd.DataFrame | dict[str, Any]
    method: str
    output: Any
    version: str | np.ndarray
    latency_ms: float
    shadow_version: str | None = None
    shadow_output: Any = None


class PredictionLog:
    """A bounded buffer of :class:`Entry`, flushed as Parquet blobs through an append-only log.

    Parameters
    ----------
    storage : Storage
        Where batches go.
    endpoint : str
        Whose log it is.
    clock : Clock
        For the flush interval.
    flush_rows, flush_interval, max_rows : int, float, int
        Flush when this many rows are buffered or this many seconds passed since the
        last flush; never buffer more than ``max_rows`` (the oldest are dropped and
        counted in :attr:`dropped` if storage cannot keep up).
    """

    def __init__(
        self,
        storage: Storage,
        endpoint: str,
        clock: Clock,
        *,
        flush_rows: int,
        flush_interval: float,
        max_rows: int,
        on_full: Callable[[], None] | None = None,
        cast: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    ) -> None:
        self.storage = storage
        self.prefix = predictions_log(endpoint)
        self.clock = clock
        self.flush_rows = flush_rows
        self.flush_interval = flush_interval
        self.max_rows = max_rows
        self.on_full = on_full
        self.cast = cast
        self.dropped = 0
        self._entries: deque[Entry] = deque()
        self._rows = 0
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._last_flush = clock.monotonic()

    def add(self, entry: Entry) -> None:
        """Buffer one request; ask for a flush when the buffer reached ``flush_rows``."""
        with self._lock:
            self._entries.append(entry)
            self._rows += entry.n_rows
            while self._rows > self.max_rows and len(self._entries) > 1:
                self._rows -= self._entries.popleft().n_rows
                self.dropped += 1
            full = self._rows >= self.flush_rows
        if full and self.on_full is not None:
            self.on_full()

    @property
    def due(self) -> bool:
        """Whether rows are waiting and the flush interval has passed."""
        return self._rows > 0 and self.clock.monotonic() - self._last_flush >= self.flush_interval

    @property
    def buffered_rows(self) -> int:
        """Rows not flushed yet."""
        return self._rows

    def flush(self) -> int:
        """Write the buffered rows as one batch; return how many rows were written.

        If storage fails, the rows go back to the buffer (oldest first) and the error
        is raised; the next flush retries them.
        """
        with self._flushing:
            with self._lock:
                entries = list(self._entries)
                self._entries.clear()
                self._rows = 0
            self._last_flush = self.clock.monotonic()
            if not entries:
                return 0
            try:
                frame = to_frame(entries, self.cast)
                buffer = io.BytesIO()
                frame.to_parquet(buffer, index=False)
                digest = self.storage.put_blob(buffer.getvalue())
                batch = PredictionBatch(
                    blob=digest,
                    n_rows=len(frame),
                    first_at=entries[0].time,
                    last_at=entries[-1].time,
                    by=current_user(),
                )
                self.storage.append(self.prefix, batch)
            except BaseException:
                with self._lock:
                    self._entries.extendleft(reversed(entries))
                    self._rows += sum(e.n_rows for e in entries)
                raise
            return len(frame)

    def read(self, since: dt.datetime | None = None) -> pd.DataFrame:
        """Flushed batches (from every process) and this process's buffered rows, oldest first."""
        frames = []
        for entry in self.storage.read_log(self.prefix, PredictionBatch):
            batch = entry.record
            if since is not None and batch.last_at < since:
                continue
            frames.append(pd.read_parquet(io.BytesIO(self.storage.get_blob(batch.blob))))
        with self._lock:
            pending = list(self._entries)
        if pending:
            frames.append(to_frame(pending, self.cast))
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame({name: pd.Series(dtype=_META_DTYPES[name]) for name in META})
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if since is not None:
            frame = frame[frame["time"] >= pd.Timestamp(since)].reset_index(drop=True)
        return frame


_META_DTYPES = {
    "time": "datetime64[us, UTC]",
    "request_id": "str",
    "version": "str",
    "shadow_version": "str",
    "latency_ms": "float64",
}


def to_frame(
    entries: list[Entry], cast: Callable[[pd.DataFrame], pd.DataFrame] | None = None
) -> pd.DataFrame:
    """The rows of ``entries`` as one DataFrame: meta columns, inputs, outputs."""
    sizes = [e.n_rows for e in entries]
    n = sum(sizes)
    meta: dict[str, Any] = {
        "time": pd.DatetimeIndex(np.repeat(np.array([e.time for e in entries], dtype=object), sizes)).as_unit(
            "us"
        ),
        "request_id": np.repeat(np.array([e.request_id for e in entries], dtype=object), sizes),
        "version": _concat(
            [e.version if isinstance(e.version, np.ndarray) else [e.version] * e.n_rows for e in entries]
        ),
        "shadow_version": np.repeat(np.array([e.shadow_version for e in entries], dtype=object), sizes),
        "latency_ms": np.repeat(np.array([e.latency_ms for e in entries], dtype="float64"), sizes),
    }
    outputs = _columns([output_columns(e.output, e.method) for e in entries], sizes)
    shadows = _columns(
        [
            output_columns(e.shadow_output, e.method, shadow=True) if e.shadow_output is not None else {}
            for e in entries
        ],
        sizes,
    )
    inputs = _inputs_frame(entries)
    if cast is not None:
        inputs = cast(inputs)  # JSON strings back to datetimes, categories...
    inputs.columns = [
        f"input_{c}" if c in META or c in outputs or c in shadows else c for c in inputs.columns
    ]
    frame = pd.concat(
        [
            pd.DataFrame(meta, index=pd.RangeIndex(n)),
            inputs,
            pd.DataFrame({**outputs, **shadows}, index=pd.RangeIndex(n)),
        ],
        axis=1,
    )
    return frame.infer_objects()


def _inputs_frame(entries: list[Entry]) -> pd.DataFrame:
    """Every entry's inputs, in order. Runs of dict entries (HTTP) are joined as plain lists,
    which is much cheaper than concatenating many one-row frames."""
    frames: list[pd.DataFrame] = []
    run: list[Entry] = []

    def close_run() -> None:
        if run:
            frames.append(pd.DataFrame(_columns([dict(e.inputs) for e in run], [e.n_rows for e in run])))
            run.clear()

    for entry in entries:
        if isinstance(entry.inputs, pd.DataFrame):
            close_run()
            frames.append(entry.inputs.reset_index(drop=True))
        else:
            run.append(entry)
    close_run()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True)


def _columns(parts: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    """Column-wise concatenation of per-entry columns; a column an entry lacks is null there."""
    names = list(dict.fromkeys(chain.from_iterable(parts)))
    return {
        name: _concat([p[name] if name in p else [None] * size for p, size in zip(parts, sizes)])
        for name in names
    }


def _concat(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(p, np.ndarray) and p.dtype.kind in "biuf" for p in parts):
        return np.concatenate(parts)
    return list(chain.from_iterable(parts))
