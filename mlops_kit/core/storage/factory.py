"""Pick a storage from a URL, and the default storage."""

from __future__ import annotations

import os
from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.storage._base import Storage
from mlops_kit.core.storage.fsspec_storage import FsspecStorage
from mlops_kit.core.storage.memory import MemoryStorage

__all__ = ["DEFAULT_STORAGE", "STORAGE_ENV", "resolve_storage", "storage"]

STORAGE_ENV = "MLOPS_KIT_STORAGE"
DEFAULT_STORAGE = "./.mlops"


def storage(url: str | os.PathLike[str] | Storage | None = None, **options: Any) -> Storage:
    """Return the storage for ``url``.

    Parameters
    ----------
    url : str, os.PathLike, Storage or None
        ``memory://`` gives a fresh, isolated :class:`MemoryStorage`; a path or any
        other fsspec URL (``s3://bucket/prefix``, ``gs://...``) gives an
        :class:`FsspecStorage`. ``None`` gives the default: ``$MLOPS_KIT_STORAGE``,
        else the local folder ``./.mlops``. A :class:`Storage` is returned as is.
    **options
        ``signing_key=`` and fsspec storage options (``endpoint_url=``, ...).

    Returns
    -------
    Storage

    Examples
    --------
    >>> import mlops_kit as mk
    >>> mk.storage("memory://")
    MemoryStorage('memory://<...>')
    """
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
        return MemoryStorage(signing_key=signing_key)
    return FsspecStorage(url, **options)


def resolve_storage(value: str | os.PathLike[str] | Storage | None) -> Storage:
    """The storage a block uses when given ``value`` (``None`` means the default)."""
    if value is not None and not isinstance(value, str | os.PathLike | Storage):
        raise ConfigError(f"Expected a Storage, a URL or a path for storage=, got {type(value).__name__}.")
    return storage(value)
