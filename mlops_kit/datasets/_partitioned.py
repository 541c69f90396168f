"""Saving a stream of Arrow tables as a partitioned version, with bounded memory.

Pieces of at most ``part_rows`` rows are, in turn: checked, hashed into the content
fingerprint, profiled and schema-inferred through pandas (then merged with what came
before: profiles and schemas are mergeable), and written as one Parquet blob while the
next steps run. Only one piece is in memory at a time (two while one is written).
Numeric columns are counted at the first piece's exact quantiles, which merge exactly; a
column whose rows fall outside the first piece's range too often (rows ordered by it) is
counted again, in a second pass over its stored parts, at quantiles of the merged
histogram (see :mod:`mlops_kit.datasets._quantiles`).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import SchemaError
from mlops_kit.core.profile import Profile
from mlops_kit.core.schema import ColumnSchema, Schema
from mlops_kit.datasets._fingerprint import ContentHasher, range_index, stored_index
from mlops_kit.datasets._quantiles import with_quantiles
from mlops_kit.datasets._records import DatasetPart

if TYPE_CHECKING:
    import pyarrow as pa

    from mlops_kit.core.storage import Storage

__all__ = ["StoredParts", "Written", "store_parts", "write_parts"]

_WRITERS = 2
_ROW_GROUP = 1 << 17  # the encoder buffers one row group: small groups keep that small


@dataclass
class Written:
    """What a streamed save learned about its data."""

    fingerprint: str
    schema: Schema
    profile: Profile
    parts: list[DatasetPart] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return sum(p.n_rows for p in self.parts)


def write_parts(storage: Storage, tables: Iterator[pa.Table], part_rows: int) -> Written:
    """Store ``tables`` as Parquet blobs of at most ``part_rows`` rows each."""
    schema: Schema | None = None
    profile: Profile | None = None
    first: Profile | None = None
    # Two writers keep both cores busy while this thread profiles the next piece.
    with _PartWriter(storage, _WRITERS) as writer:
        for piece in writer.pieces(tables, part_rows):
            frame = piece.to_pandas(split_blocks=True)  # zero-copy where the types allow
            piece_schema = Schema.infer(frame)  # rejects unsupported types before the first write
            writer.write(piece)
            # Counted at the first piece's quantiles, the pieces' quantile counts merge exactly.
            piece_profile = Profile.of(frame, against=first)
            first = first or piece_profile
            del frame
            schema = piece_schema if schema is None else merge_schemas(schema, piece_schema)
            profile = piece_profile if profile is None else profile.merge(piece_profile)
    fingerprint, _, parts = writer.result()
    assert schema is not None and profile is not None  # result() refused no pieces
    if len(parts) > 1:  # the first piece's quantiles may not fit the rest (rows sorted by a column)
        profile = with_quantiles(storage, parts, profile)
    return Written(fingerprint=fingerprint, schema=schema, profile=profile, parts=parts)


@dataclass
class StoredParts:
    """What :func:`store_parts` wrote: the content fingerprint, the Arrow schema, the parts."""

    fingerprint: str
    schema: pa.Schema
    parts: list[DatasetPart]

    @property
    def n_rows(self) -> int:
        return sum(p.n_rows for p in self.parts)


def store_parts(storage: Storage, tables: Iterator[pa.Table], part_rows: int) -> StoredParts:
    """Store ``tables`` as Parquet blobs of at most ``part_rows`` rows, hashing but not profiling them.

    The lighter sibling of :func:`write_parts` for values that are not dataset versions
    (a pipeline step's output): no pandas conversion, schema inference or profile, so
    the cost is reading, hashing and encoding. The fingerprint is the one
    :func:`write_parts` (and ``fingerprint_of``) gives the same rows.
    """
    with _PartWriter(storage, 1) as writer:  # encoding one piece while the next is hashed
        for piece in writer.pieces(tables, part_rows):
            writer.write(piece)
    return StoredParts(*writer.result())


class _PartWriter:
    """Writes pieces as Parquet blobs in background threads (Parquet encoding runs in C++
    without the GIL), hashing each into the content fingerprint; at most ``writers`` writes
    are in flight, so at most ``writers + 1`` pieces are in memory."""

    def __init__(self, storage: Storage, writers: int) -> None:
        self.storage, self.writers = storage, writers
        self.hasher: ContentHasher | None = None
        self.index: list[Any] | None = None
        self.schema: pa.Schema | None = None
        self.parts: list[DatasetPart] = []
        self._pending: deque[Future[DatasetPart]] = deque()
        self._pool = ThreadPoolExecutor(writers)

    def __enter__(self) -> _PartWriter:
        return self

    def __exit__(self, failed: object, *exc: object) -> None:
        try:
            if failed is None:
                self.parts.extend(future.result() for future in self._pending)
        finally:
            self._pool.shutdown()  # waits for writes in flight either way

    def pieces(self, tables: Iterator[pa.Table], part_rows: int) -> Iterator[pa.Table]:
        """``tables`` regrouped into pieces of ``part_rows`` rows, each ready to write."""
        for piece in _pieces(tables, part_rows):
            if self.hasher is None:
                self.hasher = ContentHasher(piece.schema, threads=1)  # small pieces: threads cost more
                self.index = stored_index(piece.schema)
            piece = _positional(piece) if not self.index else piece
            self.schema = self.schema or piece.schema
            yield piece

    def write(self, piece: pa.Table) -> None:
        """Write ``piece`` in the background and hash it here."""
        assert self.hasher is not None
        if len(self._pending) == self.writers:
            self.parts.append(self._pending.popleft().result())
        self._pending.append(self._pool.submit(_write, self.storage, piece))
        self.hasher.update(piece)

    def result(self) -> tuple[str, pa.Schema, list[DatasetPart]]:
        """The content fingerprint, the Arrow schema and the parts, once every write is done."""
        if self.hasher is None or self.schema is None:
            raise SchemaError("The data to save has no pieces.")
        return self.hasher.hexdigest(self.index or range_index(self.hasher.rows)), self.schema, self.parts


def _pieces(tables: Iterator[pa.Table], part_rows: int) -> Iterator[pa.Table]:
    """Regroup ``tables`` into pieces of ``part_rows`` rows (the last may be shorter)."""
    import pyarrow as pa

    held: list[pa.Table] = []
    rows = 0
    for table in tables:
        while table.num_rows:
            take = min(part_rows - rows, table.num_rows)
            held.append(table.slice(0, take))
            table, rows = table.slice(take), rows + take
            if rows == part_rows:
                piece = pa.concat_tables(held)  # no copy: the batches stay as chunks
                held, rows = [], 0  # released before the piece is processed
                yield piece
    if held:
        piece = pa.concat_tables(held)  # no copy: the batches stay as chunks
        del held
        yield piece


def _positional(piece: pa.Table) -> pa.Table:
    """``piece`` with its pandas range index dropped: rows are numbered across pieces on load."""
    meta = piece.schema.pandas_metadata
    if not meta or not meta.get("index_columns"):
        return piece
    meta = {**meta, "index_columns": []}
    return piece.replace_schema_metadata(
        {**(piece.schema.metadata or {}), b"pandas": json.dumps(meta).encode()}
    )


def _write(storage: Storage, piece: pa.Table) -> DatasetPart:
    import pyarrow.parquet as pq

    with storage.staged_blob() as staged:
        pq.write_table(piece, staged.path, row_group_size=_ROW_GROUP)
    return DatasetPart(blob=staged.digest, n_rows=piece.num_rows, size_bytes=staged.size)


def merge_schemas(a: Schema, b: Schema) -> Schema:
    """The schema of both pieces stacked: nullable if either is, the union of ranges and categories."""
    if a.names != b.names:
        raise SchemaError(f"Pieces of the data have different columns: {a.names} and {b.names}.")
    return Schema(
        columns={name: _merge_column(name, col, b.columns[name]) for name, col in a.columns.items()}
    )


def _merge_column(name: str, a: ColumnSchema, b: ColumnSchema) -> ColumnSchema:
    dtype = a.dtype
    if a.dtype != b.dtype:
        if {a.dtype, b.dtype} != {"int", "float"}:  # an int column with nulls is float in pandas
            raise SchemaError(
                f"Column {name!r} is {a.dtype} in one piece of the data and {b.dtype} in another."
            )
        dtype = "float"
    if a.tz != b.tz:
        raise SchemaError(f"Column {name!r} has time zone {a.tz} in one piece and {b.tz} in another.")
    low = _pick(a.min, b.min, min, dtype)
    high = _pick(a.max, b.max, max, dtype)
    categories = a.categories
    if a.categories is not None and b.categories is not None and a.categories != b.categories:
        categories = (*a.categories, *(c for c in b.categories if c not in a.categories))
    return ColumnSchema(
        dtype=dtype, nullable=a.nullable or b.nullable, min=low, max=high, categories=categories, tz=a.tz
    )


def _pick(x: Any, y: Any, choose: Any, dtype: str) -> Any:
    if x is None or y is None:
        return y if x is None else x
    if dtype == "datetime":
        import pandas as pd

        return x if choose(pd.Timestamp(x), pd.Timestamp(y)) == pd.Timestamp(x) else y
    value = choose(x, y)
    return float(value) if dtype == "float" else value
