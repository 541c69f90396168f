"""Packs: long logs read in a few requests, exactly, and a bad pack never changes what is read."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlops_kit as mk
from mlops_kit.core.record import Record
from mlops_kit.core.storage import FsspecStorage, MemoryStorage, Storage
from mlops_kit.core.storage._cache import _CACHES
from mlops_kit.core.storage.logpacks import pack_key

KEY = b"pack-secret"


class Note(Record):
    n: int
    writer: int = 0


def fresh(store: Storage) -> Storage:
    """Another process's view of the same storage: nothing cached."""
    if isinstance(store, MemoryStorage):
        _CACHES.pop(store, None)
        return store
    return pickle.loads(pickle.dumps(store))


def counted(store: Storage) -> Counter[str]:
    """Count the storage requests ``store`` makes from now on, by hook."""
    counts: Counter[str] = Counter()
    for hook in ("_read", "_exists", "_list", "_create", "_write"):
        original = getattr(store, hook)

        def wrapper(*args: Any, _original: Any = original, _hook: str = hook, **kwargs: Any) -> Any:
            counts[_hook] += 1
            return _original(*args, **kwargs)

        setattr(store, hook, wrapper)
    return counts


def filled(store: Storage, n: int, prefix: str = "log") -> Storage:
    for i in range(n):
        store.append(prefix, Note(n=i))
    return store


@pytest.mark.parametrize("n", [15, 16, 300, 4200])
def test_a_long_log_is_read_exactly_in_a_few_requests(n: int) -> None:
    store = fresh(filled(MemoryStorage(), n))
    counts = counted(store)
    assert [e.record.n for e in store.read_log("log", Note)] == list(range(n))
    # At most one pack of each size per 16 of the next, 15 entries, the misses and the head.
    bound = n // 4096 + 15 + 15 + 15 + 6
    assert sum(counts.values()) <= bound, counts
    assert counts["_list"] == 0


def test_reading_an_unchanged_log_again_costs_one_miss_and_the_head() -> None:
    store = filled(MemoryStorage(), 300)
    store.read_log("log", Note)
    counts = counted(store)
    assert len(store.read_log("log", Note)) == 300
    assert sum(counts.values()) <= 3, counts


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 600),
    after=st.integers(0, 620),
    limit=st.none() | st.integers(1, 300),
    upto=st.none() | st.integers(0, 650),
)
def test_pages_are_slices_of_the_log(n: int, after: int, limit: int | None, upto: int | None) -> None:
    store = fresh(filled(MemoryStorage(), n))
    page = [e.seq for e in store.read_log("log", Note, after=after, limit=limit, upto=upto)]
    expected = [s for s in range(1, n + 1) if s > after and (upto is None or s <= upto)]
    assert page == expected[:limit]


def test_a_page_reads_only_what_it_returns() -> None:
    store = fresh(filled(MemoryStorage(), 5000))
    counts = counted(store)
    page = store.read_log("log", Note, after=4900, limit=50)
    assert [e.seq for e in page] == list(range(4901, 4951))
    assert sum(counts.values()) <= 20, counts


@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_packs_are_written_where_the_log_is(backend: str, request: pytest.FixtureRequest) -> None:
    store = request.getfixturevalue(f"make_{backend}_storage")()
    filled(store, 256)
    assert store.exists(pack_key("log", 16, 241)) and store.exists(pack_key("log", 256, 1))
    view = fresh(store)
    counts = counted(view)
    assert [e.record.n for e in view.read_log("log", Note)] == list(range(256))
    assert counts["_read"] <= 3, counts


# -- a bad pack is detected or ignored ------------------------------------------------


def signed_store(n: int = 40) -> MemoryStorage:
    store = MemoryStorage(signing_key=KEY)
    return filled(store, n)  # type: ignore[return-value]


def rewrite_pack(store: Storage, size: int, first: int, change: Callable[[dict[str, Any]], None]) -> None:
    key = pack_key("log", size, first)
    body = json.loads(store.read(key))
    change(body)
    store.write(key, json.dumps(body).encode())


def edited_entry(body: dict[str, Any]) -> None:
    entry = json.loads(body["entries"][3])
    entry["data"]["n"] = 999
    body["entries"][3] = json.dumps(entry, separators=(",", ":"))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(edited_entry, id="an edited entry"),
        pytest.param(lambda body: body["entries"].pop(), id="truncated"),
        pytest.param(lambda body: body.update(first=17), id="moved"),
        pytest.param(lambda body: body["entries"].__setitem__(0, "{not json"), id="garbage"),
    ],
)
def test_a_tampered_pack_is_ignored_with_a_warning(change: Callable[[dict[str, Any]], None]) -> None:
    store = signed_store()
    rewrite_pack(store, 16, 1, change)
    with pytest.warns(mk.MlopsKitWarning, match="Ignoring the pack"):
        entries = fresh(store).read_log("log", Note)
    assert [e.record.n for e in entries] == list(range(40))


def test_an_unreadable_pack_is_ignored_unsigned_too() -> None:
    store = filled(MemoryStorage(), 40)
    store.write(pack_key("log", 16, 17), b"\x00garbage")
    with pytest.warns(mk.MlopsKitWarning, match="Ignoring the pack"):
        assert [e.record.n for e in fresh(store).read_log("log", Note)] == list(range(40))


def test_a_pack_of_entries_from_another_log_does_not_verify() -> None:
    store = signed_store()
    filled(store, 16, prefix="other")
    store.write(pack_key("log", 16, 1), store.read(pack_key("other", 16, 1)).replace(b'"other"', b'"log"'))
    with pytest.warns(mk.MlopsKitWarning, match="Ignoring the pack"):
        assert [e.record.n for e in fresh(store).read_log("log", Note)] == list(range(40))


def test_a_pack_from_another_history_of_the_log_breaks_the_chain() -> None:
    store, other = signed_store(), MemoryStorage(signing_key=KEY)
    for i in range(40):
        other.append("log", Note(n=i, writer=1))  # same key, same numbers, another history
    store.write(pack_key("log", 16, 17), other.read(pack_key("log", 16, 17)))
    with pytest.raises(mk.IntegrityError, match="broken hash chain"):
        fresh(store).read_log("log", Note)


def test_a_deleted_pack_is_a_miss_and_the_entries_are_read() -> None:
    store = signed_store()
    store.delete(pack_key("log", 16, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [e.record.n for e in fresh(store).read_log("log", Note)] == list(range(40))


def test_a_missing_pack_is_rebuilt_from_the_entries_when_the_next_size_is_written() -> None:
    store = filled(MemoryStorage(), 240)
    store.delete(pack_key("log", 16, 17))
    filled(store, 16)
    assert len(json.loads(store.read(pack_key("log", 256, 1)))["entries"]) == 256
    assert [e.record.n for e in fresh(store).read_log("log", Note)] == list(range(240)) + list(range(16))


def test_deleting_entries_behind_a_pack_still_ends_at_the_signed_head() -> None:
    store = signed_store()
    store.delete("log/000000000040.json")
    with pytest.raises(mk.IntegrityError, match="signed head"):
        fresh(store).read_log("log", Note)


def test_an_unsigned_gap_after_the_packs_is_refused() -> None:
    store = filled(MemoryStorage(), 40)
    store.delete("log/000000000035.json")
    with pytest.raises(mk.IntegrityError, match="missing entry 35"):
        fresh(store).read_log("log", Note)


# -- concurrent writers ---------------------------------------------------------------


def _append_many(storage: Storage, writer: int, count: int) -> list[int]:
    return [storage.append("log", Note(writer=writer, n=n)) for n in range(count)]


def _read_while_writing(storage: Storage, rounds: int) -> list[list[tuple[int, int]]]:
    seen = []
    for _ in range(rounds):
        view = fresh(storage)
        seen.append([(e.record.writer, e.record.n) for e in view.read_log("log", Note)])
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=pytest.mark.s3)])
@pytest.mark.parametrize("signing", [False, True], ids=["unsigned", "signed"])
def test_listings_stay_exact_under_concurrent_writer_processes(
    backend: str, signing: bool, request: pytest.FixtureRequest
) -> None:
    base = request.getfixturevalue(f"make_{backend}_storage")()
    store = pickle.loads(pickle.dumps(base))
    if signing:
        store._explicit_signing_key = KEY
    per_writer = 90 if backend == "local" else 40
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=ctx) as pool:
        writers = [pool.submit(_append_many, store, w, per_writer) for w in range(3)]
        reader = pool.submit(_read_while_writing, store, 15)
        results = [w.result() for w in writers]
        snapshots = reader.result()
    total = 3 * per_writer
    assert sorted(s for r in results for s in r) == list(range(1, total + 1))
    final = [(e.record.writer, e.record.n) for e in fresh(store).read_log("log", Note)]
    assert len(final) == total
    for writer in range(3):  # each writer's entries in its own order, at the numbers it was given
        assert [n for w, n in final if w == writer] == list(range(per_writer))
        assert all(final[s - 1][0] == writer for s in results[writer])
    for seen in snapshots:  # every listing read meanwhile is a prefix of the final log
        assert seen == final[: len(seen)]
    assert any(isinstance(k, str) and "/packs/" in k for k in store.list("log"))


def test_local_and_memory_packs_agree(tmp_path: Any) -> None:
    local, memory = filled(FsspecStorage(tmp_path), 32), filled(MemoryStorage(), 32)
    assert json.loads(local.read(pack_key("log", 16, 17)))["first"] == 17
    assert [e.record for e in fresh(local).read_log("log", Note)] == [
        e.record for e in fresh(memory).read_log("log", Note)
    ]
