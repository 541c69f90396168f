"""The Open Inference Protocol's model side, the same for every transport (REST, gRPC).

Input tensors become the signature's columns: one tensor per column, or one ``[n, F]``
tensor holding the signature's F columns in order (what clients written for KServe's
scikit-learn server or MLServer's NumpyCodec send). Requested outputs choose the
method (MLServer's convention: an output named ``predict_proba`` asks for the
probabilities) and which output tensors come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mlops_kit.deploy._protocol import OIP_DATATYPES, BadRequest
from mlops_kit.deploy._served import METHODS

if TYPE_CHECKING:
    from mlops_kit.deploy._served import Served

__all__ = [
    "METHOD_OUTPUTS",
    "add_column",
    "is_matrix",
    "metadata_outputs",
    "metadata_parameters",
    "method_for",
    "output_name",
    "select_outputs",
    "split_matrix",
]

METHOD_OUTPUTS = {"predict": "predict", "predict_proba": "predict_proba"}  # output name -> method
_PROBA = "predict_proba"


def output_name(method: str) -> str:
    """The name of a method's output tensor when the model answers one array."""
    return _PROBA if method == _PROBA else "prediction"


# -- inputs -------------------------------------------------------------------------


def is_matrix(name: str, shape: Any, count: int, columns: Sequence[str]) -> bool:
    """Whether an input is one ``[n, F]`` tensor for the signature's columns: the request's
    only input, two-dimensional, and wider than a column or not named after one."""
    return (
        count == 1
        and isinstance(shape, list)
        and len(shape) == 2
        and (shape[1] != 1 or (bool(columns) and name not in columns))
    )


def add_column(parsed: dict[str, Any], name: str, values: Any, rows: int | None) -> int:
    """Put an input's column into ``parsed``; returns the rows every column has.

    Raises
    ------
    BadRequest
        If the column is given twice, or its rows differ from the columns' before it.
    """
    if name in parsed:
        raise BadRequest(f"Input {name!r} is given twice.")
    if rows is not None and len(values) != rows:
        raise BadRequest(f"Input {name!r} has {len(values)} rows; the inputs before it have {rows}.")
    parsed[name] = values
    return len(values)


def split_matrix(
    name: str, shape: list[int], data: list[Any] | np.ndarray, columns: Sequence[str]
) -> dict[str, Any]:
    """The columns of a row-major ``[n, F]`` tensor (flat ``data``), named in signature order.

    Raises
    ------
    BadRequest
        If F is not the number of the signature's columns (naming them), or the model
        has no signature to name them.

    Examples
    --------
    >>> split_matrix("input-0", [2, 2], [1.0, 2.0, 3.0, 4.0], ["a", "b"])
    {'a': [1.0, 3.0], 'b': [2.0, 4.0]}
    """
    width = shape[1]
    if not columns:
        raise BadRequest(
            f"Input {name!r}: a [rows, {width}] tensor needs the model's signature to name its "
            "columns, and this model has none; send one tensor per column."
        )
    if width != len(columns):
        raise BadRequest(
            f"Input {name!r}: shape {shape} is not a column, and as one tensor of the model's columns it "
            f"has {width}; the model takes {len(columns)}: {list(columns)} (in this order). Send a "
            f"[rows, {len(columns)}] tensor, or one tensor per column named after it."
        )
    if isinstance(data, np.ndarray):
        table = data.reshape(shape)
        return {c: table[:, i] for i, c in enumerate(columns)}
    return {c: data[i::width] for i, c in enumerate(columns)}


# -- methods and outputs ----------------------------------------------------------------


def _predict_outputs(served: Served) -> list[dict[str, Any]] | None:
    """predict's output tensors as the signature describes them (None without one)."""
    signature = served.mv.signature
    if signature is None or signature.outputs is None:
        return None
    schema = signature.outputs.columns
    names = list(schema)
    if len(names) > 1 and names == [f"prediction_{i}" for i in range(len(names))]:  # a 2-D array
        return [
            {
                "name": "prediction",
                "datatype": OIP_DATATYPES[schema[names[0]].dtype],
                "shape": [-1, len(names)],
            }
        ]
    return [{"name": n, "datatype": OIP_DATATYPES[c.dtype], "shape": [-1]} for n, c in schema.items()]


def metadata_outputs(served: Served) -> list[dict[str, Any]]:
    """The output tensors of the model's metadata: predict's, then ``predict_proba`` if it has one."""
    outputs = _predict_outputs(served) or []
    if served.has(_PROBA):
        try:
            classes = len(served.model.classes_)
        except (AttributeError, TypeError):
            classes = -1
        outputs.append({"name": _PROBA, "datatype": "FP64", "shape": [-1, classes]})
    return outputs


def metadata_parameters(served: Served) -> dict[str, Any]:
    """The ``parameters`` of the model's metadata: the one ``[n, F]`` tensor it also takes."""
    columns = served.checker.names
    return {"matrix_input": {"shape": [-1, len(columns)], "columns": list(columns)}} if columns else {}


def method_for(parameters: dict[str, Any], requested: Sequence[str] | None, served: Served) -> str:
    """The method a request asks for: ``parameters.method``, or the one its outputs belong to.

    Raises
    ------
    BadRequest
        For an unknown method or output (listing the known ones), outputs of two
        methods, or outputs that contradict ``parameters.method``.
    """
    given = parameters.get("method")
    if given is not None and given not in METHODS:
        raise BadRequest(f"Unknown method {given!r}; expected one of {list(METHODS)}.")
    if not requested:
        return str(given or "predict")
    predict = _predict_outputs(served)
    if predict is not None:
        known = [o["name"] for o in predict] + ["predict"] + ([_PROBA] if served.has(_PROBA) else [])
        unknown = [n for n in requested if n not in known]
        if unknown:
            raise BadRequest(
                f"Unknown output {unknown[0]!r} of model {served.label}; its outputs are {known} "
                "(see GET /v2/models/{name})."
            )
    methods = sorted({METHOD_OUTPUTS.get(n, "predict") for n in requested})
    if len(methods) > 1:
        raise BadRequest(
            f"The outputs {list(requested)} come from {methods}; ask for the outputs of one method per "
            "request (send two requests)."
        )
    if given is not None and given != methods[0]:
        raise BadRequest(
            f"'parameters.method' asks for {given} but the outputs {list(requested)} come from "
            f"{methods[0]}; drop one of the two."
        )
    return methods[0]


def select_outputs(
    arrays: list[tuple[str, np.ndarray]], requested: Sequence[str]
) -> list[tuple[str, str, np.ndarray]]:
    """The requested output arrays, in the order asked, each as (the name asked for, its
    name, the array); a method's name (``predict``, ``predict_proba``) asks for its whole
    output, under that name when it is one array.

    Raises
    ------
    BadRequest
        If the model did not answer an output of that name.

    Examples
    --------
    >>> a, b = np.array([1]), np.array([2])
    >>> [(asked, name) for asked, name, _ in select_outputs([("x", a), ("y", b)], ["y", "predict"])]
    [('y', 'y'), ('predict', 'x'), ('predict', 'y')]
    """
    by_name = dict(arrays)
    chosen: list[tuple[str, str, np.ndarray]] = []
    for asked in requested:
        if asked in by_name:
            chosen.append((asked, asked, by_name[asked]))
        elif asked in METHOD_OUTPUTS:
            whole = [(asked, arrays[0][1])] if len(arrays) == 1 else arrays
            chosen.extend((asked, name, array) for name, array in whole)
        else:
            raise BadRequest(f"Unknown output {asked!r}; the model answered {list(by_name)}.")
    return chosen
