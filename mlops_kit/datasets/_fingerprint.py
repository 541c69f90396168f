"""Content fingerprints of Arrow tables, independent of how the data is encoded.

The fingerprint covers column names, logical types, the pandas index layout, the
values in row order and the positions of nulls. It does not depend on Parquet
encoding, compression, chunking, string offsets width, or the bytes hidden under
null slots, so identical content gives an identical fingerprint and a re-ordering
gives a different one.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["content_fingerprint"]

_STRINGS = {pa.string(), pa.large_string(), pa.string_view()}
_BINARIES = {pa.binary(), pa.large_binary(), pa.binary_view()}


def content_fingerprint(table: pa.Table, *, threads: int = 2) -> str:
    """The sha256 hex digest of a table's content (see the module docstring)."""
    meta = table.schema.pandas_metadata or {}
    header = {
        "columns": [[field.name, _type_name(field.type)] for field in table.schema],
        "index": meta.get("index_columns", []),
        "rows": table.num_rows,
    }
    final = hashlib.sha256(json.dumps(header, sort_keys=True, default=str).encode())
    with ThreadPoolExecutor(threads) as pool:  # hashlib releases the GIL on large buffers
        for digest in pool.map(_column_digest, table.columns):
            final.update(digest)
    return final.hexdigest()


def _type_name(arrow_type: pa.DataType) -> str:
    if arrow_type in _STRINGS:
        return "string"
    if arrow_type in _BINARIES:
        return "binary"
    if pa.types.is_dictionary(arrow_type):
        return f"dictionary<{_type_name(arrow_type.value_type)}>"
    return str(arrow_type)


def _column_digest(column: pa.ChunkedArray) -> bytes:
    if pa.types.is_dictionary(column.type):
        column = column.unify_dictionaries()
        values = hashlib.sha256()
        if column.num_chunks:
            values.update(_column_digest(pa.chunked_array([column.chunk(0).dictionary])))
        chunks = [chunk.indices for chunk in column.chunks]
        return _digest_chunks(pa.chunked_array(chunks, type=column.type.index_type), values)
    return _digest_chunks(column, hashlib.sha256())


def _digest_chunks(column: pa.ChunkedArray, values: Any) -> bytes:
    nulls = hashlib.sha256()
    lengths = hashlib.sha256()
    start = 0
    for chunk in column.chunks:
        if chunk.null_count:
            positions = np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False)) + start
            nulls.update(positions.astype(np.int64).tobytes())
        _update_values(chunk, values, lengths)
        start += len(chunk)
    return bytes(values.digest() + nulls.digest() + lengths.digest())


def _update_values(chunk: pa.Array, values: Any, lengths: Any) -> None:
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
            values.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
    elif pa.types.is_boolean(kind):
        values.update(np.asarray(chunk.fill_null(False)).view(np.uint8).tobytes())
    elif pa.types.is_primitive(kind) and kind.bit_width % 8 == 0:
        if chunk.null_count:
            chunk = chunk.fill_null(pa.scalar(0, type=kind))
        width = kind.bit_width // 8
        buffer = chunk.buffers()[1]
        values.update(memoryview(buffer)[chunk.offset * width : (chunk.offset + len(chunk)) * width])
    else:  # nested and exotic types: rare in tabular data; hash their Python values
        values.update(json.dumps(chunk.to_pylist(), default=str, sort_keys=True).encode())
