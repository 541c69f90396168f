"""A model's current state: a fold over its events log, kept up to date incrementally.

Each model has two append-only logs: ``models/<name>/versions`` (one record per
version; the sequence number *is* the version) and ``models/<name>/events`` (alias
moves, archiving). The current aliases and the archived set are a fold over the
events. Logs have no gaps, so the fold catches up by reading entry ``tail + 1``
until it is missing: one failed read when nothing changed, instead of listing a
prefix that grows with every event.

A process that has never seen the model starts from ``models/<name>/snapshot.json``,
the fold at some position, rewritten every :data:`SNAPSHOT_EVERY` events, and reads
only the events after it. The snapshot is only a shortcut: it is a signed record
like the others, and if it is missing or does not verify the fold starts from the
first event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from mlops_kit.core.errors import IntegrityError, NotFoundError
from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.registry._records import ModelEvent, ModelVersion

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
from mlops_kit.core.storage.logs import log_owners

__all__ = ["SNAPSHOT_EVERY", "ModelState", "StateCache", "events_log", "model_names", "versions_log"]

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)

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


def model_names(storage: Storage) -> list[str]:
    """Names of the models with at least one version (lists the whole registry)."""
    return log_owners(storage, _PREFIX, "versions")


class _Snapshot(Record):
    """The fold of a model's events log up to entry ``tail``."""

    tail: int
    aliases: FrozenMap[int] = {}
    archived: tuple[int, ...] = ()


@dataclass
class ModelState:
    """The fold of a model's events log up to entry ``tail``."""

    tail: int = 0
    aliases: dict[str, int] = field(default_factory=dict)
    archived: set[int] = field(default_factory=set)

    def apply(self, event: ModelEvent) -> None:
        self.tail += 1
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


class StateCache:
    """Per-model states and version tails of one registry, safe across threads."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._lock = threading.Lock()
        self._states: dict[str, ModelState] = {}
        self._tails: dict[str, int] = {}

    def read(self, name: str, fn: Callable[[ModelState], T]) -> T:
        """Catch the model's state up with its events log, then return ``fn(state)``.

        ``fn`` runs under the lock, so it sees one consistent state (``tail`` and the
        fold agree); it must not keep references to the state's mutable parts.
        """
        with self._lock:
            state = self._states.get(name)
            if state is None:
                state = self._start(name)
            prefix = events_log(name)
            while (event := self._next(prefix, state.tail, ModelEvent)) is not None:
                state.apply(event)
            self._states[name] = state  # only once caught up: a failed read leaves nothing half-done
            return fn(state)

    def write_snapshot(self, name: str) -> None:
        """Store the current fold as the starting point for processes that come later."""
        state = self.read(
            name, lambda s: _Snapshot(tail=s.tail, aliases=s.aliases, archived=sorted(s.archived))
        )
        self.storage.put_record(_snapshot_key(name), state)

    def last_version(self, name: str) -> int:
        """The highest version number of the model (0 if it has none)."""
        with self._lock:
            tail = self._tails.get(name)
            if tail is None:
                tail = _max_seq(self.storage, versions_log(name))
            while self._next(versions_log(name), tail, ModelVersion) is not None:
                tail += 1
            self._tails[name] = tail
            return tail

    def saw_version(self, name: str, version: int) -> None:
        """Record that ``version`` exists (this process just appended it)."""
        with self._lock:
            if name in self._tails:
                self._tails[name] = max(self._tails[name], version)

    def _start(self, name: str) -> ModelState:
        try:
            snapshot = self.storage.get_record(_snapshot_key(name), _Snapshot)
        except (NotFoundError, IntegrityError):  # absent, or not to be trusted: fold everything
            return ModelState()
        return ModelState(tail=snapshot.tail, aliases=dict(snapshot.aliases), archived=set(snapshot.archived))

    def _next(self, prefix: str, tail: int, model: type[R]) -> R | None:
        try:
            return self.storage.read_entry(prefix, tail + 1, model)
        except NotFoundError:
            return None


def _max_seq(storage: Storage, prefix: str) -> int:
    best = 0
    for key in storage.list(prefix):
        stem = key.rsplit("/", 1)[-1].removesuffix(".json")
        if stem.isdigit():
            best = max(best, int(stem))
    return best
