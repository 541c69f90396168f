"""Request bodies to columns and outputs to JSON: Open Inference Protocol v2 and MLflow's formats.

Parsers return plain ``{column: list}`` dicts (cheap to log, cheap to turn into a
DataFrame) or raise :class:`BadRequest` with the HTTP status that fits.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = [
    "BadRequest",
    "oip_outputs",
    "output_arrays",
    "parse_invocations",
    "tensor_out",
    "to_json",
    "to_jsonable",
]

_OIP_INT = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
_OIP_FLOAT = {"FP16", "FP32", "FP64"}
_INT_RANGES = {
    **{f"INT{bits}": (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for bits in (8, 16, 32, 64)},
    **{f"UINT{bits}": (0, 2**bits - 1) for bits in (8, 16, 32, 64)},
}
OIP_DATATYPES = {
    "int": "INT64",
    "float": "FP64",
    "bool": "BOOL",
    "string": "BYTES",
    "category": "BYTES",
    "datetime": "BYTES",
}
_MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
PARQUET = "application/vnd.apache.parquet"


class BadRequest(Exception):
    """The request cannot be understood; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(body: bytes) -> Any:
    if not body:
        raise BadRequest("The request body is empty; expected a JSON object.")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}.") from None
    except ValueError as exc:  # Python's limit on the digits of an int (4,300 by default)
        raise BadRequest(
            f"The request body holds a number too long to read: {exc.args[0].split(':')[0]}. "
            "Send numbers that fit in int64 or float64."
        ) from None


def _json_type(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media in ("application/json", "") or media.endswith("+json")


def parse_invocations(
    body: bytes, content_type: str, *, max_cells: int | None = None
) -> tuple[pd.DataFrame | dict[str, list[Any]], dict[str, Any]]:
    """An MLflow scoring request: ``dataframe_split``, ``dataframe_records``, ``instances``,
    ``inputs`` (JSON), CSV or Parquet. Returns the columns and the ``params``.

    ``max_cells`` bounds the cells of a Parquet body, whose encodings can hold far more
    rows than its size suggests (a JSON body of the size limit holds at most half as
    many cells as it has bytes).
    """
    media = content_type.split(";")[0].strip().lower()
    if media == "text/csv":
        try:
            return pd.read_csv(io.BytesIO(body)), {}
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise BadRequest(f"The CSV body cannot be parsed: {exc}.") from None
    if media == PARQUET:
        return _parquet(body, max_cells), {}
    if not _json_type(content_type):
        raise BadRequest(
            f"Unsupported content type {content_type!r}; send application/json, text/csv or {PARQUET}.",
            status=415,
        )
    payload = _json(body)
    if not isinstance(payload, dict):
        raise BadRequest(f"Expected a JSON object with one of {list(_MLFLOW_KEYS)}, got a {_kind(payload)}.")
    present = [k for k in _MLFLOW_KEYS if k in payload]
    unknown = [k for k in payload if k not in (*_MLFLOW_KEYS, "params")]
    if len(present) != 1 or unknown:
        raise BadRequest(
            f"Expected exactly one of {list(_MLFLOW_KEYS)} (and optionally 'params'); got keys {sorted(payload)}."
        )
    params = payload.get("params") or {}
    if not isinstance(params, dict):
        raise BadRequest(f"'params' must be a JSON object, got a {_kind(params)}.")
    key = present[0]
    data = payload[key]
    if key == "dataframe_split":
        return _split(data), params
    if isinstance(data, list):
        return _records(data, key), params
    if isinstance(data, dict) and key in ("instances", "inputs"):
        return _columns(data, key), params
    raise BadRequest(f"'{key}' must be a list of records (objects), got a {_kind(data)}.")


def _parquet(body: bytes, max_cells: int | None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(body))
        rows, columns = file.metadata.num_rows, file.metadata.num_columns
        if max_cells is not None and rows * columns > max_cells:
            raise BadRequest(
                f"The Parquet body holds {rows} rows of {columns} columns, more than the {max_cells} "
                "cells a request may hold; send fewer rows per request.",
                status=413,
            )
        return cast("pd.DataFrame", file.read().to_pandas())
    except (pa.ArrowException, ValueError, OSError, NotImplementedError, TypeError) as exc:
        raise BadRequest(f"The Parquet body cannot be read: {_first(exc)}.") from None


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")


def _split(data: Any) -> dict[str, list[Any]]:
    if not isinstance(data, dict) or "columns" not in data or "data" not in data:
        raise BadRequest(
            "'dataframe_split' must be an object with 'columns' and 'data' (and optionally 'index')."
        )
    columns, rows = data["columns"], data["data"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadRequest("'dataframe_split.columns' must be a list of column names (strings).")
    if len(set(columns)) != len(columns):
        raise BadRequest(f"'dataframe_split.columns' has duplicated names: {columns}.")
    # Whole-list checks and one transpose in C: a request may hold many thousand cells.
    if not isinstance(rows, list) or (
        rows and (set(map(type, rows)) != {list} or set(map(len, rows)) != {len(columns)})
    ):
        raise BadRequest(
            f"'dataframe_split.data' must be a list of rows, each a list of {len(columns)} values."
        )
    if not rows:
        return {c: [] for c in columns}
    out = dict(zip(columns, map(list, zip(*rows))))
    _check_scalars(out)
    return out


def _records(rows: list[Any], key: str) -> dict[str, list[Any]]:
    if not all(isinstance(r, dict) for r in rows):
        raise BadRequest(f"'{key}' must be a list of records (JSON objects, one per row).")
    names = list(dict.fromkeys(k for r in rows for k in r))
    out = {n: [r.get(n) for r in rows] for n in names}
    _check_scalars(out)
    return out


def _columns(data: dict[str, Any], key: str) -> dict[str, list[Any]]:
    if not all(isinstance(v, list) for v in data.values()):
        raise BadRequest(f"'{key}' as an object must map column names to lists of values.")
    lengths = {len(v) for v in data.values()}
    if len(lengths) > 1:
        raise BadRequest(f"The columns of '{key}' have different lengths: {sorted(lengths)}.")
    _check_scalars(data)
    return dict(data)


def _check_scalars(columns: dict[str, list[Any]]) -> None:
    for name, values in columns.items():
        if not any(issubclass(t, list | dict) for t in set(map(type, values))):
            continue  # the common case, decided from the values' types alone
        nested = next(v for v in values if isinstance(v, list | dict))
        raise BadRequest(f"Column {name!r} holds a nested {_kind(nested)}; every cell must be a scalar.")


def _tensor(tensor: Any) -> tuple[str, list[Any]]:
    if not isinstance(tensor, dict):
        raise BadRequest(
            f"Each input must be an object with name, shape, datatype and data; got a {_kind(tensor)}."
        )
    name, shape, datatype, data = (tensor.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise BadRequest("Each input needs a 'name' (a non-empty string).")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise BadRequest(f"Input {name!r}: 'shape' must be a list of non-negative integers, got {shape!r}.")
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise BadRequest(f"Input {name!r}: shape {shape} is not a column; expected [rows] or [rows, 1].")
    if not isinstance(datatype, str):
        raise BadRequest(
            f"Input {name!r}: 'datatype' must be a string such as 'FP64', 'INT64', 'BOOL' or 'BYTES'."
        )
    if not isinstance(data, list):
        raise BadRequest(f"Input {name!r}: 'data' must be a list.")
    values = _flatten(data, name)
    if len(values) != shape[0]:
        raise BadRequest(f"Input {name!r}: shape {shape} says {shape[0]} values, 'data' holds {len(values)}.")
    _check_datatype(name, datatype, values)
    return name, values


def _flatten(data: list[Any], name: str) -> list[Any]:
    if not any(issubclass(t, list) for t in set(map(type, data))):
        return data
    flat: list[Any] = []
    for value in data:
        if isinstance(value, list):
            if any(isinstance(v, list | dict) for v in value):
                raise BadRequest(f"Input {name!r}: 'data' is nested too deep for a column.")
            flat.extend(value)
        else:
            flat.append(value)
    return flat


_NONE_TYPE = type(None)
# The types JSON gives each datatype's values: checked for a whole tensor at once.
_EXACT: dict[str, set[type]] = {
    "BOOL": {bool, _NONE_TYPE},
    **{t: {int, _NONE_TYPE} for t in _OIP_INT},
    **{t: {int, float, _NONE_TYPE} for t in _OIP_FLOAT},
    "BYTES": {str, _NONE_TYPE},
}


def _check_datatype(name: str, datatype: str, values: list[Any]) -> None:
    allowed = _EXACT.get(datatype)
    if allowed is not None and _fits_all(datatype, values, allowed):
        return
    _check_each(name, datatype, values)  # finds and names the value that does not fit


def _fits_all(datatype: str, values: list[Any], allowed: set[type]) -> bool:
    """Whether every value fits ``datatype``, from the set of their types and one min and max."""
    types = set(map(type, values))
    if not types <= allowed:
        return False  # maybe subclasses (numpy's float64 is a float): the value by value check decides
    if datatype not in _OIP_INT or int not in types:
        return True
    low, high = _INT_RANGES[datatype]
    ints = values if _NONE_TYPE not in types else [v for v in values if v is not None]
    return bool(low <= min(ints) and max(ints) <= high)


def _check_each(name: str, datatype: str, values: list[Any]) -> None:
    if datatype == "BOOL":
        ok = all(isinstance(v, bool) or v is None for v in values)
    elif datatype in _OIP_INT:
        ok = all((isinstance(v, int) and not isinstance(v, bool)) or v is None for v in values)
    elif datatype in _OIP_FLOAT:
        ok = all((isinstance(v, int | float) and not isinstance(v, bool)) or v is None for v in values)
    elif datatype == "BYTES":
        ok = all(isinstance(v, str) or v is None for v in values)
    else:
        raise BadRequest(
            f"Input {name!r}: unknown datatype {datatype!r}; expected BOOL, INT8-INT64, UINT8-UINT64, "
            "FP16-FP64 or BYTES."
        )
    if not ok:
        bad = next(v for v in values if v is not None and not _fits(datatype, v))
        raise BadRequest(f"Input {name!r}: datatype {datatype} but 'data' holds {bad!r}.")
    if datatype in _OIP_INT:
        low, high = _INT_RANGES[datatype]
        outside = next((v for v in values if v is not None and not low <= v <= high), None)
        if outside is not None:
            raise BadRequest(
                f"Input {name!r}: {outside!r} is out of range for {datatype} ({low} to {high}); "
                "send a wider datatype such as INT64."
            )


def _fits(datatype: str, value: Any) -> bool:
    if datatype == "BOOL":
        return isinstance(value, bool)
    if datatype in _OIP_INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if datatype in _OIP_FLOAT:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


# -- outputs -----------------------------------------------------------------------


def to_jsonable(output: Any) -> Any:
    """Model output as JSON-ready lists (records for a DataFrame); NaN becomes null."""
    if isinstance(output, pd.DataFrame):
        return [{k: _clean(v) for k, v in row.items()} for row in output.to_dict(orient="records")]
    array = output.to_numpy() if isinstance(output, pd.Series) else np.asarray(output)
    return _array_list(array)


def _array_list(array: np.ndarray) -> list[Any]:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        array = np.where(np.isfinite(array), array, np.array(None, dtype=object)).astype(object)
    if array.dtype.kind == "M":
        return [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in array.ravel()]
    values = array.tolist()
    if array.dtype.kind == "O":
        values = _clean_nested(values)
    return cast("list[Any]", values)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _clean(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _clean_nested(values: Any) -> Any:
    if isinstance(values, list):
        return [_clean_nested(v) for v in values]
    return _clean(values)


def output_arrays(output: Any, name: str = "prediction") -> list[tuple[str, np.ndarray]]:
    """Model output as named arrays: one per DataFrame column, else one (a Series under
    its own name, as in the signature)."""
    if isinstance(output, pd.DataFrame):
        return [(str(c), output[c].to_numpy()) for c in output.columns]
    if isinstance(output, pd.Series):
        return [(name if output.name is None else str(output.name), output.to_numpy())]
    return [(name, np.asarray(output))]


def oip_outputs(output: Any, name: str = "prediction") -> list[dict[str, Any]]:
    """Model output as OIP v2 output tensors (one per DataFrame column, else one named ``name``)."""
    return [tensor_out(n, a) for n, a in output_arrays(output, name)]


_OUT_DATATYPES = {  # numpy's dtype codes (without byte order) to the protocol's datatypes
    "b1": "BOOL",
    **{f"i{n}": f"INT{8 * n}" for n in (1, 2, 4, 8)},
    **{f"u{n}": f"UINT{8 * n}" for n in (1, 2, 4, 8)},
    **{f"f{n}": f"FP{8 * n}" for n in (2, 4, 8)},
}


def tensor_out(name: str, array: np.ndarray) -> dict[str, Any]:
    """One output tensor in JSON: its name, shape, datatype and flat data."""
    datatype = _OUT_DATATYPES.get(array.dtype.str.lstrip("<>=|"), "BYTES")
    flat = _array_list(array.ravel())
    if datatype == "BYTES":
        flat = [v if v is None or isinstance(v, str | bool | int | float) else str(v) for v in flat]
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": flat}


def to_json(content: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()
