"""Per-version request, error and latency counts of an endpoint, kept in storage.

Every process that serves an endpoint (a ``serve(workers=4)`` worker, a replica on
another machine) appends what it counted since its last flush to the endpoint's
health log, ``deployments/<endpoint>/health``: one :class:`HealthBatch` of
:class:`VersionCounts`. The fold of that log, plus what this process has not flushed
yet, is the traffic every version served, whoever served it, which is what
:meth:`LocalDeployer.status` reports and what judges a canary.

Latencies are kept as counts in geometric buckets (16 per doubling), so that counts
from many processes add up; a percentile read from them is within 2.2 % of the
percentile of the raw latencies (each latency is replaced by the middle of its bucket,
which keeps their order).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import Field

from mlops_kit.core.record import Record
from mlops_kit.core.storage.logstate import Fold, LogState

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = [
    "HEALTH_FOLD",
    "HealthBatch",
    "Key",
    "Totals",
    "VersionCounts",
    "bucket_of",
    "health_log",
    "health_state",
    "merge",
    "percentiles",
    "stored_totals",
]

_PREFIX = "deployments"
_FLOOR_MS = 0.001  # latencies below one microsecond share the first bucket
_PER_DOUBLING = 16
_LOG_STEP = math.log(2.0) / _PER_DOUBLING
SNAPSHOT_EVERY = 50


def health_log(endpoint: str) -> str:
    """The log prefix of an endpoint's per-version counts."""
    return f"{_PREFIX}/{endpoint}/health"


def _snapshot_key(endpoint: str) -> str:
    return f"{_PREFIX}/{endpoint}/health-snapshot.json"


def bucket_of(latency_ms: float) -> int:
    """The latency bucket of ``latency_ms``: ``[floor * r**i, floor * r**(i+1))`` with ``r = 2**(1/16)``."""
    if not latency_ms > _FLOOR_MS:  # NaN too
        return 0
    return int(math.log(latency_ms / _FLOOR_MS) / _LOG_STEP)


def _middle(bucket: int) -> float:
    return _FLOOR_MS * math.exp((bucket + 0.5) * _LOG_STEP)


class VersionCounts(Record):
    """What one process counted for one version between two flushes.

    ``since`` is the number of the endpoint's last event the process had applied when it
    counted (its routing state), so that a version that becomes live again (a canary
    rolled back, then deployed anew) starts from zero.
    """

    version: str
    shadow: bool = False
    since: int = Field(ge=0)
    requests: int = Field(default=0, ge=0)
    errors: int = Field(default=0, ge=0)  # the model failed
    rows: int = Field(default=0, ge=0)
    latency: tuple[tuple[int, int], ...] = ()  # (bucket, count) of the answered requests
    client_errors: int = Field(default=0, ge=0)  # refused for bad input: the client's mistake


class HealthBatch(Record):
    """One flush of one process's counts (see :mod:`mlops_kit.deploy._health`)."""

    SCHEMA_VERSION = 1

    counts: tuple[VersionCounts, ...]
    first_at: dt.datetime
    last_at: dt.datetime
    by: str


Key = tuple[str, bool, int]  # (version label, shadow?, since)


@dataclass(frozen=True)
class Totals:
    """Counts of one version (and role, and routing state), from one process or many."""

    requests: int = 0
    errors: int = 0
    rows: int = 0
    latency: Mapping[int, int] = field(default_factory=dict)
    client_errors: int = 0

    def plus(self, other: Totals) -> Totals:
        latency = dict(self.latency)
        for bucket, n in other.latency.items():
            latency[bucket] = latency.get(bucket, 0) + n
        return Totals(
            self.requests + other.requests,
            self.errors + other.errors,
            self.rows + other.rows,
            latency,
            self.client_errors + other.client_errors,
        )

    def counts(self, key: Key) -> VersionCounts:
        label, shadow, since = key
        return VersionCounts(
            version=label,
            shadow=shadow,
            since=since,
            requests=self.requests,
            errors=self.errors,
            rows=self.rows,
            latency=tuple(sorted(self.latency.items())),
            client_errors=self.client_errors,
        )


def merge(*parts: Mapping[Key, Totals]) -> dict[Key, Totals]:
    """The sum of several sets of totals (a new dict; the parts are unchanged)."""
    out: dict[Key, Totals] = {}
    for part in parts:
        for key, totals in part.items():
            current = out.get(key)
            out[key] = totals if current is None else current.plus(totals)
    return out


def percentiles(latency: Mapping[int, int], qs: Iterable[float]) -> list[float] | None:
    """Percentiles (0-100) of bucketed latencies, interpolated like ``numpy.percentile``."""
    n = sum(latency.values())
    if n == 0:
        return None
    ordered = sorted(latency.items())

    def at(rank: int) -> float:  # the rank-th smallest latency (0-based), as its bucket's middle
        seen = 0
        for bucket, count in ordered:
            seen += count
            if rank < seen:
                return _middle(bucket)
        return _middle(ordered[-1][0])

    out = []
    for q in qs:
        h = (n - 1) * q / 100.0
        low = math.floor(h)
        lo, hi = at(low), at(min(low + 1, n - 1))
        out.append(lo + (h - low) * (hi - lo))
    return out


def _apply(state: dict[Key, Totals], seq: int, batch: HealthBatch) -> dict[Key, Totals]:
    # A new dict: LogState keeps the old state if a later entry of the same catch-up fails.
    part = {(c.version, c.shadow, c.since): _totals(c) for c in batch.counts}
    return merge(state, part)


def _dump(state: dict[Key, Totals]) -> Any:
    return [totals.counts(key).model_dump(mode="json") for key, totals in state.items()]


def _load(data: Any) -> dict[Key, Totals]:
    counts = [VersionCounts.model_validate(item) for item in data]
    return {(c.version, c.shadow, c.since): _totals(c) for c in counts}


def _totals(c: VersionCounts) -> Totals:
    return Totals(c.requests, c.errors, c.rows, dict(c.latency), c.client_errors)


HEALTH_FOLD: Fold[dict[Key, Totals], HealthBatch] = Fold(
    "endpoint-health", HealthBatch, initial=dict, apply=_apply, dump=_dump, load=_load
)


def health_state(storage: Storage, endpoint: str) -> LogState[dict[Key, Totals], HealthBatch]:
    """The one fold of the endpoint's health log for ``storage`` in this process."""
    return LogState.shared(
        storage,
        health_log(endpoint),
        HEALTH_FOLD,
        snapshot_key=_snapshot_key(endpoint),
        snapshot_every=SNAPSHOT_EVERY,
    )


def stored_totals(storage: Storage, endpoint: str) -> dict[Key, Totals]:
    """Every flushed count of the endpoint, from every process (caught up now)."""
    return health_state(storage, endpoint).read(dict)
