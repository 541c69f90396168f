"""Steps taking and returning lazy pyarrow handles, cached by content without loading them whole.

A returned dataset is stored as Parquet parts and comes back from the cache as a lazy dataset over them.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import mlops_kit as mk
from mlops_kit.core.errors import IntegrityError
from mlops_kit.core.storage.blobs import blob_key
from mlops_kit.datasets import fingerprint_of
from mlops_kit.pipeline import OutputRecord
from mlops_kit.pipeline._cache import encode_outputs, entry_key
from mlops_kit.pipeline._datafp import fingerprint
from mlops_kit.pipeline._lazy_outputs import _parse
from mlops_kit.pipeline._materializers import load_output, materializer_named
from mlops_kit.pipeline._task import Outcome, Slot, StepMeta

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


class CountingStorage(mk.MemoryStorage):
    """Counts the reads of each key (``_read`` and ``_open``: every way a blob is read)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()

    def _read(self, key: str) -> bytes:
        self.reads[key] += 1
        return super()._read(key)

    def _open(self, key: str) -> Any:
        self.reads[key] += 1
        return super()._open(key)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of 4 rows, so that a few rows make several parts."""
    monkeypatch.setattr(materializer_named("arrow-parts"), "part_rows", 4)


def parts_of(store: mk.Storage, record: Any) -> list[Any]:
    return _parse(store.get_blob(record.blob))[2]


@pytest.mark.usefixtures("small_parts")
def test_a_returned_arrow_dataset_is_stored_as_parts_and_comes_back_lazy_from_the_cache() -> None:
    store = CountingStorage()
    ds = mk.Dataset("d", store)
    ds.save(iter(chunks(30)), part_rows=8)
    pipe = mk.Pipeline([big], name="lazy-parts")
    first = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    record = first.steps[0].outputs["big"]
    assert record.materializer == "arrow-parts"
    parts = parts_of(store, record)
    assert [p.n_rows for p in parts] == [4, 4, 4, 4, 4, 4]  # 24 rows with x > 5
    store.reads.clear()
    second = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    assert second.steps[0].cache_hit and CALLS["big"] == 1
    lazy = second.outputs["big"]
    assert isinstance(lazy, pads.FileSystemDataset) and lazy.schema.names[:2] == ["x", "y"]
    part_keys = {blob_key(p.blob) for p in parts}
    assert not part_keys & set(store.reads)  # loaded back: the manifest read, no part yet
    expected = pd.concat(chunks(30)).query("x > 5").reset_index(drop=True)
    pd.testing.assert_frame_equal(lazy.to_table().to_pandas(), expected)
    assert part_keys <= set(store.reads)  # the scan reads them
    # Fingerprinted without reading: by the stored content, as a version handle is.
    assert fingerprint(lazy) == fingerprint(second.outputs["big"])
    assert fingerprint_of(lazy) != fingerprint_of(lazy.filter(pads.field("x") > 10))


@pytest.mark.usefixtures("small_parts")
def test_downstream_steps_are_keyed_by_the_stored_outputs_fingerprint() -> None:
    store = mk.MemoryStorage()
    ds = mk.Dataset("d", store)
    ds.save(iter(chunks(20)), part_rows=8)
    pipe = mk.Pipeline([big, total], name="lazy-chain")
    first = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    # Forget total's entry only: big is a hit, so total runs on the lazy dataset loaded back.
    store.delete(entry_key(first.step("total").cache_key))
    second = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    assert CALLS == {"big": 1, "total": 2}
    assert second.step("big").cache_hit and not second.step("total").cache_hit
    assert second.step("total").cache_key == first.step("total").cache_key
    assert second.outputs["total"] == first.outputs["total"] == float(sum(range(6, 20)))


@pytest.mark.usefixtures("small_parts")
def test_a_tampered_part_of_a_returned_dataset_raises_integrity_error_on_scan() -> None:
    store = mk.MemoryStorage()
    ds = mk.Dataset("d", store)
    ds.save(iter(chunks(20)), part_rows=8)
    pipe = mk.Pipeline([big], name="lazy-tamper")
    first = pipe.run(inputs={"data": ds.to_arrow()}, storage=store, progress=False)
    key = blob_key(parts_of(store, first.steps[0].outputs["big"])[1].blob)
    store.write(key, store.read(key)[:-10] + b"0123456789")
    lazy = pipe.runs(store)[0].outputs["big"]  # still lazy: nothing read yet
    with pytest.raises(IntegrityError, match="corrupted"):
        lazy.to_table()


def test_an_entry_written_by_the_single_blob_arrow_materializer_still_loads() -> None:
    store = mk.MemoryStorage()
    table = pa.table({"x": [1, 2, 3]})
    buffer = io.BytesIO()
    materializer_named("arrow-dataset").save(pads.dataset(table), buffer)
    data = buffer.getvalue()
    ref = OutputRecord(
        fingerprint="f", blob=store.put_blob(data), materializer="arrow-dataset", size=len(data)
    )
    loaded = load_output(store, ref)
    assert isinstance(loaded, pads.Dataset) and loaded.to_table().equals(table)


def test_where_no_storage_is_at_hand_a_returned_dataset_is_encoded_as_one_blob() -> None:
    outcome = Outcome(StepMeta("s"), {"out": Slot(pads.dataset(pa.table({"x": [1, 2]})))})
    encoded = encode_outputs(outcome)
    assert encoded is not None and encoded["out"][0] == "arrow-dataset"
