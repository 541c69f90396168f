"""Run in MLServer's venv by test_mlserver_plain.py: the runtime's plain columns against pandas' codec.

For each request of ``CASES`` prints one JSON line: whether :func:`plain_columns` took
it, and, if it did, whether the table made from its lists is the one the general way
makes (MLServer's pandas codec, then the signature's check), dtypes included.
"""

from __future__ import annotations

import json
import sys

import pandas as pd

from mlops_kit.core.schema import Schema
from mlops_kit.deploy._inputs import InputChecker
from mlops_kit.integrations._mlserver_runtime import plain_columns

EXAMPLE = pd.DataFrame(
    {"age": [30, 41], "spend": [12.5, 80.0], "plan": ["pro", "basic"], "vip": [True, False]}
)
TYPES = {"age": "INT64", "spend": "FP64", "plan": "BYTES", "vip": "BOOL"}


def tensor(name: str, data: list[object], datatype: str | None = None, **extra: object) -> dict[str, object]:
    return {"name": name, "datatype": datatype or TYPES[name], "shape": [len(data)], "data": data, **extra}


def body(**columns: list[object]) -> dict[str, object]:
    return {"parameters": {"content_type": "pd"}, "inputs": [tensor(n, v) for n, v in columns.items()]}


PLAIN = {
    "age": [30, 52, 18],
    "spend": [1.5, 20.0, 7.25],
    "plan": ["pro", "basic", "plus"],
    "vip": [True, False, True],
}


def cases() -> dict[str, dict[str, object]]:
    found = {"plain": body(**PLAIN), "floats sent as JSON ints": body(**{**PLAIN, "spend": [1, 20, 7]})}
    found["no content type on the request"] = {"inputs": body(**PLAIN)["inputs"]}
    found["one row"] = body(**{n: v[:1] for n, v in PLAIN.items()})
    wrong = dict(body(**PLAIN))
    wrong["inputs"] = [tensor("age", PLAIN["age"], "FP64"), *body(**PLAIN)["inputs"][1:]]  # type: ignore[index]
    found["an int column declared FP64"] = wrong
    coded = body(**PLAIN)
    coded["inputs"][2]["parameters"] = {"content_type": "str"}  # type: ignore[index]
    found["a column with a codec of its own"] = coded
    found["a null"] = body(**{**PLAIN, "spend": [1.5, None, 2.0]})
    found["an int beyond int64"] = body(**{**PLAIN, "age": [30, 2**63, 18]})
    found["columns out of order"] = body(
        **{"spend": PLAIN["spend"], "age": PLAIN["age"], "plan": PLAIN["plan"], "vip": PLAIN["vip"]}
    )
    found["a column missing"] = body(**{n: v for n, v in PLAIN.items() if n != "vip"})
    found["an extra column"] = {
        "parameters": {"content_type": "pd"},
        "inputs": [*body(**PLAIN)["inputs"], tensor("note", ["a", "b", "c"], "BYTES")],  # type: ignore[misc]
    }
    found["ints in a string column"] = body(**{**PLAIN, "plan": [1, 2, 3]})
    found["nested lists"] = body(**{**PLAIN, "age": [[30], [52], [18]]})
    found["no rows"] = body(**{n: [] for n in PLAIN})
    return found


def main() -> None:
    from mlserver.codecs import PandasCodec  # only in MLServer's venv: the suite collects this file
    from mlserver.types import InferenceRequest

    checker = InputChecker(Schema.infer(EXAMPLE), "m:1")
    for name, case in cases().items():
        request = InferenceRequest.model_validate(case)
        columns = plain_columns(request.inputs, checker, TYPES)
        same = None
        if columns is not None:
            ours = checker.plain_frame(columns)
            theirs = checker.prepare(PandasCodec.decode_request(request))
            try:
                pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
                same = True
            except AssertionError as exc:
                same = str(exc)
        print(json.dumps({"case": name, "plain": columns is not None, "same": same}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
