"""Local-disk operations behind :class:`FsspecStorage` for ``file://`` and plain paths.

They use ``os`` directly: fsspec's ``pipe_file(mode="create")`` is not atomic on a
local disk, and ``open(path, "xb")`` makes a file visible before its content is
written. Content is therefore written to a temporary file first and then published
with ``os.replace`` (write) or ``os.link`` (create, which fails if the name exists).
Where the filesystem has no hard links, create publishes with Linux's
``renameat2(RENAME_NOREPLACE)``, just as atomic; only where neither exists does it
write in place, and readers then skip an entry torn by a killed writer.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import itertools
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

from mlops_kit.core.errors import NotFoundError
from mlops_kit.core.storage._temporaries import (
    KEY_PREFIX,
    STAGING_DIR,
    Temporary,
    is_blob_staging,
    is_key_staging,
    last_change,
    remove_if_unchanged,
)

__all__ = ["LocalDriver"]

_STAGE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_COUNTER = itertools.count()
_NO_HARDLINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


class LocalDriver:
    """Keys as files below ``root``; temporary files start with '.' and are never keys."""

    def __init__(self, root: str, *, fsync: bool = True) -> None:
        self.root = os.path.abspath(root)
        self.fsync = fsync

    def path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def read(self, key: str) -> bytes:
        try:
            with open(self.path(key), "rb") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError(f"No such key {key!r} in {self.root}.") from None

    def write(self, key: str, data: bytes, *, sync: bool = True) -> None:
        path = self.path(key)
        tmp = self._stage(path, data, sync=sync)
        try:
            os.replace(tmp, path)
        except BaseException:
            _unlink(tmp)
            raise

    def write_hint(self, key: str, data: bytes) -> None:
        """Overwrite a value of the same size in place (one ``pwrite``, no flush); else :meth:`write`.

        A reader may see the value torn while it is overwritten: only for values that
        readers verify and re-read (log heads).
        """
        try:
            fd = os.open(self.path(key), os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        except (FileNotFoundError, NotADirectoryError):
            self.write(key, data, sync=False)
            return
        try:
            if os.fstat(fd).st_size == len(data):
                os.pwrite(fd, data, 0)
                return
        finally:
            os.close(fd)
        self.write(key, data, sync=False)

    def create(self, key: str, data: bytes) -> bool:
        path = self.path(key)
        tmp = self._stage(path, data)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_HARDLINKS:
                raise
            return _create_without_links(tmp, path, data)
        finally:
            _unlink(tmp)

    def list(self, prefix: str) -> list[str]:
        base = self.path(prefix) if prefix else self.root
        if os.path.isfile(base):
            return [prefix]
        keys: list[str] = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel = os.path.relpath(folder, self.root).replace(os.sep, "/")
            keys.extend(f if rel == "." else f"{rel}/{f}" for f in files if not f.startswith("."))
        return keys

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            os.unlink(self.path(key))

    def exists(self, key: str) -> bool:
        return os.path.isfile(self.path(key))

    def write_file(self, key: str, src: str) -> None:
        path = self.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if self.fsync:
            with open(src, "rb") as f:
                os.fsync(f.fileno())
        try:
            os.replace(src, path)  # the staging folder is on the same disk: no copy
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            shutil.copyfile(src, path)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError(f"No such key {key!r} in {self.root}.") from None

    def read_file(self, key: str, dst: str) -> None:
        try:
            shutil.copyfile(self.path(key), dst)
        except (FileNotFoundError, IsADirectoryError):
            raise NotFoundError(f"No such key {key!r} in {self.root}.") from None

    def staging_dir(self) -> str:
        return os.path.join(self.root, STAGING_DIR)

    def _stage(self, path: str, data: bytes, *, sync: bool = True) -> str:
        folder = os.path.dirname(path)
        # A unique name without mkstemp's retries and chmod: one open() in the common case.
        tmp = os.path.join(folder, f"{KEY_PREFIX}{os.getpid()}-{threading.get_ident()}-{next(_COUNTER)}")
        try:
            fd = os.open(tmp, _STAGE_FLAGS, 0o644)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, _STAGE_FLAGS, 0o644)
        except FileExistsError:  # left by a killed process whose pid was reused
            tmp = f"{tmp}-{os.urandom(6).hex()}"
            fd = os.open(tmp, _STAGE_FLAGS, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.fsync and sync:
                    f.flush()
                    os.fsync(f.fileno())
        except BaseException:
            _unlink(tmp)
            raise
        return tmp

    def temporaries(self) -> Iterator[Temporary]:
        """The staged files below the root (of keys and of blobs), dot folders included."""
        for folder, _, files in os.walk(self.root):
            rel = os.path.relpath(folder, self.root).replace(os.sep, "/")
            for name in files:
                if self._is_temporary(folder, name):
                    found = last_change(os.path.join(folder, name))
                    if found is not None:
                        yield Temporary(name if rel == "." else f"{rel}/{name}", *found)

    def remove_temporary(self, temporary: Temporary) -> bool:
        """Unlink a file :meth:`temporaries` listed, if it is one and has not changed."""
        path = os.path.normpath(os.path.join(self.root, *temporary.name.split("/")))
        folder, name = os.path.split(path)
        if os.path.commonpath([self.root, path]) != self.root or not self._is_temporary(folder, name):
            return False  # not a name we staged: never ours to remove
        return remove_if_unchanged(path, temporary.changed)

    def _is_temporary(self, folder: str, name: str) -> bool:
        if folder == self.staging_dir():
            return is_blob_staging(name, old_names=True)
        return is_key_staging(name)  # starts with '.': no key can look like one


def _create_without_links(tmp: str, path: str, data: bytes) -> bool:
    if RENAME_NOREPLACE is not None:
        try:
            RENAME_NOREPLACE(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, *_NO_HARDLINKS):
                raise
    # Last resort (neither hard links nor renameat2): a killed writer leaves a torn file,
    # which readers of logs recognise and skip.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return True


def _renameat2() -> Callable[[str, str], None] | None:
    """``renameat2(src, dst, RENAME_NOREPLACE)`` from the C library, where Linux has it."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int

    def rename_noreplace(src: str, dst: str) -> None:
        if function(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), dst)

    return rename_noreplace


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
RENAME_NOREPLACE = _renameat2()


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
