"""Model summaries (``Registry.summaries``, ``mlops-kit models ls``): constant reads, exact around every writer."""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

import mlops_kit as mk
from mlops_kit.core.storage import Storage
from mlops_kit.core.storage.summaries import SummaryEntry
from mlops_kit.registry import ModelVersion

from ..core.test_logpacks import counted, fresh

LOG = "catalog/models-summaries"


def truth(store: Storage) -> list[tuple[Any, ...]]:
    """Each model's summary from its own logs (what the summary log must agree with)."""
    reg = mk.Registry(fresh(store))
    rows = []
    for name in reg.models():
        newest = reg.versions(name, limit=1, newest_first=True)[0]
        try:
            latest: int | None = reg.get(name).version
        except mk.NotFoundError:
            latest = None
        rows.append((name, newest.version, latest, reg.aliases(name), newest.created_at))
    return rows


def listed(store: Storage) -> list[tuple[Any, ...]]:
    return [(s.name, s.versions, s.latest, s.aliases, s.created_at) for s in mk.Registry(store).summaries()]


def store_with(count: int, make: Callable[[], Storage]) -> Storage:
    store = make()
    reg = mk.Registry(store)
    for n in range(count):
        name = f"m{n:03d}"
        reg.register(name, n)
        if n % 2:
            reg.register(name, -n)
            reg.set_alias(name, "prod", 1)
        if n % 5 == 0:
            reg.archive(name, 1, force=True)
    return store


@pytest.mark.parametrize("count", [10, 50])  # 50: past several snapshots of the log
def test_summaries_cost_the_same_reads_at_any_number_of_models(
    count: int, make_any_storage: Callable[[], Storage]
) -> None:
    store = store_with(count, make_any_storage)
    expected = truth(store)
    assert [row[2] for row in expected[:3]] == [None, 2, 1]  # m000 archived, m001 has 2 versions
    view = fresh(store)
    calls = counted(view)
    assert listed(view) == expected
    assert calls["_list"] == 0
    # The catalog's and the summary log's snapshots and the few entries after each.
    assert sum(calls.values()) <= 2 * (2 + 16 + 2), calls


def test_every_writer_keeps_the_summaries_exact() -> None:
    store = store_with(3, mk.MemoryStorage)
    reg = mk.Registry(store)
    reg.register("m000", "again")
    reg.set_alias("m001", "canary", 2)
    reg.delete_alias("m001", "prod")
    reg.archive("m001", 2, force=True)
    reg.restore("m000", 1)
    assert listed(fresh(store)) == truth(store)
    assert [(s.name, s.latest) for s in reg.summaries(limit=1, offset=1)] == [("m001", 1)]


def test_a_refused_change_closes_its_token() -> None:
    store = store_with(2, mk.MemoryStorage)
    reg = mk.Registry(store)
    with pytest.raises(mk.NotFoundError):
        reg.set_alias("m001", "prod", 9)  # no version 9: refused, nothing appended
    assert mk.core.storage.summaries.Summaries(store, LOG).read().pending() == set()
    assert listed(fresh(store)) == truth(store)


def test_writers_stopped_before_or_after_their_change_leave_the_summaries_exact() -> None:
    store = store_with(3, mk.MemoryStorage)
    # One stopped after opening its token, before its change; one after its change, before observing.
    store.append(LOG, SummaryEntry(kind="open", name="m000", token="dead-before"))
    store.append(LOG, SummaryEntry(kind="open", name="m002", token="dead-after"))
    old = mk.Registry(store).get("m002")
    store.append("models/m002/versions", old.evolve(version=2))
    assert listed(fresh(store)) == truth(store)
    assert listed(fresh(store))[2][1:3] == (2, 2)


def test_the_newest_observation_wins_whatever_order_writers_record_them_in() -> None:
    store = store_with(1, mk.MemoryStorage)
    reg = mk.Registry(store)
    created = reg.register("m000", "second").created_at.isoformat()
    # Version 2's writer recorded first; a slower writer then records what it saw at version 1.
    store.append(LOG, SummaryEntry(kind="open", name="m000", token="slow"))
    store.append(
        LOG,
        SummaryEntry(
            kind="observed", name="m000", token="slow", part="versions", tail=1, data={"created_at": created}
        ),
    )
    assert listed(fresh(store))[0][1:3] == (2, 2) and listed(fresh(store)) == truth(store)


def test_a_store_from_before_the_summaries_is_listed_then_imported() -> None:
    store = store_with(6, mk.MemoryStorage)
    for key in store.list(LOG.rsplit("/", 1)[0]):
        if key.startswith(LOG):
            store.delete(key)  # as mlops_kit before the summaries wrote it
    view = fresh(store)
    assert listed(view) == truth(store)
    mk.Registry(store).register("new", 1)
    expected = truth(store)
    view = fresh(store)
    calls = counted(view)
    assert listed(view) == expected
    assert sum(calls.values()) <= 2 * (2 + 16 + 2), calls


def test_a_corrupt_summary_snapshot_is_ignored_with_a_warning() -> None:
    store = store_with(30, mk.MemoryStorage)
    assert store.exists(f"{LOG}.snapshot.json")
    store.write(f"{LOG}.snapshot.json", b'{"fold": "summaries", "tail": 1}')
    with pytest.warns(mk.MlopsKitWarning, match="Ignoring the snapshot"):
        assert listed(fresh(store)) == truth(store)


def test_the_cli_lists_a_page_of_models_in_constant_reads(tmp_path) -> None:
    from mlops_kit.cli import _storage
    from mlops_kit.cli._app import main

    counts = []
    for count in (5, 60):
        folder = str(tmp_path / f"s{count}")
        store = store_with(count, lambda folder=folder: mk.storage(folder))
        view = fresh(store)
        calls = counted(view)
        original = _storage.storage
        _storage.storage = lambda url=None, view=view, **kw: view  # type: ignore[assignment]
        try:
            main.main(["--storage", view.url, "models", "ls", "--limit", "50"], standalone_mode=False)
        finally:
            _storage.storage = original  # type: ignore[assignment]
        counts.append(sum(calls.values()))
    assert counts[1] <= counts[0] + 16, counts  # 50 models shown, not 10 times the requests of 5


def _churn(store: Storage, writer: int) -> None:
    reg = mk.Registry(store)
    rng = random.Random(writer)
    for _ in range(10):
        name = f"r{rng.randrange(4)}"
        action = rng.random()
        try:
            if action < 0.5:
                reg.register(name, writer)
            elif action < 0.8:
                reg.set_alias(name, "prod", 1)
            else:
                reg.archive(name, 1, force=True)
        except (mk.NotFoundError, mk.ConflictError):
            pass  # an alias or archive of a model not registered yet, an alias to an archived version


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_racing_writers_leave_exact_summaries(backend: str, request: pytest.FixtureRequest) -> None:
    store = request.getfixturevalue(f"make_{backend}_storage")()
    mk.Registry(store).register("r0", 0)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(3, mp_context=ctx) as pool:
        list(pool.map(_churn, [store] * 3, range(3)))
    expected = truth(store)
    assert len(expected) >= 2
    assert listed(fresh(store)) == expected
    assert all(isinstance(mk.Registry(store).get(f"{row[0]}:1"), ModelVersion) for row in expected)
