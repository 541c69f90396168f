"""Content-addressed, immutable blobs under ``blobs/sha256/<hh>/<hash>``.

Every read verifies the hash. Large blobs are streamed through a local staging file
so that they never need to live in memory twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import os
import re
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from mlops_kit.core.errors import IntegrityError, InvalidNameError, NotFoundError
from mlops_kit.core.storage._temporaries import BLOB_PREFIX, BLOB_SUFFIX

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

__all__ = ["BlobWriter", "StagedBlob", "blob_key", "sha256_file"]

_DIGEST = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


def blob_key(digest: str) -> str:
    """The storage key of the blob with sha256 hex ``digest``."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidNameError(f"Invalid blob digest {digest!r}: expected 64 lowercase hex characters.")
    return f"blobs/sha256/{digest[:2]}/{digest}"


def sha256_file(path: str) -> str:
    """The sha256 hex digest of a local file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def put_blob(storage: Storage, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    key = blob_key(digest)
    if not storage.exists(key):  # immutable by content: an existing blob is the same bytes
        storage.write(key, data)
    return digest


def get_blob(storage: Storage, digest: str) -> bytes:
    key = blob_key(digest)
    try:
        data = storage.read(key)
    except NotFoundError:
        raise NotFoundError(f"Blob {digest} is missing from {storage.url}.") from None
    _verify(storage, digest, hashlib.sha256(data).hexdigest())
    return data


class BlobWriter:
    """A write-only binary file that hashes what passes through it.

    ``digest`` is available after the ``blob_writer()`` block has exited.
    """

    def __init__(self, file: object) -> None:
        self._file = file
        self._hash = hashlib.sha256()
        self.size = 0
        self.digest = ""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Write bytes; return how many were written."""
        view = memoryview(data)
        self._hash.update(view)
        self._file.write(view)  # type: ignore[attr-defined]
        self.size += view.nbytes
        return view.nbytes

    def writable(self) -> bool:
        """Always ``True``; lets libraries that probe file objects accept it."""
        return True

    def seekable(self) -> bool:
        """Always ``False``: a blob is written front to back."""
        return False

    def tell(self) -> int:
        """The number of bytes written so far."""
        return self.size

    def flush(self) -> None:
        """Flush the staging file."""
        self._file.flush()  # type: ignore[attr-defined]

    @property
    def closed(self) -> bool:
        """Whether the staging file is closed."""
        return bool(self._file.closed)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Close the staging file and fix the digest (further writes fail)."""
        if not self.closed:
            self._file.close()  # type: ignore[attr-defined]
            self.digest = self._hash.hexdigest()


class StagedBlob:
    """A local file to fill; it becomes a blob when the ``staged_blob()`` block exits."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.digest = ""
        self.size = 0


@contextlib.contextmanager
def blob_writer(storage: Storage) -> Iterator[BlobWriter]:
    with _staging_file(storage) as tmp:
        writer = BlobWriter(open(tmp, "wb"))  # noqa: SIM115 - closed below, before publishing
        try:
            yield writer
        finally:
            writer.close()
        _publish(storage, writer.digest, tmp)


@contextlib.contextmanager
def staged_blob(storage: Storage) -> Iterator[StagedBlob]:
    with _staging_file(storage) as tmp:
        staged = StagedBlob(tmp)
        yield staged
        staged.digest, staged.size = sha256_file(tmp), os.path.getsize(tmp)
        _publish(storage, staged.digest, tmp)


@contextlib.contextmanager
def _staging_file(storage: Storage) -> Iterator[str]:
    staging = storage.staging_dir()
    if staging is not None:
        os.makedirs(staging, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=staging, prefix=BLOB_PREFIX, suffix=BLOB_SUFFIX)
    os.close(fd)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _publish(storage: Storage, digest: str, tmp: str) -> None:
    key = blob_key(digest)
    if not storage.exists(key):  # same digest, same bytes: nothing to do
        storage.write_file(key, tmp)


@contextlib.contextmanager
def open_blob(storage: Storage, digest: str) -> Iterator[BinaryIO]:
    # Hash and hand out the same open file: bytes swapped into the key after the check
    # are a different file (keys are replaced, never written in place), so they never
    # reach the caller.
    with _open(storage, digest) as file:
        actual = hashlib.file_digest(file, "sha256").hexdigest()  # type: ignore[arg-type]
        _verify(storage, digest, actual)
        file.seek(0)
        yield file


def view_blob(storage: Storage, digest: str) -> bytes | mmap.mmap:
    """A blob's bytes, verified: memory-mapped where the storage keeps it in a local file.

    Mapping spares the copy that :func:`get_blob` makes (half the cost of a verified read of
    a large local blob); the mapping is of the file opened for the check, so a key replaced
    afterwards is a different file and never shows through. Other backends get bytes.
    """
    with _open(storage, digest) as file:
        try:
            view = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # no local file, or empty
            view = None
    if view is None:
        return get_blob(storage, digest)
    _verify(storage, digest, hashlib.sha256(view).hexdigest())
    return view


def _open(storage: Storage, digest: str) -> BinaryIO:
    try:
        return storage.open(blob_key(digest))
    except NotFoundError:
        raise NotFoundError(f"Blob {digest} is missing from {storage.url}.") from None


def _verify(storage: Storage, expected: str, actual: str) -> None:
    if actual != expected:
        raise IntegrityError(
            f"Blob {expected} in {storage.url} is corrupted: its bytes hash to {actual}. "
            "The stored data was modified or truncated; restore it from a backup."
        )
