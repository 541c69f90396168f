"""An endpoint's current state: a fold over its events log.

Each endpoint has an append-only log of :class:`DeploymentEvent` under
``deployments/<endpoint>/events``. What it serves now (primary, candidate and how
the candidate gets traffic, the rollback stack) is a pure function of that log, so
every process that reads the log serves the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

from mlops_kit.core.refs import VersionRef
from mlops_kit.deploy._records import DeploymentEvent, StrategyKind

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
from mlops_kit.core.storage.catalog import Catalog
from mlops_kit.core.storage.logstate import Fold, LogState

__all__ = [
    "EVENTS_FOLD",
    "EndpointState",
    "Slot",
    "dead_letters_log",
    "endpoint_log",
    "endpoint_names",
    "events_log",
    "fold",
    "predictions_log",
]

_PREFIX = "deployments"
_MAX_PREVIOUS = 20  # rollback depth kept in the state (the log keeps everything)


def events_log(endpoint: str) -> str:
    """The log prefix of an endpoint's deployment events."""
    return f"{_PREFIX}/{endpoint}/events"


def predictions_log(endpoint: str) -> str:
    """The log prefix of an endpoint's flushed prediction batches."""
    return f"{_PREFIX}/{endpoint}/predictions"


def dead_letters_log(endpoint: str) -> str:
    """The log prefix of an endpoint's prediction-log entries that could not be stored."""
    return f"{_PREFIX}/{endpoint}/dead_letters"


def endpoint_catalog(storage: Storage) -> Catalog:
    """The names of a storage's endpoints (a catalog log: no listing)."""
    return Catalog(storage, _PREFIX, "events")


def endpoint_names(storage: Storage) -> list[str]:
    """Names of the endpoints with at least one event."""
    return endpoint_catalog(storage).names()


class Slot(NamedTuple):
    """A concrete model version in an endpoint's state."""

    model: str
    version: int

    def __str__(self) -> str:
        return f"{self.model}:{self.version}"

    @property
    def ref(self) -> VersionRef:
        """The version as a typed reference."""
        return VersionRef.of(self.model, self.version)


@dataclass(frozen=True)
class EndpointState:
    """The fold of an endpoint's events up to entry ``tail``."""

    tail: int = 0
    primary: Slot | None = None
    candidate: Slot | None = None
    strategy: StrategyKind | None = None
    weight: float | None = None
    key: str | None = None
    previous: tuple[Slot, ...] = ()
    last: DeploymentEvent | None = None
    # The events that made the primary and the candidate live (their traffic counts from there).
    primary_since: int = 0
    candidate_since: int = 0

    def apply(self, seq: int, event: DeploymentEvent) -> EndpointState:
        """The state after ``event`` (entry ``seq`` of the log)."""
        state = replace(self, tail=seq, last=event)
        target = None if event.model is None or event.version is None else Slot(event.model, event.version)
        if event.kind == "deploy" and target is not None:
            if event.strategy in ("canary", "shadow") and state.primary is not None:
                return replace(
                    state,
                    candidate=target,
                    strategy=event.strategy,
                    weight=event.weight,
                    key=event.key,
                    candidate_since=seq,
                )
            return state._with_primary(target, seq)
        if event.kind == "promote" and state.candidate is not None:
            return state._with_primary(state.candidate, state.candidate_since)
        if event.kind == "rollback":
            if state.candidate is not None:  # abort the candidate; the primary never changed
                return state._without_candidate()
            if state.previous:
                return replace(
                    state, primary=state.previous[0], previous=state.previous[1:], primary_since=seq
                )
        if event.kind == "undeploy":
            return EndpointState(tail=seq, last=event)
        return state  # auto_rollback (and anything unknown) changes nothing

    def _with_primary(self, slot: Slot, since: int) -> EndpointState:
        previous = self.previous
        if self.primary == slot:
            since = self.primary_since  # still the same stint
        elif self.primary is not None:
            previous = (self.primary, *previous)[:_MAX_PREVIOUS]
        return replace(self._without_candidate(), primary=slot, previous=previous, primary_since=since)

    def _without_candidate(self) -> EndpointState:
        return replace(self, candidate=None, strategy=None, weight=None, key=None, candidate_since=0)

    @property
    def slots(self) -> list[Slot]:
        """The versions that take traffic now: the primary, then the candidate."""
        return [s for s in (self.primary, self.candidate) if s is not None]


def fold(state: EndpointState, entries: list[tuple[int, DeploymentEvent]]) -> EndpointState:
    """Apply log entries (in order) to ``state``."""
    for seq, event in entries:
        state = state.apply(seq, event)
    return state


EVENTS_FOLD: Fold[EndpointState, DeploymentEvent] = Fold(
    "endpoint-events", DeploymentEvent, initial=EndpointState, apply=lambda s, seq, e: s.apply(seq, e)
)


def endpoint_log(storage: Storage, endpoint: str) -> LogState[EndpointState, DeploymentEvent]:
    """The one state of an endpoint's events log for ``storage`` in this process."""
    return LogState.shared(storage, events_log(endpoint), EVENTS_FOLD)
