"""The order of ``mk.runs``: pages read from the logs' ends agree with the full listing.

A page (``limit=``) reads each log from its end; the full listing folds every log. Both
order runs the same way: within a log by the reverse order starts were recorded, across
logs by start time. Runs whose starts were recorded out of start-time order (concurrent
starts) are built here with fake clocks: the first run recorded gets the later time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlops_kit as mk
from mlops_kit.testing import FakeClock

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@mk.step
def fit(C: float = 1.0) -> float:
    return C


def _start(store: mk.Storage, experiment: str, second: int, **options: object) -> mk.ActiveRun:
    clock = FakeClock(T0 + dt.timedelta(seconds=second))
    return mk.start_run(experiment, storage=store, clock=clock, heartbeat=3600, **options)  # type: ignore[arg-type]


def test_runs_started_concurrently_are_listed_in_the_order_their_starts_were_recorded() -> None:
    store = mk.MemoryStorage()
    later = _start(store, "sweep", 10)  # took its time second, and recorded its start first
    earlier = _start(store, "sweep", 5)  # took its time first, recorded its start second
    later.end(), earlier.end()
    assert earlier.id < later.id  # ids sort by start time...
    expected = [earlier.id, later.id]  # ...but the run recorded last is listed first
    assert [r.id for r in mk.runs(store)] == expected
    assert [r.id for r in mk.runs(store, limit=1)] == expected[:1]
    assert [r.id for r in mk.runs(store, limit=1, offset=1)] == expected[1:]
    newest = _start(store, "sweep", 20)
    newest.end()
    assert [r.id for r in mk.runs(store, limit=10)] == [newest.id, *expected]  # new runs come on top


def test_across_experiments_runs_are_merged_by_start_time() -> None:
    store = mk.MemoryStorage()
    for second, experiment in [(1, "a"), (2, "b"), (3, "a"), (4, "c"), (5, "b")]:
        _start(store, experiment, second).end()
    listed = mk.runs(store)
    assert [r.started_at for r in listed] == sorted((r.started_at for r in listed), reverse=True)
    assert [r.id for r in mk.runs(store, limit=2, offset=1)] == [r.id for r in listed[1:3]]


def test_in_order_starts_list_as_the_old_fold_did_sorted_by_id(tmp_path: Path) -> None:
    store = mk.storage(str(tmp_path / "s"))
    pipe = mk.Pipeline([fit], name="train")
    for C in (0.1, 1.0, 10.0):
        with mk.start_run("tune", storage=store, params={"C": C}):
            pass
        pipe.run(params={"C": C}, storage=store, progress=False)
    fresh = mk.storage(str(tmp_path / "s"))  # nothing cached: the page reads from storage
    ids = [r.id for r in mk.runs(fresh)]
    assert ids == sorted(ids, reverse=True) and len(ids) == 6
    assert [r.id for r in mk.runs(fresh, limit=4, offset=1)] == ids[1:5]
    train = {r.id for r in mk.runs(fresh, "train")}
    assert len(train) == 3
    assert [r.id for r in mk.runs(fresh, "train", limit=2)] == [i for i in ids if i in train][:2]


def test_a_first_page_reads_a_small_part_of_a_long_log(tmp_path: Path) -> None:
    store = mk.storage(str(tmp_path / "s"))
    for second in range(300):
        _start(store, "long", second).end()
    fresh = mk.storage(str(tmp_path / "s"))
    read: list[int] = []
    original = fresh._read

    def counting(key: str) -> bytes:
        data = original(key)
        read.append(len(data))
        return data

    fresh._read = counting  # type: ignore[method-assign]
    page = mk.runs(fresh, limit=5)
    page_bytes = sum(read)
    read.clear()
    everything = mk.runs(fresh)
    assert [r.id for r in page] == [r.id for r in everything[:5]]
    assert page_bytes < sum(read) / 10  # the full listing read the whole log (600 entries)


_OPERATION = st.tuples(
    st.sampled_from(["a", "b", "pipe"]),  # experiment "a" or "b", or a run of pipeline "pipe"
    st.integers(0, 50),  # the start's second (out of order on purpose)
    st.sampled_from([0.1, 1.0]),  # param C
    st.booleans(),  # failed
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    operations=st.lists(_OPERATION, max_size=14),
    limit=st.integers(0, 8),
    offset=st.integers(0, 10),
    experiment=st.sampled_from([None, "a", "pipe"]),
    filters=st.sampled_from([{}, {"status": "failed"}, {"params": {"C": 1.0}}]),
)
def test_a_page_is_the_slice_of_the_full_listing(
    operations: list[tuple[str, int, float, bool]],
    limit: int,
    offset: int,
    experiment: str | None,
    filters: dict[str, object],
) -> None:
    store = mk.MemoryStorage()
    pipe = mk.Pipeline([fit], name="pipe")
    for name, second, C, failed in operations:
        if name == "pipe":
            pipe.run(params={"C": C}, storage=store, progress=False)
            continue
        run = _start(store, name, second, params={"C": C})
        run.end(ValueError("no") if failed else None)
    everything = [r.id for r in mk.runs(store, experiment, **filters)]  # type: ignore[arg-type]
    page = mk.runs(store, experiment, limit=limit, offset=offset, **filters)  # type: ignore[arg-type]
    assert [r.id for r in page] == everything[offset : offset + limit]
    assert len(set(everything)) == len(everything)


def test_a_page_judges_running_runs_as_the_full_listing_does() -> None:
    from mlops_kit.pipeline import pipeline_catalog

    store = mk.MemoryStorage()
    killed = mk.RunRecord(
        id="20260101T000000000000Z-dead", pipeline="p", status="running", started_at=T0, heartbeat_s=1.0
    )
    catalog = pipeline_catalog(store)
    catalog.add("p", lambda: store.append(catalog.prefix_of("p"), killed))  # as a killed process left it
    stale = _start(store, "e", 1)  # a tracked run whose process never beats again (heartbeat=3600)
    later = FakeClock(T0 + dt.timedelta(days=1))
    for listed in (mk.runs(store, clock=later), mk.runs(store, clock=later, limit=5)):
        assert [(r.id, r.status) for r in listed] == [(stale.id, "unfinished"), (killed.id, "unfinished")]
    stale.end()
