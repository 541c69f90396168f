"""Prometheus metrics of one HTTP app, in a registry of its own, or of every worker of a server.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve(workers=N)`` sets it to a private
directory before the workers start), prometheus-client keeps every value in a
memory-mapped file of that directory, and :meth:`Metrics.render` sums the files of
all workers: one scrape shows the whole server, whichever worker answers it.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["CLIENT_CLOSED", "MULTIPROC_ENV", "Metrics", "multiprocess_dir"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The status a request is counted under when its client hung up before sending the whole
# body (nginx's convention): neither a 4xx answer nor a server error.
CLIENT_CLOSED = 499
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    """The directory of prometheus-client's multiprocess mode, if this process uses it."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


class Metrics:
    """Requests by endpoint, version and status; latency by endpoint and version; in-flight.

    Each app has its own ``CollectorRegistry``, so several apps (or tests) in one
    process never collide on metric names. The version label is the version that
    answered (``m:3``; ``m:3,m:4`` for a request a keyed canary split; ``""`` when
    none did, as for a request refused before routing), so a canary's error rate and
    latency can be compared with the primary's.
    """

    def __init__(self, endpoint: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.endpoint = endpoint
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlops_kit_requests",
            "Inference requests by endpoint, answering version and HTTP status "
            f"({CLIENT_CLOSED}: the client closed the connection before sending its whole request).",
            ["endpoint", "version", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mlops_kit_request_latency_seconds",
            "Inference request latency (parse, validate, predict, encode) by endpoint and answering version.",
            ["endpoint", "version"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "mlops_kit_requests_in_flight",
            "Inference requests being served.",
            ["endpoint"],
            registry=self.registry,
            multiprocess_mode="livesum",  # the sum over workers alive (ignored in one process)
        )
        self.log_problems = Counter(
            "mlops_kit_prediction_log_problems",
            "Requests the prediction log could not keep whole, by reason: dead_letter (set aside, "
            "see Endpoint.dead_letters), extra_columns (columns past the limit dropped), "
            "buffer_full (dropped: storage could not keep up).",
            ["endpoint", "reason"],
            registry=self.registry,
        )
        self._in_flight = self.in_flight.labels(endpoint)
        self._counters: dict[tuple[str, int], Any] = {}
        self._latencies: dict[str, Any] = {}

    def started(self) -> None:
        """A request began."""
        self._in_flight.inc()

    def finished(self, version: str, status: int, seconds: float) -> None:
        """A request ended with ``status``, answered by ``version`` (``""`` if none)."""
        self._in_flight.dec()
        counter = self._counters.get((version, status))
        if counter is None:
            counter = self._counters[(version, status)] = self.requests.labels(
                self.endpoint, version, str(status)
            )
        counter.inc()
        latency = self._latencies.get(version)
        if latency is None:
            latency = self._latencies[version] = self.latency.labels(self.endpoint, version)
        latency.observe(seconds)

    def log_problem(self, reason: str, n: int) -> None:
        """The prediction log counted ``n`` requests with ``reason``."""
        self.log_problems.labels(self.endpoint, reason).inc(n)

    def render(self) -> tuple[bytes, str]:
        """The exposition text (of every worker, in multiprocess mode) and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """At shutdown: in multiprocess mode, drop this process from the live gauges."""
        path = multiprocess_dir()
        if path is not None and os.path.isdir(path):
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid(), path)
