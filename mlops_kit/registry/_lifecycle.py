"""Aliases, archiving and the audit history of a model: events appended to its log.

Every change is an event appended to ``models/<name>/events``. The event is built
from the state just before its own position in the log (the append retries at the
next number, rebuilding the event, if another writer got there first), so checks
such as "refused while an alias points to it" and each event's ``from_version`` are
exact even with concurrent writers on several machines.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from mlops_kit.core.arguments import check_page, check_version
from mlops_kit.core.clock import Clock, current_user
from mlops_kit.core.errors import ConflictError, InvalidNameError, NotFoundError
from mlops_kit.core.listing import RecordList
from mlops_kit.core.names import check_name
from mlops_kit.core.storage.logs import read_page
from mlops_kit.registry._records import EventKind, ModelEvent, ModelVersion
from mlops_kit.registry._state import (
    ModelState,
    StateCache,
    events_log,
    model_names,
    versions_log,
)
from mlops_kit.registry._summary import model_summaries, observe_events
from mlops_kit.registry._summary import start as start_summaries

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["ANY", "Lifecycle"]

M = TypeVar("M", ModelVersion, ModelEvent)


class _Any(enum.Enum):
    ANY = "any"


ANY = _Any.ANY  # set_alias(expected=ANY): move the alias whatever it points to now


class Lifecycle:
    """The alias, archive and history half of :class:`~mlops_kit.Registry`."""

    storage: Storage
    clock: Clock
    _cache: StateCache

    def set_alias(
        self, name: str, alias: str, version: int | ModelVersion, *, expected: int | _Any | None = ANY
    ) -> ModelEvent:
        """Point ``name@alias`` at a version; the move is recorded in :meth:`history`.

        Parameters
        ----------
        name : str
            The model.
        alias : str
            The alias (``"production"``); letters, digits, '.', '_', '-', not all digits.
        version : int or ModelVersion
            The version to point at. It must exist and not be archived.
        expected : int or None, optional
            Move the alias only if it currently points at this version (``None``: only
            if the alias does not exist yet). Guards against overwriting a concurrent move.

        Returns
        -------
        ModelEvent
            The recorded move, with ``from_version`` the version the alias left.

        Raises
        ------
        InvalidNameError
            If the name, alias or version number is malformed (``0``, ``True``, ``"2"``).
        NotFoundError
            If the model or version does not exist.
        ConflictError
            If the version is archived, or the alias does not point at ``expected``.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> v1, v2 = reg.register("churn", [1]), reg.register("churn", [2])
        >>> reg.set_alias("churn", "production", 1).from_version is None
        True
        >>> reg.set_alias("churn", "production", v2).from_version
        1
        >>> reg.get("churn@production").version
        2
        >>> reg.set_alias("churn", "production", 1, expected=1)
        Traceback (most recent call last):
        ...
        mlops_kit.core.errors.ConflictError: Alias 'production' of model 'churn' points to version 2, ...
        """
        name = check_name(name, "model name")
        alias = _check_alias(alias)
        if expected is not ANY and expected is not None:
            expected = check_version(expected, "expected version")
        target = self._version(name, _version_number(name, version)).version

        def build(state: ModelState) -> ModelEvent:
            current = state.aliases.get(alias)
            if target in state.archived:
                raise ConflictError(
                    f"Version {target} of model {name!r} is archived; restore it with "
                    f"registry.restore({name!r}, {target}) before pointing {alias!r} at it."
                )
            if expected is not ANY and current != expected:
                seen = "does not exist" if current is None else f"points to version {current}"
                raise ConflictError(
                    f"Alias {alias!r} of model {name!r} {seen}, not {expected!r} as expected; it was not "
                    f"moved to {target}. Re-read it with registry.get('{name}@{alias}') and retry."
                )
            return self._event("alias_set", name, target, alias=alias, from_version=current)

        return self._append_event(name, build)

    def delete_alias(self, name: str, alias: str) -> ModelEvent:
        """Remove ``name@alias``; the version it pointed to is untouched.

        Raises
        ------
        NotFoundError
            If the model or the alias does not exist; the message lists the aliases.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("churn", "v1")
        >>> _ = reg.set_alias("churn", "staging", 1)
        >>> reg.delete_alias("churn", "staging").from_version, reg.aliases("churn")
        (1, {})
        """
        name = check_name(name, "model name")
        alias = _check_alias(alias)
        self._require_model(name)

        def build(state: ModelState) -> ModelEvent:
            current = state.aliases.get(alias)
            if current is None:
                raise NotFoundError(_missing_alias(name, alias, state.aliases))
            return self._event("alias_deleted", name, None, alias=alias, from_version=current)

        return self._append_event(name, build)

    def aliases(self, name: str) -> dict[str, int]:
        """The model's aliases and the versions they point to, by alias name.

        Raises
        ------
        NotFoundError
            If the model does not exist.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("churn", "v1")
        >>> _ = reg.set_alias("churn", "production", 1), reg.set_alias("churn", "canary", 1)
        >>> reg.aliases("churn")
        {'canary': 1, 'production': 1}
        """
        name = check_name(name, "model name")
        self._require_model(name)
        return self._cache.read(name, lambda state: dict(sorted(state.aliases.items())))

    def archive(self, name: str, version: int | ModelVersion, *, force: bool = False) -> ModelEvent:
        """Hide a version from "latest" and :meth:`search`; it stays loadable by number.

        Parameters
        ----------
        force : bool
            Archive even while aliases point to the version. The aliases keep pointing
            to it (a deployment that follows them keeps working); move them explicitly.

        Raises
        ------
        InvalidNameError
            If the name or version number is malformed.
        NotFoundError
            If the model or version does not exist.
        ConflictError
            If an alias points to the version (without ``force``), or it is already archived.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("churn", "v1"), reg.register("churn", "v2")
        >>> _ = reg.archive("churn", 2)
        >>> reg.archived("churn"), reg.get("churn").version, reg.load("churn:2")
        ([2], 1, 'v2')
        >>> _ = reg.restore("churn", 2)
        >>> reg.get("churn").version
        2
        """
        name = check_name(name, "model name")
        target = self._version(name, _version_number(name, version)).version

        def build(state: ModelState) -> ModelEvent:
            if target in state.archived:
                raise ConflictError(f"Version {target} of model {name!r} is already archived.")
            pointing = state.aliases_of(target)
            if pointing and not force:
                names = ", ".join(repr(a) for a in pointing)
                raise ConflictError(
                    f"Version {target} of model {name!r} is still the target of alias {names}; move "
                    f"or delete the alias first, or pass force=True to archive it anyway."
                )
            return self._event("archived", name, target)

        return self._append_event(name, build)

    def restore(self, name: str, version: int | ModelVersion) -> ModelEvent:
        """Undo :meth:`archive`.

        Raises
        ------
        InvalidNameError
            If the name or version number is malformed.
        NotFoundError
            If the model or version does not exist.
        ConflictError
            If the version is not archived.
        """
        name = check_name(name, "model name")
        target = self._version(name, _version_number(name, version)).version

        def build(state: ModelState) -> ModelEvent:
            if target not in state.archived:
                raise ConflictError(f"Version {target} of model {name!r} is not archived.")
            return self._event("restored", name, target)

        return self._append_event(name, build)

    def archived(self, name: str) -> list[int]:
        """The archived version numbers of a model, ascending."""
        name = check_name(name, "model name")
        self._require_model(name)
        return self._cache.read(name, lambda state: sorted(state.archived))

    def history(
        self, name: str, *, limit: int | None = None, newest_first: bool = False
    ) -> RecordList[ModelEvent]:
        """Every registration, alias move and archive/restore of a model, oldest first.

        Alias and archive events come from the model's events log, in log order.
        Registrations come from the version records and are merged in by time,
        never after an event that refers to them. With ``limit``, only the newest
        ``limit`` entries of that history (read from the logs' ends: the cost is the
        page's, however long the history); ``newest_first`` reverses the order.

        Raises
        ------
        NotFoundError
            If the model does not exist.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> _ = reg.register("churn", [1])
        >>> _ = reg.set_alias("churn", "production", 1)
        >>> [(e.kind, e.alias, e.from_version, e.version) for e in reg.history("churn")]
        [('registered', None, None, 1), ('alias_set', 'production', None, 1)]
        """
        name = check_name(name, "model name")
        limit, _ = check_page(limit, 0)
        # The newest n entries of the merge are among the newest n of each log.
        versions = _tail(self.storage, versions_log(name), ModelVersion, limit)
        if not versions:
            raise NotFoundError(self._no_model(name))
        events = _tail(self.storage, events_log(name), ModelEvent, limit)
        merged = _merge(versions, events)
        if limit is not None:
            merged = merged[-limit:]
        return RecordList(merged[::-1] if newest_first else merged)

    def _append_event(self, name: str, build: Callable[[ModelState], ModelEvent]) -> ModelEvent:
        # build() sees the state just before the event's own position in the log, and is
        # called again on the caught-up state after losing a race for that position.
        state = self._cache.events(name)
        appended = model_summaries(self.storage).changing(
            name,
            "events",
            lambda: state.append(build),
            lambda: observe_events(self._cache, name),
            start=lambda: start_summaries(self.storage, self._cache),
        )
        assert appended is not None  # build never declines
        return self.storage.read_entry(events_log(name), appended[0], ModelEvent)

    def _event(
        self,
        kind: EventKind,
        name: str,
        version: int | None,
        *,
        alias: str | None = None,
        from_version: int | None = None,
    ) -> ModelEvent:
        return ModelEvent(
            kind=kind,
            name=name,
            version=version,
            alias=alias,
            from_version=from_version,
            at=self.clock.now(),
            by=current_user(),
        )

    def _version(self, name: str, version: int) -> ModelVersion:
        try:
            return self.storage.read_entry(versions_log(name), version, ModelVersion)
        except NotFoundError:
            last = self._cache.last_version(name)
            if last == 0:
                raise NotFoundError(self._no_model(name)) from None
            raise NotFoundError(
                f"Model {name!r} has no version {version}; its versions are 1 to {last}."
            ) from None

    def _require_model(self, name: str) -> None:
        if self._cache.last_version(name) == 0:
            raise NotFoundError(self._no_model(name))

    def _no_model(self, name: str) -> str:
        known = model_names(self.storage)
        where = f"models in {self.storage.url}: {known}" if known else f"{self.storage.url} has no models yet"
        return f"No model named {name!r}; {where}."


def _registered(version: ModelVersion) -> ModelEvent:
    return ModelEvent(
        kind="registered",
        name=version.name,
        version=version.version,
        at=version.created_at,
        by=version.created_by,
    )


def _check_alias(alias: object) -> str:
    alias = check_name(alias, "alias")
    if alias.isdigit():
        raise InvalidNameError(
            f"Invalid alias {alias!r}: an alias cannot be all digits ('{alias}' would read as a version)."
        )
    return alias


def _version_number(name: str, version: object) -> int:
    if isinstance(version, ModelVersion):
        if version.name != name:
            raise ConflictError(f"{version} is a version of model {version.name!r}, not of {name!r}.")
        return version.version
    return check_version(version, "model version")


def _missing_alias(name: str, alias: str, aliases: dict[str, int]) -> str:
    listing = ", ".join(f"{a!r} -> {v}" for a, v in sorted(aliases.items())) or "none"
    return f"Model {name!r} has no alias {alias!r}; its aliases: {listing}."


def _tail(storage: Storage, log: str, model: type[M], limit: int | None) -> list[M]:
    entries = read_page(storage, log, model, limit=limit, offset=0, newest_first=limit is not None)
    return [e.record for e in (entries[::-1] if limit is not None else entries)]


def _merge(versions: list[ModelVersion], events: list[ModelEvent]) -> list[ModelEvent]:
    """Registrations merged into the events by time, never after an event that refers to them."""
    merged: list[ModelEvent] = []
    pending = iter(versions)
    upcoming = next(pending, None)
    for event in events:
        needed = max(event.version or 0, event.from_version or 0)
        while upcoming is not None and (upcoming.created_at <= event.at or upcoming.version <= needed):
            merged.append(_registered(upcoming))
            upcoming = next(pending, None)
        merged.append(event)
    while upcoming is not None:
        merged.append(_registered(upcoming))
        upcoming = next(pending, None)
    return merged
