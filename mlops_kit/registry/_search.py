"""Filtering and ordering model versions: tags, a predicate, ``order_by="-metrics.auc"``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.registry._records import ModelVersion

__all__ = ["filter_versions", "order_versions"]

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
