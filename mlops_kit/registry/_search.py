"""Searching model versions: tags, a predicate, ``order_by="-metrics.auc"``, the best one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from mlops_kit.core.errors import ConfigError, NotFoundError
from mlops_kit.core.names import check_name
from mlops_kit.registry._index import Row, index_rows, ordered_rows
from mlops_kit.registry._records import ModelVersion
from mlops_kit.registry._state import versions_log

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["Searching", "filter_versions", "order_versions"]


class Searching:
    """The search half of :class:`~mlops_kit.Registry`."""

    if TYPE_CHECKING:  # provided by Registry and Lifecycle
        storage: Storage

        def archived(self, name: str) -> list[int]: ...
        def models(self) -> list[str]: ...
        def _no_model(self, name: str) -> str: ...

    def search(
        self,
        name: str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        where: Callable[[ModelVersion], object] | None = None,
        order_by: str = "-version",
        limit: int | None = None,
        include_archived: bool = False,
    ) -> list[ModelVersion]:
        """Filter and order versions of one model (or of every model with ``name=None``).

        Parameters
        ----------
        name : str, optional
            The model; ``None`` searches every model.
        tags : dict of str to str, optional
            Keep versions carrying all these tags.
        where : callable, optional
            Keep versions for which ``where(version)`` is true
            (``lambda v: v.metrics.get("auc", 0) > 0.8``).
        order_by : str
            ``"version"``, ``"created_at"``, ``"size_bytes"``, ``"metrics.<name>"``,
            ``"params.<name>"`` or ``"tags.<name>"``; prefix ``-`` for descending.
            Versions lacking the key come last; ties go to the newest version.
        limit : int, optional
            Return at most this many.
        include_archived : bool
            Include archived versions.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> for auc, team in [(0.81, "a"), (0.93, "b"), (0.88, "a")]:
        ...     _ = reg.register("churn", [auc], metrics={"auc": auc}, tags={"team": team})
        >>> [v.version for v in reg.search("churn", tags={"team": "a"}, order_by="-metrics.auc")]
        [3, 1]
        >>> reg.best("churn", "auc").version
        2
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ConfigError(f"limit= must be a non-negative integer, got {limit!r}.")
        if name is not None:
            return self._search_one(
                check_name(name, "model name"), tags, where, order_by, limit, include_archived
            )
        names = self.models()
        # Filter and order the index's rows; read whole records only for what is returned
        # (or, with ``where``, for the candidates it is asked about).
        rows: list[Row] = []
        for model in names:
            found = index_rows(self.storage, model)
            if not found:
                raise NotFoundError(self._no_model(model))
            hidden = set(self.archived(model)) if not include_archived else set()
            rows.extend(r for r in found if r.version not in hidden)
        rows = filter_versions(rows, tags=tags, where=None)
        _check_where(where)
        if where is None:
            ordered_rows = order_versions(rows, order_by)
            return [self._record(r) for r in (ordered_rows if limit is None else ordered_rows[:limit])]
        _parse(order_by)
        ordered = order_versions([v for v in map(self._record, rows) if where(v)], order_by)
        return ordered if limit is None else ordered[:limit]

    def _search_one(
        self,
        name: str,
        tags: Mapping[str, str] | None,
        where: Callable[[ModelVersion], object] | None,
        order_by: str,
        limit: int | None,
        include_archived: bool,
    ) -> list[ModelVersion]:
        # The index's rows come presorted by ``order_by`` (cached until the next version):
        # filtering a sorted list keeps it sorted, so a page walks it only until it is full.
        matches = _tag_test(tags)
        _check_where(where)
        _parse(order_by)
        try:
            ordered = ordered_rows(self.storage, name, order_by, lambda rows: order_versions(rows, order_by))
        except ConfigError:  # values of mixed types: the versions filtered may still be ordered
            ordered = None
        if ordered is not None and not ordered:
            raise NotFoundError(self._no_model(name))
        hidden = set(self.archived(name)) if not include_archived else set()
        if ordered is None:
            rows = [r for r in index_rows(self.storage, name) if r.version not in hidden and matches(r)]
            kept = [v for v in map(self._record, rows) if where is None or where(v)]
            return order_versions(kept, order_by)[:limit]
        found: list[ModelVersion] = []
        for row in ordered:
            if limit is not None and len(found) >= limit:
                break
            if row.version in hidden or not matches(row):
                continue
            record = self._record(row)
            if where is None or where(record):
                found.append(record)
        return found

    def _record(self, row: Row) -> ModelVersion:
        return self.storage.read_entry(versions_log(row.name), row.version, ModelVersion)

    def best(
        self,
        name: str,
        metric: str,
        *,
        mode: Literal["max", "min"] = "max",
        tags: Mapping[str, str] | None = None,
        where: Callable[[ModelVersion], object] | None = None,
    ) -> ModelVersion:
        """The version with the highest (``mode="max"``) or lowest metric, archived ones excluded.

        Ties go to the newest version.

        Raises
        ------
        NotFoundError
            If no (matching, unarchived) version has the metric.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> reg = mk.Registry(mk.MemoryStorage())
        >>> for loss in (0.4, 0.2, 0.3):
        ...     _ = reg.register("m", loss, metrics={"loss": loss})
        >>> reg.best("m", "loss", mode="min").version
        2
        """
        metric = check_name(metric, "metric name")
        if mode not in ("max", "min"):
            raise ConfigError(f"mode= must be 'max' or 'min', got {mode!r}.")
        order = f"{'-' if mode == 'max' else ''}metrics.{metric}"
        candidates = self.search(name, tags=tags, where=where, order_by=order, limit=1)
        if not candidates or metric not in candidates[0].metrics:
            # Missing values sort last: no candidate has the metric. Name the ones they have.
            everyone = self.search(name, tags=tags, where=where)
            recorded = sorted({k for v in everyone for k in v.metrics})
            raise NotFoundError(
                f"No {'matching ' if tags or where else ''}version of model {name!r} has the metric "
                f"{metric!r}; metrics recorded: {recorded or 'none'}."
            )
        return candidates[0]


_FIELDS = ("version", "created_at", "size_bytes", "name")
_MAPS = ("metrics", "params", "tags")


class Searchable(Protocol):
    """What ordering and tag filters read: a :class:`ModelVersion` or a row of the search index."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def tags(self) -> Mapping[str, str]: ...


V = TypeVar("V", bound=Searchable)


def filter_versions(
    versions: Iterable[V],
    *,
    tags: Mapping[str, str] | None,
    where: Callable[[V], object] | None,
) -> list[V]:
    """Keep the versions carrying every tag in ``tags`` and for which ``where`` is true."""
    matches = _tag_test(tags)
    _check_where(where)
    return [v for v in versions if matches(v) and (where is None or where(v))]


def _tag_test(tags: Mapping[str, str] | None) -> Callable[[Searchable], bool]:
    """Whether a version carries every tag in ``tags`` (checked before storage is touched)."""
    if tags is not None and not isinstance(tags, Mapping):
        raise ConfigError(f"tags= must be a dict of tag names to values, got {type(tags).__name__}.")
    wanted = dict(tags or {})
    if None not in wanted.values():  # by dict views (in C)
        items = wanted.items()
        return lambda v: items <= v.tags.items()
    return lambda v: all(v.tags.get(k) == value for k, value in wanted.items())


def _check_where(where: object) -> None:
    if where is not None and not callable(where):
        raise ConfigError(f"where= must be a function of a ModelVersion, got {type(where).__name__}.")


def order_versions(versions: list[V], order_by: str) -> list[V]:
    """Sort by a field (``"version"``, ``"created_at"``...) or ``"metrics.<name>"``, ``"-"`` for descending.

    Versions without the key come last in either direction; ties go to the newest
    version first. The one definition of the order: search sorts the index's rows with
    it, and records (for ``where=``) the same way.
    """
    descending, key = _parse(order_by)
    value = _getter(key)
    rows = [(value(v), -v.version, v) for v in versions]
    present = [row for row in rows if row[0] is not None]
    missing = [row for row in rows if row[0] is None]
    # Ties go newest first: sort by version, then by value; Python's sort is stable, even
    # with reverse=True, so the first order survives among equal values.
    present.sort(key=itemgetter(1))
    try:
        present.sort(key=itemgetter(0), reverse=descending)
    except TypeError as exc:
        raise ConfigError(f"Cannot order by {order_by!r}: its values have mixed types ({exc}).") from exc
    missing.sort(key=itemgetter(1))
    return [row[2] for row in present] + [row[2] for row in missing]


def _parse(order_by: object) -> tuple[bool, tuple[str, ...]]:
    if not isinstance(order_by, str) or not order_by:
        raise ConfigError(f"order_by= must be a string such as '-metrics.auc', got {order_by!r}.")
    descending = order_by.startswith("-")
    text = order_by.lstrip("+-")
    head, _, tail = text.partition(".")
    if head in _MAPS and tail:
        return descending, (head, tail)
    if text in _FIELDS:
        return descending, (text,)
    raise ConfigError(
        f"Cannot order by {order_by!r}: expected one of {list(_FIELDS)} or 'metrics.<name>', "
        "'params.<name>', 'tags.<name>', optionally prefixed with '-' for descending order."
    )


def _getter(key: tuple[str, ...]) -> Callable[[Any], Any]:
    if len(key) == 2:
        field, name = key
        return lambda version: getattr(version, field).get(name)
    return attrgetter(key[0])
