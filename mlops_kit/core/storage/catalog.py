"""The names that own a log under a root (a registry's models...), read without listing the root.

Every block keeps one log per named thing (``models/<name>/versions``). Listing the
names used to list every key under the root: one request per 1,000 keys on S3, so
growing with the entries. A catalog is a log of its own, ``catalog/<root>``, folded with
snapshots (:class:`~mlops_kit.core.storage.logstate.LogState`), so reading it costs a
snapshot and the few entries after it.

A name is *declared* before its log's first entry is written and *confirmed* after it.
A reader lists the confirmed names, and a declared one only if its log's first entry
exists (one check each, only for a writer that stopped in between or is writing now),
so the catalog never shows a name that has no entries and never misses one that has.
A store written before catalogs existed is listed the old way until its first new
name, whose writer imports the names found by one listing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mlops_kit.core.record import Record
from mlops_kit.core.storage import logs
from mlops_kit.core.storage._cache import cache_of
from mlops_kit.core.storage.logstate import Fold, LogState

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

__all__ = ["Catalog"]

T = TypeVar("T")

SNAPSHOT_EVERY = 8


class CatalogEntry(Record):
    """Names declared (before their first entry), confirmed (after it) or imported (found listed)."""

    kind: Literal["declared", "confirmed", "imported"]
    names: list[str]


@dataclass
class _Names:
    confirmed: set[str] = field(default_factory=set)
    declared: set[str] = field(default_factory=set)


def _apply(state: _Names, seq: int, entry: CatalogEntry) -> _Names:
    (state.declared if entry.kind == "declared" else state.confirmed).update(entry.names)
    return state


def _dump(state: _Names) -> dict[str, Any]:
    return {"confirmed": sorted(state.confirmed), "declared": sorted(state.declared - state.confirmed)}


def _load(data: Any) -> _Names:
    confirmed, declared = data["confirmed"], data["declared"]
    if not all(isinstance(n, str) for n in [*confirmed, *declared]):
        raise ValueError("malformed names")
    return _Names(set(confirmed), set(declared))


_FOLD: Fold[_Names, CatalogEntry] = Fold(
    "catalog", CatalogEntry, initial=_Names, apply=_apply, dump=_dump, load=_load
)


class Catalog:
    """The names ``N`` that have entries in a log ``<root>/N/<log>``.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> from mlops_kit.core.record import Record
    >>> class Entry(Record):
    ...     n: int
    >>> store = mk.MemoryStorage()
    >>> catalog = Catalog(store, "things", "versions")
    >>> _ = catalog.add("b", lambda: store.append("things/b/versions", Entry(n=1)))
    >>> catalog.declare("a")  # its writer stopped before the first entry
    >>> catalog.names()
    ['b']
    """

    def __init__(self, storage: Storage, root: str, log: str) -> None:
        self.storage, self.root, self.log = storage, root, log

    def names(self) -> list[str]:
        """The sorted names with at least one entry in their log."""
        state = self._state()
        confirmed, pending, started = state.read(
            lambda s: (set(s.confirmed), s.declared - s.confirmed, state.tail)
        )
        if not started:
            return logs.log_owners(self.storage, self.root, self.log)  # a store from before catalogs
        confirmed.update(n for n in pending if self.storage.exists(self._first_entry(n)))
        return sorted(confirmed)

    def add(self, name: str, append: Callable[[], T]) -> T:
        """Run ``append`` (which appends to ``name``'s log), declaring and confirming a new name."""
        prefix = self.prefix_of(name)
        # A log this process has seen entries of is not new: no request on the hot path.
        new = not cache_of(self.storage).tails.get(prefix) and logs.last_seq(self.storage, prefix) == 0
        if new:
            self.declare(name)
        result = append()
        if new:
            self.confirm(name)
        return result

    def prefix_of(self, name: str) -> str:
        """The log prefix of ``name``."""
        return f"{self.root}/{name}/{self.log}"

    def declare(self, name: str) -> None:
        """Before the first entry of ``name``'s log: record that it may exist."""
        state = self._state()
        if state.read(lambda s: name in s.declared or name in s.confirmed):
            return

        def build(current: _Names) -> CatalogEntry | None:
            if name in current.declared or name in current.confirmed:
                return None
            return CatalogEntry(kind="declared", names=[name])

        if state.tail == 0:
            found = logs.log_owners(self.storage, self.root, self.log)
            if found:
                state.append(
                    lambda s: CatalogEntry(kind="imported", names=found) if not s.confirmed else None
                )
        state.append(build)

    def confirm(self, name: str) -> None:
        """After the first entry of ``name``'s log was written."""
        self._state().append(
            lambda s: None if name in s.confirmed else CatalogEntry(kind="confirmed", names=[name])
        )

    def _first_entry(self, name: str) -> str:
        return logs.entry_key(self.prefix_of(name), 1)

    def _state(self) -> LogState[_Names, CatalogEntry]:
        return LogState.shared(
            self.storage,
            f"catalog/{self.root}",
            _FOLD,
            snapshot_key=f"catalog/{self.root}.snapshot.json",
            snapshot_every=SNAPSHOT_EVERY,
        )
