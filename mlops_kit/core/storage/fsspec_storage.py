"""Storage on any fsspec filesystem: a local folder, S3, GCS, Azure and more."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, cast

from mlops_kit.core.errors import ConfigError, MlopsKitError, StorageError
from mlops_kit.core.extras import MissingExtraError, missing_extra
from mlops_kit.core.storage._base import Storage
from mlops_kit.core.storage._local import LocalDriver
from mlops_kit.core.storage._remote import RemoteDriver
from mlops_kit.core.storage._temporaries import Temporary

__all__ = ["FsspecStorage", "MissingExtraError", "is_local_url"]

_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}
_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs"}


def is_local_url(url: str) -> bool:
    """Whether ``url`` names a folder on the local disk (a path or ``file://``)."""
    return ("://" not in url and "::" not in url) or url.startswith(("file://", "local://"))


class FsspecStorage(Storage):
    """Storage on an fsspec filesystem, given by URL or as a filesystem object.

    Local folders are handled with ``os`` calls directly (temporary file, then an
    atomic ``os.replace`` or ``os.link``); other protocols go through fsspec, with a
    conditional PUT (``If-None-Match: *``) for exclusive create on S3. A storage
    pickles as its URL and options, so it can travel to Dask workers and
    subprocesses.

    Parameters
    ----------
    url_or_fs : str, os.PathLike or fsspec.AbstractFileSystem
        A path (``./.mlops``), a URL (``s3://bucket/prefix``), or a filesystem object.
    root : str
        With a filesystem object: the folder inside it to use.
    signing_key : str or bytes, optional
        HMAC key for records; see :class:`Storage`.
    pins : str or os.PathLike, optional
        A local file remembering how far each log went; see :class:`Storage`.
    fsync : bool
        Local disks only: flush every write to the device before publishing it.
    **storage_options
        Passed to fsspec (``endpoint_url``, ``key``, ``secret``, ...).

    Raises
    ------
    MissingExtraError
        If the protocol's package is missing; the message names the extra to install.

    Examples
    --------
    >>> import tempfile
    >>> store = FsspecStorage(tempfile.mkdtemp())
    >>> store.create("a/b", b"x"), store.create("a/b", b"y"), store.read("a/b")
    (True, False, b'x')
    """

    def __init__(
        self,
        url_or_fs: Any,
        *,
        root: str = "",
        signing_key: str | bytes | None = None,
        pins: str | os.PathLike[str] | None = None,
        fsync: bool = True,
        **storage_options: Any,
    ) -> None:
        super().__init__(signing_key=signing_key, pins=pins)
        self._fsync = fsync
        self._options = storage_options
        if isinstance(url_or_fs, str | os.PathLike):
            self._url: str | None = os.fspath(url_or_fs)
            self._fs: Any = None
            self._root = root
        else:
            if not hasattr(url_or_fs, "cat_file"):
                raise ConfigError(
                    f"FsspecStorage expects a URL, a path or an fsspec filesystem, got "
                    f"{type(url_or_fs).__name__}."
                )
            self._url, self._fs, self._root = None, url_or_fs, root
        self._driver = self._make_driver()

    def _make_driver(self) -> LocalDriver | RemoteDriver:
        if self._url is not None and is_local_url(self._url):
            path = self._url.split("://", 1)[-1]
            return LocalDriver(os.path.join(path, self._root), fsync=self._fsync)
        fs, root = self._fs, self._root
        if fs is None:
            fs, root = _url_to_fs(self._url or "", self._options)
            root = f"{root.rstrip('/')}/{self._root}" if self._root else root
        from fsspec.implementations.local import LocalFileSystem

        if isinstance(fs, LocalFileSystem):
            return LocalDriver(root or ".", fsync=self._fsync)
        return RemoteDriver(fs, root)

    @property
    def url(self) -> str:
        if self._url is not None and self._fs is None:
            return self._url if not self._root else f"{self._url.rstrip('/')}/{self._root}"
        protocol = self._fs.protocol
        protocol = protocol[0] if isinstance(protocol, tuple | list) else protocol
        return f"{protocol}://{self._root}"

    @property
    def fs(self) -> Any:
        """The fsspec filesystem behind this storage (``None`` for a local folder)."""
        return getattr(self._driver, "fs", None)

    def _read(self, key: str) -> bytes:
        return self._driver.read(key)

    def _write(self, key: str, data: bytes) -> None:
        self._driver.write(key, data)

    def _write_hint(self, key: str, data: bytes) -> None:
        if isinstance(self._driver, LocalDriver):
            self._driver.write_hint(key, data)
        else:
            self._driver.write(key, data)

    def _create(self, key: str, data: bytes) -> bool:
        return self._driver.create(key, data)

    def _list(self, prefix: str) -> list[str]:
        return self._driver.list(prefix)

    def _delete(self, key: str) -> None:
        self._driver.delete(key)

    def _exists(self, key: str) -> bool:
        return self._driver.exists(key)

    def _write_file(self, key: str, path: str) -> None:
        self._driver.write_file(key, path)

    def _read_file(self, key: str, path: str) -> None:
        self._driver.read_file(key, path)

    def _open(self, key: str) -> BinaryIO:
        return self._driver.open(key)

    def _staging_dir(self) -> str | None:
        return self._driver.staging_dir() if isinstance(self._driver, LocalDriver) else None

    def _call(self, hook: Callable[..., Any], *args: Any) -> Any:
        try:
            return super()._call(hook, *args)
        except MlopsKitError:
            raise
        except Exception as exc:  # botocore, aiohttp, ...: translated at this boundary
            raise StorageError(
                f"Storage {self.url} failed on {args[0]!r}: {type(exc).__name__}: {exc}"
            ) from exc

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if self._url is not None:
            del state["_driver"]  # travels as URL and options, rebuilt on arrival
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_driver" not in state:
            self._driver = self._make_driver()

    def _temporaries(self) -> Iterable[Temporary]:
        # Remote backends publish in one request and stage nothing in the bucket.
        return self._driver.temporaries() if isinstance(self._driver, LocalDriver) else ()

    def _remove_temporary(self, temporary: Temporary) -> bool:
        return isinstance(self._driver, LocalDriver) and self._driver.remove_temporary(temporary)


def _url_to_fs(url: str, options: dict[str, Any]) -> tuple[Any, str]:
    protocol = url.split("://", 1)[0] if "://" in url else "file"
    try:
        import fsspec.core

        return cast("tuple[Any, str]", fsspec.core.url_to_fs(url, **options))
    except ImportError as exc:
        package = _PACKAGES.get(protocol, f"the fsspec implementation for {protocol!r}")
        raise missing_extra(f"Storage {url!r}", package, _EXTRAS.get(protocol)) from exc
    except ValueError as exc:
        raise ConfigError(f"Cannot open storage {url!r}: {exc}") from exc
