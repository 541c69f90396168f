"""Listing runs without the pipelines' code: ``Pipeline.names`` and ``RunList.read``."""

from __future__ import annotations

import pytest

import mlops_kit as mk
from mlops_kit.pipeline import RunList


@mk.step
def double(x: int) -> int:
    return 2 * x


@mk.step
def fail(double: int) -> int:
    raise ValueError(f"no {double}")


def test_runs_of_every_pipeline_newest_first_each_in_its_latest_state(make_any_storage) -> None:
    store = make_any_storage()
    assert mk.Pipeline.names(store) == [] and RunList.read(store) == []
    first = mk.Pipeline([double], name="b-first").run(inputs={"x": 1}, storage=store, progress=False)
    with pytest.raises(mk.PipelineError):
        mk.Pipeline([double, fail], name="a-second").run(inputs={"x": 2}, storage=store, progress=False)
    third = mk.Pipeline([double], name="b-first").run(inputs={"x": 3}, storage=store, progress=False)

    assert mk.Pipeline.names(store) == ["a-second", "b-first"]
    runs = RunList.read(store)
    assert [(r.pipeline, r.status) for r in runs] == [
        ("b-first", "succeeded"),
        ("a-second", "failed"),
        ("b-first", "succeeded"),
    ]
    assert [runs[0].id, runs[2].id] == [third.id, first.id]
    assert runs[0].outputs["double"] == 6  # outputs still load from the cache's blobs
    assert RunList.read(store, pipeline="b-first") == mk.Pipeline([double], name="b-first").runs(store)
    assert RunList.read(store, pipeline="unknown") == []


def test_other_keys_under_pipelines_are_not_names() -> None:
    store = mk.MemoryStorage()
    store.write("pipelines/loose.json", b"{}")
    store.write("pipelines/x/notes/1.json", b"{}")
    assert mk.Pipeline.names(store) == []


def test_an_invalid_pipeline_name_is_refused_before_storage() -> None:
    with pytest.raises(mk.InvalidNameError):
        RunList.read(mk.MemoryStorage(), pipeline="../etc")
