"""Search and best read the search index: exactly the old answers, from a snapshot and a few entries."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlops_kit as mk
from mlops_kit.registry import _index
from mlops_kit.registry._search import filter_versions, order_versions
from mlops_kit.testing import FaultyStorage

ORDERS = [
    f"{sign}{key}"
    for sign in ("", "-")
    for key in (
        "version",
        "created_at",
        "size_bytes",
        "name",
        "metrics.auc",
        "metrics.loss",
        "metrics.none",
        "params.p",
        "params.q",
        "tags.team",
    )
]
PARAMS = st.one_of(
    st.none(), st.integers(-3, 3), st.floats(-2, 2), st.booleans(), st.sampled_from(["x", "y"])
)
REGISTRATION = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["a", "b"]),
        "auc": st.one_of(st.none(), st.sampled_from([0.5, 0.7, 0.9])),
        "loss": st.one_of(st.none(), st.floats(0, 1)),
        "p": PARAMS,
        "q": st.one_of(st.none(), st.integers(0, 2)),
        "team": st.one_of(st.none(), st.sampled_from(["a", "b"])),
        "size": st.integers(0, 2),
        "archive": st.booleans(),
    }
)
QUERY = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", None]),
        "tags": st.one_of(st.none(), st.just({"team": "a"})),
        "where": st.sampled_from([None, "even"]),
        "order_by": st.sampled_from(ORDERS),
        "limit": st.one_of(st.none(), st.integers(0, 4)),
        "include_archived": st.booleans(),
    }
)


def _even(v: mk.ModelVersion) -> bool:
    return v.version % 2 == 0


def reference(reg: mk.Registry, query: dict[str, Any]) -> list[mk.ModelVersion]:
    """The search as it was: every version record read, then filtered and ordered."""
    names = [query["name"]] if query["name"] is not None else reg.models()
    found = []
    for model in names:
        hidden = set() if query["include_archived"] else set(reg.archived(model))
        found += [v for v in reg.versions(model) if v.version not in hidden]
    where = _even if query["where"] else None
    ordered = order_versions(filter_versions(found, tags=query["tags"], where=where), query["order_by"])
    return ordered if query["limit"] is None else ordered[: query["limit"]]


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return [v.ref for v in call()]
    except mk.MlopsKitError as exc:
        return type(exc).__name__, str(exc)


def register(reg: mk.Registry, row: dict[str, Any]) -> None:
    metrics = {k: row[k] for k in ("auc", "loss") if row[k] is not None}
    params = {k: row[k] for k in ("p", "q") if row[k] is not None or k == "q"}  # q: None is a value
    tags = {"team": row["team"]} if row["team"] else {}
    mv = reg.register(row["model"], "x" * row["size"], metrics=metrics, params=params, tags=tags)
    if row["archive"]:
        reg.archive(row["model"], mv.version)


def test_search_and_best_answer_exactly_as_the_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_index, "SNAPSHOT_EVERY", 3)  # snapshots, and entries after them, in every case

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(REGISTRATION, min_size=1, max_size=14), st.lists(QUERY, min_size=1, max_size=4))
    def check(rows: list[dict[str, Any]], queries: list[dict[str, Any]]) -> None:
        store = mk.MemoryStorage()
        writer = mk.Registry(store)
        register(writer, {**rows[0], "model": "a", "archive": False})
        for row in rows[1:]:
            register(writer, row)
        cold = mk.Registry(pickle.loads(pickle.dumps(store)))  # another process: from the snapshots
        for query in queries:
            expected = outcome(lambda q=query: reference(writer, q))
            args = {**query, "where": _even if query["where"] else None}
            assert outcome(lambda a=args: writer.search(**a)) == expected
            assert outcome(lambda a=args: cold.search(**a)) == expected
            if query["name"] is None:
                continue
            for metric, mode in (("auc", "max"), ("loss", "min"), ("none", "max")):
                best = {"tags": query["tags"], "where": args["where"]}
                ranked = reference(writer, {**query, "order_by": f"{'-' if mode == 'max' else ''}metrics.{metric}",
                                            "limit": None, "include_archived": False})  # fmt: skip
                got = outcome(lambda m=metric, o=mode, b=best: [cold.best("a", m, mode=o, **b)])
                if ranked and metric in ranked[0].metrics:
                    assert got == [ranked[0].ref]
                else:
                    assert got[0] == "NotFoundError"
                    assert outcome(lambda m=metric, o=mode, b=best: [writer.best("a", m, mode=o, **b)]) == got

    check()


def _filled(store: mk.Storage, n: int) -> mk.Registry:
    reg = mk.Registry(store)
    for i in range(1, n + 1):
        reg.register("m", i, metrics={"auc": (i * 37 % 101) / 101}, tags={"team": "ab"[i % 2]})
    return reg


def _cold_calls(store: mk.MemoryStorage, call: Callable[[mk.Registry], Any]) -> tuple[int, Any]:
    counting = FaultyStorage(pickle.loads(pickle.dumps(store)))  # a new process; counts operations
    result = call(mk.Registry(counting))
    return counting.calls, result


def test_a_cold_search_costs_the_same_at_70_and_at_710_versions() -> None:
    calls = {}
    for n in (70, 710):  # both 6 versions past a snapshot (every 64)
        store = mk.MemoryStorage()
        reg = _filled(store, n)
        assert store.exists(_index.index_key("m"))

        def search(r: mk.Registry) -> list[str]:
            return [v.ref for v in r.search("m", tags={"team": "a"}, order_by="-metrics.auc", limit=3)]

        calls[n, "search"], found = _cold_calls(store, search)
        expected = order_versions(
            filter_versions(reg.versions("m"), tags={"team": "a"}, where=None), "-metrics.auc"
        )
        assert found == [v.ref for v in expected[:3]]
        calls[n, "best"], best = _cold_calls(store, lambda r: r.best("m", "auc").ref)
        assert best == max(reg.versions("m"), key=lambda v: (v.metrics["auc"], v.version)).ref
    assert calls[70, "search"] == calls[710, "search"] <= 20, calls
    assert calls[70, "best"] == calls[710, "best"] <= 17, calls


def test_a_warm_search_sorts_once_per_order_until_the_next_version(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_kit.registry import _search

    sorts: list[str] = []
    original = _search.order_versions
    monkeypatch.setattr(_search, "order_versions", lambda rows, by: (sorts.append(by), original(rows, by))[1])
    store = mk.storage(str(tmp_path / "s"))
    reg = _filled(store, 40)
    sorts.clear()

    def top(r: mk.Registry, **options: Any) -> list[int]:
        return [v.version for v in r.search("m", order_by="-metrics.auc", limit=3, **options)]

    first = top(reg)
    assert top(reg) == first and top(reg, tags={"team": "a"}) and sorts == ["-metrics.auc"]
    reg.register("m", "best", metrics={"auc": 2.0})  # this process: the cached order is dropped
    assert top(reg)[0] == 41 and len(sorts) == 2
    other = mk.Registry(pickle.loads(pickle.dumps(store)))  # another process registers
    other.register("m", "better", metrics={"auc": 3.0})
    assert top(reg)[:2] == [42, 41] and len(sorts) == 3
    reg.archive("m", 42)  # archiving changes no row: the order stays, the version is hidden
    assert top(reg)[0] == 41 and len(sorts) == 3
    assert top(reg, include_archived=True)[0] == 42
