"""``mk.runs``: tracked and pipeline runs together, newest first, filtered, paged, compared."""

from __future__ import annotations

import pytest

import mlops_kit as mk


@mk.step
def train(C: float = 1.0) -> float:
    mk.log_metric("auc", 0.7 + C / 10)
    return C


def _story(store: mk.Storage) -> list[str]:
    """Five runs, alternately tracked and pipeline, of experiment "churn", plus one elsewhere."""
    ids = []
    pipe = mk.Pipeline([train], name="churn")
    for C, team in [(0.5, "a"), (1.0, "b"), (2.0, "a")]:
        with mk.start_run("churn", storage=store, params={"C": C}, tags={"team": team}) as run:
            run.log_metric("auc", 0.8 + C / 10)
        ids.append(run.id)
        if C < 2.0:
            ids.append(pipe.run(params={"C": C}, storage=store, tags={"team": team}, progress=False).id)
    with mk.start_run("other", storage=store) as other:
        other.log_metric("auc", 0.99)
    ids.append(other.id)
    return ids[::-1]  # newest first


def test_tracked_and_pipeline_runs_are_listed_together_newest_first(any_storage: mk.Storage) -> None:
    ids = _story(any_storage)
    everything = mk.runs(any_storage)
    assert [r.id for r in everything] == ids
    churn = mk.runs(any_storage, experiment="churn")
    assert [r.id for r in churn] == ids[1:]
    kinds = [type(r).__name__ for r in churn]
    assert kinds == ["TrackedRun", "RunRecord", "TrackedRun", "RunRecord", "TrackedRun"]
    assert mk.runs(any_storage, experiment="nobody") == []


def test_filters_on_params_metrics_tags_and_status() -> None:
    store = mk.MemoryStorage()
    _story(store)
    assert [(r.params["C"], type(r).__name__) for r in mk.runs(store, "churn", params={"C": 1.0})] == [
        (1.0, "RunRecord"),
        (1.0, "TrackedRun"),
    ]
    assert [r.params["C"] for r in mk.runs(store, "churn", tags={"team": "a"})] == [2.0, 0.5, 0.5]
    high = mk.runs(store, "churn", metrics={"auc": (">=", 0.9)})
    assert sorted(round(r.metrics["auc"], 6) for r in high) == [0.9, 1.0]
    assert [r.params["C"] for r in mk.runs(store, "churn", metrics={"auc": ("<", 0.76)})] == [0.5]
    assert len(mk.runs(store, "churn", metrics={"auc": (">", 0.0), "missing": (">", 0.0)})) == 0
    assert {r.id for r in mk.runs(store, status="succeeded")} == {
        r.id for r in mk.runs(store) if isinstance(r, mk.RunRecord)
    }
    assert len(mk.runs(store, status="finished")) == 4
    both = mk.runs(store, "churn", params={"C": 0.5}, tags={"team": "a"}, metrics={"auc": ("==", 0.75)})
    assert [type(r).__name__ for r in both] == ["RunRecord"]


def test_paging_takes_slices_of_the_filtered_newest_first_list() -> None:
    store = mk.MemoryStorage()
    ids = _story(store)
    assert [r.id for r in mk.runs(store, limit=2)] == ids[:2]
    assert [r.id for r in mk.runs(store, limit=2, offset=2)] == ids[2:4]
    assert [r.id for r in mk.runs(store, offset=5)] == ids[5:]
    assert mk.runs(store, offset=50) == [] and mk.runs(store, limit=0) == []
    page = mk.runs(store, "churn", tags={"team": "a"}, limit=1, offset=1)
    assert [r.params["C"] for r in page] == [0.5] and isinstance(page, mk.tracking.RunTable)


def test_to_frame_compares_runs_of_both_kinds() -> None:
    store = mk.MemoryStorage()
    ids = _story(store)
    frame = mk.runs(store, "churn").to_frame()
    assert list(frame.index) == ids[1:]
    assert list(frame.columns) == [
        "kind", "experiment", "status", "started_at", "duration_s", "params.C", "metrics.auc", "tags.team",
    ]  # fmt: skip
    assert list(frame["kind"]) == ["tracked", "pipeline", "tracked", "pipeline", "tracked"]
    assert list(frame["status"]) == ["finished", "succeeded", "finished", "succeeded", "finished"]
    assert list(frame["params.C"]) == [2.0, 1.0, 1.0, 0.5, 0.5]
    assert list(frame["metrics.auc"]) == pytest.approx([1.0, 0.8, 0.9, 0.75, 0.85], abs=1e-12)
    assert set(frame["experiment"]) == {"churn"}
    assert mk.runs(store, "nobody").to_frame().empty


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"experiment": "../x"}, mk.InvalidNameError, "experiment name"),
        ({"metrics": {"auc": 0.9}}, mk.ConfigError, r"must be an \(op, number\) pair"),
        ({"metrics": {"auc": ("~", 0.9)}}, mk.ConfigError, r"must be an \(op, number\) pair"),
        ({"metrics": {"auc": (">", "0.9")}}, mk.ConfigError, r"must be an \(op, number\) pair"),
        ({"params": [("C", 1)]}, mk.ConfigError, "params= must be a dict"),
        ({"tags": {"bad key": "x"}}, mk.InvalidNameError, "tag key"),
        ({"limit": -1}, mk.ConfigError, "limit= must be a non-negative integer"),
        ({"offset": 1.5}, mk.ConfigError, "offset= must be a non-negative integer"),
        ({"status": 3}, mk.ConfigError, "status= must be a string"),
    ],
)
def test_malformed_filters_are_refused_before_storage(kwargs: dict, error: type, message: str) -> None:
    class Untouchable(mk.MemoryStorage):
        def _list(self, prefix: str) -> list[str]:
            raise AssertionError("storage was touched")

    with pytest.raises(error, match=message):
        mk.runs(Untouchable(), **kwargs)
