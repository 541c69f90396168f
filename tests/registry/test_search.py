"""Searching versions by tags, predicates and metrics; the best version by a metric."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlops_kit as mk


@pytest.fixture
def filled(reg: mk.Registry) -> mk.Registry:
    rows = [
        ({"auc": 0.81, "loss": 0.5}, {"team": "a"}, {"C": 1.0}),
        ({"auc": 0.93, "loss": 0.3}, {"team": "b"}, {"C": 0.1}),
        ({"auc": 0.88}, {"team": "a", "stage": "exp"}, {"C": 10.0}),
        ({}, {"team": "a"}, {}),
        ({"auc": 0.93, "loss": 0.2}, {"team": "b"}, {"C": 0.5}),
    ]
    for metrics, tags, params in rows:
        reg.register("churn", metrics, metrics=metrics, tags=tags, params=params)
    reg.register("fraud", 0, metrics={"auc": 0.99}, tags={"team": "a"})
    return reg


def test_default_order_is_newest_first(filled: mk.Registry) -> None:
    assert [v.version for v in filled.search("churn")] == [5, 4, 3, 2, 1]
    assert [v.version for v in filled.search("churn", order_by="version", limit=2)] == [1, 2]
    assert filled.search("churn", limit=0) == []


def test_order_by_metric_puts_missing_last_and_ties_newest_first(filled: mk.Registry) -> None:
    assert [v.version for v in filled.search("churn", order_by="-metrics.auc")] == [5, 2, 3, 1, 4]
    assert [v.version for v in filled.search("churn", order_by="metrics.auc")] == [1, 3, 5, 2, 4]
    assert [v.version for v in filled.search("churn", order_by="-params.C")] == [3, 1, 5, 2, 4]
    assert [v.version for v in filled.search("churn", order_by="tags.stage")] == [3, 5, 4, 2, 1]


def test_filter_by_tags_and_predicate(filled: mk.Registry) -> None:
    assert [v.version for v in filled.search("churn", tags={"team": "a"})] == [4, 3, 1]
    assert [v.version for v in filled.search("churn", tags={"team": "a", "stage": "exp"})] == [3]
    good = filled.search("churn", where=lambda v: v.metrics.get("auc", 0) > 0.85, order_by="-metrics.auc")
    assert [v.version for v in good] == [5, 2, 3]
    everywhere = filled.search(tags={"team": "a"}, order_by="-metrics.auc")
    assert [v.ref for v in everywhere] == ["fraud:1", "churn:3", "churn:1", "churn:4"]


def test_best(filled: mk.Registry) -> None:
    assert filled.best("churn", "auc").version == 5  # tie with 2: the newest wins
    assert filled.best("churn", "loss", mode="min").version == 5
    assert filled.best("churn", "auc", tags={"team": "a"}).version == 3
    assert filled.best("churn", "auc", where=lambda v: v.version < 3).version == 2
    with pytest.raises(mk.NotFoundError, match="No matching version of model 'churn' has the metric 'auc'"):
        filled.best("churn", "auc", tags={"team": "nobody"})


def test_archived_versions_are_hidden_unless_asked(filled: mk.Registry) -> None:
    filled.archive("churn", 5)
    assert filled.best("churn", "auc").version == 2
    assert 5 not in [v.version for v in filled.search("churn")]
    assert 5 in [v.version for v in filled.search("churn", include_archived=True)]
    assert [v.version for v in filled.versions("churn")] == [1, 2, 3, 4, 5]


def test_best_matches_a_plain_max() -> None:
    @settings(max_examples=30, deadline=None)
    @given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=1, max_size=8))
    def check(values: list[float | None]) -> None:
        reg = mk.Registry(mk.MemoryStorage())
        for value in values:
            reg.register("m", 0, metrics={} if value is None else {"score": value})
        scored = [(v, i + 1) for i, v in enumerate(values) if v is not None]
        if not scored:
            with pytest.raises(mk.NotFoundError):
                reg.best("m", "score")
            return
        assert reg.best("m", "score").version == max(scored)[1]
        assert reg.best("m", "score", mode="min").version == min(scored, key=lambda s: (s[0], -s[1]))[1]

    check()
