"""Which endpoints serve a model now, read in a constant number of storage requests.

Listing the serving endpoints used to read every endpoint's state (three requests
each). The roster is a log of its own (``catalog/deployments-roster``, folded with
snapshots) that records, for each endpoint, whether it serves and as of which of its
events. Its writers are the deploys and undeploys:

- before appending its event, a writer opens a *token* for the endpoint;
- after it (or after its build refused), it records what the endpoint's own log says
  then, serving or not, as of that log's tail, and closes its token.

The observation with the highest tail wins whatever order writers record them in, so
two racing deploys and undeploys leave the roster as their last event left the
endpoint. A reader trusts the observations and reads the endpoint's own state only for
names with an open token: a writer still in flight, or one that stopped in between.
A store written before the roster is read the old way until its first deploy, which
imports every endpoint's observation once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mlops_kit.core.errors import MlopsKitError
from mlops_kit.core.record import Record
from mlops_kit.core.storage.logstate import Fold, LogState

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["Roster"]

_log = logging.getLogger("mlops_kit.deploy")

_SNAPSHOT_EVERY = 16


class RosterEntry(Record):
    """A token opened, an observation (closing a token), or the observations of an older store."""

    kind: Literal["open", "observed", "imported"]
    name: str | None = None
    token: str | None = None
    serving: bool = False
    tail: int = 0
    observations: dict[str, tuple[bool, int]] = {}


@dataclass
class _Seen:
    observed: dict[str, tuple[bool, int]] = field(default_factory=dict)
    open: dict[str, str] = field(default_factory=dict)  # token -> endpoint


def _apply(state: _Seen, seq: int, entry: RosterEntry) -> _Seen:
    if entry.kind == "imported":
        for name, seen in entry.observations.items():
            _observe(state, name, seen)
    elif entry.kind == "open" and entry.token and entry.name:
        state.open[entry.token] = entry.name
    elif entry.kind == "observed" and entry.name:
        state.open.pop(entry.token or "", None)
        _observe(state, entry.name, (entry.serving, entry.tail))
    return state


def _observe(state: _Seen, name: str, seen: tuple[bool, int]) -> None:
    known = state.observed.get(name)
    if known is None or seen[1] >= known[1]:
        state.observed[name] = seen


def _dump(state: _Seen) -> dict[str, Any]:
    return {"observed": {n: list(s) for n, s in state.observed.items()}, "open": state.open}


def _load(data: Any) -> _Seen:
    observed = {str(n): (bool(s[0]), int(s[1])) for n, s in data["observed"].items()}
    return _Seen(observed, {str(t): str(n) for t, n in data["open"].items()})


_FOLD: Fold[_Seen, RosterEntry] = Fold(
    "roster", RosterEntry, initial=_Seen, apply=_apply, dump=_dump, load=_load
)


class Roster:
    """The serving endpoints of a storage.

    ``serving_of(name)`` is the truth for one endpoint (its own log: whether it has a
    primary now, and that log's tail); ``known()`` the names of every endpoint with events.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> truth = {"a": (True, 1), "b": (False, 2)}
    >>> roster = Roster(mk.MemoryStorage(), lambda n: truth[n], lambda: sorted(truth))
    >>> roster.changing("a", lambda: None)
    >>> roster.changing("b", lambda: None)
    >>> roster.serving()
    ['a']
    """

    def __init__(
        self,
        storage: Storage,
        serving_of: Callable[[str], tuple[bool, int]],
        known: Callable[[], list[str]],
    ) -> None:
        self.storage, self.serving_of, self.known = storage, serving_of, known

    def serving(self) -> list[str]:
        """The sorted names of the endpoints that serve a model now."""
        state = self._state()
        observed, pending, started = state.read(
            lambda s: (dict(s.observed), set(s.open.values()), state.tail)
        )
        if not started:
            return [n for n in self.known() if self.serving_of(n)[0]]  # a store from before the roster
        names = {n for n, (serving, _) in observed.items() if serving}
        for name in pending:  # a writer in flight, or stopped between its event and its observation
            (names.add if self.serving_of(name)[0] else names.discard)(name)
        return sorted(names)

    def changing(self, name: str, change: Callable[[], Any]) -> Any:
        """Run ``change`` (which appends ``name``'s event), keeping the roster exact around it."""
        state = self._state()
        if state.read(lambda s: not s.observed and not s.open):
            self._import(state)
        token = os.urandom(8).hex()
        state.append(lambda s: RosterEntry(kind="open", name=name, token=token))
        try:
            return change()
        finally:
            try:
                serving, tail = self.serving_of(name)
                state.append(
                    lambda s: RosterEntry(kind="observed", name=name, token=token, serving=serving, tail=tail)
                )
            except MlopsKitError as exc:  # the token stays open: readers ask the endpoint's own log
                _log.warning("Endpoint %r changed, but the roster could not record it: %s", name, exc)

    def _import(self, state: LogState[_Seen, RosterEntry]) -> None:
        found = {name: self.serving_of(name) for name in self.known()}
        if found:
            state.append(
                lambda s: RosterEntry(kind="imported", observations=found) if not s.observed else None
            )

    def _state(self) -> LogState[_Seen, RosterEntry]:
        return LogState.shared(
            self.storage,
            "catalog/deployments-roster",
            _FOLD,
            snapshot_key="catalog/deployments-roster.snapshot.json",
            snapshot_every=_SNAPSHOT_EVERY,
        )
