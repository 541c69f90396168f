"""Tampered artifacts and records are detected before anything is deserialized."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import mlops_kit as mk
from mlops_kit.core.storage import Storage
from mlops_kit.core.storage.blobs import blob_key

from .conftest import Doubler

TRIGGERED: list[str] = []


def _payload() -> str:
    TRIGGERED.append("code ran")
    return "pwned"


class Evil:
    """Unpickling this runs ``_payload``: what an attacker would plant."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_payload, ())


def fresh_view(storage: Storage) -> Storage:
    """Another process's view of the same storage (no cached records)."""
    return pickle.loads(pickle.dumps(storage))


def test_tampered_artifact_is_refused_unpickled(make_any_storage: Callable[[], Storage]) -> None:
    TRIGGERED.clear()
    store = make_any_storage()
    reg = mk.Registry(store)
    mv = reg.register("m", Doubler())
    store.write(blob_key(mv.fingerprint), pickle.dumps(Evil()))  # overwrite the artifact in place
    for registry in (reg, mk.Registry(fresh_view(store))):
        with pytest.raises(
            mk.IntegrityError,
            match=r"artifact of m:1 does not match its recorded sha256.*Nothing was deserialized",
        ):
            registry.load("m:1")
    assert TRIGGERED == []


def test_truncated_input_example_is_refused(reg: mk.Registry, frame: Any) -> None:
    mv = reg.register("m", Doubler(), input_example=frame.head(3))
    assert mv.input_example is not None
    key = blob_key(mv.input_example)
    reg.storage.write(key, reg.storage.read(key)[:-10])
    with pytest.raises(mk.IntegrityError, match="input example of m:1"):
        reg.input_example("m:1")


def test_signed_records_reject_a_swapped_artifact(make_any_storage: Callable[[], Storage]) -> None:
    TRIGGERED.clear()
    inner = make_any_storage()
    store = pickle.loads(pickle.dumps(inner))
    store._explicit_signing_key = b"secret"  # the same place, opened with a signing key
    reg = mk.Registry(store)
    reg.register("m", Doubler())
    # An attacker with write access stores a malicious artifact and points the record at it.
    evil = store.put_blob(pickle.dumps(Evil()))
    key = "models/m/versions/000000000001.json"
    envelope = json.loads(store.read(key))
    envelope["data"]["fingerprint"] = evil
    store.write(key, json.dumps(envelope).encode())
    victim = mk.Registry(fresh_view(store))
    with pytest.raises(mk.IntegrityError, match="invalid signature"):
        victim.load("m:1")
    with pytest.raises(mk.IntegrityError, match="invalid signature"):
        victim.get("m")
    assert TRIGGERED == []


def test_signed_events_reject_a_forged_alias_move() -> None:
    store = mk.MemoryStorage(signing_key="secret")
    reg = mk.Registry(store)
    reg.register("m", "good")
    reg.register("m", "bad")
    reg.set_alias("m", "prod", 1)
    key = "models/m/events/000000000001.json"
    envelope = json.loads(store.read(key))
    envelope["data"]["version"] = 2
    store.write(key, json.dumps(envelope).encode())
    with pytest.raises(mk.IntegrityError, match="invalid signature"):
        mk.Registry(fresh_view(store)).get("m@prod")


def test_unsigned_records_are_refused_when_a_key_is_set() -> None:
    plain = mk.MemoryStorage()
    mk.Registry(plain).register("m", 1)
    signed = fresh_view(plain)
    signed._explicit_signing_key = b"secret"
    with pytest.raises(mk.IntegrityError, match="not signed"):
        mk.Registry(signed).load("m")


def test_missing_artifact_is_reported(reg: mk.Registry) -> None:
    mv = reg.register("m", Doubler())
    reg.storage.delete(blob_key(mv.fingerprint))
    with pytest.raises(mk.NotFoundError, match=r"artifact of m:1 \(sha256 [0-9a-f]{64}\) is missing"):
        reg.load("m")


def test_verify_checks_the_stored_bytes_without_loading(reg: mk.Registry, frame: Any) -> None:
    TRIGGERED.clear()
    mv = reg.register("m", Evil(), input_example=None)
    with_example = reg.register("m", Doubler(), input_example=frame.head(3))
    assert reg.verify("m:1") == mv  # the record of what was checked
    assert reg.verify("m") == with_example
    assert TRIGGERED == []  # nothing was unpickled
    reg.storage.write(blob_key(mv.fingerprint), b"something else")
    with pytest.raises(mk.IntegrityError, match=r"artifact of m:1 does not match its recorded sha256"):
        reg.verify("m:1")
    assert with_example.input_example is not None
    key = blob_key(with_example.input_example)
    reg.storage.write(key, reg.storage.read(key)[:-10])
    with pytest.raises(mk.IntegrityError, match="input example of m:2"):
        reg.verify("m:2")
    assert TRIGGERED == []


def test_verify_says_when_the_artifact_is_missing(reg: mk.Registry) -> None:
    mv = reg.register("m", Doubler())
    reg.storage.delete(blob_key(mv.fingerprint))
    with pytest.raises(mk.NotFoundError, match=r"artifact of m:1 .* is missing"):
        reg.verify("m:1")
    with pytest.raises(mk.NotFoundError, match="no version 9"):
        reg.verify("m:9")
