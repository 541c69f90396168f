"""The binary tensor data extension of the Open Inference Protocol, and one ``[n, F]`` tensor
for a model of F columns: tritonclient's HTTP client and hand-built KServe-style requests."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tritonclient.utils import InferenceServerException

from tests.deploy._oip_servers import Servers, mixed_answer, oip_servers

AGE, SPEND, FLAG, PLAN = [25, 40, 61], [10.5, 80.25, 5.0], [True, False, True], ["basic", "pro", "plus"]
HEADER = "Inference-Header-Content-Length"


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with oip_servers() as live:
        yield live


def client(servers: Servers, name: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(servers.urls[name].removeprefix("http://"))


def tensor(name: str, array: np.ndarray, datatype: str, binary: bool) -> triton.InferInput:
    given = triton.InferInput(name, list(array.shape), datatype)
    given.set_data_from_numpy(array, binary_data=binary)
    return given


def mixed_inputs(spend_type: str, binary: bool) -> list[triton.InferInput]:
    spend_dtype = {"FP32": np.float32, "FP64": np.float64}[spend_type]
    return [
        tensor("age", np.array(AGE, dtype=np.int64), "INT64", binary),
        tensor("spend", np.array(SPEND, dtype=spend_dtype).reshape(3, 1), spend_type, binary),
        tensor("flag", np.array(FLAG, dtype=bool), "BOOL", binary),
        tensor("plan", np.array([p.encode() for p in PLAN], dtype=np.object_), "BYTES", binary),
    ]


@pytest.mark.parametrize("spend_type", ["FP32", "FP64"])
@pytest.mark.parametrize("binary_inputs", [True, False])
def test_tritonclient_inputs_of_every_datatype(
    servers: Servers, spend_type: str, binary_inputs: bool
) -> None:
    result = client(servers, "mixed").infer("mixed", mixed_inputs(spend_type, binary_inputs))
    # tritonclient asks for binary outputs when it names none (binary_data_output)
    assert result.get_output("prediction")["parameters"] == {"binary_data_size": 24}
    np.testing.assert_array_equal(result.as_numpy("prediction"), mixed_answer(AGE, SPEND, FLAG, PLAN))


@pytest.mark.parametrize("binary_output", [True, False])
def test_tritonclient_requested_outputs_binary_or_json(servers: Servers, binary_output: bool) -> None:
    inputs = [tensor("age", np.array(AGE), "INT64", True), tensor("spend", np.array(SPEND), "FP64", True)]
    outputs = [triton.InferRequestedOutput("predict_proba", binary_data=binary_output)]
    result = client(servers, "clf").infer("clf", inputs, outputs=outputs, request_id="tc-1")
    assert ("parameters" in result.get_output("predict_proba")) is binary_output
    assert result.get_response()["id"] == "tc-1"
    model = servers.registry.load("clf:1")
    expected = model.predict_proba(pd.DataFrame({"age": AGE, "spend": SPEND}))
    np.testing.assert_allclose(result.as_numpy("predict_proba"), expected, rtol=1e-12)


def test_tritonclient_reads_binary_outputs_of_each_column(servers: Servers) -> None:
    inputs = [tensor("age", np.array(AGE), "INT64", True), tensor("spend", np.array(SPEND), "FP64", True)]
    outputs = [triton.InferRequestedOutput("age"), triton.InferRequestedOutput("double", binary_data=False)]
    result = client(servers, "dbl").infer("dbl", inputs, outputs=outputs)
    np.testing.assert_array_equal(result.as_numpy("age"), np.array(AGE))
    np.testing.assert_array_equal(result.as_numpy("double"), 2.0 * np.array(AGE))
    assert [o["name"] for o in result.get_response()["outputs"]] == ["age", "double"]


def test_tritonclient_narrow_datatypes_reach_wider_columns(servers: Servers) -> None:
    age, spend = np.array(AGE, dtype=np.int8), np.array(SPEND, dtype=np.float16)
    inputs = [tensor("age", age, "INT8", True), tensor("spend", spend, "FP16", True)]
    result = client(servers, "clf").infer("clf", inputs)
    model = servers.registry.load("clf:1")
    expected = model.predict(pd.DataFrame({"age": AGE, "spend": SPEND}))
    np.testing.assert_array_equal(result.as_numpy("prediction"), expected)


def test_server_metadata_advertises_binary_tensor_data(servers: Servers) -> None:
    assert "binary_tensor_data" in client(servers, "m").get_server_metadata()["extensions"]


# -- hand-built requests, as KServe's client sends them -----------------------------------


def raw(array: np.ndarray, datatype: str) -> bytes:
    """The protocol's raw bytes, encoded here by hand (not with the code under test)."""
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(s.encode())) + s.encode() for s in array.ravel())
    return np.ascontiguousarray(
        array, dtype={"FP64": "<f8", "INT64": "<i8", "UINT64": "<u8"}[datatype]
    ).tobytes()


def binary_request(
    tensors: list[tuple[str, list[Any], str]], **extra: Any
) -> tuple[bytes, dict[str, str], list[int]]:
    parts = [raw(np.array(values, dtype=object if dt == "BYTES" else None), dt) for _, values, dt in tensors]
    inputs = [
        {"name": n, "shape": [len(v)], "datatype": dt, "parameters": {"binary_data_size": len(p)}}
        for (n, v, dt), p in zip(tensors, parts)
    ]
    header = json.dumps({"inputs": inputs, **extra}).encode()
    headers = {"content-type": "application/octet-stream", HEADER: str(len(header))}
    return header + b"".join(parts), headers, [len(p) for p in parts]


def post(servers: Servers, name: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{servers.urls[name]}/v2/models/{name}/infer", content=content, headers=headers, timeout=30
    )


AGE_SPEND = [("age", AGE, "INT64"), ("spend", SPEND, "FP64")]


def test_kserve_style_octet_stream_with_json_outputs(servers: Servers) -> None:
    content, headers, _ = binary_request(AGE_SPEND, id="ks-1")
    r = post(servers, "dbl", content, headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json") and HEADER.lower() not in r.headers
    assert r.json()["id"] == "ks-1"
    assert r.json()["outputs"][0] == {
        "name": "double",
        "shape": [3],
        "datatype": "FP64",
        "data": [50.0, 80.0, 122.0],
    }


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/json"])
def test_binary_outputs_on_request_parameters(servers: Servers, content_type: str) -> None:
    content, headers, _ = binary_request(AGE_SPEND, parameters={"binary_data_output": True})
    r = post(servers, "dbl", content, {**headers, "content-type": content_type})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream" and r.headers["x-model-version"] == "dbl:1"
    length = int(r.headers[HEADER])
    head = json.loads(r.content[:length])
    sizes = [o["parameters"]["binary_data_size"] for o in head["outputs"]]
    assert [o["name"] for o in head["outputs"]] == ["double", "age"] and sizes == [24, 24]
    assert all("data" not in o for o in head["outputs"])
    blob = r.content[length:]
    assert len(blob) == 48
    assert np.frombuffer(blob[:24], "<f8").tolist() == [50.0, 80.0, 122.0]
    assert np.frombuffer(blob[24:], "<i8").tolist() == AGE


def test_binary_and_json_inputs_mixed_in_one_request(servers: Servers) -> None:
    content, headers, _ = binary_request([("plan", PLAN, "BYTES"), ("spend", SPEND, "FP64")])
    head_length = int(headers[HEADER])
    head = json.loads(content[:head_length])
    head["inputs"][1:1] = [
        {"name": "age", "shape": [3], "datatype": "INT64", "data": AGE},
        {"name": "flag", "shape": [3, 1], "datatype": "BOOL", "data": [[f] for f in FLAG]},
    ]
    header = json.dumps(head).encode()
    r = post(servers, "mixed", header + content[head_length:], {**headers, HEADER: str(len(header))})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == mixed_answer(AGE, SPEND, FLAG, PLAN).tolist()


def _cut(content: bytes, headers: dict[str, str], sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    return content[:-8], headers  # the body ends 8 bytes early


def _extra(content: bytes, headers: dict[str, str], sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    return content + b"\x00" * 8, headers


def _long_header(content: bytes, headers: dict[str, str], sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    return content, {**headers, HEADER: str(len(content) + 10)}


def _short_header(content: bytes, headers: dict[str, str], sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    return content, {**headers, HEADER: "10"}


def _bad_header(content: bytes, headers: dict[str, str], sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    return content, {**headers, HEADER: "-3"}


def _no_header(content: bytes, headers: dict[str, str], sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    head_length = int(headers[HEADER])
    return content[:head_length], {"content-type": "application/json"}


def _wrong_size(content: bytes, headers: dict[str, str], sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    head = content[: int(headers[HEADER])].replace(b'"binary_data_size": 24', b'"binary_data_size": 16', 1)
    return head + content[int(headers[HEADER]) :], {**headers, HEADER: str(len(head))}


def _text_size(content: bytes, headers: dict[str, str], sizes: list[int]) -> tuple[bytes, dict[str, str]]:
    head = content[: int(headers[HEADER])].replace(b'"binary_data_size": 24', b'"binary_data_size": "24"', 1)
    return head + content[int(headers[HEADER]) :], {**headers, HEADER: str(len(head))}


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_cut, "runs past the end of the body"),
        (_extra, "8 bytes follow the binary inputs"),
        (_long_header, "the body has only"),
        (_short_header, "not valid JSON"),
        (_bad_header, "Invalid Inference-Header-Content-Length '-3'"),
        (_no_header, "no Inference-Header-Content-Length header"),
        (_wrong_size, "needs 24 bytes, the binary data holds 16"),
        (_text_size, "'binary_data_size' must be a non-negative integer"),
    ],
)
def test_malformed_binary_requests_are_400_with_a_clear_message(
    servers: Servers, spoil: Any, message: str
) -> None:
    content, headers = spoil(*binary_request(AGE_SPEND))
    r = post(servers, "dbl", content, headers)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"], r.json()


def test_binary_bool_bytes_other_than_one_are_true(servers: Servers) -> None:
    content, headers, _ = binary_request(
        [("age", AGE, "INT64"), ("spend", SPEND, "FP64"), ("plan", PLAN, "BYTES")]
    )
    head_length = int(headers[HEADER])
    head = json.loads(content[:head_length])
    head["inputs"].append(
        {"name": "flag", "shape": [3], "datatype": "BOOL", "parameters": {"binary_data_size": 3}}
    )
    header = json.dumps(head).encode()
    spoiled = header + content[head_length:] + b"\x02\x00\xff"
    r = post(servers, "mixed", spoiled, {**headers, HEADER: str(len(header))})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == mixed_answer(AGE, SPEND, [True, False, True], PLAN).tolist()


def test_a_binary_request_of_no_rows_is_422(servers: Servers) -> None:
    content, headers, _ = binary_request([("age", [], "INT64"), ("spend", [], "FP64")])
    r = post(servers, "clf", content, headers)
    assert r.status_code == 422 and "no rows" in r.json()["error"], r.text


def test_bytes_data_running_past_its_part_is_400(servers: Servers) -> None:
    content, headers, _ = binary_request([("plan", ["basic"], "BYTES")])
    head_length = int(headers[HEADER])
    spoiled = content[:head_length] + struct.pack("<I", 99) + content[head_length + 4 :]
    r = post(servers, "m", spoiled, headers)
    assert r.status_code == 400 and "runs past the data's end" in r.json()["error"], r.text


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ([("age", [1, 2**63], "UINT64"), ("spend", [1.0, 2.0], "FP64")], "out of that range"),
        ([("age", ["a", "b"], "BYTES"), ("spend", [1.0, 2.0], "FP64")], "column 'age': expected int"),
        ([("spend", [1.0, 2.0], "FP64")], "missing column ['age']"),
    ],
)
def test_binary_inputs_are_checked_against_the_signature(
    servers: Servers, tensors: list[tuple[str, list[Any], str]], message: str
) -> None:
    content, headers, _ = binary_request(tensors)
    r = post(servers, "clf", content, headers)
    assert r.status_code == 422, r.text
    assert message in r.json()["error"], r.json()


def test_binary_requests_reach_the_prediction_log(servers: Servers) -> None:
    content, headers, _ = binary_request(
        [("age", [7, 8], "UINT64"), ("spend", [1.5, 2.5], "FP64")], id="logged"
    )
    assert post(servers, "clf", content, headers).status_code == 200
    log = servers.endpoints["clf"].predictions()
    rows = log[log["request_id"] == "logged"]
    assert rows["age"].tolist() == [7, 8] and rows["spend"].tolist() == [1.5, 2.5]


# -- one [n, F] tensor --------------------------------------------------------------------

MATRIX = np.array([[20.0 + 4 * i, 3.5 * i] for i in range(10)])


@pytest.mark.parametrize("binary", [True, False])
def test_one_n_by_f_tensor_is_the_signature_columns_in_order(servers: Servers, binary: bool) -> None:
    inputs = [tensor("input-0", MATRIX, "FP64", binary)]
    outputs = [triton.InferRequestedOutput("prediction"), triton.InferRequestedOutput("predict_proba")]
    with pytest.raises(InferenceServerException, match="one method per request"):
        client(servers, "clf").infer("clf", inputs, outputs=outputs)
    result = client(servers, "clf").infer("clf", inputs)
    frame = pd.DataFrame({"age": MATRIX[:, 0].astype("int64"), "spend": MATRIX[:, 1]})
    model = servers.registry.load("clf:1")
    np.testing.assert_array_equal(result.as_numpy("prediction"), model.predict(frame))
    proba = client(servers, "clf").infer(
        "clf", inputs, outputs=[triton.InferRequestedOutput("predict_proba")]
    )
    np.testing.assert_allclose(proba.as_numpy("predict_proba"), model.predict_proba(frame), rtol=1e-12)


@pytest.mark.parametrize("data", [MATRIX.tolist(), MATRIX.ravel().tolist()])
def test_one_n_by_f_tensor_in_json_nested_or_flat(servers: Servers, data: list[Any]) -> None:
    payload = {"inputs": [{"name": "input-0", "shape": [10, 2], "datatype": "FP64", "data": data}]}
    r = httpx.post(f"{servers.urls['clf']}/v2/models/clf/infer", json=payload, timeout=30)
    assert r.status_code == 200, r.text
    frame = pd.DataFrame({"age": MATRIX[:, 0].astype("int64"), "spend": MATRIX[:, 1]})
    assert r.json()["outputs"][0]["data"] == servers.registry.load("clf:1").predict(frame).tolist()


@pytest.mark.parametrize("width", [1, 3])
def test_an_n_by_f_tensor_of_the_wrong_width_names_the_expected_columns(servers: Servers, width: int) -> None:
    payload = {
        "inputs": [{"name": "input-0", "shape": [2, width], "datatype": "FP64", "data": [1.0] * 2 * width}]
    }
    r = httpx.post(f"{servers.urls['clf']}/v2/models/clf/infer", json=payload, timeout=30)
    assert r.status_code == 400, r.text
    expected = (
        f"shape [2, {width}] is not a column, and as one tensor of the model's columns it has {width}; "
        "the model takes 2: ['age', 'spend'] (in this order)"
    )
    assert expected in r.json()["error"]


def test_model_metadata_says_one_tensor_of_the_columns_is_accepted(servers: Servers) -> None:
    meta = client(servers, "clf").get_model_metadata("clf")
    assert meta["parameters"]["matrix_input"] == {"shape": [-1, 2], "columns": ["age", "spend"]}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": [5]}, "Each input must be an object"),
        (
            {"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [1]}, "x"]},
            "must be an object",
        ),
        (
            {"inputs": [{"name": "input-0", "shape": [1, -2], "datatype": "FP64", "data": [1.0]}]},
            "non-negative",
        ),
        ({"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": 3}]}, "must be a list"),
        (
            {"inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP64", "data": [1.0]}]},
            "says 4 values",
        ),
        (
            {"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": ["a", 1]}]},
            "holds 'a'",
        ),
    ],
)
def test_malformed_tensors_on_the_careful_path_are_400(servers: Servers, payload: Any, message: str) -> None:
    r = httpx.post(f"{servers.urls['clf']}/v2/models/clf/infer", json=payload, timeout=30)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"], r.json()


_DATATYPES = st.sampled_from(
    ["FP64", "FP32", "INT64", "INT8", "UINT64", "BOOL", "BYTES", "FP16", "INT128", 3]
)
_SHAPES = st.lists(st.integers(-1, 4), max_size=3) | st.sampled_from([[3], [3, 2], [3, 1], "x"])
_BINARY_INPUTS = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["age", "spend", "input-0", ""]), "shape": _SHAPES, "datatype": _DATATYPES},
        optional={
            "parameters": st.fixed_dictionaries({"binary_data_size": st.integers(-2, 30) | st.just("8")}),
            "data": st.lists(st.integers(0, 3) | st.floats(allow_nan=False), max_size=6),
        },
    ),
    min_size=1,
    max_size=3,
)


@pytest.mark.slow
def test_hypothesis_binary_bodies_never_get_a_5xx(servers: Servers) -> None:
    url = f"{servers.urls['clf']}/v2/models/clf/infer"

    # Each example is an HTTP round trip: generation is fine, the calls are slow (more so under load).
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        inputs=_BINARY_INPUTS,
        tail=st.binary(max_size=64),
        shift=st.integers(-3, 3),
        binary_output=st.booleans(),
        content_type=st.sampled_from(["application/octet-stream", "application/json", ""]),
    )
    def check(inputs: list[Any], tail: bytes, shift: int, binary_output: bool, content_type: str) -> None:
        header = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": binary_output}}).encode()
        headers = {HEADER: str(max(0, len(header) + shift)), "content-type": content_type}
        r = httpx.post(url, content=header + tail, headers=headers, timeout=30)
        assert r.status_code < 500, (r.status_code, r.text, header, tail)

    check()
    assert httpx.get(f"{servers.urls['clf']}/v2/health/ready", timeout=30).status_code == 200
