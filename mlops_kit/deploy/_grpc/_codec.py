"""Protocol buffers in, protocol buffers out.

A ``ModelInferRequest`` becomes the structure of the protocol's JSON form (inputs with
flat ``data`` lists, ``parameters``, ``id``), so that the REST path's own checks
(:func:`~mlops_kit.deploy._protocol.oip_request`: names, shapes, datatypes, integer
ranges) judge it. Inputs come as ``raw_input_contents`` (tritonclient's default; decoded
with :func:`~mlops_kit.deploy._tensors.decode_raw`) or as typed ``contents``. Outputs go
back as ``raw_output_contents`` with the datatypes of the model's own arrays.

Requested outputs follow the REST server: none asks for every output; a name the model
does not produce is refused (400, ``INVALID_ARGUMENT``); ``predict_proba`` (MLServer's
convention) asks for the model's ``predict_proba``, under that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlops_kit.deploy._grpc import oip_pb2
from mlops_kit.deploy._protocol import BadRequest, output_arrays
from mlops_kit.deploy._server import Server, version_number
from mlops_kit.deploy._tensors import decode_raw, encode_raw

if TYPE_CHECKING:
    from mlops_kit.deploy._calls import Outcome
    from mlops_kit.deploy._served import Served

__all__ = ["PROBA", "infer_response", "parameters_of", "request_payload", "requested_outputs", "select"]

PROBA = "predict_proba"
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


def request_payload(request: Any) -> dict[str, Any]:
    """The request in the shape of the protocol's JSON body, for ``oip_request``.

    Raises
    ------
    BadRequest
        If raw and typed contents are mixed, the raw entries do not match the inputs,
        or an input's contents are not those of its datatype.
    """
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise BadRequest(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs; "
            "send one entry per input, in the order of the inputs."
        )
    inputs = []
    for i, tensor in enumerate(request.inputs):
        shape = list(tensor.shape)
        if raw:
            if tensor.HasField("contents"):
                raise BadRequest(
                    f"Input {tensor.name!r} has typed contents although the request sends "
                    "raw_input_contents; send every input one way."
                )
            if any(d < 0 for d in shape):
                raise BadRequest(
                    f"Input {tensor.name!r}: 'shape' must be non-negative integers, got {shape}."
                )
            data = decode_raw(tensor.name, tensor.datatype, shape, raw[i]).reshape(-1).tolist()
        else:
            data = _typed(tensor)
        inputs.append({"name": tensor.name, "shape": shape, "datatype": tensor.datatype, "data": data})
    return {"inputs": inputs, "parameters": parameters_of(request.parameters), "id": request.id or None}


def _typed(tensor: Any) -> list[Any]:
    datatype = tensor.datatype
    field = _CONTENTS.get(datatype)
    if field is None:
        if datatype == "FP16":
            raise BadRequest(
                f"Input {tensor.name!r}: FP16 has no typed contents in the protocol; send it in "
                "raw_input_contents."
            )
        raise BadRequest(
            f"Input {tensor.name!r}: unknown datatype {datatype!r}; expected BOOL, INT8-INT64, "
            "UINT8-UINT64, FP16-FP64 or BYTES."
        )
    others = [f.name for f, _ in tensor.contents.ListFields() if f.name != field]
    if others:
        raise BadRequest(
            f"Input {tensor.name!r}: datatype {datatype} is carried in contents.{field}, "
            f"but the request fills {others}."
        )
    values = list(getattr(tensor.contents, field))
    if field == "bytes_contents":
        return [_text(v) for v in values]
    return values


def _text(value: bytes) -> str | bytes:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value  # refused by the datatype check, which names the input


def parameters_of(parameters: Any) -> dict[str, Any]:
    """A parameters map as plain values (``{"method": "predict_proba"}``)."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        choice = value.WhichOneof("parameter_choice")
        out[key] = None if choice is None else getattr(value, choice)
    return out


def requested_outputs(request: Any, params: dict[str, Any], served: Served) -> tuple[str, list[str]]:
    """The method to call and the names of the outputs asked for (empty: every output).

    Names are checked before the model runs against what its signature says it returns.

    Raises
    ------
    BadRequest
        A name asked twice, an unknown name, ``predict_proba`` with other outputs, or with
        a ``parameters.method`` that says otherwise.
    """
    names = [output.name for output in request.outputs]
    if len(set(names)) != len(names):
        raise BadRequest(f"Outputs {names} name one output twice.")
    if PROBA not in names:
        method = Server.method_of(params)
        known = _known_outputs(served)
        unknown = [n for n in names if known is not None and n not in known]
        if unknown:
            raise BadRequest(_unknown_message(unknown, sorted(known or ())))
        return method, names
    if len(names) > 1:
        raise BadRequest(f"Output {PROBA!r} comes alone (a second call of the model); asked for {names}.")
    if params.get("method", PROBA) != PROBA:
        raise BadRequest(
            f"Output {PROBA!r} asks for predict_proba, but parameters.method is {params['method']!r}."
        )
    return PROBA, names


def _known_outputs(served: Served) -> set[str] | None:
    signature = served.mv.signature
    if signature is None or signature.outputs is None:
        return None  # known after the call only
    columns = set(signature.outputs.columns)
    # The prediction's tensor is "prediction" (2-D outputs too); a DataFrame's are its columns.
    known = columns | {"prediction"}
    return known | ({PROBA} if served.has(PROBA) else set())


def _unknown_message(unknown: list[str], known: list[str]) -> str:
    return f"Unknown output {unknown[0]!r}; this model's outputs: {known}, and {PROBA!r} for probabilities."


def select(output: Any, method: str, names: list[str]) -> list[tuple[str, np.ndarray]]:
    """The output tensors to send: every one, or those named, in the order asked.

    Raises
    ------
    BadRequest
        If a name asked for is not among the model's outputs.
    """
    arrays = output_arrays(output)
    if names == [PROBA] and len(arrays) == 1:
        return [(PROBA, arrays[0][1])]
    if not names or names == [PROBA]:
        return arrays
    by_name = dict(arrays)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise BadRequest(_unknown_message(unknown, sorted(by_name)))
    return [(n, by_name[n]) for n in names]


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
