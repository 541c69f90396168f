"""A model's search index: what :meth:`Registry.search` filters and orders on, one row per version.

The index is a fold over the model's versions log (a
:class:`~mlops_kit.core.storage.logstate.LogState`) that keeps, per version, only the
name, number, creation time, size, metrics, params and tags, parsed from each entry
into a small model rather than a whole :class:`ModelVersion` (signature, environment,
lineage). Its snapshot, ``models/<name>/index-snapshot.json``, holds the rows as columns; the
registering process writes it after every :data:`SNAPSHOT_EVERY` versions, so a new
process reads one object and at most ``SNAPSHOT_EVERY - 1`` entries after it (from the
log's packs). The snapshot is only a shortcut, checked as LogState checks every
snapshot: signed when signing is on, chained to the entry it ends at; one that is
missing, stale, unreadable or does not verify costs a longer catch-up, never a wrong
answer. A reader that had to fold many entries past its start (a store written before
the index existed) writes the snapshot itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

from mlops_kit.core.storage.logs import last_seq
from mlops_kit.core.storage.logstate import Fold, LogState
from mlops_kit.registry._records import ModelVersion, ParamValue
from mlops_kit.registry._state import versions_log

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = [
    "SNAPSHOT_EVERY",
    "Row",
    "index_key",
    "index_rows",
    "index_state",
    "ordered_rows",
    "snapshot_index",
]

# A snapshot costs a dump of every row (about 10 ms at 10,000 versions): every 64
# versions that is well under a millisecond per register, and a reader reads at most
# 3 packs of 16 and 15 entries after it.
SNAPSHOT_EVERY = 64

_ORDERS_KEPT = 8  # sorted copies of the rows cached per model (one per order_by asked for)
_COLUMNS = ("version", "created_at", "size_bytes")
_MAPS = ("metrics", "params", "tags")
_NOTHING: Mapping[str, Any] = MappingProxyType({})


class Row(NamedTuple):
    """One version as the index knows it (the fields :func:`order_versions` reads)."""

    name: str
    version: int
    created_at: dt.datetime
    size_bytes: int
    metrics: Mapping[str, float]
    params: Mapping[str, ParamValue]
    tags: Mapping[str, str]


class _Summary(BaseModel):
    """The indexed fields of a version record; the others are skipped, not validated."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    SCHEMA_VERSION: ClassVar[int] = ModelVersion.SCHEMA_VERSION

    name: str
    version: int
    created_at: dt.datetime
    size_bytes: int
    metrics: dict[str, float] = {}
    params: dict[str, ParamValue] = {}
    tags: dict[str, str] = {}


@dataclass
class SearchIndex:
    """The rows in log order; ``tail`` the last entry folded, ``since`` the tail of the last snapshot.

    ``columns`` is the snapshot's form of the rows, kept up to date entry by entry, so that
    writing a snapshot is one JSON encoding rather than a pass over every row. ``orders``
    caches the rows sorted by each ``order_by`` asked for, until the next entry.
    """

    rows: list[Row] = field(default_factory=list)
    tail: int = 0
    since: int = 0
    columns: dict[str, Any] = field(default_factory=lambda: _empty_columns())
    orders: dict[str, list[Row]] = field(default_factory=dict, compare=False, repr=False)


def _empty_columns() -> dict[str, Any]:
    return {**{c: [] for c in _COLUMNS}, **{m: {} for m in _MAPS}}


def _apply(state: SearchIndex, seq: int, entry: _Summary) -> SearchIndex:
    row = Row(
        entry.name, entry.version, entry.created_at, entry.size_bytes, entry.metrics, entry.params, entry.tags
    )
    columns, position = state.columns, len(state.rows)
    columns["version"].append(row.version)
    columns["created_at"].append(row.created_at.isoformat())
    columns["size_bytes"].append(row.size_bytes)
    for field_name in _MAPS:
        # By key: the rows that have it and their values. Decoding a few long lists is
        # several times faster than decoding a small object per row.
        sparse = columns[field_name]
        for key, value in getattr(row, field_name).items():
            rows, found = sparse.setdefault(key, [[], []])
            rows.append(position)
            found.append(value)
    state.rows.append(row)
    state.tail = seq
    state.orders.clear()
    return state


def _dump(state: SearchIndex) -> dict[str, Any]:
    state.since = state.tail  # written (or tried: a failed write is not retried on every read)
    return {"name": state.rows[0].name if state.rows else None, "tail": state.tail, **state.columns}


def _dense(columns: Any, count: int) -> list[Mapping[str, Any]]:
    if not isinstance(columns, dict):
        raise ValueError("malformed map column")
    maps: list[Any] = [_NOTHING] * count  # one shared empty map: most rows lack most keys
    untouched = True
    for key, pair in columns.items():
        rows, found = pair if isinstance(pair, list) and len(pair) == 2 else (None, None)
        if not (isinstance(key, str) and isinstance(rows, list) and isinstance(found, list)):
            raise ValueError(f"malformed map column {key!r}")
        if (
            not {*map(type, rows)} <= {int}
            or len(rows) != len(found)
            or (rows and not 0 <= min(rows) <= max(rows) < count)
        ):
            raise ValueError(f"malformed map column {key!r}")
        if untouched and len(rows) == count and rows == list(range(count)):
            maps = [{key: value} for value in found]  # the first key, in every row: the common case
            untouched = False
            continue
        untouched = False
        for i, value in zip(rows, found, strict=True):
            if maps[i] is _NOTHING:
                maps[i] = {}
            maps[i][key] = value
    return maps


def _load(data: Any) -> SearchIndex:
    name, tail = data["name"], data["tail"]
    versions, created, sizes = (data[c] for c in _COLUMNS)
    count = len(versions)
    if not all(isinstance(c, list) and len(c) == count for c in (versions, created, sizes)):
        raise ValueError("malformed columns")
    if type(tail) is not int or (count and not isinstance(name, str)):
        raise ValueError("malformed tail or name")
    if not {*map(type, versions), *map(type, sizes)} <= {int}:  # checked by whole columns
        raise ValueError("malformed rows")
    metrics, params, tags = (_dense(data[m], count) for m in _MAPS)
    times = list(map(dt.datetime.fromisoformat, created))
    rows = list(map(Row, [name] * count, versions, times, sizes, metrics, params, tags))
    columns = {c: data[c] for c in (*_COLUMNS, *_MAPS)}
    return SearchIndex(rows, tail, tail, columns)


INDEX_FOLD: Fold[SearchIndex, _Summary] = Fold(
    "model-index", _Summary, initial=SearchIndex, apply=_apply, dump=_dump, load=_load
)


def index_key(name: str) -> str:
    """The key of the snapshot of a model's search index."""
    return f"models/{name}/index-snapshot.json"


def index_state(storage: Storage, name: str) -> LogState[SearchIndex, _Summary]:
    """The model's search index (one per storage object and model in a process)."""
    return LogState.shared(
        storage,
        versions_log(name),
        INDEX_FOLD,
        snapshot_key=index_key(name),
        snapshot_every=SNAPSHOT_EVERY,
    )


def index_rows(storage: Storage, name: str) -> list[Row]:
    """The model's rows in version order, caught up with its log (empty for no model)."""
    state = index_state(storage, name)
    if state.tail == 0:
        # A first read in this process: learn where the log ends (its head), so that catching
        # up from the snapshot reads the packs after it rather than one entry at a time.
        last_seq(storage, versions_log(name))
    rows, behind = state.read(lambda s: (list(s.rows), s.tail - s.since >= SNAPSHOT_EVERY))
    if behind:  # folded many entries past the snapshot: the next process should not
        state.write_snapshot()
    return rows


def ordered_rows(storage: Storage, name: str, key: str, order: Callable[[list[Row]], list[Row]]) -> list[Row]:
    """The model's rows sorted by ``order``, caught up with its log; cached under ``key`` until the next version.

    The list is shared by every caller until then: read it, do not change it.
    """
    state = index_state(storage, name)
    if state.tail == 0:
        last_seq(storage, versions_log(name))  # as index_rows: the catch-up reads packs

    def cached(index: SearchIndex) -> tuple[list[Row], bool]:
        found = index.orders.get(key)
        if found is None:
            if len(index.orders) >= _ORDERS_KEPT:
                index.orders.clear()
            found = index.orders[key] = order(index.rows)
        return found, index.tail - index.since >= SNAPSHOT_EVERY

    rows, behind = state.read(cached)
    if behind:
        state.write_snapshot()
    return rows


def snapshot_index(storage: Storage, name: str, version: int) -> None:
    """After registering ``version``: write the index's snapshot if it is its turn."""
    if version % SNAPSHOT_EVERY == 0:
        index_state(storage, name).write_snapshot()
