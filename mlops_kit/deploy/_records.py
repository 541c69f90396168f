"""The records of the deployer: deployment events, prediction batches, endpoint status."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.core.refs import VersionRef

__all__ = ["DeadLetter", "DeploymentEvent", "EndpointStatus", "EventKind", "PredictionBatch", "VersionStats"]

EventKind = Literal["deploy", "promote", "rollback", "auto_rollback", "undeploy"]
StrategyKind = Literal["replace", "canary", "shadow"]


class DeploymentEvent(Record):
    """One entry of an endpoint's audit trail (see :meth:`LocalDeployer.history`).

    Attributes
    ----------
    kind : str
        ``"deploy"``, ``"promote"``, ``"rollback"``, ``"auto_rollback"`` (a deploy that
        failed its load or health check; nothing changed) or ``"undeploy"``.
    endpoint : str
        The endpoint.
    ref : str or None
        For a deploy, the reference as given (``"churn@production"``).
    model, version : str or None, int or None
        The concrete version the event is about: deployed, promoted, returned to, or
        refused.
    strategy, weight, key : str or None, float or None, str or None
        For a deploy: ``"replace"``, ``"canary"`` (with its weight and key) or ``"shadow"``.
    from_model, from_version : str or None, int or None
        The primary before the event.
    reason : str
        Why (an auto-rollback's error, or a note given by the caller).
    at, by : datetime, str
        When, and who (``user@host``).
    """

    SCHEMA_VERSION = 1

    kind: EventKind
    endpoint: str
    ref: str | None = None
    model: str | None = None
    version: int | None = Field(default=None, ge=1)
    strategy: StrategyKind | None = None
    weight: float | None = None
    key: str | None = None
    from_model: str | None = None
    from_version: int | None = None
    reason: str = ""
    at: dt.datetime
    by: str

    @property
    def target(self) -> str | None:
        """``"model:version"`` the event is about, if any."""
        return None if self.model is None else f"{self.model}:{self.version}"

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M:%S} {self.by}"
        before = "" if self.from_model is None else f" (primary was {self.from_model}:{self.from_version})"
        if self.kind == "deploy":
            how: str = self.strategy or "replace"
            if self.strategy == "canary":
                how = f"canary {self.weight:g}" + (f" by {self.key!r}" if self.key else "")
            return f"{when}: deploy {self.target} ({self.ref}) as {how} on {self.endpoint!r}{before}"
        if self.kind == "auto_rollback":
            return f"{when}: auto-rollback of {self.target} on {self.endpoint!r}: {self.reason}"
        if self.kind == "undeploy":
            return f"{when}: undeploy {self.endpoint!r}{before}"
        return f"{when}: {self.kind} {self.endpoint!r} to {self.target}{before}"


class PredictionBatch(Record):
    """A flushed chunk of an endpoint's prediction log: a Parquet blob and its time span."""

    SCHEMA_VERSION = 1

    blob: str = Field(pattern=r"^[0-9a-f]{64}$")
    n_rows: int = Field(ge=0)
    first_at: dt.datetime
    last_at: dt.datetime
    by: str
    # The writer's clock just before the append: every batch before it in the log was
    # appended earlier, so holds rows no newer than this (readers walk back to it).
    flushed_at: dt.datetime | None = None


class DeadLetter(Record):
    """A prediction-log entry that could not be stored as Parquet, set aside with its reason.

    The request (inputs, output, versions) is a JSON blob; see :meth:`Endpoint.dead_letters`.
    """

    SCHEMA_VERSION = 1

    blob: str = Field(pattern=r"^[0-9a-f]{64}$")
    request_id: str
    n_rows: int = Field(ge=0)
    version: str
    reason: str
    at: dt.datetime
    by: str


class VersionStats(Record):
    """Traffic served by one version, by every process serving the endpoint.

    A live version counts the traffic since it became live (a canary deployed anew
    starts from zero; a promoted canary keeps its count); a retired one, all of it.
    ``p50_ms`` and ``p99_ms`` come from latency buckets and are within 2.2 % of the
    exact percentiles of answered requests. ``requests`` counts every request routed to
    the version; ``errors`` those its model failed on; ``client_errors`` those refused for
    bad input (a ``SchemaError`` in-process, a 4xx over HTTP), the client's mistake and
    not held against the version.
    """

    role: Literal["primary", "candidate", "shadow", "retired"]
    requests: int = 0
    errors: int = 0
    rows: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    client_errors: int = 0


class EndpointStatus(Record):
    """What an endpoint serves now, and how it went (see :meth:`Endpoint.status`).

    Attributes
    ----------
    endpoint : str
        The endpoint.
    primary, candidate : VersionRef or None
        The primary and the candidate (if any): ``"model:version"`` strings with typed
        parts (``status.primary.name``, ``.version``, ``.model_ref``).
    strategy, weight, key : str or None, float or None, str or None
        How the candidate gets traffic (``"canary"`` or ``"shadow"``).
    previous : tuple of VersionRef
        The rollback stack, most recent first.
    updated_at, updated_by : datetime or None, str or None
        The last event.
    events : int
        How many events the endpoint's log holds.
    versions : mapping of str to VersionStats
        Requests, errors and p50/p99 latency per version, counted by every process
        serving the endpoint (as far as they flushed their counts to storage).
    """

    endpoint: str
    primary: VersionRef | None = None
    candidate: VersionRef | None = None
    strategy: StrategyKind | None = None
    weight: float | None = None
    key: str | None = None
    previous: tuple[VersionRef, ...] = ()
    updated_at: dt.datetime | None = None
    updated_by: str | None = None
    events: int = 0
    versions: FrozenMap[VersionStats] = {}

    @property
    def requests(self) -> int:
        """Requests answered or refused by every version, shadows excluded."""
        return sum(s.requests for s in self.versions.values() if s.role != "shadow")

    @property
    def errors(self) -> int:
        """Requests a model failed on, shadows excluded (bad input is in :attr:`client_errors`)."""
        return sum(s.errors for s in self.versions.values() if s.role != "shadow")

    @property
    def client_errors(self) -> int:
        """Requests refused for bad input (the client's mistake), shadows excluded."""
        return sum(s.client_errors for s in self.versions.values() if s.role != "shadow")

    def __str__(self) -> str:
        if self.primary is None:
            return f"endpoint {self.endpoint!r}: nothing deployed"
        text = f"endpoint {self.endpoint!r}: primary {self.primary}"
        if self.candidate is not None:
            share = f" {self.weight:g}" if self.strategy == "canary" else ""
            text += f", candidate {self.candidate} ({self.strategy}{share})"
        for label, s in self.versions.items():
            latency = "" if s.p50_ms is None else f", p50 {s.p50_ms:.2f} ms, p99 {s.p99_ms:.2f} ms"
            refused = f", {s.client_errors} refused (bad input)" if s.client_errors else ""
            text += f"\n  {label} [{s.role}]: {s.requests} requests, {s.errors} errors{refused}{latency}"
        return text
