"""Prometheus metrics of one HTTP app, in a registry of its own."""

from __future__ import annotations

from typing import Any

__all__ = ["Metrics"]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Requests by endpoint, version and status; a latency histogram; an in-flight gauge.

    Each app has its own ``CollectorRegistry``, so several apps (or tests) in one
    process never collide on metric names.
    """

    def __init__(self, endpoint: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.endpoint = endpoint
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlops_kit_requests",
            "Inference requests by endpoint, answering version and HTTP status.",
            ["endpoint", "version", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mlops_kit_request_latency_seconds",
            "Inference request latency (parse, validate, predict, encode).",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "mlops_kit_requests_in_flight",
            "Inference requests being served.",
            ["endpoint"],
            registry=self.registry,
        )
        self.log_problems = Counter(
            "mlops_kit_prediction_log_problems",
            "Requests the prediction log could not keep whole, by reason: dead_letter (set aside, "
            "see Endpoint.dead_letters), extra_columns (columns past the limit dropped), "
            "buffer_full (dropped: storage could not keep up).",
            ["endpoint", "reason"],
            registry=self.registry,
        )
        self._latency = self.latency.labels(endpoint)
        self._in_flight = self.in_flight.labels(endpoint)
        self._counters: dict[tuple[str, int], Any] = {}

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
        self._latency.observe(seconds)

    def log_problem(self, reason: str, n: int) -> None:
        """The prediction log counted ``n`` requests with ``reason``."""
        self.log_problems.labels(self.endpoint, reason).inc(n)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
