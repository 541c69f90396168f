"""Content fingerprints of Arrow tables, independent of how the data is encoded or chunked.

The fingerprint covers column names, logical types, the pandas index layout, the
values in row order and the positions of nulls. It does not depend on Parquet
encoding, compression, chunking, string offsets width, or the bytes hidden under
null slots, so identical content gives an identical fingerprint and a re-ordering
gives a different one.

:class:`ContentHasher` computes it incrementally, table after table (a stream of
record batches, a folder of Parquet files): every hash is fed in row order, so the
same rows give the same fingerprint however they are cut. Dictionary columns hash
their unified dictionary before their indices; while streaming, the indices (one
small integer per row) wait in a temporary file until the dictionary is complete.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ContentHasher", "content_fingerprint", "range_index", "stored_index"]

_STRINGS = {pa.string(), pa.large_string(), pa.string_view()}
_BINARIES = {pa.binary(), pa.large_binary(), pa.binary_view()}
_SPILL_READ = 1 << 24


def content_fingerprint(table: pa.Table, *, threads: int = 2) -> str:
    """The sha256 hex digest of a table's content (see the module docstring)."""
    hasher = ContentHasher(table.schema, threads=threads)
    hasher.update(table)
    meta = table.schema.pandas_metadata or {}
    return hasher.hexdigest(meta.get("index_columns", []))


def range_index(rows: int) -> list[dict[str, Any]]:
    """The pandas index layout of a default ``RangeIndex`` over ``rows`` rows."""
    return [{"kind": "range", "name": None, "start": 0, "stop": rows, "step": 1}]


def stored_index(schema: pa.Schema) -> list[Any]:
    """The pandas index columns stored as data (``[]`` for a positional index: a range, or none)."""
    meta = schema.pandas_metadata or {}
    stored = meta.get("index_columns", [])
    return stored if stored and all(isinstance(c, str) for c in stored) else []


class ContentHasher:
    """The content fingerprint of a table fed in pieces (all with ``schema``'s columns).

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"x": [1, 2, 3], "s": ["a", None, "c"]})
    >>> h = ContentHasher(t.schema)
    >>> h.update(t.slice(0, 1)); h.update(t.slice(1))
    >>> h.hexdigest([]) == content_fingerprint(t)
    True
    """

    def __init__(self, schema: pa.Schema, *, threads: int = 2) -> None:
        self.schema = schema
        self.rows = 0
        self._threads = threads
        self._columns = [_ColumnHasher(field.type) for field in schema]

    def update(self, table: pa.Table | pa.RecordBatch) -> None:
        """Feed the next rows (their columns in the schema's order)."""
        pairs = list(zip(self._columns, table.columns, strict=True))
        if self._threads > 1 and len(pairs) > 1:
            with ThreadPoolExecutor(self._threads) as pool:  # hashlib releases the GIL on large buffers
                list(pool.map(lambda pair: pair[0].update(pair[1]), pairs))
        else:
            for column, data in pairs:
                column.update(data)
        self.rows += table.num_rows

    def hexdigest(self, index: list[Any]) -> str:
        """The fingerprint of every row fed so far; ``index`` is the pandas ``index_columns`` layout."""
        header = {
            "columns": [[field.name, _type_name(field.type)] for field in self.schema],
            "index": index,
            "rows": self.rows,
        }
        final = hashlib.sha256(json.dumps(header, sort_keys=True, default=str).encode())
        for column in self._columns:
            final.update(column.digest())
        return final.hexdigest()


class _ColumnHasher:
    """Three running hashes of one column: values, null positions, string lengths."""

    def __init__(self, kind: pa.DataType) -> None:
        self.kind = kind
        self.values = hashlib.sha256()
        self.nulls = hashlib.sha256()
        self.lengths = hashlib.sha256()
        self.start = 0
        self.dictionary: pa.Array | None = None
        # Closed in digest(), once the dictionary is complete.
        self._spill: Any = tempfile.TemporaryFile() if pa.types.is_dictionary(kind) else None  # noqa: SIM115

    def update(self, column: pa.ChunkedArray | pa.Array) -> None:
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        for chunk in chunks:
            if self._spill is not None:
                chunk = self._unified_indices(chunk)
            if chunk.null_count:
                positions = np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False)) + self.start
                self.nulls.update(positions.astype(np.int64).tobytes())
            _update_values(chunk, self._spill if self._spill is not None else self.values, self.lengths)
            self.start += len(chunk)

    def _unified_indices(self, chunk: pa.DictionaryArray) -> pa.Array:
        """The chunk's indices into the dictionary of all chunks so far (new values appended)."""
        dictionary = chunk.dictionary
        if self.dictionary is None:
            self.dictionary = dictionary
            return chunk.indices
        if dictionary.equals(self.dictionary):
            return chunk.indices
        positions = pc.index_in(dictionary, value_set=self.dictionary)
        new = pc.is_null(positions)
        fresh = dictionary.filter(new)
        numbers = np.cumsum(new.to_numpy(zero_copy_only=False)) - 1 + len(self.dictionary)
        transpose = pc.if_else(new, pa.array(numbers, type=pa.int64()), positions.cast(pa.int64()))
        self.dictionary = pa.concat_arrays([self.dictionary, fresh])
        return pc.take(transpose, chunk.indices).cast(self.kind.index_type)

    def digest(self) -> bytes:
        if self._spill is None:
            return bytes(self.values.digest() + self.nulls.digest() + self.lengths.digest())
        values = hashlib.sha256()
        if self.dictionary is not None:
            words = _ColumnHasher(self.dictionary.type)
            words.update(self.dictionary)
            values.update(words.digest())
        self._spill.seek(0)
        while block := self._spill.read(_SPILL_READ):
            values.update(block)
        self._spill.close()
        return bytes(values.digest() + self.nulls.digest() + self.lengths.digest())


def _type_name(arrow_type: pa.DataType) -> str:
    if arrow_type in _STRINGS:
        return "string"
    if arrow_type in _BINARIES:
        return "binary"
    if pa.types.is_dictionary(arrow_type):
        return f"dictionary<{_type_name(arrow_type.value_type)}>"
    return str(arrow_type)


def _update_values(chunk: pa.Array, values: Any, lengths: Any) -> None:
    """Feed a chunk's values to ``values`` (a hash, or a file: both have ``update``/``write``)."""
    feed = values.update if hasattr(values, "update") else values.write
    kind = chunk.type
    if kind in _STRINGS or kind in _BINARIES:
        if kind not in (pa.large_string(), pa.large_binary()):
            chunk = chunk.cast(pa.large_binary() if kind in _BINARIES else pa.large_string())
        if chunk.null_count:
            chunk = pc.if_else(chunk.is_null(), "", chunk)
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        lengths.update(np.diff(offsets).tobytes())
        data = chunk.buffers()[2]
        if data is not None and len(offsets):
            feed(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
    elif pa.types.is_boolean(kind):
        feed(np.asarray(chunk.fill_null(False)).view(np.uint8).tobytes())
    elif pa.types.is_primitive(kind) and kind.bit_width % 8 == 0:
        if chunk.null_count:
            chunk = chunk.fill_null(pa.scalar(0, type=kind))
        width = kind.bit_width // 8
        buffer = chunk.buffers()[1]
        feed(memoryview(buffer)[chunk.offset * width : (chunk.offset + len(chunk)) * width])
    else:  # nested and exotic types: rare in tabular data; hash their Python values
        feed(json.dumps(chunk.to_pylist(), default=str, sort_keys=True).encode())
