"""The model-based storage test: it catches broken backends, and ours agree with each other."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlops_kit.core.errors import ConfigError, NotFoundError
from mlops_kit.core.storage import MemoryStorage, Storage
from mlops_kit.testing import check_storage_against_reference


class _CreateOverwrites(MemoryStorage):
    def _create(self, key: str, data: bytes) -> bool:
        self._write(key, data)
        return True


class _CreateReportsFalseButWrites(MemoryStorage):
    def _create(self, key: str, data: bytes) -> bool:
        existed = key in self._data
        self._write(key, data)
        return not existed


class _ListMissesTheKeyItself(MemoryStorage):
    def _list(self, prefix: str) -> list[str]:
        return [k for k in self._data if not prefix or k.startswith(prefix + "/")]


class _DeleteOfMissingRaises(MemoryStorage):
    """Not broken: ``Storage.delete`` accepts a not-found error from ``_delete`` (still idempotent)."""

    def _delete(self, key: str) -> None:
        if key not in self._data:
            raise NotFoundError(f"No such key {key!r}.")
        super()._delete(key)


class _EmptyValuesAreDropped(MemoryStorage):
    def _write(self, key: str, data: bytes) -> None:
        if data:
            super()._write(key, data)


class _StaleExists(MemoryStorage):
    """Remembers keys it has seen: ``exists`` stays true after a delete."""

    def _exists(self, key: str) -> bool:
        seen: set[str] = self.__dict__.setdefault("_seen", set())
        if key in self._data:
            seen.add(key)
        return key in seen


class _ReadCacheNeverExpires(MemoryStorage):
    """Caches what it read: a later write is not seen."""

    def _read(self, key: str) -> bytes:
        cache: dict[str, bytes] = self.__dict__.setdefault("_reads", {})
        if key not in cache:
            cache[key] = super()._read(key)
        return cache[key]


BROKEN = [
    _CreateOverwrites,
    _CreateReportsFalseButWrites,
    _ListMissesTheKeyItself,
    _EmptyValuesAreDropped,
    _StaleExists,
    _ReadCacheNeverExpires,
]


@pytest.mark.parametrize("broken", BROKEN, ids=[b.__name__.lstrip("_") for b in BROKEN])
def test_a_broken_backend_is_caught(broken: type[Storage]) -> None:
    with pytest.raises(AssertionError, match="reference model"):
        check_storage_against_reference(broken, examples=200, steps=20)


def test_the_broken_one_of_several_backends_is_named() -> None:
    with pytest.raises(AssertionError, match=r"^_CreateOverwrites\("):
        check_storage_against_reference(MemoryStorage, _CreateOverwrites, examples=200, steps=20)


def test_a_delete_hook_that_raises_not_found_is_accepted() -> None:
    check_storage_against_reference(_DeleteOfMissingRaises, examples=100, steps=20)


def test_memory_storage_agrees_with_the_reference() -> None:
    check_storage_against_reference(MemoryStorage, examples=100, steps=30)


@pytest.mark.s3
def test_memory_local_folder_and_s3_agree(
    make_local_storage: Callable[[], Storage], make_s3_storage: Callable[[], Storage]
) -> None:
    check_storage_against_reference(MemoryStorage, make_local_storage, make_s3_storage, examples=20, steps=20)


def test_no_factory_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no storage factory"):
        check_storage_against_reference()
