"""The append-only log: ordered, gap-free, never losing an entry, across processes."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_kit.core.record import Record
from mlops_kit.core.storage import FsspecStorage, MemoryStorage, Storage
from mlops_kit.core.storage._cache import cache_of


class Event(Record):
    writer: int
    n: int


class Numbered(Record):
    seq: int


def test_sequence_starts_at_one_and_has_no_gaps(any_storage: Storage) -> None:
    assert any_storage.read_log("log", Event) == []
    seqs = [any_storage.append("log", Event(writer=0, n=i)) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert [e.record.n for e in any_storage.read_log("log", Event)] == [0, 1, 2, 3, 4]
    assert [e.seq for e in any_storage.read_log("log", Event, after=3)] == [4, 5]
    assert any_storage.read_entry("log", 2, Event).n == 1


def test_record_factory_receives_its_sequence_number(any_storage: Storage) -> None:
    any_storage.append("log", Numbered(seq=1))
    assert any_storage.append("log", lambda seq: Numbered(seq=seq)) == 2
    assert any_storage.read_entry("log", 2, Numbered).seq == 2


def test_a_second_instance_with_a_stale_view_never_overwrites(make_any_storage) -> None:  # type: ignore[no-untyped-def]
    first = make_any_storage()
    if isinstance(first, MemoryStorage):
        second: Storage = first  # memory storages share nothing across instances
    else:
        import pickle

        second = pickle.loads(pickle.dumps(first))
    assert first.append("log", Event(writer=1, n=0)) == 1
    assert second.append("log", Event(writer=2, n=0)) == 2
    assert first.append("log", Event(writer=1, n=1)) == 3  # its cached tail (1) was stale
    assert [e.record.writer for e in second.read_log("log", Event)] == [1, 2, 1]


def test_other_keys_under_the_prefix_are_ignored(any_storage: Storage) -> None:
    any_storage.append("log", Event(writer=0, n=0))
    any_storage.write("log/README", b"not an entry")
    any_storage.write("log/nested/000000000009.json", b"{}")
    assert [e.seq for e in any_storage.read_log("log", Event)] == [1]
    assert any_storage.append("log", Event(writer=0, n=1)) == 2


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=30))
def test_log_is_the_sequence_of_appends(writers: list[int]) -> None:
    store = MemoryStorage()
    for i, w in enumerate(writers):
        store.append("log", Event(writer=w, n=i))
    assert [(e.record.writer, e.record.n) for e in store.read_log("log", Event)] == [
        (w, i) for i, w in enumerate(writers)
    ]


def _append_many(storage: Storage, writer: int, count: int) -> list[int]:
    return [storage.append("log", Event(writer=writer, n=n)) for n in range(count)]


def test_processes_never_lose_entries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    storage = FsspecStorage(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=ctx) as pool:
        results = list(pool.map(_append_many, [storage] * 4, range(4), [25] * 4))
    assert sorted(s for r in results for s in r) == list(range(1, 101))
    entries = storage.read_log("log", Event)
    for writer, seqs in enumerate(results):
        assert [e.record.n for e in entries if e.record.writer == writer] == list(range(25))
        assert all(entries[s - 1].record.writer == writer for s in seqs)


class _CountingStorage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.lists = 0

    def _list(self, prefix: str) -> list[str]:
        self.lists += 1
        return super()._list(prefix)


def test_a_lost_race_tries_the_next_number_before_listing() -> None:
    store = _CountingStorage()
    for i in range(40):
        store.append("log", Event(writer=0, n=i))
    cache_of(store).tails["log"] = 37  # as if 3 entries had been appended elsewhere meanwhile
    before = store.lists
    assert store.append("log", Event(writer=1, n=0)) == 41
    assert store.lists == before  # three lost creates, no listing
    cache_of(store).tails["log"] = 0  # far behind: probing gives up and jumps to the head
    assert store.append("log", Event(writer=1, n=1)) == 42
    assert store.lists == before
    store.delete("log/head.json")  # no head (a log from mlops_kit 0.1): one listing
    cache_of(store).tails["log"] = 0
    assert store.append("log", Event(writer=1, n=2)) == 43
    assert store.lists == before + 1
    assert [e.seq for e in store.read_log("log", Event)] == list(range(1, 44))
