"""Records: JSON envelopes, HMAC signing bound to the key, schema versions."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import BaseModel

from mlops_kit.core.errors import ConfigError, IntegrityError
from mlops_kit.core.record import Record
from mlops_kit.core.storage import SIGNING_KEY_ENV, MemoryStorage, Storage


class Item(Record):
    name: str
    n: int


def test_round_trip_unsigned(any_storage: Storage) -> None:
    any_storage.put_record("items/a", Item(name="a", n=1))
    assert any_storage.get_record("items/a", Item) == Item(name="a", n=1)


def test_signed_record_detects_tampering(any_storage: Storage) -> None:
    any_storage._explicit_signing_key = b"k1"
    any_storage.put_record("items/a", Item(name="a", n=1))
    raw = any_storage.read("items/a")
    any_storage.write("items/a", raw.replace(b'"n":1', b'"n":9'))
    with pytest.raises(IntegrityError, match="invalid signature"):
        any_storage.get_record("items/a", Item)


def test_signature_is_bound_to_the_key() -> None:
    store = MemoryStorage(signing_key="secret")
    store.put_record("models/m/versions/1", Item(name="m", n=1))
    store.write("models/m/versions/2", store.read("models/m/versions/1"))  # replay under another key
    with pytest.raises(IntegrityError, match="invalid signature"):
        store.get_record("models/m/versions/2", Item)


def test_unsigned_record_is_rejected_when_a_key_is_set() -> None:
    store = MemoryStorage()
    store.put_record("r", Item(name="a", n=1))
    store._explicit_signing_key = b"secret"
    with pytest.raises(IntegrityError, match="not signed"):
        store.get_record("r", Item)


def test_wrong_key_is_rejected() -> None:
    store = MemoryStorage(signing_key="one")
    store.put_record("r", Item(name="a", n=1))
    store._explicit_signing_key = b"two"
    with pytest.raises(IntegrityError, match="different key"):
        store.get_record("r", Item)


def test_signing_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, "from-env")
    store = MemoryStorage()
    assert store.signing_key == b"from-env"
    store.put_record("r", Item(name="a", n=1))
    monkeypatch.delenv(SIGNING_KEY_ENV)
    assert store.signing_key is None
    assert store.get_record("r", Item).n == 1  # without a key, signatures are not checked
    assert MemoryStorage(signing_key="explicit").signing_key == b"explicit"


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[]", b'{"data": {"name": "a"}, "hmac": null}', b'{"x": 1}']
)
def test_corrupted_records_raise_integrity_error(raw: bytes) -> None:
    store = MemoryStorage()
    store.write("r", raw)
    with pytest.raises(IntegrityError, match="'r'"):
        store.get_record("r", Item)


def test_newer_schema_version_is_refused_clearly() -> None:
    class ItemV2(Item):
        SCHEMA_VERSION: ClassVar[int] = 2

    store = MemoryStorage()
    store.put_record("r", ItemV2(name="a", n=1))
    with pytest.raises(ConfigError, match="newer mlops_kit"):
        store.get_record("r", Item)


def test_records_are_frozen_with_read_only_maps() -> None:
    from mlops_kit.core.record import FrozenMap

    class Frozen(Record):
        tags: FrozenMap[str] = {}

    item = Frozen(tags={"a": "b"})
    with pytest.raises(TypeError):
        item.tags["a"] = "c"  # type: ignore[index]
    assert item.evolve(tags={"a": "c"}).tags == {"a": "c"}
    assert item.tags == {"a": "b"}
    with pytest.raises(Exception, match="frozen"):
        item.tags = {}  # type: ignore[misc]


def test_put_record_needs_a_pydantic_model() -> None:
    with pytest.raises(TypeError, match="pydantic"):
        MemoryStorage().put_record("r", {"a": 1})  # type: ignore[arg-type]
    assert issubclass(Item, BaseModel)
