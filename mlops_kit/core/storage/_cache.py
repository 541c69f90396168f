"""What one process remembers about a storage's logs: parsed entries, digests, tails and pins.

Log entries are immutable, so each one is read and parsed once per process. The cache
is kept beside the storage (in a weak mapping), not in it: a backend never sees it and
a pickled storage never carries it.
"""

from __future__ import annotations

import re
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

__all__ = ["LogCache", "cache_of", "forget"]

_MAX_ENTRIES = 200_000
_ENTRY = re.compile(r"[0-9]{12}\.json")


class LogCache:
    """Parsed entries by key and model class, entry digests, and per-log tails and shared states."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[str, dict[type, Any]] = {}
        self.digests: dict[str, str] = {}
        self.tails: dict[str, int] = {}  # highest sequence number known to exist, per log
        self.heads_checked: set[str] = set()  # logs whose head this process has seen (or written)
        self.states: dict[Any, Any] = {}  # shared LogState objects, by (prefix, fold)
        self.recent: dict[str, dict[int, bytes]] = {}  # per log: bytes of entries not yet packed

    def get(self, key: str, model: type) -> Any:
        return self.records.get(key, {}).get(model)

    def put(self, key: str, model: type, value: Any, digest: str) -> None:
        with self.lock:
            if len(self.records) >= _MAX_ENTRIES:
                self.records.clear()
                self.digests.clear()
            self.records.setdefault(key, {})[model] = value
            self.digests[key] = digest

    def saw(self, prefix: str, seq: int) -> None:
        """Entry ``seq`` of ``prefix`` exists (so do all before it)."""
        with self.lock:
            if seq > self.tails.get(prefix, 0):
                self.tails[prefix] = seq


_CACHES: weakref.WeakKeyDictionary[Storage, LogCache] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def cache_of(storage: Storage) -> LogCache:
    """The process's cache for ``storage`` (made on first use)."""
    cache = _CACHES.get(storage)
    if cache is None:
        with _LOCK:
            cache = _CACHES.setdefault(storage, LogCache())
    return cache


def forget(storage: Storage, key: str) -> None:
    """``key`` was overwritten or deleted through ``storage``: drop what is known about it and its log."""
    cache = _CACHES.get(storage)
    if cache is None:
        return
    prefix, _, name = key.rpartition("/")
    with cache.lock:
        cache.records.pop(key, None)
        cache.digests.pop(key, None)
        if not _ENTRY.fullmatch(name):
            return  # a head, snapshot or other key: what is known of the log still holds
        cache.tails.pop(prefix, None)
        cache.recent.pop(prefix, None)
        cache.heads_checked.discard(prefix)
        for k in [k for k in cache.states if k[0] == prefix]:
            del cache.states[k]
