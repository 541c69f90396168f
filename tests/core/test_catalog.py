"""The catalog of names: exact without listing, across crashes, old stores and concurrent writers."""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pytest

import mlops_kit as mk
from mlops_kit.core.record import Record
from mlops_kit.core.storage import MemoryStorage, Storage
from mlops_kit.core.storage._cache import _CACHES
from mlops_kit.core.storage.catalog import Catalog
from mlops_kit.core.storage.logs import log_owners

from .test_logpacks import counted


class Entry(Record):
    n: int


def fresh(store: Storage) -> Storage:
    if isinstance(store, MemoryStorage):
        _CACHES.pop(store, None)
        return store
    return pickle.loads(pickle.dumps(store))


def add(store: Storage, name: str) -> None:
    Catalog(store, "things", "versions").add(
        name, lambda: store.append(f"things/{name}/versions", Entry(n=1))
    )


@pytest.mark.parametrize("count", [3, 40])
def test_names_are_the_owners_of_logs_without_listing(
    count: int, make_any_storage: Callable[[], Storage]
) -> None:
    store = make_any_storage()
    for n in range(count):
        add(store, f"t{n:03d}")
    view = fresh(store)
    calls = counted(view)
    names = Catalog(view, "things", "versions").names()
    assert calls["_list"] == 0
    assert sum(calls.values()) <= 1 + 8 + 1, calls  # a snapshot, fewer than 8 entries, a miss
    assert names == log_owners(store, "things", "versions")


def test_a_writer_stopped_before_its_first_entry_leaves_no_name() -> None:
    store = MemoryStorage()
    add(store, "kept")
    Catalog(store, "things", "versions").declare("ghost")  # then the process died
    assert Catalog(fresh(store), "things", "versions").names() == ["kept"]


def test_a_writer_stopped_after_its_first_entry_is_listed() -> None:
    store = MemoryStorage()
    add(store, "kept")
    catalog = Catalog(store, "things", "versions")
    catalog.declare("late")
    store.append("things/late/versions", Entry(n=1))  # then the process died before confirming
    assert Catalog(fresh(store), "things", "versions").names() == ["kept", "late"]


def test_a_store_from_before_catalogs_is_listed_then_imported() -> None:
    store = MemoryStorage()
    for name in ("old-a", "old-b"):
        store.append(f"things/{name}/versions", Entry(n=1))  # as mlops_kit before catalogs wrote it
    assert Catalog(store, "things", "versions").names() == ["old-a", "old-b"]
    add(store, "new")
    view = fresh(store)
    calls = counted(view)
    assert Catalog(view, "things", "versions").names() == ["new", "old-a", "old-b"]
    assert calls["_list"] == 0


def test_registry_models_and_datasets_and_endpoints_use_catalogs() -> None:
    store = MemoryStorage()
    reg = mk.Registry(store)
    for name in ("b", "a", "c"):
        reg.register(name, 1)
    reg.register("a", 2)
    view = fresh(store)
    calls = counted(view)
    assert mk.Registry(view).models() == ["a", "b", "c"]
    assert mk.Registry(view).models(limit=2, offset=1) == ["b", "c"]
    assert calls["_list"] == 0


def test_a_corrupt_catalog_snapshot_is_ignored() -> None:
    store = MemoryStorage()
    for n in range(10):
        add(store, f"t{n}")
    store.write("catalog/things.snapshot.json", b"{garbage")
    with pytest.warns(mk.MlopsKitWarning, match="Ignoring the snapshot"):
        assert Catalog(fresh(store), "things", "versions").names() == [f"t{n}" for n in range(10)]


def _add_many(store: Storage, writer: int) -> None:
    for n in range(6):
        add(store, f"w{writer}-{n}")
        add(store, "shared")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_concurrent_writers_of_new_names_are_all_listed(backend: str, request: pytest.FixtureRequest) -> None:
    store = request.getfixturevalue(f"make_{backend}_storage")()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(3, mp_context=ctx) as pool:
        list(pool.map(_add_many, [store] * 3, range(3)))
    expected = sorted({"shared"} | {f"w{w}-{n}" for w in range(3) for n in range(6)})
    assert (
        Catalog(fresh(store), "things", "versions").names()
        == expected
        == log_owners(store, "things", "versions")
    )
