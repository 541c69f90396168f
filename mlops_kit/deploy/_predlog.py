"""The prediction log: every request's inputs, outputs, versions and latency.

Requests add entries to an in-memory buffer bounded in rows and in bytes (each
entry's size is estimated when it is added, in O(columns)); nothing is converted on
the request path (an entry keeps references to the request's columns and the
model's output). A flush turns the buffer into Parquet blobs of at most a quarter
of the byte bound (and :data:`MAX_BATCH_COLUMNS` columns) each and appends a
:class:`PredictionBatch` pointing to each to the endpoint's predictions log, so
replicas in several processes or machines never overwrite each other's batches.
An entry that still cannot be stored is set aside as a :class:`DeadLetter` with
its reason, and the rest are written.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
import weakref
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.core.clock import Clock, current_user
from mlops_kit.deploy._deadletters import read_dead_letters, write_dead_letter
from mlops_kit.deploy._logframe import combine, encode, estimate_bytes, to_frame
from mlops_kit.deploy._records import PredictionBatch
from mlops_kit.deploy._state import dead_letters_log, predictions_log

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["MAX_BATCH_COLUMNS", "Entry", "PredictionLog", "estimate_bytes"]

_log = logging.getLogger("mlops_kit.deploy")
MAX_BATCH_COLUMNS = 2_048  # a batch stops growing past this many distinct request columns
PROBLEMS = ("dead_letter", "extra_columns", "buffer_full")


@dataclass(eq=False)
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
    nbytes: int = 0


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
        last flush; never buffer more than ``max_rows``.
    max_bytes : int
        Never hold more than about this many bytes of requests (buffered or being
        flushed); flush when a quarter of it is buffered, in batches of at most a
        quarter. Past either bound the oldest entries are dropped (counted in
        :attr:`problems` as ``buffer_full``): storage could not keep up.
    max_extra_columns : int
        Columns of a request beyond the signature's that are kept; the rest are
        dropped from the log (counted as ``extra_columns``). The prediction is never
        affected.
    signature : callable
        The signature's column names now, and a function giving them their types.
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
        max_bytes: int = 64 * 2**20,
        max_extra_columns: int = 256,
        on_full: Callable[[], None] | None = None,
        cast: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
        signature: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.storage = storage
        self.prefix = predictions_log(endpoint)
        self.dead_prefix = dead_letters_log(endpoint)
        self.clock = clock
        self.flush_rows = flush_rows
        self.flush_interval = flush_interval
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.batch_bytes = max(1, max_bytes // 4)
        self.max_extra_columns = max_extra_columns
        self.on_full = on_full
        self.cast = cast
        self.signature = signature
        self.problems: Counter[str] = Counter()
        self._listeners: list[weakref.WeakMethod[Callable[[str, int], None]]] = []
        self._kinds: dict[str, str] = {}  # the kind each column was stored with (see _logframe)
        self._entries: deque[Entry] = deque()
        self._rows = 0  # buffered and being flushed
        self._bytes = 0
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._last_flush = clock.monotonic()

    # -- the request path ----------------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Buffer one request; ask for a flush when the buffer reached a flush bound."""
        self._trim(entry)
        entry.nbytes = estimate_bytes(entry)
        dropped = 0
        with self._lock:
            self._entries.append(entry)
            self._rows += entry.n_rows
            self._bytes += entry.nbytes
            while (self._rows > self.max_rows or self._bytes > self.max_bytes) and len(self._entries) > 1:
                old = self._entries.popleft()
                self._rows -= old.n_rows
                self._bytes -= old.nbytes
                dropped += 1
            full = self.full
        if dropped:
            self._count("buffer_full", dropped)
        if full and self.on_full is not None:
            self.on_full()

    def _trim(self, entry: Entry) -> None:
        """Keep the first ``max_extra_columns`` columns the signature does not name."""
        inputs = entry.inputs
        width = len(inputs) if isinstance(inputs, dict) else inputs.shape[1]
        if width <= self.max_extra_columns:
            return
        known = set(self.signature()) if self.signature is not None else set()
        names = list(inputs.keys()) if isinstance(inputs, dict) else list(inputs.columns)
        extras = [n for n in names if n not in known]
        if len(extras) <= self.max_extra_columns:
            return
        dropped = set(extras[self.max_extra_columns :])
        kept = [n for n in names if n not in dropped]
        if isinstance(inputs, dict):
            entry.inputs = {n: inputs[n] for n in kept}
        else:
            entry.inputs = inputs.loc[:, [n not in dropped for n in inputs.columns]]
        self._count("extra_columns", 1)

    def listen(self, callback: Callable[[str, int], None]) -> None:
        """Call the bound method ``callback(reason, n)`` on every problem (held weakly)."""
        self._listeners.append(weakref.WeakMethod(callback))

    def _count(self, reason: str, n: int) -> None:
        self.problems[reason] += n
        if reason == "buffer_full":
            _log.warning("Endpoint log %s: dropped %d request(s): storage cannot keep up.", self.prefix, n)
        for ref in list(self._listeners):
            callback = ref()
            if callback is not None:
                callback(reason, n)

    @property
    def dropped(self) -> int:
        """Requests dropped because the buffer was full."""
        return self.problems["buffer_full"]

    @property
    def full(self) -> bool:
        """Whether a flush bound (rows or bytes) is reached."""
        return self._rows >= self.flush_rows or self._bytes >= self.batch_bytes

    @property
    def due(self) -> bool:
        """Whether rows are waiting and the flush interval has passed."""
        return self._rows > 0 and self.clock.monotonic() - self._last_flush >= self.flush_interval

    @property
    def buffered_rows(self) -> int:
        """Rows not written yet (buffered or being flushed)."""
        return self._rows

    @property
    def buffered_bytes(self) -> int:
        """The estimated bytes of the requests not written yet (buffered or being flushed)."""
        return self._bytes

    # -- flushing ------------------------------------------------------------------

    def flush(self) -> int:
        """Write the buffered rows in batches; return how many rows were written.

        If storage fails, the rows not written yet go back to the buffer (oldest first)
        and the error is raised; the next flush retries them.
        """
        with self._flushing:
            self._last_flush = self.clock.monotonic()
            with self._lock:
                budget = len(self._entries)  # what is here now, not what keeps arriving
            written = 0
            while budget > 0:
                with self._lock:
                    chunk = self._take(budget)
                if not chunk:
                    break
                budget -= len(chunk)
                written += self._write(chunk)
            return written

    def _take(self, budget: int) -> list[Entry]:
        """The oldest entries, up to a batch's bytes and columns (at least one)."""
        chunk: list[Entry] = []
        size = 0
        names: set[Any] = set()
        while self._entries and len(chunk) < budget:
            entry = self._entries[0]
            columns = entry.inputs.keys() if isinstance(entry.inputs, dict) else entry.inputs.columns
            if chunk and (
                size + entry.nbytes > self.batch_bytes or len(names.union(columns)) > MAX_BATCH_COLUMNS
            ):
                break
            names.update(columns)
            size += entry.nbytes
            chunk.append(self._entries.popleft())
        return chunk

    def _write(self, chunk: list[Entry]) -> int:
        """Store one chunk: its writable entries as batches, the others as dead letters."""
        remaining = list(chunk)
        written = 0
        try:
            parts, bad = self._encode(chunk)
            for entry, reason in bad:
                self._dead_letter(entry, reason)
                remaining.remove(entry)
                self._done([entry])
                self._count("dead_letter", 1)
            for data, kinds, entries in parts:
                digest = self.storage.put_blob(data)
                rows = sum(e.n_rows for e in entries)
                batch = PredictionBatch(
                    blob=digest,
                    n_rows=rows,
                    first_at=entries[0].time,
                    last_at=entries[-1].time,
                    by=current_user(),
                    flushed_at=self.clock.now(),
                )
                self.storage.append(self.prefix, batch)
                self._kinds.update(kinds)
                for entry in entries:
                    remaining.remove(entry)
                self._done(entries)
                written += rows
        except BaseException:
            with self._lock:
                self._entries.extendleft(reversed(remaining))
            raise
        return written

    def _done(self, entries: list[Entry]) -> None:
        with self._lock:
            self._rows -= sum(e.n_rows for e in entries)
            self._bytes -= sum(e.nbytes for e in entries)

    def _encode(
        self, chunk: list[Entry]
    ) -> tuple[list[tuple[bytes, dict[str, str], list[Entry]]], list[tuple[Entry, str]]]:
        """Parquet parts of ``chunk`` and the entries that cannot be stored, with why."""
        try:
            frame, kinds = to_frame(chunk, self.cast, self._kinds)
            return [(encode(frame), kinds, chunk)], []
        except Exception as exc:
            if len(chunk) == 1:
                return [], [(chunk[0], f"{type(exc).__name__}: {exc}")]
        parts: list[tuple[bytes, dict[str, str], list[Entry]]] = []
        bad: list[tuple[Entry, str]] = []
        for entry in chunk:  # find the culprits; the others are written together if they can be
            part, problem = self._encode([entry])
            parts.extend(part)
            bad.extend(problem)
        good = [e for _, _, entries in parts for e in entries]
        if len(good) > 1:
            try:
                frame, kinds = to_frame(good, self.cast, self._kinds)
                parts = [(encode(frame), kinds, good)]
            except Exception:  # fine alone, not together: keep one batch each
                pass
        return parts, bad

    def _dead_letter(self, entry: Entry, reason: str) -> None:
        _log.error(
            "Endpoint log %s: request %s set aside as a dead letter: %s",
            self.prefix,
            entry.request_id,
            reason,
        )
        write_dead_letter(self.storage, self.dead_prefix, entry, reason)

    # -- reading -------------------------------------------------------------------

    def read(self, since: dt.datetime | None = None, pending: Sequence[Entry] = ()) -> pd.DataFrame:
        """Flushed batches (from every process), this process's buffered rows and ``pending``
        entries (not added yet), oldest first."""
        frames = []
        for entry in self.storage.read_log(self.prefix, PredictionBatch):
            batch = entry.record
            if since is not None and batch.last_at < since:
                continue
            frames.append(pd.read_parquet(io.BytesIO(self.storage.get_blob(batch.blob))))
        with self._lock:
            buffered = [*self._entries, *pending]
        if buffered:
            frames.extend(self._frames(buffered))
        return combine(frames, since)

    def _frames(self, entries: list[Entry]) -> list[pd.DataFrame]:
        """Unflushed entries as frames; one that cannot be converted is left out (its flush
        makes it a dead letter)."""
        try:
            return [to_frame(entries, self.cast, self._kinds)[0]]
        except Exception:
            frames = []
            for entry in entries:
                try:
                    frames.append(to_frame([entry], self.cast, self._kinds)[0])
                except Exception:
                    continue
            return frames

    def dead_letters(self) -> pd.DataFrame:
        """The entries set aside (see :func:`read_dead_letters`)."""
        return read_dead_letters(self.storage, self.dead_prefix)
