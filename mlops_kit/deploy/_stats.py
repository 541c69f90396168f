"""Request counts and latency percentiles per version, for :meth:`LocalDeployer.status`.

:class:`Stats` counts what this process serves and flushes it to the endpoint's
health log (:mod:`._health`); :func:`version_stats` turns the counts of every
process into one :class:`VersionStats` per version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from mlops_kit.core.clock import Clock, current_user
from mlops_kit.deploy._health import (
    HealthBatch,
    Key,
    Totals,
    bucket_of,
    health_state,
    merge,
    percentiles,
    stored_totals,
)
from mlops_kit.deploy._records import VersionStats

if TYPE_CHECKING:
    import datetime as dt

    from mlops_kit.core.storage import Storage
    from mlops_kit.deploy._state import EndpointState

__all__ = ["Stats", "version_stats"]


class _Counter:
    __slots__ = ("client_errors", "errors", "latency", "requests", "rows")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.client_errors = 0
        self.rows = 0
        self.latency: dict[int, int] = {}

    def totals(self) -> Totals:
        return Totals(self.requests, self.errors, self.rows, dict(self.latency), self.client_errors)


class Stats:
    """This process's counts per version, flushed to the endpoint's health log.

    Parameters
    ----------
    storage : Storage
        Where the endpoint's health log lives.
    endpoint : str
        The endpoint.
    clock : Clock
        Timestamps of the batches and the flush interval.
    since : callable
        The number of the last endpoint event applied to the routing state now
        (counts are kept apart per routing state, see :class:`._health.VersionCounts`).
    flush_interval : float
        Seconds between two flushes by the endpoint's background thread.
    """

    def __init__(
        self,
        storage: Storage,
        endpoint: str,
        clock: Clock,
        *,
        since: Callable[[], int],
        flush_interval: float,
    ) -> None:
        self.storage = storage
        self.endpoint = endpoint
        self.clock = clock
        self.flush_interval = flush_interval
        self._since = since
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: dict[Key, _Counter] = {}
        self._first_at: dt.datetime | None = None
        self._last_flush = clock.monotonic()

    def record(
        self,
        label: str,
        rows: int,
        latency_ms: float,
        *,
        ok: bool,
        shadow: bool = False,
        client: bool = False,
    ) -> None:
        """Count one request answered (``ok``) or failed by ``label``; ``client``: refused for bad input."""
        key = (label, shadow, self._since())
        with self._lock:
            counter = self._pending.get(key)
            if counter is None:
                counter = self._pending[key] = _Counter()
                if self._first_at is None:
                    self._first_at = self.clock.now()
            counter.requests += 1
            counter.rows += rows
            if ok:
                bucket = bucket_of(latency_ms)
                counter.latency[bucket] = counter.latency.get(bucket, 0) + 1
            elif client:  # the client's mistake, not held against the version
                counter.client_errors += 1
            else:
                counter.errors += 1

    @property
    def due(self) -> bool:
        """Whether counts are waiting and the flush interval has passed."""
        return bool(self._pending) and self.clock.monotonic() - self._last_flush >= self.flush_interval

    def flush(self) -> int:
        """Append the counts not flushed yet as one batch; return how many versions it holds.

        If storage fails, the counts are kept (and added to those counted meanwhile) and
        the error is raised; the next flush retries them.
        """
        with self._flushing:
            with self._lock:
                pending, self._pending = self._pending, {}
                first_at, self._first_at = self._first_at, None
            self._last_flush = self.clock.monotonic()
            if not pending:
                return 0
            batch = HealthBatch(
                counts=tuple(c.totals().counts(key) for key, c in pending.items()),
                first_at=first_at or self.clock.now(),
                last_at=self.clock.now(),
                by=current_user(),
            )
            try:
                health_state(self.storage, self.endpoint).append(lambda _: batch)
            except BaseException:
                with self._lock:
                    for key, counter in pending.items():
                        self._add_back(key, counter)
                    self._first_at = first_at or self._first_at  # older than anything counted since
                raise
            return len(batch.counts)

    def totals(self) -> dict[Key, Totals]:
        """Every process's flushed counts plus this process's pending ones."""
        with self._flushing:  # a flush in progress is either all in storage or all pending
            stored = stored_totals(self.storage, self.endpoint)
            with self._lock:
                pending = {key: c.totals() for key, c in self._pending.items()}
        return merge(stored, pending)

    def _add_back(self, key: Key, counter: _Counter) -> None:
        current = self._pending.get(key)
        if current is None:
            self._pending[key] = counter
            return
        current.requests += counter.requests
        current.errors += counter.errors
        current.client_errors += counter.client_errors
        current.rows += counter.rows
        for bucket, n in counter.latency.items():
            current.latency[bucket] = current.latency.get(bucket, 0) + n


def version_stats(totals: Mapping[Key, Totals], state: EndpointState) -> dict[str, VersionStats]:
    """One :class:`VersionStats` per version: a live version counts only the traffic since it
    became live (so a canary deployed anew starts from zero); a retired one, all of it."""
    live: dict[tuple[str, bool], tuple[str, int]] = {}  # (label, shadow?) -> (role, since)
    if state.primary is not None:
        live[(str(state.primary), False)] = ("primary", state.primary_since)
    if state.candidate is not None:
        shadow = state.strategy == "shadow"
        live[(str(state.candidate), shadow)] = ("shadow" if shadow else "candidate", state.candidate_since)
    grouped: dict[tuple[str, bool], Totals] = {}
    for (label, shadow, since), counts in totals.items():
        role_since = live.get((label, shadow))
        if role_since is not None and since < role_since[1]:
            continue  # served in an earlier stint of this version
        current = grouped.get((label, shadow))
        grouped[(label, shadow)] = counts if current is None else current.plus(counts)
    for key in live:  # live versions without traffic yet
        grouped.setdefault(key, Totals())
    out: dict[str, VersionStats] = {}
    for (label, shadow), counts in sorted(grouped.items()):
        role = live.get((label, shadow), ("shadow" if shadow else "retired", 0))[0]
        p50_p99 = percentiles(counts.latency, (50, 99))
        out[f"{label} (shadow)" if shadow else label] = VersionStats(
            role=role,
            requests=counts.requests,
            errors=counts.errors,
            client_errors=counts.client_errors,
            rows=counts.rows,
            p50_ms=None if p50_p99 is None else p50_p99[0],
            p99_ms=None if p50_p99 is None else p50_p99[1],
        )
    return out
