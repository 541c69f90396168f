"""Concurrent savers from several processes never lose or mix up a version."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

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
