"""An in-memory storage: isolated per instance, or shared by name within a process."""

from __future__ import annotations

import os
import threading
from typing import Any

from mlops_kit.core.errors import NotFoundError
from mlops_kit.core.names import check_name
from mlops_kit.core.storage._base import Storage

__all__ = ["DEFAULT_MEMORY_NAME", "MemoryStorage"]

DEFAULT_MEMORY_NAME = "default"
"""The store that a bare ``memory://`` URL names."""


class _Shared:
    """The keys of one store and the lock that guards them; instances of one name share it."""

    def __init__(self, data: dict[str, bytes] | None = None) -> None:
        self.data: dict[str, bytes] = dict(data or {})
        self.lock = threading.Lock()


# One store per name per process, for the life of the process.
_NAMED: dict[str, _Shared] = {}
_NAMED_LOCK = threading.Lock()


def _named(name: str, seed: dict[str, bytes] | None = None) -> _Shared:
    """The process's store called ``name``, created on first use; ``seed`` fills it if empty."""
    with _NAMED_LOCK:
        shared = _NAMED.setdefault(name, _Shared())
    if seed:
        with shared.lock:
            if not shared.data:
                shared.data.update(seed)
    return shared


class MemoryStorage(Storage):
    """Keys and bytes in a dict: the fast, hermetic storage for tests and notebooks.

    ``MemoryStorage()`` is isolated: two instances never share keys (unlike fsspec's
    ``memory://`` filesystem, which is one global store). ``MemoryStorage(name="x")``,
    which is what ``mk.storage("memory://x")`` returns, joins the process's store
    called ``x``: every instance of that name, in any thread, reads and writes the same
    keys, for as long as the process lives. A bare ``memory://`` names the store
    ``"default"``, so ``MLOPS_KIT_STORAGE=memory://`` gives every block of a process
    the same store.

    Pickling: an unnamed instance carries a snapshot of its data, so a copy does not
    see later writes. A named one carries its name and a snapshot: unpickled in the
    same process it is the live store again; in another process it joins that
    process's store of the same name, filled with the snapshot if that store is empty
    (a store that already holds keys keeps them, nothing is merged). No write ever
    travels back to the process it came from.

    Parameters
    ----------
    name : str, optional
        Join the process's store of this name (letters, digits, '.', '_', '-').
    signing_key : str or bytes, optional
        HMAC key for records; see :class:`Storage`. It belongs to the instance, not
        to the shared store.
    pins : str or os.PathLike, optional
        A local file remembering how far each log went; see :class:`Storage`.

    Raises
    ------
    InvalidNameError
        If ``name`` breaks the name rule.

    Examples
    --------
    >>> a, b = MemoryStorage(), MemoryStorage()
    >>> a.write("k", b"v")
    >>> a.exists("k"), b.exists("k")
    (True, False)
    >>> MemoryStorage(name="doc-shared").write("k", b"v")
    >>> MemoryStorage(name="doc-shared").read("k")
    b'v'
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        signing_key: str | bytes | None = None,
        pins: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(signing_key=signing_key, pins=pins)
        self.name = None if name is None else check_name(name, "memory store name")
        self._attach(_Shared() if self.name is None else _named(self.name))

    def _attach(self, shared: _Shared) -> None:
        self._data = shared.data
        self._lock = shared.lock

    @property
    def url(self) -> str:
        return f"memory://<{id(self):x}>" if self.name is None else f"memory://{self.name}"

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
        state["_pid"] = os.getpid()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        data, pid = state.pop("_data"), state.pop("_pid", None)
        self.__dict__.update(state)
        self.name = state.get("name")
        if self.name is None:
            self._attach(_Shared(data))
        else:
            # In the process it came from, the live store is the truth: no re-seeding
            # of keys deleted since the pickle was made.
            self._attach(_named(self.name, None if pid == os.getpid() else data))
