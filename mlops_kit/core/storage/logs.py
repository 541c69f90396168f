"""Append-only logs: the one concurrency primitive.

An entry is a record under ``<prefix>/<seq:012d>.json``. The next sequence number is
taken with :meth:`Storage.create`, which is atomic on every backend, so concurrent
appenders never lose or overwrite each other; the loser of a race moves on to the
next number. Entries are immutable, which lets readers cache them forever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

from pydantic import BaseModel

from mlops_kit.core.errors import ConflictError
from mlops_kit.core.storage import records

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

M = TypeVar("M", bound=BaseModel)

__all__ = ["LogEntry", "append", "entry_key", "log_owners", "read_entry", "read_log"]

_WIDTH = 12
_MAX_ATTEMPTS = 100_000
_PROBES = 16  # failed appends in a row before listing the log to jump ahead


class LogEntry(NamedTuple, Generic[M]):
    """One entry of an append-only log."""

    seq: int
    record: M


def entry_key(prefix: str, seq: int) -> str:
    """The key of entry ``seq`` of the log under ``prefix``."""
    return f"{prefix}/{seq:0{_WIDTH}d}.json"


def _seq_of(prefix: str, key: str) -> int | None:
    name = key[len(prefix) + 1 :]
    if len(name) == _WIDTH + 5 and name.endswith(".json") and name[:_WIDTH].isdigit():
        return int(name[:_WIDTH])
    return None  # something else lives under the prefix; not part of the log


def _last_seq(storage: Storage, prefix: str) -> int:
    seqs = [s for k in storage.list(prefix) if (s := _seq_of(prefix, k)) is not None]
    return max(seqs, default=0)


def append(storage: Storage, prefix: str, record: BaseModel | Callable[[int], BaseModel]) -> int:
    cache = storage._cache
    seq = cache.tails.get(prefix)
    seq = (seq if seq is not None else _last_seq(storage, prefix)) + 1
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        value = record(seq) if callable(record) else record
        key = entry_key(prefix, seq)
        if storage.create(key, records.encode(storage, key, value)):
            cache.put(key, type(value), value)
            cache.tails[prefix] = seq
            return seq
        # Lost the race for this number. Entry `seq` exists, so trying `seq + 1` cannot
        # leave a gap and costs one conditional write; listing the log costs O(entries)
        # (a request per 1,000 keys on S3), so it is only done to jump past a long run.
        seq = seq + 1 if attempt % _PROBES else max(seq, _last_seq(storage, prefix)) + 1
    raise ConflictError(f"Could not append to log {prefix!r} in {storage.url}: too much contention.")


def read_log(storage: Storage, prefix: str, model: type[M], *, after: int = 0) -> list[LogEntry[M]]:
    entries: list[LogEntry[M]] = []
    for key in storage.list(prefix):
        seq = _seq_of(prefix, key)
        if seq is None or seq <= after:
            continue
        entries.append(LogEntry(seq, read_entry(storage, prefix, seq, model)))
    if entries:
        cache = storage._cache
        cache.tails[prefix] = max(cache.tails.get(prefix, 0), entries[-1].seq)
    return entries


def read_entry(storage: Storage, prefix: str, seq: int, model: type[M]) -> M:
    key = entry_key(prefix, seq)
    cache = storage._cache
    value = cache.get(key, model)
    if value is None:
        value = records.decode(storage, key, storage.read(key), model)
        cache.put(key, model, value)
    return value


def log_owners(storage: Storage, root: str, log: str) -> list[str]:
    """The sorted names ``N`` that have entries in a log ``<root>/N/<log>`` (one listing of ``root``).

    Every block keeps one log per named thing (``datasets/<name>/versions``,
    ``models/<name>/versions``, ``pipelines/<name>/runs``...); this lists the names.
    """
    names = set()
    for key in storage.list(root):
        parts = key.split("/")
        if len(parts) == 4 and parts[2] == log and _seq_of(f"{root}/{parts[1]}/{log}", key) is not None:
            names.add(parts[1])
    return sorted(names)
