"""Per-name summaries of many logs, read in a constant number of storage requests.

A listing that shows something of every named thing (a model's latest version and
aliases...) would read each thing's own logs: requests per name shown. A summary log
(folded with snapshots) records, for each name and each *part* (one of the thing's own
logs), an observation: what that log says as of its tail. Its writers are the changes
of those logs:

- before a change, a writer opens a *token* for the name;
- after it, it records what the changed log says then, as of that log's tail, and
  closes its token.

For each (name, part) the observation with the highest tail wins, whatever order the
writers record them in: each is a fact about its log up to its tail, and a log's tail
only grows. A reader trusts the observations and reads a thing's own logs only for
names with an open token: a writer still in flight, or one that stopped in between.
A store written before the summary log existed is read the old way until its first
change, whose writer imports every name's observations once (``start``).

This is the endpoint roster's rule (``mlops_kit.deploy._roster``: one part, serving or
not) for any number of parts and any JSON-able observation.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

from mlops_kit.core.errors import MlopsKitError, MlopsKitWarning
from mlops_kit.core.record import Record
from mlops_kit.core.storage import logs
from mlops_kit.core.storage.logstate import Fold, LogState

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

__all__ = ["Observations", "Seen", "Summaries"]

T = TypeVar("T")

Observation: TypeAlias = "tuple[int, dict[str, Any]]"  # (the log's tail, what it says then)
Observations: TypeAlias = "dict[str, dict[str, Observation]]"  # name -> part -> observation


class SummaryEntry(Record):
    """A token opened, an observation (closing a token), or the observations of an older store."""

    kind: Literal["open", "observed", "imported"]
    name: str | None = None
    token: str | None = None
    part: str | None = None
    tail: int = 0
    data: dict[str, Any] = {}
    observations: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {}


@dataclass
class Seen:
    """The fold: each name's observations by part, and the open tokens (token -> name)."""

    observed: Observations = field(default_factory=dict)
    open: dict[str, str] = field(default_factory=dict)

    def pending(self) -> set[str]:
        """Names with a writer in flight, or one that stopped between its change and its observation."""
        return set(self.open.values())


def _apply(state: Seen, seq: int, entry: SummaryEntry) -> Seen:
    if entry.kind == "imported":
        for name, parts in entry.observations.items():
            for part, seen in parts.items():
                _observe(state, name, part, (int(seen[0]), dict(seen[1])))
    elif entry.kind == "open" and entry.token and entry.name:
        state.open[entry.token] = entry.name
    elif entry.kind == "observed" and entry.name and entry.part:
        state.open.pop(entry.token or "", None)
        _observe(state, entry.name, entry.part, (entry.tail, dict(entry.data)))
    return state


def _observe(state: Seen, name: str, part: str, seen: Observation) -> None:
    parts = state.observed.setdefault(name, {})
    known = parts.get(part)
    if known is None or seen[0] >= known[0]:
        parts[part] = seen


def _dump(state: Seen) -> dict[str, Any]:
    observed = {n: {p: [t, d] for p, (t, d) in parts.items()} for n, parts in state.observed.items()}
    return {"observed": observed, "open": state.open}


def _load(data: Any) -> Seen:
    observed = {
        str(n): {str(p): (int(s[0]), dict(s[1])) for p, s in parts.items()}
        for n, parts in data["observed"].items()
    }
    return Seen(observed, {str(t): str(n) for t, n in data["open"].items()})


_FOLD: Fold[Seen, SummaryEntry] = Fold(
    "summaries", SummaryEntry, initial=Seen, apply=_apply, dump=_dump, load=_load
)


class Summaries:
    """The summary log ``prefix``: observations of each name's parts, kept exact around every change.

    Writers append without reading the fold (an open token and an observation do not
    depend on it), so a change costs two appends; every ``snapshot_every``-th entry's
    writer also writes the fold's snapshot, so a reader reads it and fewer entries.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> summaries = Summaries(mk.MemoryStorage(), "catalog/things-summaries")
    >>> summaries.changing("a", "versions", lambda: "changed", lambda: (3, {"last": 3}))
    'changed'
    >>> seen = summaries.read()
    >>> seen.observed, seen.pending()
    ({'a': {'versions': (3, {'last': 3})}}, set())
    """

    def __init__(self, storage: Storage, prefix: str, *, snapshot_every: int = 32) -> None:
        self.storage, self.prefix, self.snapshot_every = storage, prefix, snapshot_every

    def started(self) -> bool:
        """Whether the log has entries (else the store is from before it: read the old way)."""
        return logs.seen_seq(self.storage, self.prefix) > 0 or logs.last_seq(self.storage, self.prefix) > 0

    def read(self) -> Seen:
        """The observations and open tokens now (copies)."""
        return self._state().read(
            lambda s: Seen({n: dict(parts) for n, parts in s.observed.items()}, dict(s.open))
        )

    def changing(
        self,
        name: str,
        part: str,
        change: Callable[[], T],
        observe: Callable[[], Observation],
        *,
        start: Callable[[], Observations] | None = None,
    ) -> T:
        """Run ``change`` (a change of ``name``'s log ``part``), then record ``observe()``.

        ``observe`` says what that log says now, as ``(its tail, data)``; it is recorded
        whether ``change`` succeeded or raised. ``start`` gives every existing name's
        observations, imported once when the log is empty (a store from before it).
        """
        if start is not None and not self.started():
            found = start()
            if found:
                self._append(SummaryEntry(kind="imported", observations=found))
        token = os.urandom(8).hex()
        self._append(SummaryEntry(kind="open", name=name, token=token))
        try:
            return change()
        finally:
            try:
                tail, data = observe()
                entry = SummaryEntry(kind="observed", name=name, token=token, part=part, tail=tail, data=data)
                self._append(entry)
            except MlopsKitError as exc:  # the token stays open: readers read the name's own logs
                warnings.warn(
                    f"{name!r} changed, but its summary in {self.prefix!r} of {self.storage.url} could not "
                    f"be recorded ({exc}). Nothing is lost: listings read {name!r}'s own logs instead.",
                    MlopsKitWarning,
                    stacklevel=3,
                )

    def _append(self, entry: SummaryEntry) -> None:
        seq = logs.append(self.storage, self.prefix, entry)
        if seq % self.snapshot_every == 0:
            self._state().write_snapshot()

    def _state(self) -> LogState[Seen, SummaryEntry]:
        return LogState.shared(
            self.storage,
            self.prefix,
            _FOLD,
            snapshot_key=f"{self.prefix}.snapshot.json",
            snapshot_every=self.snapshot_every,
        )
