"""Packs: runs of a log's entries copied into one object, so listings read a few objects.

A log keeps one object per entry, which makes appends cheap and races exact, but a
listing of 10,000 entries then costs 10,000 reads (10,000 GETs on S3). A *pack* holds
the stored bytes of :data:`SIZES` consecutive entries, aligned: the pack of size 16 that
starts at entry 33 covers entries 33 to 48. The appender of an entry that completes a
run writes its pack (and, when it completes 16 packs of one size, the pack of the next
size), so a log of ``n`` entries is read in about ``n / 4096`` large reads plus at most
15 of each smaller size and 15 entries.

Packs are only copies: each entry in a pack is the exact stored envelope, verified as
if read from its own key (its signature covers that key, so an entry moved from another
log or position does not verify), and readers check the hash chain across them as
across entries. A pack that is missing, unreadable, of the wrong size or log, or whose
entries do not verify is skipped with a warning, and the reader falls back to smaller
packs and to the entries themselves. Packs are created, never overwritten: two writers
that race build the same bytes from the same immutable entries, and the first one wins.
"""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING, NamedTuple

from mlops_kit.core.errors import IntegrityError, MlopsKitError, MlopsKitWarning, NotFoundError
from mlops_kit.core.storage import records
from mlops_kit.core.storage._cache import cache_of

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

__all__ = ["SIZES", "RawEntry", "aligned_size", "entry_key", "load_pack", "pack_key", "write_packs"]

SIZES = (16, 256, 4096)  # each is 16 of the one before: a new size is built from 16 packs
_WIDTH = 12


class RawEntry(NamedTuple):
    """An entry as stored: its digest and verified envelope (``None`` if the entry is torn)."""

    seq: int
    digest: str
    envelope: records.Envelope | None


def entry_key(prefix: str, seq: int) -> str:
    """The key of entry ``seq`` of the log under ``prefix``."""
    return f"{prefix}/{seq:0{_WIDTH}d}.json"


def pack_key(prefix: str, size: int, first: int) -> str:
    """The key of the pack of ``size`` entries of log ``prefix`` that starts at entry ``first``."""
    return f"{prefix}/packs/{size:05d}-{first:0{_WIDTH}d}.json"


def aligned_size(seq: int, upto: int | None = None) -> list[int]:
    """The pack sizes, largest first, of the packs that start at entry ``seq`` (and end by ``upto``)."""
    return [s for s in reversed(SIZES) if (seq - 1) % s == 0 and (upto is None or seq + s - 1 <= upto)]


def load_pack(storage: Storage, prefix: str, size: int, first: int) -> list[RawEntry] | None:
    """The entries in a pack, each verified as if read from its own key; ``None`` if unusable."""
    key = pack_key(prefix, size, first)
    try:
        raws = _pack_bytes(storage, key, prefix, size, first)
    except NotFoundError:
        return None
    except (IntegrityError, ValueError, TypeError, UnicodeError) as exc:  # unreachable storage: raised
        _ignore(storage, key, prefix, exc)
        return None
    entries = []
    cache = cache_of(storage)
    for seq, raw in enumerate(raws, start=first):
        entry_at = entry_key(prefix, seq)
        digest = records.digest(raw)
        known = cache.digests.get(entry_at)
        if known is not None and known != digest:
            _ignore(storage, key, prefix, ValueError(f"its entry {seq} differs from the one read before"))
            return None
        try:
            envelope = records.open_envelope(storage, entry_at, raw)
        except IntegrityError as exc:  # torn entries too: the entries read one by one say which
            _ignore(storage, key, prefix, exc)
            return None
        entries.append(RawEntry(seq, digest, envelope))
    return entries


def write_packs(storage: Storage, prefix: str, seq: int, raw: bytes) -> None:
    """After this process appended entry ``seq`` (stored as ``raw``): write the packs it completes."""
    cache = cache_of(storage)
    with cache.lock:
        recent = cache.recent.setdefault(prefix, {})
        recent[seq] = raw
        for old in [s for s in recent if s <= seq - SIZES[0]]:
            del recent[old]
    if seq % SIZES[0]:
        return
    try:
        for size in SIZES:
            if seq % size:
                break
            first = seq - size + 1
            parts = _parts(storage, prefix, size, first)
            body = {"log": prefix, "first": first, "size": size, "entries": [p.decode() for p in parts]}
            storage.create(pack_key(prefix, size, first), json.dumps(body, separators=(",", ":")).encode())
    except (MlopsKitError, UnicodeError) as exc:
        warnings.warn(
            f"Appended entry {seq} to log {prefix!r} in {storage.url}, but could not write its pack "
            f"({exc}). Nothing is lost: readers read the entries themselves instead.",
            MlopsKitWarning,
            stacklevel=4,
        )


# -- internals ---------------------------------------------------------------------


def _parts(storage: Storage, prefix: str, size: int, first: int) -> list[bytes]:
    """The stored bytes of entries ``first`` to ``first + size - 1``, from smaller packs where possible."""
    if size == SIZES[0]:
        recent = cache_of(storage).recent.get(prefix, {})
        return [recent.get(s) or storage.read(entry_key(prefix, s)) for s in range(first, first + size)]
    smaller = SIZES[SIZES.index(size) - 1]
    parts: list[bytes] = []
    for start in range(first, first + size, smaller):
        try:
            parts.extend(_pack_bytes(storage, pack_key(prefix, smaller, start), prefix, smaller, start))
        except (NotFoundError, IntegrityError, ValueError, TypeError, UnicodeError):
            parts.extend(_parts(storage, prefix, smaller, start))  # rebuilt from what it covers
    return parts


def _pack_bytes(storage: Storage, key: str, prefix: str, size: int, first: int) -> list[bytes]:
    body = json.loads(storage.read(key))
    if not isinstance(body, dict) or (body.get("log"), body.get("first"), body.get("size")) != (
        prefix,
        first,
        size,
    ):
        raise ValueError("it belongs to another log or position")
    entries = body.get("entries")
    if not isinstance(entries, list) or len(entries) != size or not all(isinstance(e, str) for e in entries):
        raise ValueError(f"it does not hold {size} entries")
    return [e.encode() for e in entries]


def _ignore(storage: Storage, key: str, prefix: str, exc: Exception) -> None:
    warnings.warn(
        f"Ignoring the pack {key!r} in {storage.url} ({exc}); reading the entries of log "
        f"{prefix!r} it covers one by one instead.",
        MlopsKitWarning,
        stacklevel=5,
    )
