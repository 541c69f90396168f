"""Signed logs are tamper-evident: a deleted, replaced or re-ordered entry is an IntegrityError.

Each test tampers with the storage the way an attacker with write access would (deleting
or rewriting objects), then opens the store as a new process would.
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.core.record import Record
from mlops_kit.core.storage import FsspecStorage, Storage

from ..registry.conftest import Doubler

KEY = b"secret"
EVENTS = "models/m/events"


class Note(Record):
    n: int


def signed(store: Storage) -> Storage:
    """The same place, opened with a signing key (a new process's view)."""
    view = pickle.loads(pickle.dumps(store))
    view._explicit_signing_key = KEY
    return view


def fresh(store: Storage) -> Storage:
    """Another process's view of the same storage: nothing cached."""
    return pickle.loads(pickle.dumps(store))


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def shared_store(request: pytest.FixtureRequest) -> Storage:
    """A storage that other processes can open too (memory storages cannot be shared)."""
    maker: Callable[[], Storage] = request.getfixturevalue(f"make_{request.param}_storage")
    return signed(maker())


def moved_three_times(store: Storage) -> mk.Registry:
    reg = mk.Registry(store)
    for _ in range(3):
        reg.register("m", Doubler())
    for version in (1, 2, 3):
        reg.set_alias("m", "prod", version)
    return reg


def entry(seq: int) -> str:
    return f"{EVENTS}/{seq:012d}.json"


def test_deleting_a_middle_alias_event_is_detected(shared_store: Storage) -> None:
    moved_three_times(shared_store)
    shared_store.delete(entry(2))
    victim = mk.Registry(fresh(shared_store))
    with pytest.raises(mk.IntegrityError, match="missing"):
        victim.get("m@prod")
    with pytest.raises(mk.IntegrityError, match="missing"):
        victim.history("m")


def test_deleting_the_newest_alias_event_is_detected(shared_store: Storage) -> None:
    moved_three_times(shared_store)
    shared_store.delete(entry(3))  # the alias would silently move back to 2
    victim = mk.Registry(fresh(shared_store))
    with pytest.raises(mk.IntegrityError, match="head"):
        victim.get("m@prod")
    with pytest.raises(mk.IntegrityError, match="head"):
        victim.history("m")


def test_deleting_the_head_with_the_newest_entry_is_detected(shared_store: Storage) -> None:
    moved_three_times(shared_store)
    shared_store.delete(entry(3))
    shared_store.delete(f"{EVENTS}/head.json")
    with pytest.raises(mk.IntegrityError, match="head"):
        mk.Registry(fresh(shared_store)).get("m@prod")


def test_an_entry_from_another_history_is_detected(shared_store: Storage) -> None:
    """Two copies of a store diverge; an entry of one spliced into the other breaks the chain."""
    store = shared_store
    for n in (1, 2, 3):
        store.append("log", Note(n=n))
    other = mk.MemoryStorage(signing_key=KEY)  # a second history with the same key
    other.create("log/000000000001.json", store.read("log/000000000001.json"))
    other.append("log", Note(n=99))
    store.write("log/000000000002.json", other.read("log/000000000002.json"))
    assert fresh(store).read_entry("log", 2, Note).n == 99  # valid on its own...
    with pytest.raises(mk.IntegrityError, match="chain"):
        fresh(store).read_log("log", Note)  # ...but entry 3 follows another entry 2


def test_every_entry_binds_its_sequence_number_and_predecessor() -> None:
    store = mk.MemoryStorage(signing_key=KEY)
    for n in range(3):
        store.append("log", Note(n=n))
    envelopes = [json.loads(store.read(f"log/{s:012d}.json")) for s in (1, 2, 3)]
    assert envelopes[0]["prev"] is None
    assert envelopes[1]["prev"] != envelopes[2]["prev"]
    # Swapping two entries' bytes is refused: the signature covers the key (so the number).
    one, two = store.read("log/000000000001.json"), store.read("log/000000000002.json")
    store.write("log/000000000001.json", two)
    store.write("log/000000000002.json", one)
    with pytest.raises(mk.IntegrityError):
        fresh(store).read_log("log", Note)


def test_unsigned_logs_still_refuse_a_gap(make_local_storage: Callable[[], Storage]) -> None:
    store = make_local_storage()
    for n in range(3):
        store.append("log", Note(n=n))
    store.delete("log/000000000002.json")
    with pytest.raises(mk.IntegrityError, match="missing"):
        fresh(store).read_log("log", Note)


def test_a_reader_remembers_the_highest_head_it_has_seen(tmp_path: Path) -> None:
    """A whole store rolled back to an older consistent copy: only a pinned reader notices."""
    folder = tmp_path / "store"
    store = FsspecStorage(folder, signing_key=KEY)
    reg = mk.Registry(store)
    reg.register("m", Doubler())
    reg.register("m", Doubler())
    reg.set_alias("m", "prod", 1)
    shutil.copytree(folder, tmp_path / "backup")
    reg.set_alias("m", "prod", 2)
    reader = mk.Registry(FsspecStorage(folder, signing_key=KEY))
    assert reader.get("m@prod").version == 2
    shutil.rmtree(folder)
    shutil.copytree(tmp_path / "backup", folder)  # consistent, validly signed, but older
    assert mk.Registry(FsspecStorage(folder, signing_key=KEY)).get("m@prod").version == 1  # undetectable
    with pytest.raises(mk.IntegrityError, match="rolled back"):
        reader.storage.read_log(EVENTS, mk.registry.ModelEvent)


def test_pins_persist_across_processes(tmp_path: Path) -> None:
    folder, pins = tmp_path / "store", tmp_path / "pins.json"
    store = FsspecStorage(folder, signing_key=KEY)
    for n in range(3):
        store.append("log", Note(n=n))
    shutil.copytree(folder, tmp_path / "backup")
    store.append("log", Note(n=3))
    FsspecStorage(folder, signing_key=KEY, pins=pins).read_log("log", Note)
    shutil.rmtree(folder)
    shutil.copytree(tmp_path / "backup", folder)
    with pytest.raises(mk.IntegrityError, match="rolled back"):
        FsspecStorage(folder, signing_key=KEY, pins=pins).read_log("log", Note)


# -- breach 3: the whole envelope is signed ------------------------------------------


@pytest.mark.parametrize("version", [99, 1e400, "x", None, True])
def test_an_edited_schema_version_is_an_integrity_error(version: object) -> None:
    store = mk.MemoryStorage(signing_key=KEY)
    reg = mk.Registry(store)
    reg.register("m", Doubler())
    key = "models/m/versions/000000000001.json"
    envelope = json.loads(store.read(key))
    envelope["v"] = version
    store.write(key, json.dumps(envelope).encode())
    with pytest.raises(mk.IntegrityError, match="signature"):
        mk.Registry(fresh(store)).get("m:1")


def test_an_edited_schema_version_without_a_key_is_still_a_clear_error() -> None:
    store = mk.MemoryStorage()
    store.append("log", Note(n=1))
    envelope = json.loads(store.read("log/000000000001.json"))
    envelope["v"] = 1e400
    store.write("log/000000000001.json", json.dumps(envelope).encode())
    with pytest.raises(mk.IntegrityError, match="schema version"):
        fresh(store).read_entry("log", 1, Note)


def with_events_snapshot(signing: bool) -> tuple[mk.MemoryStorage, list[str]]:
    """A model with two versions and ten alias events: its events log has a snapshot."""
    store = mk.MemoryStorage(signing_key=KEY if signing else None)
    reg = mk.Registry(store)
    reg.register("m", Doubler())
    reg.register("m", Doubler())
    for _ in range(5):
        reg.set_alias("m", "prod", 1)
        reg.set_alias("m", "prod", 2)
    snapshots = [k for k in store.list("models/m") if "snapshot" in k]
    assert snapshots, "ten events write a snapshot"
    return store, snapshots


@pytest.mark.parametrize("signing", [True, False])
def test_a_bad_snapshot_is_a_cache_miss(signing: bool) -> None:
    store, snapshots = with_events_snapshot(signing)
    for key in snapshots:
        envelope = json.loads(store.read(key))
        envelope["v"] = 99
        store.write(key, json.dumps(envelope).encode())
    with pytest.warns(UserWarning, match="snapshot"):
        assert mk.Registry(fresh(store)).get("m@prod").version == 2


@pytest.mark.parametrize("signing", [True, False])
def test_a_snapshot_of_a_log_truncated_since_is_ignored(signing: bool) -> None:
    # The log is deleted and written anew (3 entries), its old snapshot (at entry 10) left:
    # read from the snapshot, the state would show events the log no longer holds.
    store, _ = with_events_snapshot(signing)
    for key in store.list("models/m/events"):
        store.delete(key)
    fresh(store)
    reg = mk.Registry(store)
    with pytest.warns(UserWarning, match="Ignoring the snapshot"):
        reg.set_alias("m", "staging", 1)
    with pytest.raises(mk.NotFoundError):
        mk.Registry(fresh(store)).get("m@prod")
    assert mk.Registry(fresh(store)).get("m@staging").version == 1


# -- no false alarms: killed signed writers never make a log look tampered with -----------

SIGNED_WRITER = r"""
import sys
from mlops_kit.core.record import Record
from mlops_kit.core.storage import FsspecStorage
class Note(Record):
    n: int
store = FsspecStorage(sys.argv[1], signing_key=b"secret")
print("ready", flush=True)
n = 0
while True:
    n += 1
    store.append("log", Note(n=n))
"""


@pytest.mark.slow
def test_signed_writers_killed_at_random_leave_a_log_that_verifies(tmp_path: Path) -> None:
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    rng = random.Random(3)
    for _ in range(25):
        proc = subprocess.Popen(
            [sys.executable, "-c", SIGNED_WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        reader = FsspecStorage(tmp_path, signing_key=KEY)
        entries = reader.read_log("log", Note)  # never a false IntegrityError
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    store = FsspecStorage(tmp_path, signing_key=KEY)
    assert store.append("log", Note(n=0)) == len(store.read_log("log", Note))
    assert len(store.read_log("log", Note)) > 25


@pytest.mark.parametrize("version", [99, 1e400])
def test_an_edited_schema_version_is_refused_on_every_backend(
    make_any_storage: Callable[[], Storage], version: object
) -> None:
    inner = make_any_storage()
    store = mk.MemoryStorage(signing_key=KEY) if isinstance(inner, mk.MemoryStorage) else signed(inner)
    store.append("log", Note(n=1))
    envelope = json.loads(store.read("log/000000000001.json"))
    envelope["v"] = version
    store.write("log/000000000001.json", json.dumps(envelope).encode())
    with pytest.raises(mk.IntegrityError, match="signature"):
        fresh(store).read_log("log", Note)


def _legacy_envelope(key: str, data: dict[str, object]) -> bytes:
    """A record as mlops_kit 0.1 signed it: an HMAC over the key and the data only."""
    import hashlib
    import hmac

    canonical = json.dumps([key, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    mac = hmac.new(KEY, canonical.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"data": data, "v": 1, "hmac": mac}).encode()


def test_records_signed_by_version_0_1_are_still_verified() -> None:
    store = mk.MemoryStorage(signing_key=KEY)
    store.write("notes/a", _legacy_envelope("notes/a", {"n": 7}))
    assert store.get_record("notes/a", Note).n == 7
    envelope = json.loads(_legacy_envelope("notes/a", {"n": 7}))
    envelope["data"]["n"] = 8  # tampered after it was signed
    store.write("notes/a", json.dumps(envelope).encode())
    with pytest.raises(mk.IntegrityError, match="invalid signature"):
        store.get_record("notes/a", Note)
