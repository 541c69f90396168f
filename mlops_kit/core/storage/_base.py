"""The :class:`Storage` contract: bytes under '/'-separated keys.

Backends implement the protected ``_`` hooks only. The public methods validate keys
and translate errors once, and everything richer (content-addressed blobs, signed
records, append-only logs) is built on top of the hooks in this package and is never
re-implemented by a backend.
"""

from __future__ import annotations

import abc
import builtins
import datetime as dt
import io
import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from mlops_kit.core.arguments import check_page, check_version
from mlops_kit.core.errors import ConfigError, MlopsKitError, NotFoundError, StorageError
from mlops_kit.core.names import check_key, check_prefix
from mlops_kit.core.storage._cache import forget
from mlops_kit.core.storage._hooks import check_result
from mlops_kit.core.storage.gc import DEFAULT_OLDER_THAN

if TYPE_CHECKING:
    from pydantic import BaseModel

    from mlops_kit.core.storage._temporaries import Temporary
    from mlops_kit.core.storage.blobs import BlobWriter, StagedBlob
    from mlops_kit.core.storage.gc import GcReport
    from mlops_kit.core.storage.logs import LogEntry
    from mlops_kit.core.storage.pins import Pins

    M = TypeVar("M", bound=BaseModel)

__all__ = ["SIGNING_KEY_ENV", "Storage"]

SIGNING_KEY_ENV = "MLOPS_KIT_SIGNING_KEY"


class Storage(abc.ABC):
    """Bytes under ``/``-separated keys; the one contract every backend honours.

    A backend subclasses ``Storage`` and implements the protected hooks below; callers
    use the public methods, which check keys (a hook only sees valid keys), translate
    errors and check what each hook returns. Everything else (blobs, records, logs) is
    built on the public methods and is never re-implemented by a backend.

    | required hook | what it must do |
    |---|---|
    | ``_read(key) -> bytes`` | return the bytes; raise ``NotFoundError`` or ``FileNotFoundError`` if absent |
    | ``_write(key, data) -> None`` | store atomically: readers see the old or the new bytes, never a mix |
    | ``_create(key, data) -> bool`` | atomic create-if-absent: ``True`` if it stored ``data``, ``False`` if the key existed; never overwrite |
    | ``_list(prefix) -> list[str]`` | the keys under ``prefix`` (``""``: all), in any order |
    | ``_delete(key) -> None`` | remove the key; absent is fine (raising ``FileNotFoundError`` is accepted) |

    Optional hooks, each with a correct default built on the required ones, to
    override for speed: ``_exists(key) -> bool`` (default: a ``_read``),
    ``_write_hint``, ``_open(key) -> BinaryIO``, ``_write_file(key, path)``,
    ``_read_file(key, path)`` and ``_staging_dir() -> str | None``. Override the
    :attr:`url` property too, so that messages say where the data lives.

    Other ``OSError`` exceptions become :class:`~mlops_kit.StorageError`. A hook that
    returns the wrong type (a ``_create`` that forgets ``return True``) raises
    :class:`~mlops_kit.StorageError` naming the hook, at the first call. Prove a backend
    with :class:`mlops_kit.testing.StorageContract`; ``docs/storage.md`` has a worked
    example.

    Parameters
    ----------
    signing_key : str or bytes, optional
        Key for HMAC-signing records. Defaults to the environment variable
        ``MLOPS_KIT_SIGNING_KEY``. With a key, a record whose signature is missing or
        does not verify raises :class:`~mlops_kit.IntegrityError`, and logs are
        tamper-evident (see ``docs/storage.md``).
    pins : str or os.PathLike, optional
        A local file in which this reader remembers how far each log went, so that a
        store rolled back to an older copy raises :class:`~mlops_kit.IntegrityError`.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> store = mk.MemoryStorage()
    >>> store.create("locks/a", b"1"), store.create("locks/a", b"2")
    (True, False)
    >>> store.read("locks/a")
    b'1'
    >>> store.list("locks")
    ['locks/a']
    """

    def __init__(
        self, *, signing_key: str | bytes | None = None, pins: str | os.PathLike[str] | None = None
    ) -> None:
        self._explicit_signing_key = _as_key(signing_key)
        self._pins_path = None if pins is None else os.fspath(pins)

    # -- the contract ---------------------------------------------------------------

    @abc.abstractmethod
    def _read(self, key: str) -> bytes:
        """Return the bytes under ``key``; raise :class:`NotFoundError` if absent."""

    @abc.abstractmethod
    def _write(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically (readers see old or new, never a mix)."""

    @abc.abstractmethod
    def _create(self, key: str, data: bytes) -> bool:
        """Atomically store ``data`` if ``key`` is absent; return ``False`` if it exists."""

    @abc.abstractmethod
    def _list(self, prefix: str) -> list[str]:
        """Return the keys under ``prefix`` (``""`` for all), in any order."""

    @abc.abstractmethod
    def _delete(self, key: str) -> None:
        """Remove ``key``; do nothing if it is absent."""

    def _exists(self, key: str) -> bool:
        """Whether ``key`` exists. Override when a cheaper check than a read exists."""
        try:
            self._read(key)
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    def _write_hint(self, key: str, data: bytes) -> None:
        """Store a small, self-verifying value; may be in place and unflushed (default ``_write``)."""
        self._write(key, data)

    def _open(self, key: str) -> BinaryIO:
        """A readable, seekable binary file of the bytes under ``key``, as they were when opened.

        The bytes must not change while the file is open, even if the key is replaced:
        blobs are verified through this file and then used from it. The default reads
        the value into memory; local backends return the file itself (a replaced key is
        a new file, the open one keeps its bytes), remote ones a private temporary copy.
        """
        return io.BytesIO(check_result(self, "_read", self._read(key)))

    def _write_file(self, key: str, path: str) -> None:
        """Store the content of the local file ``path`` under ``key``, atomically.

        The default reads the file into memory; backends that can stream override it.
        The caller deletes ``path`` afterwards unless the backend moved it.
        """
        with open(path, "rb") as f:
            self._write(key, f.read())

    def _read_file(self, key: str, path: str) -> None:
        """Copy the bytes under ``key`` into the local file ``path``."""
        with open(path, "wb") as f:
            f.write(check_result(self, "_read", self._read(key)))

    def _staging_dir(self) -> str | None:
        """A local folder for files that ``_write_file`` can move into place cheaply (``None``: any)."""
        return None

    # -- public primitives: validate once, translate errors once ------------------

    def read(self, key: str) -> bytes:
        """Return the bytes stored under ``key``.

        Raises
        ------
        NotFoundError
            If the key does not exist.
        """
        key = check_key(key)
        return cast("bytes", check_result(self, "_read", self._call(self._read, key)))

    def write(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there, atomically."""
        key = check_key(key)
        forget(self, key)
        check_result(self, "_write", self._call(self._write, key, _as_bytes(data)))

    def write_hint(self, key: str, data: bytes) -> None:
        """Store a small value that every reader verifies, as cheaply as the backend can.

        A backend may overwrite the value in place and skip flushing it to the device,
        so a reader may see it torn (half old, half new) or, after a power loss, an
        older value: only for values a reader can check and retry, such as the heads
        of logs. The default is :meth:`write`.
        """
        key = check_key(key)
        forget(self, key)
        check_result(self, "_write_hint", self._call(self._write_hint, key, _as_bytes(data)))

    def create(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key`` only if the key is absent.

        Returns
        -------
        bool
            ``True`` if this call created the key, ``False`` if it already existed
            (the existing value is left untouched).
        """
        key = check_key(key)
        return bool(check_result(self, "_create", self._call(self._create, key, _as_bytes(data))))

    def list(self, prefix: str = "") -> list[str]:
        """Return the sorted keys under ``prefix`` (a key path; ``""`` lists everything).

        ``list("a/b")`` returns ``a/b`` itself if it is a key and every key below
        ``a/b/``, but not ``a/bc``.
        """
        prefix = check_prefix(prefix)
        try:
            keys = check_result(self, "_list", self._call(self._list, prefix))
        except NotFoundError:  # a filesystem-like backend listing a folder that is not there
            return []
        if prefix:
            keys = [k for k in keys if k == prefix or k.startswith(prefix + "/")]
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Remove ``key``; deleting a missing key is not an error."""
        key = check_key(key)
        forget(self, key)
        try:
            check_result(self, "_delete", self._call(self._delete, key))
        except NotFoundError:  # FileNotFoundError included: absent is what delete wants
            pass

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""
        key = check_key(key)
        try:
            return bool(check_result(self, "_exists", self._call(self._exists, key)))
        except NotFoundError:  # FileNotFoundError included
            return False

    def open(self, key: str) -> BinaryIO:
        """A binary file of the bytes under ``key``, unchanged while open even if the key is replaced.

        Raises
        ------
        NotFoundError
            If the key does not exist.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> store = mk.MemoryStorage()
        >>> store.write("a", b"first")
        >>> with store.open("a") as f:
        ...     store.write("a", b"second")
        ...     f.read()
        b'first'
        """
        key = check_key(key)
        return cast("BinaryIO", check_result(self, "_open", self._call(self._open, key)))

    def write_file(self, key: str, path: str) -> None:
        """Store the content of the local file ``path`` under ``key`` (the file may be moved away)."""
        key = check_key(key)
        forget(self, key)
        check_result(self, "_write_file", self._call(self._write_file, key, os.fspath(path)))

    def read_file(self, key: str, path: str) -> None:
        """Copy the bytes under ``key`` into the local file ``path``, streaming where the backend can."""
        key = check_key(key)
        check_result(self, "_read_file", self._call(self._read_file, key, os.fspath(path)))

    def staging_dir(self) -> str | None:
        """A local folder where files bound for :meth:`write_file` are best made (``None``: anywhere)."""
        return cast("str | None", check_result(self, "_staging_dir", self._staging_dir()))

    @property
    def pins(self) -> Pins | None:
        """Where this reader remembers how far each log went (``pins=``), or ``None``."""
        if self._pins_path is None:
            return None
        view: Pins | None = self.__dict__.get("_pins")
        if view is None:
            from mlops_kit.core.storage.pins import Pins

            # The scope must outlive the process: not the default url, which names the instance.
            cls = type(self)
            scope = self.url if cls.url is not Storage.url else f"{cls.__module__}.{cls.__qualname__}"
            view = self.__dict__.setdefault("_pins", Pins(self._pins_path, scope))
        return view

    @property
    def url(self) -> str:
        """Where the data lives, in messages and to tell stores apart in a process.

        Backends should override it (``"mystore://bucket/root"``); the default names the
        backend's class and the instance, e.g. ``'mypackage.DictStorage at 0x7f3a...'``.
        """
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__} at {id(self):#x}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- built on top: blobs, records, logs (never overridden by backends) ----------

    @property
    def signing_key(self) -> bytes | None:
        """The HMAC key for records: the constructor's, else ``$MLOPS_KIT_SIGNING_KEY``."""
        explicit: bytes | None = getattr(self, "_explicit_signing_key", None)
        return explicit if explicit is not None else _as_key(os.environ.get(SIGNING_KEY_ENV))

    def put_blob(self, data: bytes) -> str:
        """Store immutable bytes by content; return their sha256 hex digest."""
        from mlops_kit.core.storage import blobs

        return blobs.put_blob(self, _as_bytes(data))

    def get_blob(self, digest: str) -> bytes:
        """Return the bytes of a blob, verified against ``digest``.

        Raises
        ------
        NotFoundError
            If no blob has that digest.
        IntegrityError
            If the stored bytes do not hash to ``digest``.
        """
        from mlops_kit.core.storage import blobs

        return blobs.get_blob(self, digest)

    def has_blob(self, digest: str) -> bool:
        """Whether a blob with ``digest`` is stored."""
        from mlops_kit.core.storage import blobs

        return self.exists(blobs.blob_key(digest))

    def blob_writer(self) -> AbstractContextManager[BlobWriter]:
        """Stream a large blob to storage; the digest is known when the block exits.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> store = mk.MemoryStorage()
        >>> with store.blob_writer() as w:
        ...     _ = w.write(b"hello ")
        ...     _ = w.write(b"world")
        >>> store.get_blob(w.digest)
        b'hello world'
        """
        from mlops_kit.core.storage import blobs

        return blobs.blob_writer(self)

    def staged_blob(self) -> AbstractContextManager[StagedBlob]:
        """Give a local file path to fill; it is stored as a blob when the block exits.

        For producers that write files themselves (pyarrow, numpy): no Python-level
        copy of the data, and on a local folder the file is moved into place.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> store = mk.MemoryStorage()
        >>> with store.staged_blob() as staged:
        ...     with open(staged.path, "wb") as f:
        ...         _ = f.write(b"made by a library")
        >>> store.get_blob(staged.digest)
        b'made by a library'
        """
        from mlops_kit.core.storage import blobs

        return blobs.staged_blob(self)

    def open_blob(self, digest: str) -> AbstractContextManager[BinaryIO]:
        """Yield a binary file of a blob's bytes, verified against ``digest``.

        The file is hashed and then handed out at its start: what the caller reads
        is exactly what was verified, even if the stored object is replaced meanwhile.
        A local folder yields the stored file itself (no copy); other backends a
        private temporary copy, removed when the block exits.

        Raises
        ------
        NotFoundError
            If no blob has that digest.
        IntegrityError
            If the stored bytes do not hash to ``digest``.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> store = mk.MemoryStorage()
        >>> digest = store.put_blob(b"model bytes")
        >>> with store.open_blob(digest) as f:
        ...     f.read()
        b'model bytes'
        """
        from mlops_kit.core.storage import blobs

        return blobs.open_blob(self, digest)

    def put_record(self, key: str, record: BaseModel) -> None:
        """Store a pydantic model as (optionally signed) JSON under ``key``."""
        from mlops_kit.core.storage import records

        self.write(key, records.encode(self, check_key(key), record))

    def get_record(self, key: str, model: type[M]) -> M:
        """Read and verify a record stored with :meth:`put_record` or :meth:`append`.

        Raises
        ------
        NotFoundError
            If the key does not exist.
        IntegrityError
            If the signature does not verify or the JSON is not a valid ``model``.
        """
        from mlops_kit.core.storage import records

        key = check_key(key)
        return records.decode(self, key, self.read(key), model)

    def append(self, prefix: str, record: BaseModel | Callable[[int], BaseModel]) -> int:
        """Append a record to the log under ``prefix``; return its sequence number.

        Sequence numbers start at 1 and have no gaps. Concurrent writers never lose
        or overwrite each other: the next number is taken with :meth:`create` and
        the append retries on conflict. Pass a callable ``seq -> record`` when the
        record must contain its own sequence number.
        """
        from mlops_kit.core.storage import logs

        return logs.append(self, check_key(prefix), record)

    def read_log(
        self,
        prefix: str,
        model: type[M],
        *,
        after: int = 0,
        upto: int | None = None,
        limit: int | None = None,
    ) -> builtins.list[LogEntry[M]]:
        """Return the log under ``prefix`` in order, as ``LogEntry(seq, record)`` items.

        Only entries after ``after`` and up to ``upto``, at most ``limit`` of them: a
        page costs requests for what it returns, not for the length of the log. Long
        logs are read from packs of entries (a few requests for thousands of entries),
        and entries are immutable, so each one is read from storage once per process.
        """
        from mlops_kit.core.storage import logs

        limit, after = check_page(limit, after)
        if upto is not None and (isinstance(upto, bool) or not isinstance(upto, int) or upto < 0):
            raise ConfigError(f"upto= must be an entry number of 0 or more, or None, got {upto!r}.")
        return logs.read_log(self, check_key(prefix), model, after=after, upto=upto, limit=limit)

    def read_entry(self, prefix: str, seq: int, model: type[M]) -> M:
        """Return entry ``seq`` of the log under ``prefix``.

        Raises
        ------
        NotFoundError
            If the log has no such entry.
        InvalidNameError
            If ``seq`` is not a positive integer.
        """
        from mlops_kit.core.storage import logs

        seq = check_version(seq, "log sequence number")
        return logs.read_entry(self, check_key(prefix), seq, model)

    # -- internals ---------------------------------------------------------------

    def _call(self, hook: Callable[..., Any], *args: Any) -> Any:
        try:
            return hook(*args)
        except MlopsKitError:
            raise
        except FileNotFoundError as exc:
            raise NotFoundError(f"No such key {args[0]!r} in {self.url}.") from exc
        except OSError as exc:
            raise StorageError(f"Storage {self.url} failed on {args[0]!r}: {exc}") from exc

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_pins", None)  # rebuilt on arrival
        return state

    # -- housekeeping ------------------------------------------------------------

    def gc(self, older_than: dt.timedelta = DEFAULT_OLDER_THAN, *, dry_run: bool = False) -> GcReport:
        """Remove the temporary files that killed writers left behind.

        Writes are staged in temporary files (never listed as keys) and published in
        one atomic step; a writer killed in between leaves its file behind. ``gc``
        removes those unchanged for longer than ``older_than``. A live writer keeps
        changing its file, so gc never takes one from under a writer that is still
        writing, and it never removes or changes a key. Safe to run at any time, from
        any number of processes.

        A local folder's temporaries are below its root; S3 publishes with a single
        PUT and leaves nothing in the bucket. Storages that are not a local folder
        stage blobs in the system temp folder, so their gc also removes this
        library's staging files there (``mlops-kit-blob-*.tmp`` of the current user).

        Parameters
        ----------
        older_than : datetime.timedelta
            Only files unchanged for longer than this are removed; make it longer than
            the longest pause of your slowest writer. ``timedelta(0)`` takes every
            temporary file: use it only when no writer is running (for a storage that
            stages in the system temp folder: no writer of this user on this machine).
        dry_run : bool
            Report what would be removed, and remove nothing.

        Returns
        -------
        GcReport
            The files removed (or that would be), the bytes freed, and how many young
            temporary files were kept.

        Raises
        ------
        ConfigError
            If ``older_than`` is not a non-negative ``datetime.timedelta``.
        StorageError
            If the storage cannot be walked or a file cannot be removed.

        Examples
        --------
        >>> import datetime as dt, tempfile
        >>> import mlops_kit as mk
        >>> store = mk.FsspecStorage(tempfile.mkdtemp())
        >>> store.write("a/b", b"kept")
        >>> store.gc(older_than=dt.timedelta(hours=1))
        GcReport(removed=(), bytes_freed=0, kept=0, older_than=datetime.timedelta(seconds=3600), dry_run=False)
        >>> store.list()
        ['a/b']
        """
        from mlops_kit.core.storage import gc

        return gc.collect(self, older_than, dry_run=dry_run)

    def _temporaries(self) -> Iterable[Temporary]:
        """Optional hook: the temporary files this backend staged (for :meth:`gc`).

        A backend that stages writes in files of its own yields one
        :class:`~mlops_kit.core.storage._temporaries.Temporary` per file, with the time
        of its last change. The default has none.
        """
        return ()

    def _remove_temporary(self, temporary: Temporary) -> bool:
        """Optional hook: remove a file listed by :meth:`_temporaries` if it is unchanged.

        Return whether it was removed (``False`` if it is gone or changed since it was
        listed: a writer is still at work).
        """
        return False


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"Storage values must be bytes, got {type(data).__name__}.")


def _as_key(key: str | bytes | None) -> bytes | None:
    if key is None or key == "" or key == b"":
        return None
    return key.encode() if isinstance(key, str) else bytes(key)
