"""Concurrent savers from several processes never lose or mix up a version."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.storage import Storage


def payload(writer: int, i: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"writer": [writer] * 5, "i": [i] * 5, "x": [float(writer * 100 + i + k) for k in range(5)]}
    )


def save_many(storage: Storage, writer: int, count: int) -> list[tuple[int, int]]:
    ds = mk.Dataset("shared", storage=storage)
    return [(ds.save(payload(writer, i)).version, i) for i in range(count)]


def run_savers(storage: Storage) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=ctx) as pool:
        results = list(pool.map(save_many, [storage] * 4, range(4), [10] * 4))
    ds = mk.Dataset("shared", storage=storage)
    assert [v.version for v in ds.versions()] == list(range(1, 41))
    assert sorted(v for r in results for v, _ in r) == list(range(1, 41))
    for writer, saved in enumerate(results):
        for version, i in saved:
            pd.testing.assert_frame_equal(ds.load(version), payload(writer, i))


@pytest.mark.slow
def test_four_processes_on_a_local_folder(make_local_storage) -> None:  # type: ignore[no-untyped-def]
    run_savers(make_local_storage())


@pytest.mark.slow
@pytest.mark.s3
def test_four_processes_on_s3(make_s3_storage) -> None:  # type: ignore[no-untyped-def]
    run_savers(make_s3_storage())


def save_contents(storage: Storage, barrier: Any, count: int) -> list[int]:
    ds = mk.Dataset("same", storage=storage)
    versions = []
    for i in range(count):
        barrier.wait()  # every process saves content i at the same moment
        versions.append(ds.save(payload(0, i)).version)
    return versions


def run_identical_savers(storage: Storage, processes: int, contents: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(processes, mp_context=ctx) as pool:
        barrier = manager.Barrier(processes)
        results = list(
            pool.map(save_contents, [storage] * processes, [barrier] * processes, [contents] * processes)
        )
    versions = mk.Dataset("same", storage=storage).versions()
    assert len(versions) == contents, f"{len(versions)} versions for {contents} contents saved in lockstep"
    assert [v.version for v in versions] == list(range(1, contents + 1))
    for saved in results:
        assert saved == list(range(1, contents + 1))  # every saver got the one version of its content


@pytest.mark.slow
def test_identical_content_saved_concurrently_makes_one_version(make_local_storage) -> None:  # type: ignore[no-untyped-def]
    run_identical_savers(make_local_storage(), 8, 15)


@pytest.mark.slow
@pytest.mark.s3
def test_identical_content_saved_concurrently_on_s3_makes_one_version(make_s3_storage) -> None:  # type: ignore[no-untyped-def]
    run_identical_savers(make_s3_storage(), 4, 6)
