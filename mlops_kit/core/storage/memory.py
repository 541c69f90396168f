"""An in-memory storage, isolated per instance and thread-safe."""

from __future__ import annotations

import os
import threading
from typing import Any

from mlops_kit.core.errors import NotFoundError
from mlops_kit.core.storage._base import Storage

__all__ = ["MemoryStorage"]


class MemoryStorage(Storage):
    """Keys and bytes in a dict: the fast, hermetic storage for tests and notebooks.

    Unlike fsspec's ``memory://`` filesystem, which is one global store, two
    instances never share keys. A pickled instance carries a snapshot of its data,
    so a copy in another process does not see later writes.

    Parameters
    ----------
    signing_key : str or bytes, optional
        HMAC key for records; see :class:`Storage`.
    pins : str or os.PathLike, optional
        A local file remembering how far each log went; see :class:`Storage`.

    Examples
    --------
    >>> a, b = MemoryStorage(), MemoryStorage()
    >>> a.write("k", b"v")
    >>> a.exists("k"), b.exists("k")
    (True, False)
    """

    def __init__(
        self, *, signing_key: str | bytes | None = None, pins: str | os.PathLike[str] | None = None
    ) -> None:
        super().__init__(signing_key=signing_key, pins=pins)
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"memory://<{id(self):x}>"

    def _read(self, key: str) -> bytes:
        try:
            return self._data[key]
        except KeyError:
            raise NotFoundError(f"No such key {key!r} in {self.url}.") from None

    def _write(self, key: str, data: bytes) -> None:
        with self._lock:
            self._data[key] = data

    def _create(self, key: str, data: bytes) -> bool:
        with self._lock:
            if key in self._data:
                return False
            self._data[key] = data
            return True

    def _list(self, prefix: str) -> list[str]:
        with self._lock:
            keys = list(self._data)
        if not prefix:
            return keys
        return [k for k in keys if k == prefix or k.startswith(prefix + "/")]

    def _delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def _exists(self, key: str) -> bool:
        return key in self._data

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        with self._lock:
            state["_data"] = dict(self._data)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
