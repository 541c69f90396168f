"""Step outputs larger than memory: lazy pyarrow datasets and Dask DataFrames, stored as Parquet parts.

A returned ``pyarrow.dataset.Dataset`` is streamed, a part at a time, into Parquet
blobs; a returned Dask DataFrame has each partition written as a blob by the task that
computes it, on the workers. Either way the cache entry's blob is a small JSON manifest
(parts, content fingerprint, schema), and a cache hit hands back the same kind of lazy
handle over the verified blobs: nothing is read until it is scanned or computed.
"""

from __future__ import annotations

import base64
import json
from typing import IO, TYPE_CHECKING, Any

from mlops_kit.core.errors import IntegrityError
from mlops_kit.datasets import DatasetPart, arrow_over_parts, dask_over_parts, store_parts
from mlops_kit.pipeline._dask import process_local
from mlops_kit.pipeline._datafp import compute
from mlops_kit.pipeline._materializers import Materializer, StorageMaterializer

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mlops_kit.core.storage import Storage

__all__ = ["ArrowDatasetMaterializer", "ArrowPartsMaterializer", "DaskPartsMaterializer"]

PART_ROWS = 1 << 19
_FORMAT = 1
_READAHEAD = 2


class ArrowDatasetMaterializer(Materializer):
    """pyarrow datasets as one Parquet blob, loaded back in memory.

    The portable stand-in of :class:`ArrowPartsMaterializer` (where no storage is at
    hand), and the reader of cache entries written before outputs were stored as parts.
    """

    name = "arrow-dataset"

    def save(self, value: Any, file: IO[bytes]) -> None:
        import pyarrow.parquet as pq

        with pq.ParquetWriter(file, value.schema) as writer:
            for batch in _batches(value):
                writer.write_batch(batch)

    def load(self, file: IO[bytes]) -> Any:
        import pyarrow.dataset as pads
        import pyarrow.parquet as pq

        return pads.dataset(pq.read_table(file))


class ArrowPartsMaterializer(StorageMaterializer):
    """pyarrow datasets streamed into Parquet parts; loaded back as a lazy dataset over them."""

    name = "arrow-parts"

    def __init__(self, part_rows: int = PART_ROWS) -> None:
        self.part_rows = part_rows

    def save_to(self, value: Any, storage: Storage) -> bytes:
        import pyarrow as pa

        tables = (pa.Table.from_batches([batch], schema=value.schema) for batch in _batches(value))
        stored = store_parts(storage, tables, self.part_rows)
        return _manifest(stored.fingerprint, stored.schema, stored.parts)

    def load_from(self, manifest: bytes, storage: Storage) -> Any:
        fingerprint, schema, parts = _parse(manifest)
        return arrow_over_parts(storage, parts, schema, f"parts:{fingerprint}")

    def portable(self) -> Materializer:
        return ArrowDatasetMaterializer()


class DaskPartsMaterializer(StorageMaterializer):
    """Dask DataFrames, each partition written to storage by the task computing it.

    On a storage that lives in this process's memory (a ``MemoryStorage``), which
    workers cannot write to, partitions are computed one at a time and written here.
    Loaded back as a Dask DataFrame with one partition per stored blob.
    """

    name = "dask-parts"

    def save_to(self, value: Any, storage: Storage) -> bytes:
        import pandas as pd
        import pyarrow as pa

        if process_local(storage):
            import dask

            rows = [_write_partition(dask.compute(part)[0], storage) for part in value.to_delayed()]
            written = pd.concat(rows) if rows else _part_meta()
        else:
            written = compute(value.map_partitions(_write_partition, storage, meta=_part_meta()))
        parts = [
            DatasetPart(blob=b, n_rows=int(n), size_bytes=int(s))
            for b, n, s in zip(written["blob"], written["n_rows"], written["size_bytes"], strict=True)
        ]
        schema = pa.Schema.from_pandas(value._meta)
        return _manifest(None, schema, parts)

    def load_from(self, manifest: bytes, storage: Storage) -> Any:
        _, schema, parts = _parse(manifest)
        return dask_over_parts(storage, [p.blob for p in parts], schema.empty_table().to_pandas())


def _write_partition(frame: pd.DataFrame, storage: Storage) -> pd.DataFrame:
    """Write one partition as a Parquet blob (where it was computed); its part as a one-row frame."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame)
    with storage.staged_blob() as staged:
        pq.write_table(table, staged.path)
    return pd.DataFrame({"blob": [staged.digest], "n_rows": [len(frame)], "size_bytes": [staged.size]})


def _part_meta() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "blob": pd.Series([], dtype=object),
            "n_rows": pd.Series([], dtype="int64"),
            "size_bytes": pd.Series([], dtype="int64"),
        }
    )


def _batches(dataset: Any) -> Any:
    # A threaded scan runs ahead of a slower consumer (the Parquet writer) without bound:
    # that, not the data, would set the peak. One thread reading two batches ahead keeps it flat.
    return dataset.to_batches(batch_readahead=_READAHEAD, fragment_readahead=1, use_threads=False)


def _manifest(fingerprint: str | None, schema: pa.Schema, parts: list[DatasetPart]) -> bytes:
    return json.dumps(
        {
            "format": _FORMAT,
            "fingerprint": fingerprint,
            "schema": base64.b64encode(schema.serialize().to_pybytes()).decode(),
            "parts": [p.model_dump() for p in parts],
        },
        separators=(",", ":"),
    ).encode()


def _parse(manifest: bytes) -> tuple[str | None, pa.Schema, list[DatasetPart]]:
    import pyarrow as pa

    data = json.loads(manifest)
    if data.get("format") != _FORMAT:
        raise IntegrityError(
            f"A stored lazy output has manifest format {data.get('format')!r}, this version reads "
            f"{_FORMAT}: run the pipeline again (or with this library's version that wrote it)."
        )
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(data["schema"])))
    return data["fingerprint"], schema, [DatasetPart.model_validate(p) for p in data["parts"]]


def register_lazy_outputs() -> None:
    """Register the materializers of lazy pyarrow datasets and Dask DataFrames (by dotted path)."""
    from mlops_kit.pipeline._materializers import register_materializer

    register_materializer("pyarrow._dataset.Dataset", ArrowPartsMaterializer())
    register_materializer("dask.dataframe.DataFrame", DaskPartsMaterializer())
