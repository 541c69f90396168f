"""Operations behind :class:`FsspecStorage` for any fsspec filesystem that is not local.

Exclusive create uses the filesystem's own atomic primitive: on S3 a conditional
PUT with ``If-None-Match: *`` (s3fs >= 2025.7 raises ``FileExistsError`` on HTTP 412),
elsewhere ``open(path, "xb")``. Listings bypass fsspec's directory cache, because
other processes write to the same prefix.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from typing import Any, BinaryIO

from mlops_kit.core.errors import NotFoundError

__all__ = ["RemoteDriver"]


class RemoteDriver:
    """Keys as objects below ``root`` on an fsspec filesystem."""

    def __init__(self, fs: Any, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
        self._conditional_put = bool({"s3", "s3a"} & set(protocols))

    def path(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else key

    def read(self, key: str) -> bytes:
        try:
            # On S3 one GET (s3fs would first ask for the size, and a miss would cost a
            # HEAD and a LIST); records are small, large values go through open().
            extra = {"max_concurrency": 1} if self._conditional_put else {}
            return bytes(self.fs.cat_file(self.path(key), **extra))
        except (FileNotFoundError, IsADirectoryError):
            raise NotFoundError(f"No such key {key!r} in {self.root}.") from None

    def write(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self.path(key), data)

    def create(self, key: str, data: bytes) -> bool:
        path = self.path(key)
        try:
            if self._conditional_put:
                self.fs.pipe_file(path, data, mode="create")
            else:
                with self.fs.open(path, "xb") as f:
                    f.write(data)
        except FileExistsError:
            return False
        finally:
            self.fs.invalidate_cache(path)
        return True

    def list(self, prefix: str) -> list[str]:
        base = self.path(prefix) if prefix else self.root
        self.fs.invalidate_cache(base)
        try:
            found = self.fs.find(base, withdirs=False)
        except FileNotFoundError:
            return []
        start = len(self.root) + 1 if self.root else 0
        keys = []
        for name in found:
            name = self.fs._strip_protocol(name)
            if name == base and prefix:
                keys.append(prefix)
            elif name.startswith(base):
                keys.append(name[start:])
        return keys

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(key))
        self.fs.invalidate_cache(self.path(key))

    def exists(self, key: str) -> bool:
        path = self.path(key)
        if self._conditional_put:  # one HEAD (isfile would also LIST on a miss)
            bucket, name, _ = self.fs.split_path(path)
            try:
                self.fs.call_s3("head_object", Bucket=bucket, Key=name)
            except FileNotFoundError:
                return False
            return True
        self.fs.invalidate_cache(path)
        try:
            return bool(self.fs.isfile(path))
        except FileNotFoundError:
            return False

    def write_file(self, key: str, src: str) -> None:
        self.fs.put_file(src, self.path(key))

    def open(self, key: str) -> BinaryIO:
        # A private, anonymous copy: re-reading the object could give other bytes.
        copy = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
        try:
            with self.fs.open(self.path(key), "rb") as src:
                shutil.copyfileobj(src, copy, 1 << 20)
        except (FileNotFoundError, IsADirectoryError):
            copy.close()
            raise NotFoundError(f"No such key {key!r} in {self.root}.") from None
        except BaseException:
            copy.close()
            raise
        copy.seek(0)
        return copy

    def read_file(self, key: str, dst: str) -> None:
        try:
            self.fs.get_file(self.path(key), dst)
        except (FileNotFoundError, IsADirectoryError):
            raise NotFoundError(f"No such key {key!r} in {self.root}.") from None
