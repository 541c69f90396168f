"""A model's current state: a fold over its events log (one :class:`~mlops_kit.core.storage.logstate.LogState`).

Each model has two append-only logs: ``models/<name>/versions`` (one record per
version; the sequence number *is* the version) and ``models/<name>/events`` (alias
moves, archiving). The current aliases and the archived set are a fold over the
events, caught up incrementally, checked against the hash chain and the signed head
when a signing key is set, and started from ``models/<name>/snapshot.json`` (rewritten
every :data:`SNAPSHOT_EVERY` events) in a process that has never seen the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from mlops_kit.core.storage.catalog import Catalog
from mlops_kit.core.storage.logs import last_seq
from mlops_kit.core.storage.logstate import Fold, LogState
from mlops_kit.registry._records import ModelEvent

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = [
    "SNAPSHOT_EVERY",
    "ModelState",
    "StateCache",
    "events_log",
    "model_catalog",
    "model_names",
    "versions_log",
]

T = TypeVar("T")

_PREFIX = "models"
SNAPSHOT_EVERY = 10


def versions_log(name: str) -> str:
    """The log prefix of a model's versions."""
    return f"{_PREFIX}/{name}/versions"


def events_log(name: str) -> str:
    """The log prefix of a model's events."""
    return f"{_PREFIX}/{name}/events"


def _snapshot_key(name: str) -> str:
    return f"{_PREFIX}/{name}/snapshot.json"


def model_catalog(storage: Storage) -> Catalog:
    """The registry's model names (read from the catalog log, without listing the registry)."""
    return Catalog(storage, _PREFIX, "versions")


def model_names(storage: Storage) -> list[str]:
    """Names of the models with at least one version."""
    return model_catalog(storage).names()


@dataclass
class ModelState:
    """The fold of a model's events log: where each alias points, which versions are archived."""

    aliases: dict[str, int] = field(default_factory=dict)
    archived: set[int] = field(default_factory=set)

    def apply(self, event: ModelEvent) -> None:
        if event.kind == "alias_set" and event.alias is not None and event.version is not None:
            self.aliases[event.alias] = event.version
        elif event.kind == "alias_deleted" and event.alias is not None:
            self.aliases.pop(event.alias, None)
        elif event.kind == "archived" and event.version is not None:
            self.archived.add(event.version)
        elif event.kind == "restored" and event.version is not None:
            self.archived.discard(event.version)

    def aliases_of(self, version: int) -> list[str]:
        return sorted(a for a, v in self.aliases.items() if v == version)


def _apply(state: ModelState, seq: int, event: ModelEvent) -> ModelState:
    state.apply(event)
    return state


def _dump(state: ModelState) -> dict[str, Any]:
    return {"aliases": dict(state.aliases), "archived": sorted(state.archived)}


def _load(data: Any) -> ModelState:
    aliases, archived = data["aliases"], data["archived"]
    if not all(isinstance(a, str) and isinstance(v, int) for a, v in aliases.items()):
        raise ValueError("malformed aliases")
    return ModelState(aliases=dict(aliases), archived={int(v) for v in archived})


EVENTS_FOLD: Fold[ModelState, ModelEvent] = Fold(
    "model-events", ModelEvent, initial=ModelState, apply=_apply, dump=_dump, load=_load
)


class StateCache:
    """The registry's view of its models' logs (shared by every registry on the same storage)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def events(self, name: str) -> LogState[ModelState, ModelEvent]:
        """The model's events state."""
        return LogState.shared(
            self.storage,
            events_log(name),
            EVENTS_FOLD,
            snapshot_key=_snapshot_key(name),
            snapshot_every=SNAPSHOT_EVERY,
        )

    def read(self, name: str, fn: Callable[[ModelState], T]) -> T:
        """Catch the model's state up with its events log, then return ``fn(state)``."""
        return self.events(name).read(fn)

    def last_version(self, name: str) -> int:
        """The highest version number of the model (0 if it has none)."""
        return last_seq(self.storage, versions_log(name))
