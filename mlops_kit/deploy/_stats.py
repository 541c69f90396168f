"""Request counts and latency percentiles per version, for :meth:`Endpoint.status`."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from mlops_kit.deploy._records import VersionStats

__all__ = ["Stats"]

_WINDOW = 10_000  # latencies kept per version for the percentiles


class _Counter:
    __slots__ = ("errors", "latencies", "requests", "rows")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.rows = 0
        self.latencies: deque[float] = deque(maxlen=_WINDOW)


class Stats:
    """Thread-safe counters keyed by ``(version label, shadow?)``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, bool], _Counter] = {}

    def record(self, label: str, rows: int, latency_ms: float, *, ok: bool, shadow: bool = False) -> None:
        """Count one request answered (``ok``) or failed by ``label``."""
        with self._lock:
            counter = self._counters.get((label, shadow))
            if counter is None:
                counter = self._counters[(label, shadow)] = _Counter()
            counter.requests += 1
            counter.rows += rows
            if ok:
                counter.latencies.append(latency_ms)
            else:
                counter.errors += 1

    def snapshot(self, roles: dict[str, str]) -> dict[str, VersionStats]:
        """Stats per version; ``roles`` maps live labels to ``primary``/``candidate``."""
        with self._lock:
            items = [(k, c.requests, c.errors, c.rows, list(c.latencies)) for k, c in self._counters.items()]
        out: dict[str, VersionStats] = {}
        for (label, shadow), requests, errors, rows, latencies in sorted(items):
            p50 = p99 = None
            if latencies:
                p50, p99 = (float(v) for v in np.percentile(latencies, [50, 99]))
            role = "shadow" if shadow else roles.get(label, "retired")
            key = f"{label} (shadow)" if shadow else label
            out[key] = VersionStats(
                role=role, requests=requests, errors=errors, rows=rows, p50_ms=p50, p99_ms=p99
            )
        for label, role in roles.items():  # live versions without traffic yet
            if label not in out and not (role == "shadow" and f"{label} (shadow)" in out):
                out[label if role != "shadow" else f"{label} (shadow)"] = VersionStats(role=role)
        return out
