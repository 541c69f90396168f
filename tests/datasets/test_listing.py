"""Dataset listings: pages of versions and the names of datasets, without listing the storage."""

from __future__ import annotations

import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.storage import MemoryStorage

from ..core.test_logpacks import counted, fresh


def saved(count: int) -> MemoryStorage:
    store = MemoryStorage()
    ds = mk.Dataset("d", store)
    for n in range(count):
        ds.save(pd.DataFrame({"x": [n]}))
    mk.Dataset("other", store).save(pd.DataFrame({"y": [1]}))
    return store


def test_pages_of_dataset_versions() -> None:
    ds = mk.Dataset("d", fresh(saved(40)))
    every = [v.version for v in ds.versions()]
    assert every == list(range(1, 41))
    assert [v.version for v in ds.versions(limit=5, offset=10)] == every[10:15]
    assert [v.version for v in ds.versions(limit=3, newest_first=True)] == [40, 39, 38]
    assert [v.version for v in ds.versions(offset=38)] == [39, 40]
    with pytest.raises(mk.ConfigError, match="limit="):
        ds.versions(limit=-1)


def test_a_page_of_a_long_dataset_reads_only_what_it_returns() -> None:
    store = fresh(saved(300))
    calls = counted(store)
    assert [v.version for v in mk.Dataset("d", store).versions(limit=5, newest_first=True)] == [
        300,
        299,
        298,
        297,
        296,
    ]
    assert sum(calls.values()) <= 12, calls


def test_dataset_names_come_from_the_catalog() -> None:
    store = fresh(saved(3))
    calls = counted(store)
    assert mk.Dataset.names(store) == ["d", "other"]
    assert calls["_list"] == 0
