"""A user's backend: the mistakes people make in hooks are accepted or fail at once, by name."""

from __future__ import annotations

import io
import pydoc
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mlops_kit.core.errors import NotFoundError, StorageError
from mlops_kit.core.storage import Storage
from mlops_kit.testing import StorageContract


class DictStorage(Storage):
    """A backend written like a filesystem: a missing key raises ``FileNotFoundError``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _read(self, key: str) -> bytes:
        try:
            return self.data[key]
        except KeyError:
            raise FileNotFoundError(key) from None

    def _write(self, key: str, data: bytes) -> None:
        self.data[key] = data

    def _create(self, key: str, data: bytes) -> bool:
        with self._lock:
            if key in self.data:
                return False
            self.data[key] = data
            return True

    def _list(self, prefix: str) -> list[str]:
        if prefix and not any(k.startswith(prefix) for k in self.data):
            raise FileNotFoundError(prefix)  # like listing a folder that is not there
        return list(self.data)

    def _delete(self, key: str) -> None:
        try:
            del self.data[key]
        except KeyError:
            raise FileNotFoundError(key) from None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class TestFileNotFoundBackend(StorageContract):
    model_examples = 10

    @pytest.fixture
    def make_storage(self) -> Callable[[], Storage]:
        return DictStorage


class _Entry(BaseModel):
    n: int


class ForgetfulCreate(DictStorage):
    def _create(self, key: str, data: bytes) -> bool:
        with self._lock:
            if key in self.data:
                return False
            self.data[key] = data
        return None  # type: ignore[return-value]  # the bug: no `return True`


def test_file_not_found_is_accepted_by_exists_delete_list_and_blobs() -> None:
    store = DictStorage()
    assert not store.exists("a/b")
    store.delete("a/b")  # idempotent although _delete raised FileNotFoundError
    assert store.list("a") == []
    with pytest.raises(NotFoundError, match="No such key 'a/b'"):
        store.read("a/b")
    assert not store.has_blob("0" * 64)
    with pytest.raises(NotFoundError, match=r"Blob 0+ is missing"):
        store.get_blob("0" * 64)


def test_a_create_that_forgets_return_true_fails_at_once_naming_the_hook() -> None:
    store = ForgetfulCreate()
    with pytest.raises(
        StorageError, match=r"ForgetfulCreate\._create returned None; a _create hook must return True"
    ):
        store.create("k", b"v")
    with pytest.raises(StorageError, match=r"ForgetfulCreate\._create returned None"):
        store.append("log", _Entry(n=1))
    assert store.list("log") == ["log/000000000001.json"]  # the one call it made; no retries


class _Wrong(DictStorage):
    """Every hook returns the given value instead of what it should."""

    def __init__(self, hook: str, value: object) -> None:
        super().__init__()
        self.data["k"] = b"v"
        setattr(self, hook, lambda *args: value)


@pytest.mark.parametrize(
    ("hook", "value", "call"),
    [
        ("_read", "text", lambda s: s.read("k")),
        ("_read", None, lambda s: s.open("k")),  # the default _open reads through _read
        ("_create", 1, lambda s: s.create("n", b"v")),
        ("_exists", None, lambda s: s.exists("k")),
        ("_list", None, lambda s: s.list("")),
        ("_list", "k", lambda s: s.list("")),
        ("_list", [b"k"], lambda s: s.list("")),
        ("_open", b"v", lambda s: s.open("k")),
        ("_staging_dir", 3, lambda s: s.staging_dir()),
        ("_write", False, lambda s: s.write("k", b"v")),
        ("_delete", True, lambda s: s.delete("k")),
    ],
)
def test_every_hook_result_is_checked(hook: str, value: object, call: Callable[[Storage], object]) -> None:
    with pytest.raises(StorageError, match=rf"_Wrong\.{hook} returned .*; a {hook} hook must return"):
        call(_Wrong(hook, value))


def test_bytes_like_reads_and_tuple_listings_are_accepted() -> None:
    store = _Wrong("_read", bytearray(b"v"))
    assert store.read("k") == b"v" and store.exists("k")
    assert _Wrong("_list", ("k",)).list("") == ["k"]
    assert _Wrong("_open", io.BytesIO(b"v")).open("k").read() == b"v"


def test_help_shows_the_hook_contract() -> None:
    text = pydoc.render_doc(Storage, renderer=pydoc.plaintext)
    for hook in ("_read(key) -> bytes", "_write(key, data)", "_create(key, data) -> bool", "_list(prefix)"):
        assert hook in text
    assert "``True`` if it stored" in text and "StorageContract" in text


def test_the_contract_says_make_storage_returns_a_factory() -> None:
    assert "factory" in (StorageContract.__doc__ or "")


def test_default_url_names_the_class_and_the_instance(tmp_path: Path) -> None:
    a, b = DictStorage(), DictStorage()
    assert a.url.startswith(f"{__name__}.DictStorage at 0x")
    assert a.url != b.url  # two stores of one class are told apart (live endpoints key on it)
    with pytest.raises(NotFoundError, match=r"in tests\.core\.test_backend_hooks\.DictStorage at 0x"):
        a.read("x")
    # pins outlive the process, so their scope is the class, not the instance
    DictStorage(pins=tmp_path / "pins.json").pins.raise_to("log", 3)  # type: ignore[union-attr]
    assert DictStorage(pins=tmp_path / "pins.json").pins.get("log") == 3  # type: ignore[union-attr]
