"""Registry listings: pages of versions and models, read in requests that do not grow with the registry."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlops_kit as mk
from mlops_kit.core.storage import MemoryStorage

from ..core.test_logpacks import counted, fresh


def registry_with(versions: int, models: int = 1) -> MemoryStorage:
    store = MemoryStorage()
    reg = mk.Registry(store)
    for m in range(models):
        for n in range(versions):
            reg.register(f"m{m}", n, metrics={"auc": (n * 7 % 11) / 10}, tags={"even": str(n % 2 == 0)})
    return store


STORE = registry_with(300)


@settings(max_examples=30, deadline=None)
@given(limit=st.none() | st.integers(1, 320), offset=st.integers(0, 320), newest_first=st.booleans())
def test_a_page_of_versions_is_a_slice_of_all_of_them(
    limit: int | None, offset: int, newest_first: bool
) -> None:
    reg = mk.Registry(fresh(STORE))
    every = [v.version for v in reg.versions("m0")]
    ordered = every[::-1] if newest_first else every
    page = [v.version for v in reg.versions("m0", limit=limit, offset=offset, newest_first=newest_first)]
    assert page == ordered[offset:][:limit]


@pytest.mark.parametrize("newest_first", [False, True])
def test_a_page_of_versions_costs_the_same_at_20_and_2000_versions(newest_first: bool) -> None:
    costs = []
    for size in (20, 2000):
        store = fresh(registry_with(size))
        calls = counted(store)
        page = mk.Registry(store).versions("m0", limit=10, newest_first=newest_first)
        assert len(page) == 10
        costs.append(sum(calls.values()))
    assert costs[1] <= costs[0] + 4, costs


def test_every_version_of_a_long_model_is_read_from_packs() -> None:
    store = fresh(registry_with(2000))
    calls = counted(store)
    assert [v.version for v in mk.Registry(store).versions("m0")] == list(range(1, 2001))
    assert sum(calls.values()) <= 2000 // 256 + 15 + 15 + 6, calls
    assert calls["_list"] == 0


def test_search_and_best_read_packs_and_stay_exact() -> None:
    store = fresh(registry_with(600))
    calls = counted(store)
    reg = mk.Registry(store)
    best = reg.best("m0", "auc")
    found = reg.search("m0", tags={"even": "True"}, order_by="-metrics.auc", limit=3)
    assert sum(calls.values()) <= 600 // 16 + 20, calls
    every = reg.versions("m0")
    top = max(v.metrics["auc"] for v in every)
    assert best.version == max(v.version for v in every if v.metrics["auc"] == top)
    assert [v.version for v in found] == [
        v.version
        for v in sorted(
            (v for v in every if v.tags["even"] == "True"), key=lambda v: (-v.metrics["auc"], -v.version)
        )[:3]
    ]


def test_models_page_and_a_missing_model() -> None:
    reg = mk.Registry(fresh(registry_with(2, models=5)))
    assert reg.models() == [f"m{m}" for m in range(5)]
    assert reg.models(limit=2, offset=3) == ["m3", "m4"]
    with pytest.raises(mk.NotFoundError, match="nope"):
        reg.versions("nope", limit=5, newest_first=True)
    assert reg.versions("m1", offset=5) == []
    with pytest.raises(mk.ConfigError, match="limit="):
        reg.versions("m1", limit=0)
    with pytest.raises(mk.ConfigError, match="offset="):
        reg.models(offset=-1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.tuples(st.booleans(), st.integers(1, 6)), max_size=12), limit=st.integers(1, 25))
def test_a_limited_history_is_the_tail_of_the_full_one(moves: list[tuple[bool, int]], limit: int) -> None:
    """Registrations and alias moves interleaved: the newest ``limit`` entries, read from
    the logs' ends, are those of the whole history, in the same order."""
    reg = mk.Registry(mk.MemoryStorage())
    reg.register("m", 0)
    for register, version in moves:
        if register:
            reg.register("m", version)
        else:
            reg.set_alias("m", "prod", min(version, len(reg.versions("m"))))
    full = list(reg.history("m"))
    tail = list(reg.history("m", limit=limit))
    assert tail == full[-limit:]
    assert list(reg.history("m", limit=limit, newest_first=True)) == tail[::-1]


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_a_bad_history_limit_is_refused(bad: object) -> None:
    reg = mk.Registry(mk.MemoryStorage())
    reg.register("m", 0)
    with pytest.raises(mk.ConfigError, match="limit="):
        reg.history("m", limit=bad)  # type: ignore[arg-type]
