"""Housekeeping: remove the temporary files that killed writers left behind.

A write is staged in a temporary file and then published in one atomic step, so a
writer killed in between (``kill -9``, an OOM kill, a power cut) leaves its temporary
file behind; no reader ever sees it, and nothing else removes it. ``Storage.gc``
finds them through the backend's optional ``_temporaries`` hook and removes those
untouched for longer than ``older_than``. A live writer keeps changing its file, so
its file is always young: gc never takes a file from under a writer that is still
writing, and it never touches a key.

Storages that are not a local folder stage blobs in the system temp folder; their gc
also removes this library's staging files there (``mlops-kit-blob-*.tmp``, owned by
the current user).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import ConfigError, InvalidNameError, MlopsKitError, StorageError
from mlops_kit.core.names import check_key
from mlops_kit.core.storage._temporaries import Temporary, is_blob_staging, last_change, remove_if_unchanged

if TYPE_CHECKING:
    from mlops_kit.core.storage._base import Storage

__all__ = ["DEFAULT_OLDER_THAN", "GcReport", "collect"]

DEFAULT_OLDER_THAN = dt.timedelta(hours=1)


@dataclass(frozen=True)
class GcReport:
    """What :meth:`Storage.gc` removed (or, in a dry run, would remove).

    Attributes
    ----------
    removed : tuple of str
        The temporary files removed: paths below the storage root (``a/.tmp-x1y2``,
        ``.tmp/mlops-kit-blob-x1y2.tmp``), or absolute paths for files in the
        system temp folder.
    bytes_freed : int
        Their total size.
    kept : int
        Temporary files left alone because they changed within ``older_than``
        (writers still at work, most likely).
    older_than : datetime.timedelta
        The age a file had to exceed.
    dry_run : bool
        Whether nothing was actually removed.

    Examples
    --------
    >>> import datetime as dt
    >>> GcReport(removed=("a/.tmp-x",), bytes_freed=12, kept=0, older_than=dt.timedelta(0), dry_run=True).files
    1
    """

    removed: tuple[str, ...]
    bytes_freed: int
    kept: int
    older_than: dt.timedelta
    dry_run: bool

    @property
    def files(self) -> int:
        """How many files were removed (or would be, in a dry run)."""
        return len(self.removed)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (``older_than`` in seconds)."""
        data = asdict(self)
        data["removed"] = list(self.removed)
        data["older_than"] = self.older_than.total_seconds()
        return {"files": self.files, **data}


def collect(storage: Storage, older_than: dt.timedelta, *, dry_run: bool) -> GcReport:
    """Remove ``storage``'s temporary files unchanged for longer than ``older_than``."""
    if not isinstance(older_than, dt.timedelta) or older_than < dt.timedelta(0):
        raise ConfigError(
            f"gc(older_than=...) takes a datetime.timedelta of zero or more, got {older_than!r}; "
            "for example datetime.timedelta(hours=1)."
        )
    cutoff = _now() - older_than.total_seconds()
    removed: list[str] = []
    freed = kept = 0
    try:
        # The storage's own first, then the system temp folder if the storage stages there.
        sources: list[tuple[Iterable[Temporary], Callable[[Temporary], bool]]] = [
            (storage._temporaries(), storage._remove_temporary),
        ]
        if storage.staging_dir() is None:
            sources.append((_system_temporaries(), _remove_system_temporary))
        for temporaries, remove in sources:
            for temp in temporaries:
                if _is_key(temp.name):
                    continue  # a backend's mistake must never cost a key
                if temp.changed > cutoff:
                    kept += 1
                elif dry_run or remove(temp):
                    removed.append(temp.name)
                    freed += temp.size
    except MlopsKitError:
        raise
    except OSError as exc:
        raise StorageError(f"gc of {storage.url} failed: {exc}") from exc
    return GcReport(tuple(removed), freed, kept, older_than, dry_run)


def _is_key(name: str) -> bool:
    try:
        check_key(name)
    except InvalidNameError:
        return False
    return True


def _now() -> float:
    return time.time()


def _system_temporaries() -> Iterator[Temporary]:
    """This library's blob staging files in the system temp folder, owned by this user."""
    folder = tempfile.gettempdir()
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not is_blob_staging(entry.name):
            continue
        try:
            owner = entry.stat(follow_symlinks=False).st_uid
        except OSError:
            continue
        found = last_change(entry.path)
        if found is not None and (uid is None or owner == uid):  # others' files are theirs to clean
            yield Temporary(entry.path, *found)


def _remove_system_temporary(temp: Temporary) -> bool:
    return remove_if_unchanged(temp.name, temp.changed)
