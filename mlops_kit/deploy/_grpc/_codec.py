"""Protocol buffers in, protocol buffers out.

A ``ModelInferRequest``'s inputs become the signature's columns by the rules every
transport shares (:mod:`mlops_kit.deploy._oip`): one tensor per column, or one
``[n, F]`` tensor of the signature's F columns. Inputs come as ``raw_input_contents``
(tritonclient's default; decoded with :func:`~mlops_kit.deploy._tensors.decode_raw`
straight to numpy) or as typed ``contents``. Requests of up to ``_LIST_ROWS`` rows
become lists of Python values, the form the REST path's JSON takes, so that they take
the same fast, batched way; bigger ones stay numpy arrays. Outputs go back as
``raw_output_contents`` with the datatypes of the model's own arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mlops_kit.deploy._grpc import oip_pb2
from mlops_kit.deploy._oip import add_column, is_matrix, split_matrix
from mlops_kit.deploy._oip_rest import _column
from mlops_kit.deploy._protocol import BadRequest, _check_datatype
from mlops_kit.deploy._server import version_number
from mlops_kit.deploy._tensors import decode_raw, encode_raw

if TYPE_CHECKING:
    from mlops_kit.deploy._calls import Outcome

__all__ = ["Decoded", "decode", "infer_response", "parameters_of"]

_LIST_ROWS = 1_000  # what Server.run answers inline; bigger requests keep their arrays
_CONTENTS = {  # datatype -> the field of InferTensorContents that carries it
    "BOOL": "bool_contents",
    **{f"INT{bits}": "int_contents" for bits in (8, 16, 32)},
    "INT64": "int64_contents",
    **{f"UINT{bits}": "uint_contents" for bits in (8, 16, 32)},
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


class Decoded(NamedTuple):
    """One ``ModelInferRequest``, read."""

    columns: dict[str, Any]  # name -> list of Python values, or a numpy array (big requests)
    parameters: dict[str, Any]
    request_id: str | None
    outputs: list[str] | None  # the requested outputs, in order; None: all


def decode(request: Any, columns: Sequence[str]) -> Decoded:
    """Read ``request`` for a model whose signature has ``columns`` (in order).

    Raises
    ------
    BadRequest
        Naming what is malformed: raw and typed contents mixed, raw entries that do not
        match the inputs, contents not those of the datatype, a shape that is neither a
        column nor an ``[n, F]`` tensor of the signature's columns, inputs of unequal
        rows, an output asked for twice.
    """
    tensors, raw = request.inputs, request.raw_input_contents
    if raw and len(raw) != len(tensors):
        raise BadRequest(
            f"raw_input_contents has {len(raw)} entries for {len(tensors)} inputs; "
            "send one entry per input, in the order of the inputs."
        )
    if not tensors:
        raise BadRequest("Expected 'inputs': a non-empty list of tensors.")
    count = len(tensors)
    parsed: dict[str, Any] = {}
    rows: int | None = None
    for i, tensor in enumerate(tensors):
        name, shape = tensor.name, list(tensor.shape)
        if not name:
            raise BadRequest("Each input needs a 'name' (a non-empty string).")
        data = _raw(tensor, shape, raw[i]) if raw else _typed(tensor, shape)
        if is_matrix(name, shape, count, columns):
            got: Any = split_matrix(name, shape, data, columns).items()
        elif len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
            got = ((name, data),)
        else:
            raise BadRequest(f"Input {name!r}: shape {shape} is not a column; expected [rows] or [rows, 1].")
        for column, values in got:
            rows = add_column(parsed, column, values, rows)
    if raw and (rows or 0) <= _LIST_ROWS:  # the REST path's plain form: batched with others
        parsed = {k: v.tolist() for k, v in parsed.items()}
    elif raw:
        parsed = {k: _column(v) for k, v in parsed.items()}
    outputs = _requested(request.outputs) if request.outputs else None
    parameters = parameters_of(request.parameters) if request.parameters else {}
    return Decoded(parsed, parameters, request.id or None, outputs)


def _raw(tensor: Any, shape: list[int], data: bytes) -> np.ndarray:
    name = tensor.name
    if tensor.HasField("contents"):
        raise BadRequest(
            f"Input {name!r} has typed contents although the request sends "
            "raw_input_contents; send every input one way."
        )
    if any(d < 0 for d in shape):
        raise BadRequest(f"Input {name!r}: 'shape' must be non-negative integers, got {shape}.")
    array = decode_raw(name, tensor.datatype, shape, data).reshape(-1)
    if array.dtype == object:  # BYTES that are not UTF-8 stay bytes: refused here, naming the input
        _check_datatype(name, "BYTES", array.tolist())
    return array


def _typed(tensor: Any, shape: list[int]) -> list[Any]:
    name, datatype = tensor.name, tensor.datatype
    field = _CONTENTS.get(datatype)
    if field is None:
        if datatype == "FP16":
            raise BadRequest(
                f"Input {name!r}: FP16 has no typed contents in the protocol; send it in raw_input_contents."
            )
        raise BadRequest(
            f"Input {name!r}: unknown datatype {datatype!r}; expected BOOL, INT8-INT64, "
            "UINT8-UINT64, FP16-FP64 or BYTES."
        )
    others = [f.name for f, _ in tensor.contents.ListFields() if f.name != field]
    if others:
        raise BadRequest(
            f"Input {name!r}: datatype {datatype} is carried in contents.{field}, "
            f"but the request fills {others}."
        )
    values = list(getattr(tensor.contents, field))
    if any(d < 0 for d in shape) or len(values) != math.prod(shape):
        raise BadRequest(
            f"Input {name!r}: shape {shape} says {math.prod(shape)} values, the contents hold {len(values)}."
        )
    if field == "bytes_contents":
        values = [_text(v) for v in values]
    _check_datatype(name, datatype, values)  # the ranges of INT8-INT32 and UINT8-UINT32, UTF-8 text
    return values


def _text(value: bytes) -> str | bytes:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value  # refused by the datatype check, which names the input


def _requested(outputs: Any) -> list[str]:
    names: list[str] = []
    for output in outputs:
        name = output.name
        if name in names:
            raise BadRequest(f"Output {name!r} is asked for twice.")
        if "classification" in output.parameters:
            raise BadRequest(
                f"Output {name!r}: the classification extension is not supported; ask for predict_proba."
            )
        names.append(name)
    return names


def parameters_of(parameters: Any) -> dict[str, Any]:
    """A parameters map as plain values (``{"method": "predict_proba"}``)."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        choice = value.WhichOneof("parameter_choice")
        out[key] = None if choice is None else getattr(value, choice)
    return out


def infer_response(model_name: str, outcome: Outcome, arrays: list[tuple[str, np.ndarray]]) -> Any:
    """The ``ModelInferResponse`` carrying ``arrays`` as raw output contents."""
    response = oip_pb2.ModelInferResponse(
        model_name=model_name, model_version=version_number(outcome.version), id=outcome.request_id
    )
    for name, array in arrays:
        if array.dtype.kind == "M":  # datetimes travel as ISO 8601 text, as in JSON answers
            array = np.datetime_as_string(array)
        datatype, data = encode_raw(array)
        response.outputs.add(name=name, datatype=datatype, shape=array.shape)
        response.raw_output_contents.append(data)
    return response
