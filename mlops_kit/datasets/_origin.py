"""Which storage each dataset version object came from, so a monitor can load its raw data.

Records stay frozen and compare by content: the origin lives beside them, keyed by the
object's identity, and is forgotten with the object.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.datasets._records import DatasetVersion

__all__ = ["origin_of", "remember"]

V = TypeVar("V", bound="DatasetVersion")

# id(version) -> (a weak reference to it, its storage). Plain dict operations are atomic
# under the GIL, so the weakref callback (which may run inside any of them) needs no lock.
_ORIGINS: dict[int, tuple[weakref.ref[DatasetVersion], Storage]] = {}


def remember(version: V, storage: Storage) -> V:
    """Note that ``version`` was read from (or saved to) ``storage``; returns ``version``."""
    key = id(version)
    known = _ORIGINS.get(key)
    if known is None or known[0]() is not version:
        _ORIGINS[key] = (weakref.ref(version, _forget(key)), storage)
    return version


def _forget(key: int) -> Callable[[object], None]:
    origins = _ORIGINS  # bound now: at interpreter exit the module global may already be None

    def forget(_: object) -> None:
        origins.pop(key, None)

    return forget


def origin_of(version: DatasetVersion) -> Storage | None:
    """The storage ``version`` came from in this process (``None`` if unknown, say unpickled)."""
    known = _ORIGINS.get(id(version))
    return known[1] if known is not None and known[0]() is version else None
