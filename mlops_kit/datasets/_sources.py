"""Data larger than memory, as a stream of Arrow tables with one schema.

``Dataset.save`` accepts, besides a DataFrame: a ``pyarrow.dataset.Dataset``, a folder
or glob of Parquet files, an iterable of DataFrames and a Dask DataFrame. Each is read
piece by piece, in row order. What can be checked before reading (the schemas of a
folder's files, of a dataset's fragments) is checked before anything is written; what
shows only while reading (an iterable's items, a Dask partition's dtypes) raises
:class:`SchemaError` when it shows, before the version record is appended.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_kit.core.dtypes import check_frame
from mlops_kit.core.errors import NotFoundError, SchemaError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

__all__ = ["is_streamed", "stream_tables"]

_GLOB = set("*?[")
_READAHEAD = 2


def is_dask_frame(data: Any) -> bool:
    """A Dask DataFrame, recognized without importing dask."""
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "to_delayed")


def is_arrow_dataset(data: Any) -> bool:
    """A ``pyarrow.dataset.Dataset``, recognized without importing pyarrow.dataset."""
    return (
        type(data).__module__.startswith("pyarrow")
        and hasattr(data, "to_batches")
        and hasattr(data, "get_fragments")
    )


def is_streamed(data: Any) -> bool:
    """Whether ``data`` is one of the larger-than-memory inputs (not a single DataFrame)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame | pd.Series) or type(data).__module__ == "numpy":
        return False  # a Series or an array is a mistake for a frame: check_frame says so
    return (
        isinstance(data, str | os.PathLike)
        or is_arrow_dataset(data)
        or is_dask_frame(data)
        or (isinstance(data, Iterable) and not isinstance(data, bytes | dict))
    )


def stream_tables(data: Any) -> Iterator[pa.Table]:
    """The rows of ``data`` as Arrow tables, in order, every one with the first one's schema."""
    if isinstance(data, str | os.PathLike):
        data = _parquet_files(data)
    if is_arrow_dataset(data):
        tables: Iterator[pa.Table] = _arrow(data)
    elif is_dask_frame(data):
        tables = _dask(data)
    else:
        tables = _frames(data)
    first: pa.Schema | None = None
    for n, table in enumerate(tables):
        if first is None:
            first = table.schema
        elif not table.schema.equals(first, check_metadata=False):
            raise SchemaError(
                f"Piece {n + 1} of the data has a different schema from the first: "
                f"{_difference(first, table.schema)}. Every piece must have the same columns and types."
            )
        yield table
    if first is None:
        raise SchemaError("The data to save holds no rows' pieces (an empty iterable or no files).")


def _parquet_files(path: str | os.PathLike[str]) -> pads.Dataset:
    """A dataset over a folder (every ``*.parquet`` under it) or a glob, files sorted by path."""
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    text = os.fspath(path)
    if _GLOB & set(text):
        files = sorted(f for f in glob.glob(text, recursive=True) if os.path.isfile(f))
    elif os.path.isdir(text):
        files = sorted(str(p) for p in Path(text).rglob("*.parquet") if p.is_file())
    elif os.path.isfile(text):
        files = [text]
    else:
        raise NotFoundError(f"No Parquet file or folder at {text!r}; pass a folder, a glob or a DataFrame.")
    if not files:
        raise SchemaError(f"No Parquet files match {text!r}; a folder is read for '*.parquet' files.")
    schemas = [pq.read_schema(f) for f in files]
    for file, schema in zip(files[1:], schemas[1:], strict=True):
        if not schema.equals(schemas[0], check_metadata=False):
            raise SchemaError(
                f"The Parquet files disagree on their schema: {file} differs from {files[0]}: "
                f"{_difference(schemas[0], schema)}. Rewrite them with one schema; nothing was saved."
            )
    return pads.dataset(files, format="parquet", schema=schemas[0])


def _arrow(dataset: pads.Dataset) -> Iterator[pa.Table]:
    import pyarrow as pa
    import pyarrow.dataset as pads

    files = isinstance(dataset, pads.FileSystemDataset) and not getattr(dataset, "_scan_options", None)
    if files:  # files that pyarrow would silently cast (a filtered dataset hides its files)
        for fragment in dataset.get_fragments():
            physical = fragment.physical_schema
            if not physical.equals(dataset.schema, check_metadata=False):
                raise SchemaError(
                    f"The file {fragment.path} does not have the dataset's schema: "
                    f"{_difference(dataset.schema, physical)}. Nothing was saved."
                )
    if files and isinstance(dataset.format, pads.ParquetFileFormat):
        yield from _parquet_batches(dataset)
        return
    # pyarrow reads ahead 4 files x 16 batches by default: that, not the data, would set the peak.
    for batch in dataset.to_batches(batch_readahead=_READAHEAD, fragment_readahead=1):
        yield pa.Table.from_batches([batch])


def _parquet_batches(dataset: pads.FileSystemDataset) -> Iterator[pa.Table]:
    """A Parquet dataset's files in order, one row group at a time, with no read-ahead."""
    import pyarrow.parquet as pq

    for path in dataset.files:
        with dataset.filesystem.open_input_file(path) as source:
            reader = pq.ParquetFile(source)
            for group in range(reader.num_row_groups):
                yield reader.read_row_group(group, use_threads=True).cast(dataset.schema)


def _frames(items: Iterable[Any]) -> Iterator[pa.Table]:
    import pyarrow as pa

    for n, frame in enumerate(items):
        check_frame(frame, f"item {n + 1} of the data (an iterable of DataFrames)")
        try:
            yield pa.Table.from_pandas(frame)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise SchemaError(f"Cannot store item {n + 1} of the data as Parquet: {exc}") from exc


def _dask(ddf: Any) -> Iterator[pa.Table]:
    """One partition at a time, each checked against the frame's declared ``meta``."""
    import dask

    meta = ddf._meta.dtypes
    for n, part in enumerate(ddf.to_delayed()):
        (frame,) = dask.compute(part)
        dtypes = frame.dtypes
        if list(frame.columns) != list(meta.index) or not all(dtypes == meta):
            wrong = [
                f"{c!r} is {dtypes.get(c, 'missing')}, meta says {meta[c]}"
                for c in meta.index
                if c not in dtypes or dtypes[c] != meta[c]
            ]
            raise SchemaError(
                f"Partition {n} of the Dask DataFrame disagrees with its meta: {', '.join(wrong) or 'columns differ'}. "
                "Cast the partitions (ddf.astype) or give the right meta; no version was saved."
            )
        yield from _frames([frame])


def _difference(a: pa.Schema, b: pa.Schema) -> str:
    """What differs between two schemas, column by column."""
    left = {f.name: f.type for f in a}
    right = {f.name: f.type for f in b}
    parts = [
        f"{name!r} is {right.get(name, 'missing')} instead of {kind}"
        for name, kind in left.items()
        if right.get(name) != kind
    ]
    parts += [f"{name!r} is extra" for name in right if name not in left]
    return ", ".join(parts) or f"column order {b.names} instead of {a.names}"
