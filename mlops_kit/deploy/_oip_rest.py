"""Open Inference Protocol bodies over REST: JSON, or JSON followed by binary tensor data.

The binary tensor data extension (what tritonclient and KServe's client send by
default): the ``Inference-Header-Content-Length`` header gives the length of the JSON
header; each input with ``parameters.binary_data_size`` has no ``data``, its bytes
follow the JSON, in the order of the inputs. Outputs come back the same way when
asked (``parameters.binary_data`` per output, or ``binary_data_output`` for all).
A plain JSON request goes the way it always went: one dict lookup per tensor more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from mlops_kit.deploy._oip import add_column, is_matrix, split_matrix
from mlops_kit.deploy._protocol import (
    BadRequest,
    _check_datatype,
    _flatten,
    _json,
    _json_type,
    _kind,
    _tensor,
    tensor_out,
    to_json,
)
from mlops_kit.deploy._tensors import decode_raw, encode_raw

__all__ = ["HEADER_LENGTH", "InferRequest", "encode_outputs", "parse_infer"]

HEADER_LENGTH = "inference-header-content-length"
_BINARY = "application/octet-stream"
_INT64_MAX = np.iinfo(np.int64).max
_NONE: dict[str, bool] = {}  # no binary_data flags (never changed)


class InferRequest(NamedTuple):
    """One parsed inference request."""

    columns: dict[str, Any] | pd.DataFrame  # lists (JSON) or a table (when any input was binary)
    parameters: dict[str, Any]
    request_id: str | None
    outputs: list[str] | None  # the requested outputs, in order; None: all
    binary: dict[str, bool]  # requested output -> its binary_data
    binary_output: bool  # parameters.binary_data_output: the default for every output


def parse_infer(
    body: bytes, content_type: str, header_length: str | None, columns: Sequence[str]
) -> InferRequest:
    """Parse an inference request for a model whose signature has ``columns`` (in order).

    Raises
    ------
    BadRequest
        415 for another content type than JSON or octet-stream; 400 naming what is
        malformed (the input, the sizes that do not add up, ...).
    """
    if not _json_type(content_type) and content_type.split(";")[0].strip().lower() != _BINARY:
        raise BadRequest(
            f"Unsupported content type {content_type!r}; send application/json, or application/octet-stream "
            "with the Inference-Header-Content-Length header (the binary tensor data extension).",
            status=415,
        )
    rest: memoryview | None = None
    if header_length is None:
        payload = _json(body)
    else:
        size = _header_size(header_length, len(body))
        payload, rest = _json(body[:size]), memoryview(body)[size:]
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list) or not payload["inputs"]:
        raise BadRequest("Expected a JSON object with 'inputs': a non-empty list of tensors.")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadRequest(f"'id' must be a string, got a {_kind(request_id)}.")
    parameters = payload.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise BadRequest(f"'parameters' must be a JSON object, got a {_kind(parameters)}.")
    inputs = payload["inputs"]
    parsed = _plain(inputs, columns) if rest is None else None
    found: dict[str, Any] | pd.DataFrame
    if parsed is not None:
        found = parsed
    else:
        found = _careful(inputs, rest, columns)
    outputs, binary = _requested(payload["outputs"]) if "outputs" in payload else (None, _NONE)
    binary_output = parameters.get("binary_data_output", False)
    if not isinstance(binary_output, bool):
        raise BadRequest(f"'parameters.binary_data_output' must be true or false, got {binary_output!r}.")
    # tuple.__new__: a NamedTuple's own __new__ is Python code, three times slower on every request
    return tuple.__new__(InferRequest, (found, parameters, request_id, outputs, binary, binary_output))


def _plain(inputs: list[Any], columns: Sequence[str]) -> dict[str, list[Any]] | None:
    """The columns of a request whose every input is one JSON column (the fast path), or None
    for a request to read the careful way (binary data, one [n, F] tensor, or an error)."""
    parsed: dict[str, list[Any]] = {}
    rows: int | None = None
    try:
        for tensor in inputs:
            name, values = _tensor(tensor)
            if name in parsed or (rows is not None and len(values) != rows):
                return None
            rows = len(values)
            parsed[name] = values
    except BadRequest:
        return None
    if len(inputs) == 1 and columns and name not in columns and len(inputs[0]["shape"]) == 2:
        return None  # one [n, 1] tensor not named after a column: the model's one column
    return parsed


def _careful(
    inputs: list[Any], rest: memoryview | None, columns: Sequence[str]
) -> dict[str, Any] | pd.DataFrame:
    """The columns of any request, checked the long way: a table when an input was binary."""
    parsed: dict[str, Any] = {}
    rows: int | None = None
    at, table = 0, False
    for tensor in inputs:
        extra = tensor.get("parameters") if type(tensor) is dict else None
        got, at = _special(tensor, extra, rest, at, len(inputs), columns)
        table = table or any(isinstance(v, np.ndarray) for _, v in got)
        for name, values in got:
            rows = add_column(parsed, name, values, rows)
    if rest is not None and at != len(rest):
        raise BadRequest(
            f"{len(rest) - at} bytes follow the binary inputs: their binary_data_size add up to {at}, "
            f"but {len(rest)} bytes follow the JSON header (Inference-Header-Content-Length)."
        )
    return pd.DataFrame(parsed) if table else parsed


def _header_size(value: str, total: int) -> int:
    if not value.isdigit():
        raise BadRequest(
            f"Invalid Inference-Header-Content-Length {value!r}; expected the JSON header's length in bytes."
        )
    size = int(value)
    if size > total:
        raise BadRequest(
            f"Inference-Header-Content-Length is {size} bytes, but the body has only {total}; it must be the "
            "length of the JSON header that starts the body."
        )
    return size


def _special(
    tensor: dict[str, Any], extra: Any, rest: memoryview | None, at: int, count: int, columns: Sequence[str]
) -> tuple[list[tuple[str, Any]], int]:
    """An input with parameters (binary data) or one ``[n, F]`` tensor: its columns, and
    where the next input's binary data starts."""
    if type(tensor) is not dict:
        return [_tensor(tensor)], at  # raises the message for a tensor that is not an object
    if extra is not None and not isinstance(extra, dict):
        raise BadRequest(
            f"Input {tensor.get('name')!r}: 'parameters' must be a JSON object, got a {_kind(extra)}."
        )
    size = None if extra is None else extra.get("binary_data_size")
    name = tensor.get("name")
    matrix = is_matrix(name, tensor.get("shape"), count, columns)  # type: ignore[arg-type]
    if size is None and not matrix:
        return [_tensor(tensor)], at  # a JSON column, with or without parameters
    name, shape, datatype = _described(tensor)
    data: list[Any] | np.ndarray
    if size is None:
        if not isinstance(tensor.get("data"), list):
            raise BadRequest(f"Input {name!r}: 'data' must be a list.")
        data = _flatten(tensor["data"], name)
        if len(data) != shape[0] * shape[1]:
            raise BadRequest(
                f"Input {name!r}: shape {shape} says {shape[0] * shape[1]} values, 'data' holds {len(data)}."
            )
        _check_datatype(name, datatype, data)
    else:
        data, at = _binary(name, shape, datatype, tensor, size, rest, at)
    if matrix:
        return list(split_matrix(name, shape, data, columns).items()), at
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise BadRequest(f"Input {name!r}: shape {shape} is not a column; expected [rows] or [rows, 1].")
    return [(name, _column(data))], at


def _described(tensor: dict[str, Any]) -> tuple[str, list[int], str]:
    name, shape, datatype = (tensor.get(k) for k in ("name", "shape", "datatype"))
    if not isinstance(name, str) or not name:
        raise BadRequest("Each input needs a 'name' (a non-empty string).")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise BadRequest(f"Input {name!r}: 'shape' must be a list of non-negative integers, got {shape!r}.")
    if not isinstance(datatype, str):
        raise BadRequest(
            f"Input {name!r}: 'datatype' must be a string such as 'FP64', 'INT64', 'BOOL' or 'BYTES'."
        )
    return name, shape, datatype


def _binary(
    name: str,
    shape: list[int],
    datatype: str,
    tensor: dict[str, Any],
    size: Any,
    rest: memoryview | None,
    at: int,
) -> tuple[np.ndarray, int]:
    if rest is None:
        raise BadRequest(
            f"Input {name!r} has 'binary_data_size' but the request has no Inference-Header-Content-Length "
            "header; send the JSON header's length in it, with the inputs' bytes after the JSON."
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadRequest(f"Input {name!r}: 'binary_data_size' must be a non-negative integer, got {size!r}.")
    if "data" in tensor:
        raise BadRequest(f"Input {name!r} has both 'data' and 'binary_data_size'; send its values one way.")
    end = at + size
    if end > len(rest):
        raise BadRequest(
            f"Input {name!r}: its binary data runs past the end of the body: the binary_data_size up to it "
            f"add up to {end} bytes, but only {len(rest)} follow the JSON header."
        )
    return decode_raw(name, datatype, shape, rest[at:end]), end


def _column(data: list[Any] | np.ndarray) -> Any:
    if not isinstance(data, np.ndarray):
        return data
    flat = data.reshape(-1)
    if flat.dtype == np.uint64 and (flat.size == 0 or flat.max() <= _INT64_MAX):
        return flat.astype(np.int64)  # uint64 reaches the checker only when it is beyond int64
    return flat


def _requested(outputs: Any) -> tuple[list[str] | None, dict[str, bool]]:
    if outputs is None or outputs == []:
        return None, _NONE
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise BadRequest("'outputs' must be a list of objects with a 'name' (the outputs to return).")
    names: list[str] = []
    binary: dict[str, bool] = {}
    for output in outputs:
        name = output["name"]
        if name in names:
            raise BadRequest(f"Output {name!r} is asked for twice.")
        names.append(name)
        extra = output.get("parameters") or {}
        if not isinstance(extra, dict):
            raise BadRequest(f"Output {name!r}: 'parameters' must be a JSON object, got a {_kind(extra)}.")
        if extra.get("classification"):
            raise BadRequest(
                f"Output {name!r}: the classification extension is not supported; ask for predict_proba."
            )
        flag = extra.get("binary_data")
        if flag is not None:
            if not isinstance(flag, bool):
                raise BadRequest(f"Output {name!r}: 'binary_data' must be true or false, got {flag!r}.")
            binary[name] = flag
    return names, binary


@dataclass(frozen=True)
class BinaryBody:
    """A response body in the binary tensor data extension: the JSON header of
    ``header_length`` bytes, then the binary outputs' bytes."""

    content: bytes
    header_length: int


def encode_outputs(
    answer: dict[str, Any], arrays: Sequence[tuple[str, np.ndarray]], binary: Sequence[bool]
) -> dict[str, Any] | BinaryBody:
    """``answer`` with its output tensors: JSON (a dict) unless one of them is ``binary``."""
    if not any(binary):
        return {**answer, "outputs": [tensor_out(n, a) for n, a in arrays]}
    tensors, parts = [], []
    for (name, array), as_binary in zip(arrays, binary):
        if not as_binary:
            tensors.append(tensor_out(name, array))
            continue
        if array.dtype.kind in "OMmUS":  # strings, datetimes, objects: as the JSON path would write them
            array = np.array(tensor_out(name, array)["data"], dtype=object).reshape(array.shape)
        datatype, raw = encode_raw(array)
        tensors.append(
            {
                "name": name,
                "datatype": datatype,
                "shape": list(array.shape),
                "parameters": {"binary_data_size": len(raw)},
            }
        )
        parts.append(raw)
    header = to_json({**answer, "outputs": tensors})
    return BinaryBody(header + b"".join(parts), len(header))
