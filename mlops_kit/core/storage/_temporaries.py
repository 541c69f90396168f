"""The names of the temporary files this library stages, in one place.

The stagers (``LocalDriver`` for keys, ``blobs`` for blobs) name their files with these,
and ``Storage.gc`` removes only files named so: a name gc does not recognise is never
touched. Every temporary name starts with a dot or lives in a dot folder, so it can
never be a key (key segments start with a letter or digit).
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import NamedTuple

__all__ = [
    "BLOB_PREFIX",
    "BLOB_SUFFIX",
    "KEY_PREFIX",
    "STAGING_DIR",
    "Temporary",
    "is_blob_staging",
    "is_key_staging",
    "last_change",
    "remove_if_unchanged",
]

KEY_PREFIX = ".tmp-"  # next to the key, then published with os.replace or os.link
STAGING_DIR = ".tmp"  # a local storage's staging folder, below its root
BLOB_PREFIX = "mlops-kit-blob-"  # a blob being staged: in STAGING_DIR, or the system temp folder
BLOB_SUFFIX = ".tmp"
_OLD_BLOB_PREFIX = "blob-"  # mlops-kit 0.1.0 named blob staging files so; only in STAGING_DIR


class Temporary(NamedTuple):
    """A temporary file a backend reports to :meth:`Storage.gc`.

    ``name`` is the backend's name for it (a ``/``-separated path below the storage
    root), ``changed`` the time of its last change (seconds since the epoch) and
    ``size`` its size in bytes.
    """

    name: str
    changed: float
    size: int


def is_key_staging(filename: str) -> bool:
    """Whether ``filename`` (a base name) is a key being written."""
    return filename.startswith(KEY_PREFIX)


def is_blob_staging(filename: str, *, old_names: bool = False) -> bool:
    """Whether ``filename`` (a base name) is a blob being staged.

    ``old_names`` also accepts the names of mlops-kit 0.1.0, which are too generic to
    claim anywhere but in a storage's own :data:`STAGING_DIR`.
    """
    prefixes = (BLOB_PREFIX, _OLD_BLOB_PREFIX) if old_names else (BLOB_PREFIX,)
    return filename.startswith(prefixes) and filename.endswith(BLOB_SUFFIX)


def last_change(path: str) -> tuple[float, int] | None:
    """``(changed, size)`` of a regular file, ``None`` for anything else or nothing.

    ``changed`` is the later of mtime and ctime: a live writer moves both on every
    write, and a file just hard-linked or renamed into place has a fresh ctime even
    when its mtime is old.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None  # symlinks and folders are never ours to remove
    return max(st.st_mtime, st.st_ctime), st.st_size


def remove_if_unchanged(path: str, changed: float) -> bool:
    """Unlink ``path`` if it has not changed since ``changed``; whether it was removed."""
    now = last_change(path)
    if now is None or now[0] != changed:
        return False  # gone, or written again since it was listed: a writer is alive
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
        return True
    return False
