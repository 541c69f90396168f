"""The search index's snapshot is a shortcut only: stale, tampered or missing never makes a search wrong."""

from __future__ import annotations

import json
import pickle
import random
import threading
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.core.storage.logs import entry_key
from mlops_kit.registry import _index
from mlops_kit.testing import FaultyStorage

KEY = _index.index_key("m")


def filled(n: int, *, signed: bool = False) -> tuple[mk.MemoryStorage, list[int]]:
    store = mk.MemoryStorage(signing_key="k" if signed else None)
    reg = mk.Registry(store)
    for i in range(1, n + 1):
        reg.register("m", i, metrics={"auc": (i * 37 % 101) / 101})
    ranked = sorted(range(1, n + 1), key=lambda i: ((i * 37 % 101) / 101, i), reverse=True)
    return store, ranked


def another_process(store: mk.MemoryStorage) -> mk.Registry:
    return mk.Registry(pickle.loads(pickle.dumps(store)))


def top(reg: mk.Registry, k: int = 5) -> list[int]:
    return [v.version for v in reg.search("m", order_by="-metrics.auc", limit=k)]


def test_the_snapshot_is_written_every_64_versions_and_read_by_a_new_process() -> None:
    store, ranked = filled(63)
    assert not store.exists(KEY)
    mk.Registry(store).register("m", 64, metrics={"auc": (64 * 37 % 101) / 101})
    assert store.exists(KEY)
    snapshot = json.loads(store.read(KEY))["data"]
    assert snapshot["tail"] == 64 and len(snapshot["state"]["version"]) == 64
    store, ranked = filled(70)
    assert top(another_process(store)) == ranked[:5]


def test_an_older_snapshot_of_the_same_log_is_caught_up() -> None:
    store = mk.MemoryStorage(signing_key="k")
    reg = mk.Registry(store)
    for i in range(1, 65):
        reg.register("m", i, metrics={"auc": i / 200})
    at_64 = store.read(KEY)
    for i in range(65, 140):
        reg.register("m", i, metrics={"auc": i / 200})
    store.write(KEY, at_64)  # rolled back to the snapshot at version 64: still valid, only stale
    assert top(another_process(store), 3) == [139, 138, 137]


@pytest.mark.parametrize("signed", [True, False])
def test_a_tampered_or_corrupt_snapshot_is_ignored(signed: bool) -> None:
    store, ranked = filled(70, signed=signed)
    raw = json.loads(store.read(KEY))
    if signed:
        raw["data"]["state"]["metrics"]["auc"][1][0] = 2.0  # a lie: the signature no longer verifies
        store.write(KEY, json.dumps(raw).encode())
    else:
        store.write(KEY, b'{"data": {"fold": "model-index", "tail": 64, "state": {"version": 3}}}')
    with pytest.warns(UserWarning, match="Ignoring the snapshot"):
        assert top(another_process(store)) == ranked[:5]  # folded from the first entry instead


def test_a_snapshot_copied_from_another_model_is_ignored() -> None:
    store = mk.MemoryStorage(signing_key="k")
    reg = mk.Registry(store)
    for i in range(1, 65):
        reg.register("other", i, metrics={"auc": 0.99})
        reg.register("m", i, metrics={"auc": i / 100})
    store.write(KEY, store.read(_index.index_key("other")))  # signed, but for another key
    with pytest.warns(UserWarning, match="Ignoring the snapshot"):
        assert top(another_process(store), 2) == [64, 63]


def test_entries_deleted_after_the_snapshot_of_a_signed_log_are_an_integrity_error() -> None:
    store, _ = filled(70, signed=True)
    for seq in range(65, 71):
        store.delete(entry_key("models/m/versions", seq))
    with pytest.raises(mk.IntegrityError, match="signed head records entry 70"):
        another_process(store).search("m", limit=1)


def test_a_reader_that_folded_many_entries_writes_the_snapshot() -> None:
    store, ranked = filled(200)
    store.delete(KEY)  # as a store written before the index
    copy = pickle.loads(pickle.dumps(store))  # the same store in another process
    assert top(mk.Registry(copy)) == ranked[:5]
    assert json.loads(copy.read(KEY))["data"]["tail"] == 200
    counting = FaultyStorage(pickle.loads(pickle.dumps(copy)))
    assert top(mk.Registry(counting)) == ranked[:5]
    # The snapshot, the entry at its tail (it ends the log: does the log still hold it?), the
    # head, misses past it and in the events, 5 records.
    assert counting.calls <= 15


def test_register_succeeds_when_the_index_snapshot_cannot_be_written() -> None:
    class NoIndexSnapshots(FaultyStorage):
        def _write(self, key: str, data: bytes) -> None:
            if key == KEY:
                raise mk.core.errors.StorageError(f"Injected fault writing {key!r}.")
            super()._write(key, data)

    store = NoIndexSnapshots(mk.MemoryStorage())
    reg = mk.Registry(store)
    for i in range(1, 64):
        reg.register("m", i)
    with pytest.warns(UserWarning, match="Could not write the snapshot"):
        assert reg.register("m", 64).version == 64
    assert [v.version for v in mk.Registry(store).search("m", limit=2)] == [64, 63]


def test_searches_during_concurrent_registrations_see_a_growing_prefix_of_the_log(tmp_path: Path) -> None:
    """Two writers and a reader, each with its own storage object (as separate processes)."""
    url = str(tmp_path / "store")
    mk.Registry(mk.FsspecStorage(url)).register("m", 0, metrics={"auc": 0.5})
    per_writer, seen = 40, []
    done = threading.Event()

    def write(seed: int) -> None:
        reg, rng = mk.Registry(mk.FsspecStorage(url)), random.Random(seed)
        for _ in range(per_writer):
            reg.register("m", seed, metrics={"auc": rng.choice([0.1, 0.5, 0.9])})

    def read() -> None:
        reg = mk.Registry(mk.FsspecStorage(url))
        while not done.is_set():
            every = [v.version for v in reg.search("m")]
            best = [v.version for v in reg.search("m", order_by="-metrics.auc", limit=3)]
            seen.append((every, best))

    writers = [threading.Thread(target=write, args=(s,)) for s in (1, 2)]
    reader = threading.Thread(target=read)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    final = {v.version: v.metrics["auc"] for v in mk.Registry(mk.FsspecStorage(url)).versions("m")}
    assert sorted(final) == list(range(1, 2 * per_writer + 2))
    known = 0
    for every, best in seen:
        assert every == list(range(len(every), 0, -1)), "a search returned a gap in the log"
        assert len(every) >= known, "a search missed a version an earlier search returned"
        known = len(every)
        prefixes = [
            sorted(range(1, k + 1), key=lambda v: (final[v], v), reverse=True)[:3]
            for k in range(known, len(final) + 1)
        ]
        assert best in prefixes  # the answer for some prefix at least as long
    assert len(seen) > 1
