"""Searching model versions: tags, a predicate, ``order_by="-metrics.auc"``, the best one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from mlops_kit.core.errors import ConfigError, NotFoundError
from mlops_kit.core.names import check_name
from mlops_kit.registry._records import ModelVersion

__all__ = ["Searching", "filter_versions", "order_versions"]


class Searching:
    """The search half of :class:`~mlops_kit.Registry`."""

    if TYPE_CHECKING:  # provided by Registry and Lifecycle

        def versions(self, name: str) -> list[ModelVersion]: ...
        def archived(self, name: str) -> list[int]: ...
        def models(self) -> list[str]: ...

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
        names = [check_name(name, "model name")] if name is not None else self.models()
        found: list[ModelVersion] = []
        for model in names:
            versions = self.versions(model)
            hidden = set(self.archived(model)) if not include_archived else set()
            found.extend(v for v in versions if v.version not in hidden)
        ordered = order_versions(filter_versions(found, tags=tags, where=where), order_by)
        return ordered if limit is None else ordered[:limit]

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
        candidates = self.search(name, tags=tags, where=where, order_by=order)
        if not candidates or metric not in candidates[0].metrics:
            recorded = sorted({k for v in candidates for k in v.metrics})
            raise NotFoundError(
                f"No {'matching ' if tags or where else ''}version of model {name!r} has the metric "
                f"{metric!r}; metrics recorded: {recorded or 'none'}."
            )
        return candidates[0]


_FIELDS = ("version", "created_at", "size_bytes", "name")
_MAPS = ("metrics", "params", "tags")


def filter_versions(
    versions: Iterable[ModelVersion],
    *,
    tags: Mapping[str, str] | None,
    where: Callable[[ModelVersion], object] | None,
) -> list[ModelVersion]:
    """Keep the versions carrying every tag in ``tags`` and for which ``where`` is true."""
    if tags is not None and not isinstance(tags, Mapping):
        raise ConfigError(f"tags= must be a dict of tag names to values, got {type(tags).__name__}.")
    if where is not None and not callable(where):
        raise ConfigError(f"where= must be a function of a ModelVersion, got {type(where).__name__}.")
    wanted = dict(tags or {})
    return [
        v
        for v in versions
        if all(v.tags.get(k) == value for k, value in wanted.items()) and (where is None or where(v))
    ]


def order_versions(versions: list[ModelVersion], order_by: str) -> list[ModelVersion]:
    """Sort by a field (``"version"``, ``"created_at"``...) or ``"metrics.<name>"``, ``"-"`` for descending.

    Versions without the key come last in either direction; ties go to the newest
    version first.
    """
    descending, key = _parse(order_by)
    present: list[tuple[Any, ModelVersion]] = []
    missing: list[tuple[Any, ModelVersion]] = []
    for v in versions:
        value = _value(v, key)
        (missing if value is None else present).append((value, v))
    # Ties go newest first: sort by version, then by value; Python's sort is stable, even
    # with reverse=True, so the first order survives among equal values.
    present.sort(key=lambda item: -item[1].version)
    try:
        present.sort(key=lambda item: item[0], reverse=descending)
    except TypeError as exc:
        raise ConfigError(f"Cannot order by {order_by!r}: its values have mixed types ({exc}).") from exc
    missing.sort(key=lambda item: -item[1].version)
    return [v for _, v in present] + [v for _, v in missing]


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


def _value(version: ModelVersion, key: tuple[str, ...]) -> Any:
    if len(key) == 2:
        return getattr(version, key[0]).get(key[1])
    return getattr(version, key[0])
