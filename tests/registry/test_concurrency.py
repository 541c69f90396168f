"""Concurrent writers in several processes never lose, duplicate or mix up versions or moves."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.core.storage import Storage
from mlops_kit.registry import ModelEvent

WRITERS = 8
EACH = 25


def wait_for_all(folder: str, me: int, count: int) -> None:
    """A file barrier across processes, so that the writers really overlap."""
    Path(folder, f"ready-{me}").touch()
    deadline = time.monotonic() + 120
    while len(list(Path(folder).glob("ready-*"))) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the other writers never started")
        time.sleep(0.005)


def register_many(
    storage: Storage, writer: int, count: int, barrier: str, writers: int
) -> list[tuple[int, int]]:
    reg = mk.Registry(storage)
    wait_for_all(barrier, writer, writers)
    return [(reg.register("shared", {"writer": writer, "i": i}).version, i) for i in range(count)]


def move_alias(storage: Storage, writer: int, count: int, barrier: str, writers: int) -> list[ModelEvent]:
    reg = mk.Registry(storage)
    rng = random.Random(writer)
    wait_for_all(barrier, writer, writers)
    return [reg.set_alias("m", "prod", rng.randint(1, 5)) for _ in range(count)]


def run_in_processes(
    fn: Callable[..., list], storage: Storage, writers: int, each: int, tmp: Path
) -> list[list]:  # type: ignore[type-arg]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(writers, mp_context=ctx) as pool:
        futures = [pool.submit(fn, storage, w, each, str(tmp), writers) for w in range(writers)]
        return [f.result() for f in futures]


def check_registrations(storage: Storage, results: list[list[tuple[int, int]]], total: int) -> None:
    reg = mk.Registry(storage)
    assert [v.version for v in reg.versions("shared")] == list(range(1, total + 1))
    assert sorted(v for r in results for v, _ in r) == list(range(1, total + 1))  # none lost, none twice
    for writer, registered in enumerate(results):
        assert [i for _, i in registered] == list(range(len(registered)))
        for version, i in registered:
            assert reg.load(f"shared:{version}") == {"writer": writer, "i": i}
    assert reg.get("shared").version == total


def check_moves(storage: Storage, results: list[list[ModelEvent]]) -> None:
    reg = mk.Registry(storage)
    moves = [e for e in reg.history("m") if e.kind == "alias_set"]
    made = [e for r in results for e in r]
    assert len(moves) == len(made)
    assert sorted(moves, key=repr) == sorted(made, key=repr)  # every move is in the history
    assert reg.aliases("m") == {"prod": moves[-1].version}  # the last event wins
    assert moves[0].from_version is None
    for before, after in zip(moves, moves[1:]):  # each move starts where the previous one ended
        assert after.from_version == before.version


@pytest.mark.slow
def test_eight_processes_register_on_a_local_folder(
    make_local_storage: Callable[[], Storage], tmp_path: Path
) -> None:
    storage = make_local_storage()
    results = run_in_processes(register_many, storage, WRITERS, EACH, tmp_path)
    check_registrations(storage, results, WRITERS * EACH)


@pytest.mark.slow
@pytest.mark.s3
def test_eight_processes_register_on_s3(make_s3_storage: Callable[[], Storage], tmp_path: Path) -> None:
    storage = make_s3_storage()
    # Fewer each than on a local folder: every register is 17 requests to moto (the model's
    # logs, the catalog, the summary log); 8 racing processes still collide on every number.
    each = EACH // 2
    results = run_in_processes(register_many, storage, WRITERS, each, tmp_path)
    check_registrations(storage, results, WRITERS * each)


def setup_versions(storage: Storage) -> None:
    reg = mk.Registry(storage)
    for i in range(5):
        reg.register("m", i)


@pytest.mark.slow
def test_concurrent_alias_moves_on_a_local_folder(
    make_local_storage: Callable[[], Storage], tmp_path: Path
) -> None:
    storage = make_local_storage()
    setup_versions(storage)
    check_moves(storage, run_in_processes(move_alias, storage, 4, 15, tmp_path))


def move_alias_in_threads(storages: list[Storage], each: int) -> list[list[ModelEvent]]:
    start = threading.Barrier(len(storages))

    def work(writer: int) -> list[ModelEvent]:
        reg = mk.Registry(storages[writer])  # one registry each: its own folded state
        rng = random.Random(writer)
        start.wait()
        return [reg.set_alias("m", "prod", rng.randint(1, 5)) for _ in range(each)]

    with ThreadPoolExecutor(len(storages)) as pool:
        return list(pool.map(work, range(len(storages))))


@pytest.mark.s3
def test_concurrent_alias_moves_on_s3(make_s3_storage: Callable[[], Storage]) -> None:
    storage = make_s3_storage()
    setup_versions(storage)
    # Threads rather than processes (the local-folder test covers processes): each has its
    # own storage object, so nothing is shared on the client side; S3 serializes the moves.
    views = [pickle.loads(pickle.dumps(storage)) for _ in range(4)]
    check_moves(storage, move_alias_in_threads(views, 10))


def test_concurrent_alias_moves_in_threads() -> None:
    storage = mk.MemoryStorage()
    setup_versions(storage)
    check_moves(storage, move_alias_in_threads([storage] * 6, 30))


def test_archive_and_alias_race_never_leave_an_alias_on_an_archived_version() -> None:
    # Archiving refuses while an alias points at the version, and moving an alias refuses an
    # archived version: whichever event lands first in the log, the other sees it.
    for seed in range(10):
        storage = mk.MemoryStorage()
        setup_versions(storage)
        start = threading.Barrier(2)

        def archive(_: int, start: threading.Barrier = start, storage: Storage = storage) -> None:
            start.wait()
            try:
                mk.Registry(storage).archive("m", 3)
            except mk.ConflictError:
                pass

        def point(_: int, start: threading.Barrier = start, storage: Storage = storage) -> None:
            start.wait()
            try:
                mk.Registry(storage).set_alias("m", "prod", 3)
            except mk.ConflictError:
                pass

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda f: f(0), [archive, point]))
        reg = mk.Registry(storage)
        assert not (3 in reg.archived("m") and reg.aliases("m").get("prod") == 3), seed
        assert (3 in reg.archived("m")) != (reg.aliases("m").get("prod") == 3), seed


assert os.cpu_count()  # spawn-based tests need a real multiprocessing platform
