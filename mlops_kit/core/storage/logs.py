"""Append-only logs: the one concurrency primitive.

An entry is a record under ``<prefix>/<seq:012d>.json``. The next sequence number is
taken with :meth:`Storage.create`, which is atomic on every backend, so concurrent
appenders never lose or overwrite each other; the loser of a race moves on to the
next number. Entries are immutable, which lets readers cache them forever.

Each log also has a *head*, ``<prefix>/head.json``: the number and digest of the newest
entry its last appender wrote. Unsigned, it is a hint that lets a new process find the
end of a long log in a few reads instead of a listing. With a signing key the log is
tamper-evident: every entry's signature covers its key (so its number) and the digest
of the entry before it (a hash chain), and the signed head records how long the log
is, so an entry deleted from the middle or the end is an :class:`IntegrityError`.
See ``docs/storage.md`` for what this does and does not detect.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar, cast

from pydantic import BaseModel

from mlops_kit.core.errors import (
    ConfigError,
    ConflictError,
    IntegrityError,
    MlopsKitError,
    MlopsKitWarning,
    NotFoundError,
)
from mlops_kit.core.record import Record
from mlops_kit.core.storage import logpacks, records
from mlops_kit.core.storage._cache import cache_of
from mlops_kit.core.storage.logpacks import RawEntry, entry_key

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "LogEntry",
    "LogHead",
    "RawEntry",
    "append",
    "check_end",
    "check_link",
    "digest_of",
    "digests_ending",
    "entry_key",
    "head_key",
    "iter_raw",
    "last_seq",
    "load_entry",
    "log_owners",
    "parse",
    "read_entry",
    "read_log",
    "seen_seq",
    "try_append",
]

_WIDTH = 12
_MAX_ATTEMPTS = 100_000
_PROBES = 16  # failed appends in a row before listing the log to jump ahead
HEAD = "head.json"
_HEAD_SIZE = 512  # bytes: every head of a log has this size (JSON, padded with spaces)
_HEAD_READS = 3


class LogEntry(NamedTuple, Generic[M]):
    """One entry of an append-only log."""

    seq: int
    record: M


class LogHead(Record):
    """The newest entry of a log as its last appender saw it: number and sha256 of its bytes."""

    seq: int
    digest: str | None = None


def head_key(prefix: str) -> str:
    """The key of the head of the log under ``prefix``."""
    return f"{prefix}/{HEAD}"


def _seq_of(prefix: str, key: str) -> int | None:
    name = key[len(prefix) + 1 :]
    if len(name) == _WIDTH + 5 and name.endswith(".json") and name[:_WIDTH].isdigit():
        return int(name[:_WIDTH])
    return None  # something else lives under the prefix; not part of the log


def _listed_seqs(storage: Storage, prefix: str) -> list[int]:
    return sorted(s for k in storage.list(prefix) if (s := _seq_of(prefix, k)) is not None)


# -- reading ----------------------------------------------------------------------


def load_entry(storage: Storage, prefix: str, seq: int) -> RawEntry | None:
    """Entry ``seq`` as stored, verified on its own (signature); ``None`` if it does not exist."""
    key = entry_key(prefix, seq)
    try:
        raw = storage.read(key)
    except NotFoundError:
        return None
    digest = records.digest(raw)
    try:
        envelope: records.Envelope | None = records.open_envelope(storage, key, raw)
    except records.TornRecordError:
        envelope = None
    return RawEntry(seq, digest, envelope)


def read_entry(storage: Storage, prefix: str, seq: int, model: type[M]) -> M:
    """Entry ``seq`` as a ``model`` (read and parsed once per process)."""
    key = entry_key(prefix, seq)
    cache = cache_of(storage)
    value = cache.get(key, model)
    if value is not None:
        return cast("M", value)
    raw = storage.read(key)
    value = records.decode(storage, key, raw, model)
    cache.put(key, model, value, records.digest(raw))
    return value


def parse(storage: Storage, prefix: str, entry: RawEntry, model: type[M]) -> M | None:
    """The record of a loaded entry (cached); ``None`` for a torn entry, with a warning."""
    key = entry_key(prefix, entry.seq)
    if entry.envelope is None:
        warnings.warn(
            f"Skipping torn entry {key!r} in {storage.url}: a writer was killed while writing it "
            "(a filesystem without atomic create). It holds no record; the log goes on after it.",
            MlopsKitWarning,
            stacklevel=3,
        )
        return None
    cache = cache_of(storage)
    value = cache.get(key, model)
    if value is None:
        value = records.validate(storage, key, entry.envelope, model)
        cache.put(key, model, value, entry.digest)
    return cast("M | None", value)


def check_link(storage: Storage, prefix: str, entry: RawEntry, prev_digest: str | None) -> None:
    """With a signing key: ``entry`` must follow the entry whose digest is ``prev_digest``."""
    if storage.signing_key is None or entry.envelope is None or not entry.envelope.linked:
        return  # unsigned, torn (its successor's link covers it), or written by mlops_kit 0.1
    if entry.envelope.prev != prev_digest:
        raise IntegrityError(
            f"Entry {entry.seq} of log {prefix!r} in {storage.url} does not follow entry "
            f"{entry.seq - 1} (broken hash chain): an entry was replaced by one from another "
            "history, or re-ordered. Restore the log from a backup."
        )


def read_log(
    storage: Storage,
    prefix: str,
    model: type[M],
    *,
    after: int = 0,
    upto: int | None = None,
    limit: int | None = None,
) -> list[LogEntry[M]]:
    """The entries after ``after``, in order: up to entry ``upto``, at most ``limit`` records.

    Reads packs where they exist (see :mod:`~mlops_kit.core.storage.logpacks`), so a
    long log costs a few reads, and never lists the log. Read to its end, the log must
    agree with its head: a gap (an entry deleted before the head's) or, with a signing
    key, a broken link or a shortened log raises :class:`IntegrityError`.
    """
    signed = storage.signing_key is not None
    prev = digest_of(storage, prefix, after) if signed and after > 0 else None
    entries: list[LogEntry[M]] = []
    cache = cache_of(storage)
    seq = after + 1
    bound = _Bound(storage, prefix)
    stored = after  # the newest entry seen in the storage itself (not only in the cache)
    while True:
        while (upto is None or seq <= upto) and (limit is None or len(entries) < limit):
            key = entry_key(prefix, seq)
            cached, known = cache.get(key, model), cache.digests.get(key)
            if cached is not None and known is not None:  # read, verified and parsed before
                prev = known
                entries.append(LogEntry(seq, cached))
                seq += 1
                continue
            stop = bound.at(seq, upto if limit is None else _stop(seq, limit - len(entries), upto))
            block = _block(storage, prefix, seq, stop)
            if not block:
                break
            stored = block[-1].seq
            for entry in block:
                check_link(storage, prefix, entry, prev)
                prev = entry.digest
                record = parse(storage, prefix, entry, model)
                if record is not None:
                    entries.append(LogEntry(entry.seq, record))
                seq = entry.seq + 1
                if limit is not None and len(entries) >= limit:
                    break
        if (upto is not None and seq > upto) or (limit is not None and len(entries) >= limit):
            return entries  # stopped before the end: each entry and link is checked, the end is not
        last, tail_digest = seq - 1, prev
        if last > stored and not storage.exists(entry_key(prefix, last)):
            raise IntegrityError(
                f"Log {prefix!r} in {storage.url} no longer has entry {last}, which this reader read "
                "before: the store was rolled back to an older copy, or entries were deleted."
            )
        if last == after and after > cache.tails.get(prefix, 0):  # read nothing: is ``after`` in the log?
            last = min(after, last_seq(storage, prefix))
            tail_digest = digest_of(storage, prefix, last)
        if check_end(
            storage,
            prefix,
            last,
            digests_ending(storage, prefix, last, tail_digest),
            gaps=True,
            hint=bound.head,
        ):
            return entries
        # Entries were appended while reading: go on from where the reading stopped.


def iter_raw(storage: Storage, prefix: str, after: int) -> Iterator[RawEntry]:
    """The stored entries after ``after`` (which the log holds) to its end, from packs where they exist."""
    seq, bound = after + 1, _Bound(storage, prefix, exists=after)
    while block := _block(storage, prefix, seq, bound.at(seq, None)):
        yield from block
        seq = block[-1].seq + 1


class _Bound:
    """How far a log is known to reach, so that no read asks for a pack past its end.

    Known from this process's cache, else from the head (one read); read again from the
    head after every 16 entries read one by one past it (another process appended).
    """

    def __init__(self, storage: Storage, prefix: str, *, exists: int = 0) -> None:
        self.storage, self.prefix = storage, prefix
        known = cache_of(storage).tails.get(prefix)
        self.known = max(known or 0, exists) if exists else known
        self.head: LogHead | None = None  # the head, if read

    def at(self, seq: int, stop: int | None) -> int:
        if self.known is None or seq > self.known + logpacks.SIZES[0]:
            self.head = head = _hint(self.storage, self.prefix)
            self.known = max(self.known or 0, head.seq if head is not None else 0, seq - 1)
        return self.known if stop is None else min(stop, self.known)


def digests_ending(
    storage: Storage, prefix: str, last: int, digest: str | None
) -> Callable[[int], str | None]:
    """Entry digests by number, for :func:`check_end`: ``digest`` is entry ``last``'s, just read."""
    return lambda seq: digest if seq == last else digest_of(storage, prefix, seq)


def _block(storage: Storage, prefix: str, seq: int, stop: int | None) -> list[RawEntry]:
    """Entries from ``seq`` on: the largest pack that starts there (and ends by ``stop``), or one entry."""
    for size in logpacks.aligned_size(seq, stop):
        pack = logpacks.load_pack(storage, prefix, size, seq)
        if pack is not None:
            return pack
    entry = load_entry(storage, prefix, seq)
    return [entry] if entry is not None else []


def _stop(seq: int, wanted: int, upto: int | None) -> int:
    # A pack may overshoot what a page needs by less than its smallest size.
    stop = seq + wanted - 1 + logpacks.SIZES[0] - 1
    return stop if upto is None else min(stop, upto)


def digest_of(storage: Storage, prefix: str, seq: int) -> str | None:
    if seq == 0:
        return None
    key = entry_key(prefix, seq)
    known = cache_of(storage).digests.get(key)
    if known is not None:
        return known
    try:
        return records.digest(storage.read(key))
    except NotFoundError:
        return None


def check_end(
    storage: Storage,
    prefix: str,
    last: int,
    digest_of: Callable[[int], str | None],
    *,
    gaps: bool = False,
    hint: LogHead | None = None,
) -> bool:
    """Whether a reading that found entries up to ``last`` reached the end of the log.

    ``False`` means entries were appended meanwhile (the head is ahead, and so is the
    log): read on from ``last``. With a signing key, the log must agree with its signed
    head, which may lag behind the log (an appender stopped between its entry and its
    head), never run ahead of it; with ``gaps``, an unsigned log's head is checked too,
    so an entry deleted from the middle is an :class:`IntegrityError` (not the end);
    ``hint`` is that head if the reader has just read it.
    This process remembers the highest entry it has seen in each log, so a store rolled
    back under a running reader is detected as well.
    """
    cache = cache_of(storage)
    signed = storage.signing_key is not None
    if signed or gaps:
        if signed:
            head = _read_head(storage, prefix)
        else:
            head = hint if hint is not None and hint.seq <= last else _hint(storage, prefix)
        if head is None:
            newest = load_entry(storage, prefix, last) if signed and last else None
            if newest is not None and newest.envelope is not None and newest.envelope.linked:
                raise IntegrityError(
                    f"Log {prefix!r} in {storage.url} has {last} entries but no signed head: the head "
                    "was deleted, perhaps with the newest entries. Restore the log from a backup."
                )
        elif head.seq > last:
            if storage.exists(entry_key(prefix, last + 1)):
                return False  # appended while this reader read
            if signed:
                raise IntegrityError(
                    f"Log {prefix!r} in {storage.url} ends at entry {last}, but its signed head records "
                    f"entry {head.seq}: entries are missing (deleted, or the log was truncated or "
                    "replaced). Restore the log from a backup."
                )
            if storage.exists(entry_key(prefix, head.seq)):
                raise IntegrityError(
                    f"Log {prefix!r} in {storage.url} is missing entry {last + 1} (it has entries up "
                    f"to {head.seq}): entries were deleted. Restore the log from a backup."
                )
        elif signed and head.seq and digest_of(head.seq) != head.digest:
            raise IntegrityError(
                f"Log {prefix!r} in {storage.url} ends at entry {last}, but its signed head records "
                f"another entry {head.seq}: the log was truncated or replaced. Restore it from a backup."
            )
    if signed:
        seen = max(cache.tails.get(prefix, 0), storage.pins.get(prefix) if storage.pins else 0)
        if last < seen:
            raise IntegrityError(
                f"Log {prefix!r} in {storage.url} ends at entry {last}, but this reader has seen entry "
                f"{seen}: the store was rolled back to an older copy, or entries were deleted."
            )
    cache.saw(prefix, last)
    if signed and storage.pins is not None:
        storage.pins.raise_to(prefix, last)
    return True


def _hint(storage: Storage, prefix: str) -> LogHead | None:
    """An unsigned log's head, or ``None`` when it is missing or unreadable (it is only a hint)."""
    try:
        return _read_head(storage, prefix)
    except (IntegrityError, ConfigError):
        return None


def _encode_head(storage: Storage, prefix: str, head: LogHead) -> bytes:
    # Padded to one size, so that the next head can overwrite it in place (write_hint).
    raw = records.encode(storage, head_key(prefix), head)
    return raw + b" " * (_HEAD_SIZE - len(raw)) if len(raw) < _HEAD_SIZE else raw


def _read_head(storage: Storage, prefix: str) -> LogHead | None:
    for attempt in range(_HEAD_READS):
        try:
            return storage.get_record(head_key(prefix), LogHead)
        except NotFoundError:
            return None
        except IntegrityError:
            # Heads are overwritten in place: a read racing a write can see a torn value.
            if attempt == _HEAD_READS - 1:
                raise
            time.sleep(0.001 * (attempt + 1))
    return None  # pragma: no cover - the loop returns or raises


def last_seq(storage: Storage, prefix: str) -> int:
    """The number of the newest entry (0 for an empty log): cached, else from the head, else listed."""
    cache = cache_of(storage)
    seq = cache.tails.get(prefix)
    if seq is None:
        seq = _from_head(storage, prefix)
    probes = 0
    while storage.exists(entry_key(prefix, seq + 1)):  # the head or the cache may lag: probe past it
        seq += 1
        probes += 1
        if probes == _PROBES:  # far behind: jump to the head (or the listing) instead
            seq, probes = max(seq, _from_head(storage, prefix)), 0
    cache.saw(prefix, seq)
    return seq


def seen_seq(storage: Storage, prefix: str) -> int:
    """The newest entry number this process has appended or read (0 if none), without a request.

    A lower bound of :func:`last_seq`: the log holds at least that entry.
    """
    return cache_of(storage).tails.get(prefix) or 0


def _from_head(storage: Storage, prefix: str) -> int:
    head = _hint(storage, prefix)  # a bad head is only a missed shortcut here; readers verify it
    if head is not None and (head.seq == 0 or storage.exists(entry_key(prefix, head.seq))):
        return head.seq
    if head is None and not storage.exists(entry_key(prefix, 1)):
        return 0  # no head and no first entry: an empty log (a listing would cost a LIST per read)
    seqs = _listed_seqs(storage, prefix)  # no usable head (a log written by mlops_kit 0.1)
    return seqs[-1] if seqs else 0


# -- appending --------------------------------------------------------------------


def try_append(
    storage: Storage, prefix: str, seq: int, record: BaseModel, prev: str | None = None
) -> str | None:
    """Create entry ``seq`` and return its digest; ``None`` if it exists. ``prev``: entry ``seq - 1``'s digest.

    With a signing key, the entry links to its predecessor (``prev`` is looked up if not
    given) and the head is written after it.
    """
    signed = storage.signing_key is not None
    if signed:
        if seq > 1 and prev is None:
            prev = digest_of(storage, prefix, seq - 1)
        _ensure_head(storage, prefix, seq - 1, prev)
    key = entry_key(prefix, seq)
    raw = records.encode(storage, key, record, prev=prev if signed else None)
    if not storage.create(key, raw):
        return None
    digest = records.digest(raw)
    cache = cache_of(storage)
    cache.put(key, type(record), record, digest)
    cache.saw(prefix, seq)
    try:
        storage.write_hint(head_key(prefix), _encode_head(storage, prefix, LogHead(seq=seq, digest=digest)))
        if signed and storage.pins is not None:
            storage.pins.raise_to(prefix, seq)
    except MlopsKitError as exc:  # the entry is in; a lagging head is allowed
        warnings.warn(
            f"Appended entry {seq} to log {prefix!r} in {storage.url}, but could not update its head: {exc}",
            MlopsKitWarning,
            stacklevel=3,
        )
    logpacks.write_packs(storage, prefix, seq, raw)
    return digest


def _ensure_head(storage: Storage, prefix: str, tail: int, digest: str | None) -> None:
    """Before a signed log's first linked entry: a head must exist, so that deleting it is evident."""
    cache = cache_of(storage)
    if prefix in cache.heads_checked:
        return
    head = LogHead(seq=tail, digest=digest)
    storage.create(head_key(prefix), _encode_head(storage, prefix, head))  # never lowers an existing head
    cache.heads_checked.add(prefix)


def append(storage: Storage, prefix: str, record: BaseModel | Callable[[int], BaseModel]) -> int:
    """Append ``record`` (or ``record(seq)``) at the next free number; return the number."""
    seq = last_seq(storage, prefix) + 1
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        value = record(seq) if callable(record) else record
        if try_append(storage, prefix, seq, value) is not None:
            return seq
        # Lost the race for this number. Entry `seq` exists, so trying `seq + 1` cannot
        # leave a gap and costs one conditional write; after a long run of losses, jump
        # to the head (the newest entry another appender wrote).
        if attempt % _PROBES:
            seq += 1
        else:
            seq = max(seq, _from_head(storage, prefix)) + 1
    raise ConflictError(f"Could not append to log {prefix!r} in {storage.url}: too much contention.")


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


def read_page(
    storage: Storage,
    prefix: str,
    model: type[M],
    *,
    limit: int | None,
    offset: int,
    newest_first: bool,
    last: int | None = None,
) -> list[LogEntry[M]]:
    """A page of a log: ``limit`` entries after skipping ``offset``, from either end.

    Newest first, the page is found from the log's last number (``last``, if the caller
    knows it, else :func:`last_seq`), so it costs requests for the page alone.
    """
    if not newest_first:
        return storage.read_log(prefix, model, after=offset, limit=limit)
    upto = max(0, (last_seq(storage, prefix) if last is None else last) - offset)
    after = 0 if limit is None else max(0, upto - limit)
    return storage.read_log(prefix, model, after=after, upto=upto)[::-1]


def read_named_page(
    storage: Storage,
    prefix: str,
    model: type[M],
    *,
    limit: int | None,
    offset: int,
    newest_first: bool,
    missing: str,
) -> list[LogEntry[M]]:
    """:func:`read_page` of a named thing's log; ``NotFoundError(missing)`` if it has no entry.

    A page past the end of an existing log is empty, not an error.
    """
    from mlops_kit.core.arguments import check_page

    limit, offset = check_page(limit, offset)
    page = read_page(storage, prefix, model, limit=limit, offset=offset, newest_first=newest_first)
    if not page and (offset == 0 or last_seq(storage, prefix) == 0):
        raise NotFoundError(missing)
    return page
