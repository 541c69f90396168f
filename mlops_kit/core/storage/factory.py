"""Pick a storage from a URL, and the default storage."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import check_storage
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.storage._base import Storage
from mlops_kit.core.storage.fsspec_storage import FsspecStorage
from mlops_kit.core.storage.memory import DEFAULT_MEMORY_NAME, MemoryStorage

if TYPE_CHECKING:
    from mlops_kit.core.arguments import StorageLike

__all__ = ["DEFAULT_STORAGE", "STORAGE_ENV", "resolve_storage", "storage"]

STORAGE_ENV = "MLOPS_KIT_STORAGE"
DEFAULT_STORAGE = "./.mlops"


def storage(url: StorageLike = None, **options: Any) -> Storage:
    """Return the storage for ``url``.

    Parameters
    ----------
    url : str, os.PathLike, Storage or None
        ``memory://NAME`` gives a :class:`MemoryStorage` joined to the process's store
        called ``NAME``: every call with the same name, in any thread, sees the same
        keys, for as long as the process lives; different names never share. A bare
        ``memory://`` is short for ``memory://default``, the process's default store,
        so ``MLOPS_KIT_STORAGE=memory://`` lets a run's ``pipe.runs()`` see that run.
        For a store of your own, call ``MemoryStorage()`` (isolated per instance). A
        path or any other fsspec URL (``s3://bucket/prefix``, ``gs://...``) gives an
        :class:`FsspecStorage`. ``None`` gives the default: ``$MLOPS_KIT_STORAGE``,
        else the local folder ``./.mlops``. A :class:`Storage` is returned as is.
    **options
        ``signing_key=`` and fsspec storage options (``endpoint_url=``, ...).

    Returns
    -------
    Storage

    Raises
    ------
    ConfigError
        If ``url`` is of the wrong type or empty, or options do not apply.
    InvalidNameError
        If a ``memory://`` name breaks the name rule (``memory://a/b``).

    Examples
    --------
    >>> import mlops_kit as mk
    >>> mk.storage("memory://")
    MemoryStorage('memory://default')
    >>> mk.storage("memory://doc-a").write("k", b"1")
    >>> mk.storage("memory://doc-a").read("k"), mk.storage("memory://doc-b").exists("k")
    (b'1', False)
    """
    check_storage(url)
    if isinstance(url, Storage):
        if options:
            raise ConfigError("Options cannot be applied to an existing Storage object.")
        return url
    if url is None:
        url = os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE
    url = os.fspath(url)
    if not isinstance(url, str) or not url:
        raise ConfigError(f"Expected a storage URL or path, got {url!r}.")
    if url.startswith("memory://"):
        signing_key = options.pop("signing_key", None)
        if options:
            raise ConfigError(
                f"memory:// storage takes no options besides signing_key, got {sorted(options)}."
            )
        name = url.removeprefix("memory://").rstrip("/") or DEFAULT_MEMORY_NAME
        return MemoryStorage(name=name, signing_key=signing_key)
    return FsspecStorage(url, **options)


def resolve_storage(value: StorageLike) -> Storage:
    """The storage a block uses when given ``value`` (``None`` means the default).

    Raises
    ------
    ConfigError
        If ``value`` is not a :class:`Storage`, a URL, a path or ``None``.
    """
    return storage(check_storage(value))
