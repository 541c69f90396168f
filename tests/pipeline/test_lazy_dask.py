"""Steps taking and returning Dask DataFrames: fingerprinted by content on the cluster, stored as parts."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core.errors import IntegrityError
from mlops_kit.core.storage.blobs import blob_key
from mlops_kit.pipeline._datafp import fingerprint
from mlops_kit.pipeline._lazy_outputs import _parse

CALLS: Counter[str] = Counter()
ROWS = 2000


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


@mk.step
def total(data: Any) -> float:
    CALLS["total"] += 1
    return float(data["x"].sum().compute())


@mk.step
def doubled(data: Any) -> Any:
    CALLS["doubled"] += 1
    return data.assign(y=data["x"] * 2)


def frame(shift: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(ROWS) + shift, "s": np.where(np.arange(ROWS) % 2, "a", "b")})


def test_a_read_parquet_input_reruns_when_a_file_is_rewritten(tmp_path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for k in range(3):
        frame(k * ROWS).to_parquet(folder / f"part-{k}.parquet")
    store, pipe = mk.MemoryStorage(), mk.Pipeline([total], name="read-parquet")
    first = pipe.run(inputs={"data": dd.read_parquet(str(folder))}, storage=store, progress=False)
    again = pipe.run(inputs={"data": dd.read_parquet(str(folder))}, storage=store, progress=False)
    assert again.steps[0].cache_hit and CALLS["total"] == 1
    frame(99).to_parquet(folder / "part-1.parquet")  # same paths, same row count, other values
    third = pipe.run(inputs={"data": dd.read_parquet(str(folder))}, storage=store, progress=False)
    assert not third.steps[0].cache_hit and CALLS["total"] == 2
    assert third.outputs["total"] != first.outputs["total"]
    assert third.outputs["total"] == float(sum(frame(k).x.sum() for k in (0, 99, 2 * ROWS)))


def test_the_same_data_twice_has_one_fingerprint_and_a_change_anywhere_another() -> None:
    df = frame()
    fp = fingerprint(dd.from_pandas(df, npartitions=3))
    assert fp is not None and fp == fingerprint(dd.from_pandas(df.copy(), npartitions=3))
    changed = df.copy()
    changed.loc[ROWS - 1, "x"] += 1
    assert fingerprint(dd.from_pandas(changed, npartitions=3)) != fp
    assert fingerprint(dd.from_pandas(df.astype({"x": "int32"}), npartitions=3)) != fp  # dtypes count
    assert fingerprint(dd.from_pandas(df[["s", "x"]], npartitions=3)) != fp  # column order counts
    series = fingerprint(dd.from_pandas(df.x, npartitions=3))
    assert series is not None and series == fingerprint(dd.from_pandas(df.x, npartitions=3)) != fp
    # Cut into other partitions, the same rows may miss the cache: a miss is safe, a stale hit is not.
    store, pipe = mk.MemoryStorage(), mk.Pipeline([total], name="same-data")
    for _ in range(2):
        pipe.run(inputs={"data": dd.from_pandas(df, npartitions=3)}, storage=store, progress=False)
    assert CALLS["total"] == 1


class Tracer:
    """Held by a partition's ``attrs``: every process that unpickles the partition writes its pid to ``log``."""

    def __init__(self, log: str) -> None:
        self.log = log

    def __reduce__(self) -> Any:
        return (unpickled_in, (self.log,))

    def __deepcopy__(self, memo: Any) -> Tracer:
        return self  # pandas deep-copies attrs into every frame derived from a partition: they keep it


def unpickled_in(log: str) -> Tracer:
    with open(log, "a") as file:
        file.write(f"{os.getpid()}\n")
    return Tracer(log)


def made_on_a_worker(k: int, log: str) -> pd.DataFrame:
    from distributed import get_worker

    get_worker()  # raises ValueError anywhere but in a task on a worker
    part = frame(k * ROWS)
    part.attrs["tracer"] = Tracer(log)
    return part


def traced_frame(log: str) -> Any:
    """Four partitions made on the workers; any that reaches another process says so in ``log``."""
    return dd.from_map(made_on_a_worker, range(4), log=log, meta=frame().iloc[:0], enforce_metadata=False)


def arrivals_here(log: str) -> int:
    if not os.path.exists(log):
        return 0
    with open(log) as file:
        return file.read().split().count(str(os.getpid()))


@pytest.mark.dask
def test_fingerprinting_a_dask_frame_computes_on_the_cluster_and_moves_only_digests(
    dask_client, tmp_path
) -> None:
    log = str(tmp_path / "arrivals")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fp = fingerprint(traced_frame(log))
    assert arrivals_here(log) == 0
    # The digests are those of the rows: the same rows made here hash alike.
    plain = dd.from_map(lambda k: frame(k * ROWS), range(4), meta=frame().iloc[:0], enforce_metadata=False)
    with dask.config.set(scheduler="threads"):
        assert fp is not None and fp == fingerprint(plain)
    dask.compute(*traced_frame(log).to_delayed())  # the check can fail: rows brought here are seen
    assert arrivals_here(log) == 4


@pytest.mark.dask
@pytest.mark.parametrize("runner", ["sequential", "dask"])
def test_a_returned_dask_frame_is_written_on_the_workers_and_loads_back_lazy(
    dask_client, runner: str, tmp_path
) -> None:
    store = mk.storage(str(tmp_path / "store"))  # shared with the workers
    chosen = mk.DaskRunner(dask_client) if runner == "dask" else mk.SequentialRunner()
    pipe = mk.Pipeline([doubled], name=f"dask-out-{runner}")
    log = str(tmp_path / "arrivals")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyarrow cannot keep the tracer in its metadata
        first = pipe.run(inputs={"data": traced_frame(log)}, storage=store, runner=chosen, progress=False)
    assert arrivals_here(log) == 0  # fingerprinted and written where the partitions were made
    record = first.steps[0].outputs["doubled"]
    assert record.materializer == "dask-parts" and first.steps[0].status == "succeeded"
    _, _, parts = _parse(store.get_blob(record.blob))
    assert [p.n_rows for p in parts] == [ROWS] * 4  # one blob per partition, written where it was made
    expected = pd.concat([frame(k * ROWS) for k in range(4)]).assign(y=lambda d: d.x * 2)
    back = pipe.runs(store)[0].outputs["doubled"]
    assert isinstance(back, dd.DataFrame) and back.npartitions == 4
    got = back.compute()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False)
    assert list(got.dtypes.astype(str)[:1]) == ["int64"]


def test_a_returned_dask_frame_on_a_memory_store_is_written_here_part_by_part() -> None:
    store, pipe = mk.MemoryStorage(), mk.Pipeline([doubled, total], name="dask-mem")
    first = pipe.run(inputs={"data": dd.from_pandas(frame(), npartitions=3)}, storage=store, progress=False)
    second = pipe.run(inputs={"data": dd.from_pandas(frame(), npartitions=3)}, storage=store, progress=False)
    assert CALLS == {"doubled": 1, "total": 1} and all(s.cache_hit for s in second.steps)
    assert first.steps[0].outputs["doubled"].materializer == "dask-parts"
    back = second.outputs["doubled"]
    assert back.npartitions == 3
    pd.testing.assert_frame_equal(
        back.compute(), frame().assign(y=lambda d: d.x * 2), check_dtype=False, check_index_type=False
    )
    # Downstream steps are keyed by the stored output's fingerprint: the same in both runs.
    assert second.step("total").cache_key == first.step("total").cache_key


def test_a_tampered_part_of_a_returned_dask_frame_raises_integrity_error_when_computed() -> None:
    store, pipe = mk.MemoryStorage(), mk.Pipeline([doubled], name="dask-tamper")
    first = pipe.run(inputs={"data": dd.from_pandas(frame(), npartitions=2)}, storage=store, progress=False)
    _, _, parts = _parse(store.get_blob(first.steps[0].outputs["doubled"].blob))
    key = blob_key(parts[1].blob)
    store.write(key, store.read(key)[:-10] + b"0123456789")
    back = pipe.runs(store)[0].outputs["doubled"]  # lazy: nothing read yet
    with pytest.raises(IntegrityError):
        back.compute()


def test_dask_parts_keep_a_non_default_index() -> None:
    df = frame().set_index("x")
    store, pipe = mk.MemoryStorage(), mk.Pipeline([mk.step(lambda data: data, name="same")], name="idx")
    pipe.run(inputs={"data": dd.from_pandas(df, npartitions=2)}, storage=store, progress=False)
    back = pipe.runs(store)[0].outputs["same"].compute()
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


def broken_part(k: int) -> pd.DataFrame:
    if k == 1:
        raise RuntimeError("partition 1 cannot be read")
    return frame(k * ROWS)


def test_an_input_whose_partition_fails_leaves_the_step_uncached_and_the_step_reports_the_error() -> None:
    broken = dd.from_map(broken_part, range(2), meta=frame().iloc[:0], enforce_metadata=False)
    assert fingerprint(broken) is None
    pipe = mk.Pipeline([total], name="broken")
    with pytest.warns(mk.pipeline.CacheWarning), pytest.raises(mk.PipelineError, match="partition 1"):
        pipe.run(inputs={"data": broken}, storage=mk.MemoryStorage(), progress=False)
