"""Which endpoints serve a model now, read in a constant number of storage requests.

Listing the serving endpoints used to read every endpoint's state (three requests
each). The roster is a summary log (``catalog/deployments-summaries``, see
:mod:`mlops_kit.core.storage.summaries`) holding one observation per endpoint: whether
its own log has a primary, as of that log's tail. Deploys and undeploys keep it exact
around their event, so two racing deploys and undeploys leave the roster as their last
event left the endpoint; an endpoint with a writer in flight, or one that stopped in
between, is read from its own log. A store written before the roster is read the old
way until its first deploy, which imports every endpoint's observation once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlops_kit.core.storage.summaries import Observation, Observations, Summaries

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["ROSTER", "Roster"]

ROSTER = "catalog/deployments-summaries"
_PART = "serving"  # the endpoint's own log: whether it has a primary now


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
        self.serving_of, self.known = serving_of, known
        self.summaries = Summaries(storage, ROSTER, snapshot_every=16)

    def serving(self) -> list[str]:
        """The sorted names of the endpoints that serve a model now."""
        if not self.summaries.started():
            return [n for n in self.known() if self.serving_of(n)[0]]  # a store from before the roster
        seen = self.summaries.read()
        names = {n for n, parts in seen.observed.items() if _PART in parts and parts[_PART][1]["serving"]}
        for name in seen.pending():  # a writer in flight, or stopped between its event and its observation
            (names.add if self.serving_of(name)[0] else names.discard)(name)
        return sorted(names)

    def changing(self, name: str, change: Callable[[], Any]) -> Any:
        """Run ``change`` (which appends ``name``'s event), keeping the roster exact around it."""
        return self.summaries.changing(name, _PART, change, lambda: self._observe(name), start=self._start)

    def _observe(self, name: str) -> Observation:
        serving, tail = self.serving_of(name)
        return tail, {"serving": serving}

    def _start(self) -> Observations:
        return {name: {_PART: self._observe(name)} for name in self.known()}
