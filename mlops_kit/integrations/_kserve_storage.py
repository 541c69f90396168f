"""What a pod needs to open the endpoint's store: its URL and the options that are safe to write down.

Credentials never leave this process: only options on an allow-list of settings known not
to be secret (an endpoint URL, a region, ``anon``) are written; every other option is left
out, and a warning names its key (never its value) and says to put it in the Kubernetes
Secret the manifest references.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.storage import STORAGE_ENV, Storage

__all__ = ["SECRET_HINT", "StorageSettings", "storage_settings"]

# fsspec options (s3fs, gcsfs, adlfs) that configure where and how, never who.
_SAFE = frozenset(
    {"endpoint_url", "anon", "region_name", "use_ssl", "requester_pays", "project", "account_name"}
)
_SAFE_CLIENT_KWARGS = frozenset({"endpoint_url", "region_name", "verify"})

SECRET_HINT = (
    "put credentials in the Kubernetes Secret the manifest references, under the environment "
    "variables the storage backend reads (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for S3, "
    "AZURE_STORAGE_CONNECTION_STRING for Azure, MLOPS_KIT_SIGNING_KEY for signed records)"
)


class StorageSettings:
    """The store URL a pod opens (``$MLOPS_KIT_STORAGE``) and the options safe to write down."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self.url = url
        self.options = options

    def env(self) -> list[dict[str, str]]:
        return [{"name": STORAGE_ENV, "value": self.url}]


def storage_settings(store: Storage) -> StorageSettings:
    """The URL and the non-secret options of ``store``; warns about what a pod cannot see.

    Raises
    ------
    ConfigError
        If the store lives in this process's memory: no pod can open it.
    """
    from mlops_kit.core.storage.fsspec_storage import FsspecStorage, is_local_url

    url = store.url
    if url.startswith("memory://"):
        raise ConfigError(
            f"The endpoint's store is {url}, in this process's memory: a pod on the cluster cannot "
            "open it. Export from the store the cluster reads (for example --storage s3://bucket/mlops)."
        )
    if is_local_url(url):
        url = os.path.abspath(url.split("://", 1)[-1])  # a relative path means nothing in a pod
        warnings.warn(
            f"The endpoint's store {url!r} is a local folder: the pod sees it only if a volume is "
            "mounted at that path. Export from object storage (s3://, gs://, az://) for a cluster.",
            UserWarning,
            stacklevel=3,
        )
    options: dict[str, Any] = dict(getattr(store, "_options", {})) if isinstance(store, FsspecStorage) else {}
    safe, dropped = _split(options)
    if dropped:
        warnings.warn(
            f"Storage options {', '.join(sorted(dropped))} were not written (they may be credentials); "
            f"{SECRET_HINT}.",
            UserWarning,
            stacklevel=3,
        )
    return StorageSettings(url, safe)


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    safe: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in options.items():
        if key == "client_kwargs" and isinstance(value, dict):
            kept = {k: v for k, v in value.items() if k in _SAFE_CLIENT_KWARGS and _plain(v)}
            dropped += [f"client_kwargs.{k}" for k in value if k not in kept]
            if kept:
                safe[key] = kept
        elif key in _SAFE and _plain(value):
            safe[key] = value
        else:
            dropped.append(key)
    return safe, dropped


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)
