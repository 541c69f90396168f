"""The content-addressed cache: hits, invalidation, resume after failure, crash safety."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.pipeline import CacheWarning, _materializers
from mlops_kit.pipeline._records import CacheEntry
from mlops_kit.testing import FaultyStorage

CALLS: Counter[str] = Counter()
BROKEN = {"transform": False}


@mk.step
def load(n: int) -> pd.DataFrame:
    CALLS["load"] += 1
    return pd.DataFrame({"x": np.arange(n, dtype="int64"), "y": np.arange(n) % 3 == 0})


@mk.step
def transform(load: pd.DataFrame, factor: float = 2.0) -> pd.DataFrame:
    CALLS["transform"] += 1
    if BROKEN["transform"]:
        raise RuntimeError("transform is broken")
    mk.log_metric("rows", len(load))
    return load.assign(x=load["x"] * factor)


@mk.step
def total(transform: pd.DataFrame) -> float:
    CALLS["total"] += 1
    return float(transform["x"].sum())


@mk.step
def side(load: pd.DataFrame) -> int:
    CALLS["side"] += 1
    return int(load["y"].sum())


PIPE = mk.Pipeline([load, transform, total, side], name="cached")


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()
    BROKEN["transform"] = False


def run(store: mk.Storage, pipe: mk.Pipeline = PIPE, **kwargs: object) -> mk.RunRecord:
    kwargs.setdefault("inputs", {"n": 10})
    return pipe.run(storage=store, progress=False, **kwargs)  # type: ignore[arg-type]


def test_second_run_is_served_from_the_cache(any_storage: mk.Storage) -> None:
    first = run(any_storage)
    assert CALLS == {"load": 1, "transform": 1, "total": 1, "side": 1}
    second = run(any_storage)
    assert CALLS == {"load": 1, "transform": 1, "total": 1, "side": 1}
    assert [s.cache_hit for s in second.steps] == [True] * 4
    assert [s.attempts for s in second.steps] == [0] * 4
    assert second.outputs["total"] == first.outputs["total"] == 90.0
    pd.testing.assert_frame_equal(second.outputs["transform"], first.outputs["transform"])
    assert second.metrics == first.metrics == {"rows": 10.0}  # replayed from the cache entry
    for a, b in zip(first.steps, second.steps):
        assert a.cache_key == b.cache_key
        assert {k: o.fingerprint for k, o in a.outputs.items()} == {
            k: o.fingerprint for k, o in b.outputs.items()
        }


def test_a_changed_param_reruns_only_what_depends_on_it() -> None:
    store = mk.MemoryStorage()
    run(store)
    CALLS.clear()
    result = run(store, params={"factor": 3.0})
    assert CALLS == {"transform": 1, "total": 1}
    assert result.outputs["total"] == 135.0


def test_changed_input_data_reruns_everything() -> None:
    store = mk.MemoryStorage()
    run(store)
    run(store, inputs={"n": 11})
    assert CALLS == {"load": 2, "transform": 2, "total": 2, "side": 2}


def test_changed_code_reruns_the_step_and_unchanged_output_stops_the_ripple() -> None:
    store = mk.MemoryStorage()
    run(store)

    def transform(load: pd.DataFrame, factor: float = 2.0) -> pd.DataFrame:  # new code, same result
        CALLS["transform"] += 1
        return load.assign(x=load["x"] * factor * 1)

    CALLS.clear()
    run(store, pipe=mk.Pipeline([load, mk.step(transform), total, side]))
    assert CALLS == {"transform": 1}  # total's input has the same fingerprint: still a hit

    def transform2(load: pd.DataFrame, factor: float = 2.0) -> pd.DataFrame:
        CALLS["transform"] += 1
        return load.assign(x=load["x"] * factor + 1)

    CALLS.clear()
    result = run(
        store,
        pipe=mk.Pipeline([load, mk.step(transform2, name="transform", outputs="transform"), total, side]),
    )
    assert CALLS == {"transform": 1, "total": 1}
    assert result.outputs["total"] == 100.0


def test_version_bump_invalidates() -> None:
    store = mk.MemoryStorage()
    run(store)
    bumped = mk.step(transform.func, name="transform", version="2")
    CALLS.clear()
    run(store, pipe=mk.Pipeline([load, bumped, total, side]))
    assert CALLS == {"transform": 1}


def test_failed_step_is_not_cached_and_a_fixed_rerun_resumes() -> None:
    store = mk.MemoryStorage()
    BROKEN["transform"] = True
    with pytest.raises(mk.PipelineError, match="Step 'transform' failed: RuntimeError: transform is broken"):
        run(store)
    assert CALLS == {"load": 1, "transform": 1, "side": 1}  # the independent branch still ran
    failed = PIPE.runs(store)[0]
    assert [(s.name, s.status) for s in failed.steps] == [
        ("load", "succeeded"),
        ("transform", "failed"),
        ("total", "skipped"),
        ("side", "succeeded"),
    ]
    BROKEN["transform"] = False
    CALLS.clear()
    result = run(store)
    assert CALLS == {"transform": 1, "total": 1}  # only what failed and what depends on it
    assert result.status == "succeeded"


def test_cache_false_per_step_always_runs_but_its_consumers_stay_cached() -> None:
    store = mk.MemoryStorage()
    fresh_load = mk.step(load.func, name="load", cache=False)
    pipe = mk.Pipeline([fresh_load, transform, total, side])
    run(store, pipe=pipe)
    CALLS.clear()
    second = run(store, pipe=pipe)
    assert CALLS == {"load": 1}
    assert [s.cache_hit for s in second.steps] == [False, True, True, True]
    assert second.step("load").cache_key is None


def test_cache_false_per_run_reads_and_writes_nothing() -> None:
    store = mk.MemoryStorage()
    first = run(store, cache=False)
    assert not [k for k in store.list() if k.startswith(("cache/", "blobs/"))]
    run(store, cache=False)
    assert CALLS["load"] == 2
    assert first.cache is False
    assert first.outputs["total"] == 90.0  # in memory for the run object that computed it
    stored = PIPE.runs(store)[0]
    with pytest.raises(mk.NotFoundError, match="was not stored"):
        stored.outputs["total"]
    with pytest.raises(mk.ConfigError, match="cache= must be True or False"):
        run(store, cache="no")


def test_unfingerprintable_values_are_not_cached_with_a_warning() -> None:
    import threading

    store = mk.MemoryStorage()
    lock = threading.Lock()
    use_lock = mk.step(lambda lock: 1, name="use_lock")
    make_lock = mk.step(lambda: threading.Lock(), name="make_lock")
    use_made = mk.step(lambda make_lock: 2, name="use_made")
    pipe = mk.Pipeline([use_lock, make_lock, use_made])
    for _ in range(2):
        with pytest.warns(CacheWarning) as caught:
            result = pipe.run(inputs={"lock": lock}, storage=store, progress=False)
        messages = " | ".join(str(w.message) for w in caught)
        assert "Value 'lock' (lock) cannot be fingerprinted" in messages
        assert "steps ['use_lock'] are not cached" in messages
        assert "Output 'make_lock' of step 'make_lock' (lock) cannot be fingerprinted" in messages
    assert [s.cache_hit for s in result.steps] == [False, False, False]
    assert result.inputs["lock"] is None


def test_large_outputs_stream_through_a_file(
    monkeypatch: pytest.MonkeyPatch, any_storage: mk.Storage
) -> None:
    monkeypatch.setattr(_materializers, "STREAM_ABOVE", 100)
    first = run(any_storage, inputs={"n": 1000})
    assert first.step("load").outputs["load"].size > 100
    again = PIPE.runs(any_storage)[0]
    pd.testing.assert_frame_equal(again.outputs["load"], first.outputs["load"])


def test_outputs_of_a_stored_run_load_lazily_from_blobs() -> None:
    store = mk.MemoryStorage()
    first = run(store)
    stored = PIPE.runs(store)[0]
    assert stored.id == first.id
    assert stored._values == {}
    assert stored.outputs["total"] == 90.0
    assert set(stored.outputs) == {"load", "transform", "total", "side"}
    with pytest.raises(KeyError, match=r"has no output 'nope'; its outputs are \['load', 'side'"):
        stored.outputs["nope"]


def entries(store: mk.Storage) -> list[CacheEntry]:
    return [store.get_record(k, CacheEntry) for k in store.list("cache")]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_at_any_storage_operation_never_leaves_a_broken_cache(when: str) -> None:
    counter = FaultyStorage(mk.MemoryStorage())
    run(counter)
    total_ops = counter.calls
    for fail_at in range(1, total_ops + 1):
        inner = mk.MemoryStorage()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CacheWarning)  # a failed cache write is only a warning
            try:
                run(FaultyStorage(inner, fail_at=fail_at, when=when))  # type: ignore[arg-type]
            except mk.StorageError:
                pass  # the run record could not be written: the caller is told
        for entry in entries(inner):  # every entry points to blobs that exist
            assert all(inner.has_blob(o.blob) for o in entry.outputs.values() if o.blob)
        result = run(inner)
        assert result.status == "succeeded"
        assert result.outputs["total"] == 90.0


def test_a_lost_blob_fails_clearly_and_heals_on_the_next_run() -> None:
    store = mk.MemoryStorage()
    first = run(store)
    blob = first.step("transform").outputs["transform"].blob
    assert blob is not None
    store.delete(f"blobs/sha256/{blob[:2]}/{blob}")
    bumped = mk.step(total.func, name="total", version="2")  # needs transform's value
    pipe = mk.Pipeline([load, transform, bumped, side])
    with pytest.raises(
        mk.PipelineError, match="cached value 'transform' needed by step 'total' could not be loaded"
    ):
        run(store, pipe=pipe)
    CALLS.clear()
    result = run(store, pipe=pipe)
    assert CALLS == {"transform": 1, "total": 1}
    assert result.outputs["total"] == 90.0


def test_tampered_cache_entries_are_detected_with_a_signing_key() -> None:
    store = mk.MemoryStorage(signing_key="secret")
    run(store)
    key = store.list("cache")[0]
    store.write(key, store.read(key).replace(b'"duration_s":', b'"duration_s":1'))
    with pytest.raises(mk.IntegrityError, match="invalid signature"):
        run(store)
    assert PIPE.runs(store)[0].status == "failed"
