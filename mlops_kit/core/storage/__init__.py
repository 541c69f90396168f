"""Storage: the small bytes contract and what is built on it (blobs, records, logs)."""

from mlops_kit.core.exports import publish
from mlops_kit.core.storage._base import SIGNING_KEY_ENV, Storage
from mlops_kit.core.storage.factory import DEFAULT_STORAGE, STORAGE_ENV, resolve_storage, storage
from mlops_kit.core.storage.fsspec_storage import FsspecStorage, MissingExtraError
from mlops_kit.core.storage.gc import GcReport
from mlops_kit.core.storage.logs import LogEntry
from mlops_kit.core.storage.memory import MemoryStorage

__all__ = [
    "DEFAULT_STORAGE",
    "SIGNING_KEY_ENV",
    "STORAGE_ENV",
    "FsspecStorage",
    "GcReport",
    "LogEntry",
    "MemoryStorage",
    "MissingExtraError",
    "Storage",
    "resolve_storage",
    "storage",
]

# Last: every name above is bound.
publish(__name__, __all__, globals())
