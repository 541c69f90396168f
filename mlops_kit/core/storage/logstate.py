"""One log-backed state: a fold over an append-only log, caught up incrementally.

Every block keeps its current state as a fold over a log: a model's aliases over its
events, an endpoint's routing over its deployment events, a dataset's versions, a
pipeline's runs. :class:`LogState` is that fold, written once:

- it catches up by reading entry ``tail + 1`` until it is missing (logs have no gaps),
  one failed read when nothing changed, instead of listing a prefix that grows;
- with a signing key it checks each new entry's link to the one before (the hash
  chain) and, once caught up, the signed head, so deleted entries are evident;
- :meth:`LogState.append` builds the next entry from the state just before its own
  position; after losing a race it catches up and builds again, so checks such as
  "the alias points at version 3" are exact with concurrent writers on many machines;
- optionally it starts from a *snapshot*, the fold at some position written every
  ``snapshot_every`` entries, so a new process reads only the entries after it. A
  snapshot is only a shortcut: one that is missing, unreadable or does not verify is
  a cache miss (a warning), and the fold starts from the first entry. Failing to write
  one is a warning too: the entry it follows is already in the log.

One state exists per (storage object, log, fold) in a process, shared by every block
object over that storage (see :meth:`LogState.shared`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from mlops_kit.core.errors import MlopsKitError, MlopsKitWarning, NotFoundError, StorageError
from mlops_kit.core.record import Record
from mlops_kit.core.storage import logs
from mlops_kit.core.storage._cache import cache_of

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

S = TypeVar("S")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

__all__ = ["Fold", "LogState"]


@dataclass(frozen=True)
class Fold(Generic[S, M]):
    """How a state is built from a log: a start, a step, and optionally a snapshot form.

    ``apply(state, seq, record)`` returns the state after entry ``seq`` (it may change
    ``state`` in place and return it). ``dump``/``load`` turn a state into JSON-able data
    and back, for snapshots; without them no snapshot is kept.
    """

    name: str
    model: type[M]
    initial: Callable[[], S]
    apply: Callable[[S, int, M], S]
    dump: Callable[[S], Any] | None = None
    load: Callable[[Any], S] | None = None


class _Snapshot(Record):
    """The fold of a log up to entry ``tail`` (whose digest is ``digest``)."""

    fold: str
    tail: int
    digest: str | None = None
    state: Any = None


class LogState(Generic[S, M]):
    """The current state of one log, kept up to date incrementally; safe across threads.

    Parameters
    ----------
    storage : Storage
        Where the log lives.
    prefix : str
        The log's prefix (``models/churn/events``).
    fold : Fold
        How entries build the state.
    snapshot_key : str, optional
        Where to keep a snapshot (needs ``fold.dump`` and ``fold.load``).
    snapshot_every : int
        Write a snapshot after every entry whose number is a multiple of this.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> from mlops_kit.core.record import Record
    >>> class Added(Record):
    ...     amount: int
    >>> total = Fold("total", Added, initial=lambda: 0, apply=lambda s, seq, e: s + e.amount)
    >>> store = mk.MemoryStorage()
    >>> state = LogState.shared(store, "counters/a", total)
    >>> for n in (1, 2, 3):
    ...     _ = state.append(lambda current: Added(amount=n))
    >>> state.read(lambda s: s), LogState(store, "counters/a", total).read(lambda s: s)
    (6, 6)
    """

    def __init__(
        self,
        storage: Storage,
        prefix: str,
        fold: Fold[S, M],
        *,
        snapshot_key: str | None = None,
        snapshot_every: int = 10,
    ) -> None:
        self.storage = storage
        self.prefix = prefix
        self.fold = fold
        self.snapshot_key = snapshot_key if fold.dump is not None and fold.load is not None else None
        self.snapshot_every = snapshot_every
        self._lock = threading.RLock()
        self._started = False
        self._unverified = False  # a snapshot was loaded and its position not yet checked
        self._state: S = fold.initial()
        self._tail = 0
        self._digest: str | None = None

    @classmethod
    def shared(
        cls,
        storage: Storage,
        prefix: str,
        fold: Fold[S, M],
        *,
        snapshot_key: str | None = None,
        snapshot_every: int = 10,
    ) -> LogState[S, M]:
        """The one state of this log and fold for ``storage`` in this process."""
        cache = cache_of(storage)
        key = (prefix, fold.name)
        state = cache.states.get(key)
        if state is None:
            with cache.lock:
                state = cache.states.get(key)
                if state is None:
                    state = cls(
                        storage, prefix, fold, snapshot_key=snapshot_key, snapshot_every=snapshot_every
                    )
                    cache.states[key] = state
        return state

    @property
    def tail(self) -> int:
        """The number of the last entry folded in (after the last :meth:`read`)."""
        return self._tail

    def read(self, fn: Callable[[S], T]) -> T:
        """Catch up with the log, then return ``fn(state)``.

        ``fn`` runs under the lock, so it sees one consistent state; it must not keep
        references to the state's mutable parts.
        """
        with self._lock:
            self._catch_up()
            return fn(self._state)

    def append(self, build: Callable[[S], M | None]) -> tuple[int, M] | None:
        """Append ``build(state)`` as the next entry; return ``(seq, record)``.

        ``build`` sees the state just before the entry's own position and may raise to
        refuse, or return ``None`` to append nothing (then ``None`` is returned). After
        losing a race for the number it is called again on the caught-up state.
        """
        with self._lock:
            while True:
                self._catch_up()
                record = build(self._state)
                if record is None:
                    return None
                seq = self._tail + 1
                digest = logs.try_append(self.storage, self.prefix, seq, record, prev=self._digest)
                if digest is not None:
                    break
            self._state = self.fold.apply(self._state, seq, record)
            self._tail, self._digest = seq, digest
            if self.snapshot_key is not None and seq % self.snapshot_every == 0:
                self._write_snapshot()
            return seq, record

    def write_snapshot(self) -> None:
        """Catch up, then write the snapshot now (for a log appended to without :meth:`append`)."""
        with self._lock:
            self._catch_up()
            if self.snapshot_key is not None:
                self._write_snapshot()

    # -- internals ---------------------------------------------------------------

    def _catch_up(self) -> None:
        if not self._started:
            self._start()
        state, tail, digest = self._state, self._tail, self._digest
        while True:
            for entry in logs.iter_raw(self.storage, self.prefix, tail):
                logs.check_link(self.storage, self.prefix, entry, digest)
                record = logs.parse(self.storage, self.prefix, entry, self.fold.model)
                if record is not None:
                    state = self.fold.apply(state, entry.seq, record)
                tail, digest = entry.seq, entry.digest
            if self._unverified and tail == self._tail and not self._snapshot_holds():
                state, tail, digest = self._state, self._tail, self._digest  # from the first entry
                continue
            self._unverified = False
            if logs.check_end(
                self.storage, self.prefix, tail, logs.digests_ending(self.storage, self.prefix, tail, digest)
            ):
                break
        # Only once caught up and checked: a failed read leaves nothing half-done.
        self._state, self._tail, self._digest = state, tail, digest

    def _start(self) -> None:
        self._started = True
        if self.snapshot_key is None:
            return
        try:
            snapshot = self.storage.get_record(self.snapshot_key, _Snapshot)
            if snapshot.fold != self.fold.name:
                raise ValueError(f"it is a snapshot of {snapshot.fold!r}, not {self.fold.name!r}")
            assert self.fold.load is not None
            state = self.fold.load(snapshot.state)
        except NotFoundError:
            return
        except StorageError:
            raise  # the storage failed: a fold from the first entry would fail the same way
        except (MlopsKitError, ValueError, TypeError, KeyError) as exc:
            warnings.warn(
                f"Ignoring the snapshot {self.snapshot_key!r} in {self.storage.url} ({exc}); "
                f"reading log {self.prefix!r} from its first entry instead. The next snapshot "
                "written replaces it.",
                MlopsKitWarning,
                stacklevel=4,
            )
            return
        self._state, self._tail, self._digest = state, snapshot.tail, snapshot.digest
        self._unverified = True

    def _snapshot_holds(self) -> bool:
        """Whether the log holds the snapshot's position: the entry at its tail, with its digest.

        Checked when no entry follows the snapshot (an entry that does shows the log reaches
        past it, and with signing its link checks the position). A snapshot of a log
        truncated or replaced since would show entries the log lost: it is dropped.
        """
        self._unverified = False
        if logs.digest_of(self.storage, self.prefix, self._tail) == self._digest:
            return True
        warnings.warn(
            f"Ignoring the snapshot {self.snapshot_key!r} in {self.storage.url}: log {self.prefix!r} "
            f"does not hold its entry {self._tail} (the log was truncated or replaced since); reading "
            "the log from its first entry instead. The next snapshot written replaces it.",
            MlopsKitWarning,
            stacklevel=4,
        )
        self._state, self._tail, self._digest = self.fold.initial(), 0, None
        return False

    def _write_snapshot(self) -> None:
        assert self.fold.dump is not None and self.snapshot_key is not None
        snapshot = _Snapshot(
            fold=self.fold.name, tail=self._tail, digest=self._digest, state=self.fold.dump(self._state)
        )
        try:
            self.storage.put_record(self.snapshot_key, snapshot)
        except MlopsKitError as exc:
            warnings.warn(
                f"Could not write the snapshot {self.snapshot_key!r} in {self.storage.url} ({exc}). "
                "Nothing is lost: the log holds every entry, and new readers fold it from an "
                "older snapshot or from the start.",
                MlopsKitWarning,
                stacklevel=4,
            )
