"""The roster of serving endpoints: constant reads, exact across crashes, old stores and racing writers."""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pytest

import mlops_kit as mk
from mlops_kit.core.storage import Storage
from mlops_kit.core.storage.summaries import SummaryEntry
from mlops_kit.deploy._roster import ROSTER, Roster

from ..core.test_catalog import fresh
from ..core.test_logpacks import counted


def double(x: object) -> object:
    return x


def deployer(store: Storage) -> mk.LocalDeployer:
    return mk.LocalDeployer(mk.Registry(store), store)


def truth(store: Storage) -> list[str]:
    """The serving endpoints by each endpoint's own log (what the roster must agree with)."""
    dep = deployer(fresh(store))
    return [n for n in dep._roster().known() if dep._serving_of(n)[0]]


def store_with(count: int, make: Callable[[], Storage]) -> Storage:
    store = make()
    reg = mk.Registry(store)
    reg.register("m", double)
    dep = mk.LocalDeployer(reg, store)
    for n in range(count):
        dep.deploy("m:1", endpoint=f"e{n:03d}")
    for n in range(0, count, 3):
        dep.undeploy(f"e{n:03d}")
    return store


@pytest.mark.parametrize("count", [10, 50])  # 50: past several snapshots of the log
def test_listing_serving_endpoints_costs_the_same_reads_at_any_count(
    count: int, make_any_storage: Callable[[], Storage]
) -> None:
    store = store_with(count, make_any_storage)
    expected = truth(store)
    assert expected == [f"e{n:03d}" for n in range(count) if n % 3]
    view = fresh(store)
    calls = counted(view)
    assert deployer(view).endpoints() == expected
    assert calls["_list"] == 0
    # The roster's snapshot and fewer than 16 entries after it, a miss: never a read per endpoint.
    assert sum(calls.values()) <= 2 + 16 + 2, calls


def test_undeploy_and_redeploy_move_an_endpoint_out_of_and_back_into_the_listing() -> None:
    store = store_with(4, mk.MemoryStorage)
    dep = deployer(store)
    assert dep.endpoints() == ["e001", "e002"]
    dep.deploy("m:1", endpoint="e000")
    dep.undeploy("e002")
    assert dep.endpoints() == ["e000", "e001"] == deployer(fresh(store)).endpoints()
    assert deployer(fresh(store)).endpoints(limit=1, offset=1) == ["e001"]


def test_writers_stopped_before_or_after_their_event_leave_the_listing_exact() -> None:
    store = store_with(4, mk.MemoryStorage)
    dep = deployer(store)
    summaries = dep._roster().summaries
    # One stopped after opening its token, before its event; one after its event, before observing.
    summaries._append(SummaryEntry(kind="open", name="e001", token="dead-before"))
    summaries._append(SummaryEntry(kind="open", name="e002", token="dead-after"))
    dep._append("e002", lambda current: dep._event("undeploy", "e002", current, reason=""))
    assert deployer(fresh(store)).endpoints() == ["e001"] == truth(store)


def test_a_store_from_before_the_roster_is_listed_then_imported() -> None:
    store = store_with(6, mk.MemoryStorage)
    for key in [*store.list(ROSTER), f"{ROSTER}.snapshot.json"]:
        store.delete(key)  # as mlops_kit before the roster wrote it
    fresh(store)
    assert deployer(store).endpoints() == ["e001", "e002", "e004", "e005"]
    deployer(store).deploy("m:1", endpoint="new")
    view = fresh(store)
    calls = counted(view)
    assert deployer(view).endpoints() == ["e001", "e002", "e004", "e005", "new"]
    assert sum(calls.values()) <= 2 + 16 + 2, calls


def test_a_corrupt_roster_snapshot_is_ignored_with_a_warning() -> None:
    store = store_with(40, mk.MemoryStorage)
    store.write(f"{ROSTER}.snapshot.json", b'{"fold": "summaries", "tail": 1}')
    with pytest.warns(mk.MlopsKitWarning, match="Ignoring the snapshot"):
        assert deployer(fresh(store)).endpoints() == truth(store)


def test_the_newest_observation_wins_whatever_order_writers_record_them_in() -> None:
    store = mk.MemoryStorage()
    roster = Roster(store, lambda n: (False, 0), lambda: [])
    summaries = roster.summaries
    summaries._append(SummaryEntry(kind="open", name="e", token="t1"))
    summaries._append(SummaryEntry(kind="open", name="e", token="t2"))
    # The undeploy (event 2) is observed first, the deploy it followed (event 1) last.
    observed = {"kind": "observed", "name": "e", "part": "serving"}
    summaries._append(SummaryEntry(**observed, token="t2", tail=2, data={"serving": False}))
    summaries._append(SummaryEntry(**observed, token="t1", tail=1, data={"serving": True}))
    assert roster.serving() == []


def _churn(store: Storage, writer: int) -> None:
    dep = deployer(store)
    rng = random.Random(writer)
    for _ in range(8):
        name = f"e{rng.randrange(6)}"
        try:
            if rng.random() < 0.6:
                dep.deploy("m:1", endpoint=name)
            else:
                dep.undeploy(name)
        except mk.NotFoundError:
            pass  # undeploying what serves nothing (or never existed)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_racing_deploys_and_undeploys_leave_an_exact_listing(
    backend: str, request: pytest.FixtureRequest
) -> None:
    store = request.getfixturevalue(f"make_{backend}_storage")()
    mk.Registry(store).register("m", double)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(3, mp_context=ctx) as pool:
        list(pool.map(_churn, [store] * 3, range(3)))
    expected = truth(store)
    assert expected  # the churn left some serving
    assert deployer(fresh(store)).endpoints() == expected
