"""Tensors in the Open Inference Protocol's raw form: the bytes of the binary data extension
(REST) and of ``raw_input_contents`` / ``raw_output_contents`` (gRPC).

Fixed-size datatypes are their little-endian values in row-major order (BOOL one byte
each); BYTES is each element as a 4-byte little-endian length followed by its bytes.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from mlops_kit.deploy._protocol import BadRequest

__all__ = ["RAW_DTYPES", "datatype_of", "decode_raw", "encode_raw"]

RAW_DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype("?"),
    **{f"INT{8 * n}": np.dtype(f"<i{n}") for n in (1, 2, 4, 8)},
    **{f"UINT{8 * n}": np.dtype(f"<u{n}") for n in (1, 2, 4, 8)},
    **{f"FP{8 * n}": np.dtype(f"<f{n}") for n in (2, 4, 8)},
}
_LENGTH = np.dtype("<u4")


def datatype_of(array: np.ndarray) -> str:
    """The protocol's datatype for ``array`` (BYTES for strings and objects)."""
    for name, dtype in RAW_DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            return name
    return "BYTES"


def decode_raw(name: str, datatype: str, shape: list[int], data: bytes | memoryview) -> np.ndarray:
    """The array that ``data`` holds, checked against ``datatype`` and ``shape``.

    Raises :class:`BadRequest` naming the input when the byte count does not match.
    BYTES elements decode as UTF-8 strings (``str``), else stay ``bytes``.

    Examples
    --------
    >>> decode_raw("x", "INT32", [2], b"\\x01\\x00\\x00\\x00\\x02\\x00\\x00\\x00").tolist()
    [1, 2]
    >>> decode_raw("s", "BYTES", [1], b"\\x02\\x00\\x00\\x00hi").tolist()
    ['hi']
    """
    count = math.prod(shape)
    view = memoryview(data).cast("B")
    if datatype in RAW_DTYPES:
        dtype = RAW_DTYPES[datatype]
        if len(view) != count * dtype.itemsize:
            raise BadRequest(
                f"Input {name!r}: shape {shape} of {datatype} needs {count * dtype.itemsize} bytes, "
                f"the binary data holds {len(view)}."
            )
        if datatype == "BOOL":  # any non-zero byte is true; numpy assumes bools are 0 or 1
            return cast("np.ndarray", np.frombuffer(view, dtype=np.uint8).reshape(shape) != 0)
        return np.frombuffer(view, dtype=dtype).reshape(shape)
    if datatype != "BYTES":
        raise BadRequest(
            f"Input {name!r}: unknown datatype {datatype!r}; expected BOOL, INT8-INT64, UINT8-UINT64, "
            "FP16-FP64 or BYTES."
        )
    values: list[Any] = []
    at = 0
    while at < len(view):
        if at + 4 > len(view):
            raise BadRequest(f"Input {name!r}: the BYTES data ends inside an element's 4-byte length.")
        size = int(np.frombuffer(view[at : at + 4], dtype=_LENGTH)[0])
        at += 4
        if at + size > len(view):
            raise BadRequest(f"Input {name!r}: a BYTES element of {size} bytes runs past the data's end.")
        raw = bytes(view[at : at + size])
        at += size
        try:
            values.append(raw.decode())
        except UnicodeDecodeError:
            values.append(raw)
    if len(values) != count:
        raise BadRequest(
            f"Input {name!r}: shape {shape} says {count} elements, the BYTES data holds {len(values)}."
        )
    out = np.empty(count, dtype=object)
    out[:] = values
    return out.reshape(shape)


def encode_raw(array: np.ndarray) -> tuple[str, bytes]:
    """``array``'s datatype and raw bytes (None and NaN-free objects become their ``str``).

    Examples
    --------
    >>> encode_raw(np.array([1.5], dtype="float32"))
    ('FP32', b'\\x00\\x00\\xc0?')
    >>> encode_raw(np.array(["hi"], dtype=object))
    ('BYTES', b'\\x02\\x00\\x00\\x00hi')
    """
    datatype = datatype_of(array)
    if datatype != "BYTES":
        return datatype, np.ascontiguousarray(array, dtype=RAW_DTYPES[datatype]).tobytes()
    parts: list[bytes] = []
    for value in array.ravel().tolist():
        raw = value if isinstance(value, bytes) else str(value).encode()
        parts.append(len(raw).to_bytes(4, "little"))
        parts.append(raw)
    return datatype, b"".join(parts)
