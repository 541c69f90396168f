"""Each model's summary for listings (versions, latest, aliases), read in a constant number of requests.

A model's state lives in two logs, ``versions`` and ``events`` (see :mod:`._state`).
The summary log ``catalog/models-summaries`` (:class:`~mlops_kit.core.storage.summaries.Summaries`)
keeps, beside the catalog of names, each model's observation of each log: of
``versions`` the newest number and its time, of ``events`` the aliases and the archived
versions. ``register`` and every event writer keep it exact around their change; a
model with a writer in flight (or one that stopped half-way) is read from its own logs.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from mlops_kit.core.listing import RecordList
from mlops_kit.core.storage.logs import seen_seq
from mlops_kit.core.storage.summaries import Observation, Observations, Summaries
from mlops_kit.registry._records import ModelVersion
from mlops_kit.registry._state import ModelState, StateCache, model_names, versions_log

if TYPE_CHECKING:
    from mlops_kit.core.listing import NameList
    from mlops_kit.core.storage import Storage

__all__ = [
    "ModelSummary",
    "Summarizing",
    "model_summaries",
    "observe_events",
    "observe_versions",
    "start",
    "summarize",
]

_LOG = "catalog/models-summaries"


class ModelSummary(BaseModel):
    """What a listing of models shows of one model, as returned by :meth:`Registry.summaries`.

    Attributes
    ----------
    name : str
        The model.
    versions : int
        Its number of versions (numbers are 1 to ``versions``, archived ones included).
    latest : int or None
        The newest version that is not archived (``None`` if every version is).
    aliases : dict of str to int
        Its aliases and the versions they point to.
    created_at : datetime
        When its newest version was registered.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> reg = mk.Registry(mk.MemoryStorage())
    >>> _ = reg.register("churn", "v1"), reg.register("churn", "v2"), reg.set_alias("churn", "prod", 1)
    >>> summary = reg.summaries()[0]
    >>> summary.name, summary.versions, summary.latest, summary.aliases
    ('churn', 2, 2, {'prod': 1})
    """

    model_config = ConfigDict(frozen=True)

    name: str
    versions: int
    latest: int | None
    aliases: dict[str, int]
    created_at: dt.datetime


def model_summaries(storage: Storage) -> Summaries:
    """The registry's summary log."""
    return Summaries(storage, _LOG)


def observe_versions(storage: Storage, cache: StateCache, name: str) -> Observation:
    """What the versions log says: its newest number known here, and that version's time.

    The number this process last saw (it appended it, or read it) is a fact about the log
    as much as a newer one: the summary keeps the highest observed, so no probe is needed.
    """
    last = seen_seq(storage, versions_log(name)) or cache.last_version(name)
    if last == 0:
        return 0, {}
    newest = storage.read_entry(versions_log(name), last, ModelVersion)
    return last, {"created_at": newest.created_at.isoformat()}


def _events_data(state: ModelState) -> dict[str, Any]:
    return {"aliases": dict(sorted(state.aliases.items())), "archived": sorted(state.archived)}


def observe_events(cache: StateCache, name: str) -> Observation:
    """What the events log says now: its tail, the aliases and the archived versions."""
    events = cache.events(name)
    return events.read(lambda s: (events.tail, _events_data(s)))


def start(storage: Storage, cache: StateCache) -> Observations:
    """Every model's observations: imported once into the summary log of a store from before it."""
    return {
        name: {"versions": observe_versions(storage, cache, name), "events": observe_events(cache, name)}
        for name in model_names(storage)
    }


def summarize(storage: Storage, cache: StateCache, names: list[str]) -> list[ModelSummary]:
    """The summaries of ``names`` (models with versions): from the summary log, else their own logs."""
    summaries = model_summaries(storage)
    seen = summaries.read() if summaries.started() else None
    pending = seen.pending() if seen is not None else set()
    found = []
    for name in names:
        parts = {} if seen is None or name in pending else seen.observed.get(name, {})
        versions = parts.get("versions") or observe_versions(storage, cache, name)
        # No events observed and no writer in flight: the model has had no events since the log began.
        events = parts.get("events") or (observe_events(cache, name) if not parts else (0, {}))
        found.append(_summary(name, versions, events))
    return found


def _summary(name: str, versions: Observation, events: Observation) -> ModelSummary:
    last, data = versions
    aliases, archived = events[1].get("aliases", {}), set(events[1].get("archived", ()))
    latest = next((v for v in range(last, 0, -1) if v not in archived), None)
    return ModelSummary(
        name=name, versions=last, latest=latest, aliases=aliases, created_at=data["created_at"]
    )


class Summarizing:
    """The model summaries of :class:`~mlops_kit.Registry`."""

    if TYPE_CHECKING:  # provided by Registry
        storage: Storage
        _cache: StateCache

        def models(self, *, limit: int | None = None, offset: int = 0) -> NameList: ...

    def summaries(self, *, limit: int | None = None, offset: int = 0) -> RecordList[ModelSummary]:
        """What a listing shows of each model (versions, latest, aliases, newest time), by name.

        The names and summaries come from the registry's catalog and its summary log (a
        snapshot and the few entries after each), kept exact by every writer around its
        change; only a model with a writer in flight, or one that stopped half-way, is
        read from its own logs. So a page costs the same at 10 or 10,000 models.

        Parameters
        ----------
        limit, offset : int, optional
            A page of the models in name order, as :meth:`models` pages them.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("fraud", 1), reg.register("churn", 1), reg.register("churn", 2)
        >>> _ = reg.set_alias("churn", "production", 1), reg.archive("churn", 2)
        >>> [(s.name, s.versions, s.latest, s.aliases) for s in reg.summaries()]
        [('churn', 2, 1, {'production': 1}), ('fraud', 1, 1, {})]
        """
        names = self.models(limit=limit, offset=offset)
        return RecordList(summarize(self.storage, self._cache, list(names)))
