"""Steps taking and returning lazy pyarrow handles, cached by content without loading them whole."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import mlops_kit as mk
from mlops_kit.core.storage.blobs import blob_key
from mlops_kit.datasets import fingerprint_of
from mlops_kit.pipeline._datafp import fingerprint

CALLS: Counter[str] = Counter()


@mk.step
def rows(data: Any) -> int:
    CALLS["rows"] += 1
    return int(data.count_rows())


@mk.step
def big(data: Any) -> Any:
    CALLS["big"] += 1
    return data.filter(pads.field("x") > 5)


@mk.step
def total(big: Any) -> float:
    CALLS["total"] += 1
    return float(pa.compute.sum(big.to_table(columns=["x"]).column("x")).as_py())


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def chunks(n: int, shift: int = 0) -> list[pd.DataFrame]:
    df = pd.DataFrame({"x": np.arange(n) + shift, "y": np.arange(n) * 0.5})
    return [df.iloc[: n // 2], df.iloc[n // 2 :]]


def test_a_step_taking_to_arrow_is_cached_across_runs_and_reruns_when_the_data_changes() -> None:
    store = mk.MemoryStorage()
    ds = mk.Dataset("d", store)
    ds.save(iter(chunks(10)), part_rows=4)
    pipe = mk.Pipeline([rows], name="lazy")
    first = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    second = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    assert first.outputs["rows"] == second.outputs["rows"] == 10
    assert CALLS["rows"] == 1 and second.steps[0].cache_hit
    ds.save(iter(chunks(10, shift=1)), part_rows=4)
    third = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    assert CALLS["rows"] == 2 and not third.steps[0].cache_hit
    # An older version's handle is the older content: served from the cache again.
    pipe.run(inputs={"data": ds.to_arrow(version=1)}, storage=store, progress=False)
    assert CALLS["rows"] == 2


def test_a_step_can_return_a_lazy_handle_that_the_next_step_reads() -> None:
    store = mk.MemoryStorage()
    ds = mk.Dataset("d", store)
    ds.save(iter(chunks(10)), part_rows=4)
    pipe = mk.Pipeline([big, total], name="lazy-out")
    first = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    second = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    assert first.outputs["total"] == second.outputs["total"] == float(sum(range(6, 10)))
    assert CALLS == {"big": 1, "total": 1}


def test_a_version_handle_is_fingerprinted_by_the_version_without_reading_a_blob() -> None:
    store = mk.MemoryStorage()
    ds = mk.Dataset("d", store)
    v = ds.save(iter(chunks(10)), part_rows=4)
    handle, again = ds.to_arrow(), ds.to_arrow()
    for part in v.parts:  # any read would now fail
        store.delete(blob_key(part.blob))
    assert fingerprint(handle) == fingerprint(again)
    other = mk.Dataset("e", mk.MemoryStorage())
    other.save(iter(chunks(10, shift=1)), part_rows=4)
    assert fingerprint(other.to_arrow()) != fingerprint(handle)


def test_any_pyarrow_dataset_is_fingerprinted_by_streaming_its_content(tmp_path) -> None:
    df = chunks(10)
    for k, part in enumerate(df):
        part.to_parquet(tmp_path / f"{k}.parquet")
    on_files = pads.dataset(str(tmp_path))
    in_memory = pads.dataset(pa.Table.from_pandas(pd.concat(df)))
    assert fingerprint_of(on_files) == fingerprint_of(in_memory)
    assert fingerprint(on_files) == fingerprint(pads.dataset(str(tmp_path)))
    assert fingerprint(on_files.filter(pads.field("x") > 2)) != fingerprint(on_files)
    pq.write_table(pa.table({"x": [99], "y": [0.0]}), tmp_path / "2.parquet")
    assert fingerprint(pads.dataset(str(tmp_path))) != fingerprint(on_files)
