"""Prediction-log entries as a table Parquet can always store, with column types that stay put.

A request may send any extra column with any JSON values; the log must never fail
on them. Every column of a batch gets one *kind* (``int``, ``float``, ``bool``,
``string``...). A column whose values are mixed within a batch, or whose kind
changes from one batch to the next, is stored as strings (JSON text of the values)
from then on, and readers turn it into strings in older batches too, so the log
reads as one table with one type per column.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from collections.abc import Callable, Mapping
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops_kit.deploy._served import output_columns

if TYPE_CHECKING:
    from mlops_kit.deploy._predlog import Entry

__all__ = [
    "META",
    "META_DTYPES",
    "combine",
    "empty_frame",
    "encode",
    "estimate_bytes",
    "log_name",
    "to_frame",
    "unify",
]

META = ("time", "request_id", "version", "shadow_version", "latency_ms")
META_DTYPES = {
    "time": "datetime64[us, UTC]",
    "request_id": "str",
    "version": "str",
    "shadow_version": "str",
    "latency_ms": "float64",
}
_OUTPUTS = ("prediction", "proba", "shadow_prediction", "shadow_proba")  # see output_columns
_INT64 = (-(2**63), 2**63 - 1)
_INFERRED = {
    "integer": "int",
    "floating": "float",
    "mixed-integer-float": "float",
    "boolean": "bool",
    "string": "string",
    "empty": "empty",
    "mixed": "mixed",
    "mixed-integer": "mixed",
}
_ENTRY_BYTES = 600  # an Entry, its strings and the deque slot
_COLUMN_BYTES = 100  # a dict slot and the column's name


def log_name(name: Any) -> str:
    """The log's name of a request column: ``input_<name>`` if the name is, or ends as, one of
    the log's own (``time``, ``prediction``, ``input_time``...), so that names never collide
    and a column gets the same name in every batch."""
    name = str(name)
    stem = name
    while stem.startswith("input_"):
        stem = stem[len("input_") :]
    reserved = stem in META or any(stem == p or stem.startswith(p + "_") for p in _OUTPUTS)
    return str("input_" + name if reserved else name)


def to_frame(
    entries: list[Entry],
    cast: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows of ``entries`` as one DataFrame (meta columns, inputs, outputs) and each
    column's kind; ``kinds`` are the kinds earlier batches stored."""
    sizes = [e.n_rows for e in entries]
    n = sum(sizes)
    meta: dict[str, Any] = {
        # per-request values converted once, then repeated per row
        "time": pd.DatetimeIndex([e.time for e in entries]).as_unit("us").repeat(sizes),
        "request_id": _repeated([e.request_id for e in entries], sizes),
        "version": _versions(entries, sizes),
        "shadow_version": np.repeat(np.array([e.shadow_version for e in entries], dtype=object), sizes),
        "latency_ms": np.repeat(np.array([e.latency_ms for e in entries], dtype="float64"), sizes),
    }
    outputs = columns_of([output_columns(e.output, e.method) for e in entries], sizes)
    shadows = columns_of(
        [
            output_columns(e.shadow_output, e.method, shadow=True) if e.shadow_output is not None else {}
            for e in entries
        ],
        sizes,
    )
    inputs = _inputs_frame(entries)
    if cast is not None:
        inputs = cast(inputs)  # the signature's types: JSON strings back to datetimes, categories...
    names = _unique([log_name(c) for c in inputs.columns])
    # One table made from whole columns: cheaper than joining three frames side by side.
    columns: dict[str, Any] = dict(meta)
    for name, (_, series) in zip(names, inputs.items()):
        columns[name] = series.array
    columns.update(outputs)
    columns.update(shadows)
    found: dict[str, str] = {}
    for name, values in columns.items():
        if name in META:
            continue
        series = pd.Series(values, index=pd.RangeIndex(n), copy=False)
        kind = kind_of(series)
        stored = _merge((kinds or {}).get(name), kind)
        found[name] = stored
        columns[name] = _as_kind(series, kind, stored)
    return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False), found


def _versions(entries: list[Entry], sizes: list[int]) -> Any:
    if not any(isinstance(e.version, np.ndarray) for e in entries):
        return _repeated([str(e.version) for e in entries], sizes)
    return _concat(
        [e.version if isinstance(e.version, np.ndarray) else [e.version] * e.n_rows for e in entries]
    )


def _repeated(texts: list[str], sizes: list[int]) -> Any:
    """Each request's text once per row, repeated as strings (not as Python objects per row)."""
    return pd.Series(texts, dtype="str").repeat(sizes).array


def encode(frame: pd.DataFrame) -> bytes:
    """Parquet bytes of ``frame``, converted on this thread (pyarrow would otherwise use a
    thread pool for long frames, which cannot start at interpreter exit)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def empty_frame() -> pd.DataFrame:
    """The log with no rows: the meta columns with their types."""
    return pd.DataFrame({name: pd.Series(dtype=META_DTYPES[name]) for name in META})


def combine(frames: list[pd.DataFrame], since: dt.datetime | None) -> pd.DataFrame:
    """The non-empty ``frames`` of a log as one frame, with their types unified, rows from ``since`` on."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame()
    frames = unify(frames)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if since is not None:
        frame = frame[frame["time"] >= pd.Timestamp(since)].reset_index(drop=True)
    return frame


def unify(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """``frames`` (batches) with one type per column: a column whose kinds conflict between
    batches becomes strings in all of them."""
    dtypes: dict[str, set[Any]] = {}
    for frame in frames:
        for name, dtype in frame.dtypes.items():
            dtypes.setdefault(str(name), set()).add(dtype)
    mixed = [name for name, seen in dtypes.items() if len(seen) > 1 and name not in META]
    to_string = []
    for name in mixed:
        stored: str | None = None
        for frame in frames:
            if name in frame.columns:
                stored = _merge(stored, kind_of(frame[name]))
        if stored == "string":
            to_string.append(name)
    if not to_string:
        return frames
    out = []
    for frame in frames:
        fixed = {n: _strings(frame[n]) for n in to_string if n in frame.columns}
        out.append(frame.assign(**fixed) if fixed else frame)
    return out


def kind_of(series: pd.Series) -> str:
    """The kind of a column's values: ``int``, ``float``, ``bool``, ``string``, ``empty``,
    ``datetime``, ``category``, ``mixed`` (stored as strings) or ``other`` (left to Parquet)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    kind = dtype.kind
    if kind == "O":
        inferred = _INFERRED.get(pd.api.types.infer_dtype(series, skipna=True), "other")
        if inferred == "int" and not all(_INT64[0] <= v <= _INT64[1] for v in series.dropna().tolist()):
            return "mixed"  # beyond int64: Parquet has no type for it, stored as strings
        return inferred
    return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime"}.get(kind, "other")


def _merge(previous: str | None, kind: str) -> str:
    """The kind a column keeps when a batch of ``kind`` follows batches of ``previous``."""
    if kind == "mixed":
        return "string"
    if previous is None or previous == "empty":
        return kind
    if kind in (previous, "empty"):
        return previous
    if {previous, kind} <= {"int", "float"}:
        return "float"
    return "string"


def _as_kind(series: pd.Series, kind: str, stored: str) -> pd.Series:
    if stored == "string":
        return series if kind in ("string", "empty") and series.dtype.kind == "O" else _strings(series)
    if series.dtype.kind != "O":
        return series
    if kind == "float" or (kind == "int" and series.isna().any()):
        return series.astype("float64")
    if kind == "int":
        return series.astype("int64")
    if kind == "bool" and not series.isna().any():
        return series.astype("bool")
    return series


def _strings(series: pd.Series) -> pd.Series:
    """Every value as text (JSON of the value, as a client would have written it); nulls stay."""
    values = [None if _null(v) else v if isinstance(v, str) else _text(v) for v in series.tolist()]
    return pd.Series(values, index=series.index, dtype=object)


def _null(value: Any) -> bool:
    return value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value)


def _text(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _unique(names: list[str]) -> list[str]:
    """``names`` with duplicates (from a DataFrame, or names made strings) numbered apart."""
    if len(set(names)) == len(names):
        return names
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, i = name, 1
        while candidate in seen:
            i += 1
            candidate = f"{name}_{i}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _inputs_frame(entries: list[Entry]) -> pd.DataFrame:
    """Every entry's inputs, in order. Runs of dict entries (HTTP) are joined as plain lists,
    which is much cheaper than concatenating many one-row frames."""
    frames: list[pd.DataFrame] = []
    run: list[Entry] = []

    def close_run() -> None:
        if run:
            frames.append(pd.DataFrame(columns_of([dict(e.inputs) for e in run], [e.n_rows for e in run])))
            run.clear()

    for entry in entries:
        if isinstance(entry.inputs, pd.DataFrame):
            close_run()
            frames.append(entry.inputs.reset_index(drop=True))
        else:
            run.append(entry)
    close_run()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True)


def columns_of(parts: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    """Column-wise concatenation of per-entry columns; a column an entry lacks is null there."""
    names = list(dict.fromkeys(chain.from_iterable(parts)))
    return {
        name: _concat([p[name] if name in p else [None] * size for p, size in zip(parts, sizes)])
        for name in names
    }


def _concat(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(p, np.ndarray) and p.dtype.kind in "biuf" for p in parts):
        return np.concatenate(parts)
    return list(chain.from_iterable(parts))


# -- what an entry holds in memory ---------------------------------------------------


def estimate_bytes(entry: Entry) -> int:
    """About how many bytes ``entry`` keeps alive: O(columns), values sampled, never scanned."""
    size = _ENTRY_BYTES + _value_bytes(entry.output) + _value_bytes(entry.shadow_output)
    if isinstance(entry.version, np.ndarray):
        size += 8 * len(entry.version)
    inputs = entry.inputs
    if isinstance(inputs, pd.DataFrame):
        return size + _frame_bytes(inputs)
    return size + sum(_COLUMN_BYTES + _value_bytes(v) for v in inputs.values())


def _frame_bytes(frame: pd.DataFrame) -> int:
    # Column by column from the arrays' own sizes: DataFrame.memory_usage and .dtypes build
    # Series, which cost more than the rest of a 1,000-row request's logging.
    n = len(frame)
    size = _COLUMN_BYTES * frame.shape[1]
    for _, column in frame.items():
        values = column.array
        size += int(values.nbytes)
        if n and column.dtype.kind == "O":
            size += n * _sample([values[0], values[n // 2], values[n - 1]])
    return size


def _value_bytes(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, np.ndarray):
        extra = len(value) * _sample([value[0], value[-1]]) if value.dtype.kind == "O" and len(value) else 0
        return int(value.nbytes) + extra
    if isinstance(value, pd.DataFrame):
        return _frame_bytes(value)
    if isinstance(value, pd.Series):
        return _value_bytes(value.to_numpy())
    if isinstance(value, list | tuple):
        n = len(value)
        return 56 + 8 * n + (n * _sample([value[0], value[n // 2], value[-1]]) if n else 0)
    return sys.getsizeof(value)


def _sample(values: list[Any]) -> int:
    """The mean size of a few values (shared singletons and small ints cost nothing)."""
    total = 0
    for v in values:
        if v is None or isinstance(v, bool) or (type(v) is int and -5 <= v <= 256):
            continue
        total += sys.getsizeof(v)
    return total // len(values)
