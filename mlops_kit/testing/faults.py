"""``FaultyStorage``: a storage wrapper that fails the N-th operation, for crash tests."""

from __future__ import annotations

import threading
from typing import Any, BinaryIO, Literal, cast

from mlops_kit.core.errors import StorageError
from mlops_kit.core.storage import Storage

__all__ = ["FaultyStorage"]


class FaultyStorage(Storage):
    """Wrap a storage and fail its ``fail_at``-th operation (1-based) with ``StorageError``.

    With ``when="before"`` the failing operation has no effect (a crash before the
    write). With ``when="after"`` it takes effect and the caller still sees an error
    (a crash after the write, before the acknowledgement). ``fail_at=None`` never
    fails and just counts operations in ``calls``.

    Examples
    --------
    >>> from mlops_kit.core.storage import MemoryStorage
    >>> store = FaultyStorage(MemoryStorage(), fail_at=2)
    >>> store.write("a", b"1")
    >>> store.write("b", b"2")
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.StorageError: Injected fault on operation 2 (_write 'b').
    >>> store.exists("b"), store.calls
    (False, 3)
    """

    def __init__(
        self, inner: Storage, fail_at: int | None = None, *, when: Literal["before", "after"] = "before"
    ) -> None:
        super().__init__()
        self.inner = inner
        self.fail_at = fail_at
        self.when = when
        self.calls = 0
        self.failed: str | None = None  # the key (or prefix) of the operation that failed
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"faulty+{self.inner.url}"

    @property
    def signing_key(self) -> bytes | None:
        return self.inner.signing_key

    def _op(self, hook: str, *args: Any) -> Any:
        with self._lock:
            self.calls += 1
            failing = self.calls == self.fail_at
        if failing:
            self.failed = str(args[0])
        if failing and self.when == "before":
            raise StorageError(f"Injected fault on operation {self.calls} ({hook} {args[0]!r}).")
        result = getattr(self.inner, hook)(*args)
        if failing:
            raise StorageError(f"Injected fault after operation {self.calls} ({hook} {args[0]!r}).")
        return result

    def _read(self, key: str) -> bytes:
        return cast("bytes", self._op("_read", key))

    def _write(self, key: str, data: bytes) -> None:
        self._op("_write", key, data)

    def _write_hint(self, key: str, data: bytes) -> None:
        self._op("_write_hint", key, data)

    def _create(self, key: str, data: bytes) -> bool:
        return cast("bool", self._op("_create", key, data))

    def _list(self, prefix: str) -> list[str]:
        return cast("list[str]", self._op("_list", prefix))

    def _delete(self, key: str) -> None:
        self._op("_delete", key)

    def _exists(self, key: str) -> bool:
        return cast("bool", self._op("_exists", key))

    def _write_file(self, key: str, path: str) -> None:
        self._op("_write_file", key, path)

    def _read_file(self, key: str, path: str) -> None:
        self._op("_read_file", key, path)

    def _open(self, key: str) -> BinaryIO:
        return cast("BinaryIO", self._op("_open", key))

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
