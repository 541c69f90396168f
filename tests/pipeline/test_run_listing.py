"""Listing runs without the pipelines' code: ``Pipeline.names`` and ``RunList.read``."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.pipeline import RunList

from ..core.test_logpacks import counted, fresh


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


def _runs(store: mk.Storage, pipeline: str, count: int) -> list[str]:
    pipe = mk.Pipeline([double], name=pipeline)
    return [pipe.run(inputs={"x": n}, storage=store, progress=False).id for n in range(count)]


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (3, 0), (3, 2), (10, 5), (50, 0), (4, 40)])
def test_a_page_of_runs_is_the_slice_of_the_full_listing(limit: int, offset: int) -> None:
    store = mk.MemoryStorage()
    _runs(store, "a", 12)
    _runs(store, "b", 9)
    _runs(store, "a", 3)
    for pipeline in (None, "a", "b"):
        everything = [r.id for r in RunList.read(fresh(store), pipeline=pipeline)]
        page = RunList.read(fresh(store), pipeline=pipeline, limit=limit, offset=offset)
        assert [r.id for r in page] == everything[offset : offset + limit]
    pipe = mk.Pipeline([double], name="a")
    assert [r.id for r in pipe.runs(store, limit=limit, offset=offset)] == [
        r.id for r in pipe.runs(store)[offset : offset + limit]
    ]


def test_a_page_of_runs_reads_about_the_page_whatever_the_log_length(tmp_path: Path) -> None:
    store = mk.storage(str(tmp_path / "s"))
    ids = _runs(store, "long", 300)
    view = fresh(store)
    calls = counted(view)
    page = mk.Pipeline([double], name="long").runs(view, limit=5)
    assert [r.id for r in page] == ids[::-1][:5]
    # The head, probes past it, the packs of the page's block (16 entries each) and the
    # fewer than 16 entries after the last pack: not a read per run, never a listing.
    assert calls["_list"] == 0 and sum(calls.values()) <= 3 + 3 + 15, calls


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (-1, 0), (True, 0), (5, -1), (5, 1.5)])
def test_a_malformed_page_is_refused_before_storage(limit: object, offset: object) -> None:
    with pytest.raises(mk.ConfigError, match=r"limit=|offset="):
        RunList.read(mk.MemoryStorage(), limit=limit, offset=offset)  # type: ignore[arg-type]


def _write_runs(store: mk.Storage, writer: int) -> None:
    _runs(store, "race", 12)


@pytest.mark.slow
def test_pages_read_while_processes_record_runs_are_slices_of_the_final_listing(tmp_path: Path) -> None:
    store = mk.storage(str(tmp_path / "s"))
    _runs(store, "race", 2)
    pages = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        writing = [pool.submit(_write_runs, store, n) for n in range(2)]
        while not all(f.done() for f in writing):
            pages.append([(r.id, r.status) for r in RunList.read(fresh(store), pipeline="race", limit=6)])
        for f in writing:
            f.result()
    final = [r.id for r in RunList.read(fresh(store), pipeline="race")]
    assert len(final) == len(set(final)) == 26
    assert [r.id for r in RunList.read(fresh(store), pipeline="race", limit=6)] == final[:6]
    assert len(pages) > 1
    for page in pages:
        # New runs come on top: a page read at any moment is a run of consecutive rows of the final listing.
        ids = [run_id for run_id, _ in page]
        start = final.index(ids[0])
        assert ids == final[start : start + len(ids)]
        assert all(status in ("running", "succeeded") for _, status in page)
