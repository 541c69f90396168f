"""Datatype fidelity on the Open Inference Protocol: integer ranges in, exact datatypes out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from tests.deploy.conftest import running


class Typed:
    """Answers ``level * 1.5`` in the dtype it was made with."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return (df["level"].to_numpy() * 1.5).astype(self.dtype)


EXAMPLE = pd.DataFrame({"level": [1, 2]})
DTYPES = ["float32", "float16", "float64", "int8", "int32", "uint8", "uint64", "bool"]


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    reg = mk.Registry(mk.MemoryStorage())
    dep = mk.LocalDeployer(reg)
    endpoints = {}
    for dtype in DTYPES:
        reg.register(f"typed-{dtype}", Typed(dtype), input_example=EXAMPLE)
        endpoints[dtype] = dep.deploy(f"typed-{dtype}", endpoint=f"typed-{dtype}")
    apps = {dtype: ep.asgi_app() for dtype, ep in endpoints.items()}
    with running(apps["float32"]) as url32, running(apps["int8"]) as url8:
        yield {"float32": url32, "int8": url8}
    for ep in endpoints.values():
        ep.close()


def infer(url: str, name: str, datatype: str, data: list[Any]) -> httpx.Response:
    body = {"inputs": [{"name": "level", "shape": [len(data)], "datatype": datatype, "data": data}]}
    return httpx.post(f"{url}/v2/models/{name}/infer", json=body, timeout=30)


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        ("UINT8", -5),
        ("UINT8", 300),
        ("INT8", 1000),
        ("INT8", -129),
        ("UINT64", -1),
        ("INT16", 40_000),
        ("UINT32", 2**32),
        ("INT64", 2**63),
    ],
)
def test_integers_out_of_their_range_are_refused(urls: dict[str, str], datatype: str, value: int) -> None:
    r = infer(urls["float32"], "typed-float32", datatype, [1, value])
    assert r.status_code == 400, r.text
    assert f"{value} is out of range for {datatype}" in r.json()["error"]


@pytest.mark.parametrize(
    ("datatype", "values"),
    [
        ("UINT8", [0, 255]),
        ("INT8", [-128, 127]),
        ("UINT32", [0, 2**32 - 1]),
        ("INT64", [-(2**63), 2**63 - 1]),
    ],
)
def test_integers_at_the_edges_of_their_range_are_accepted(
    urls: dict[str, str], datatype: str, values: list[int]
) -> None:
    r = infer(urls["float32"], "typed-float32", datatype, values)
    assert r.status_code == 200, r.text


def test_output_datatypes_follow_the_model(urls: dict[str, str]) -> None:
    r = infer(urls["float32"], "typed-float32", "INT64", [1, 2])
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["datatype"] == "FP32" and r.json()["outputs"][0]["data"] == [1.5, 3.0]
    r = infer(urls["int8"], "typed-int8", "INT64", [1, 2])
    assert r.json()["outputs"][0]["datatype"] == "INT8" and r.json()["outputs"][0]["data"] == [1, 3]


@pytest.mark.parametrize(
    ("dtype", "datatype"),
    [
        ("float32", "FP32"),
        ("float16", "FP16"),
        ("float64", "FP64"),
        ("int8", "INT8"),
        ("int32", "INT32"),
        ("uint8", "UINT8"),
        ("uint64", "UINT64"),
        ("bool", "BOOL"),
    ],
)
def test_every_numpy_dtype_has_its_own_datatype(dtype: str, datatype: str) -> None:
    from mlops_kit.deploy._protocol import oip_outputs

    assert oip_outputs(np.array([1, 0], dtype=dtype))[0]["datatype"] == datatype


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v2/models/big/infer",
            {"inputs": [{"name": "level", "shape": [2], "datatype": "UINT64", "data": [1, 2**64 - 1]}]},
        ),
        ("/invocations", {"dataframe_split": {"columns": ["level"], "data": [[1], [2**64 - 1]]}}),
        ("/invocations", {"dataframe_split": {"columns": ["level"], "data": [[1], [2**70]]}}),
    ],
)
def test_ints_beyond_int64_are_refused_and_cannot_poison_the_log(path: str, body: dict[str, Any]) -> None:
    reg = mk.Registry(mk.MemoryStorage())
    reg.register("big", Typed("float32"), input_example=EXAMPLE)
    ep = mk.LocalDeployer(reg).deploy("big", endpoint="big")
    with running(ep.asgi_app()) as url:
        r = httpx.post(f"{url}{path}", json=body, timeout=30)
        status, key = (400, "message") if path == "/invocations" else (422, "error")  # MLflow's, ours
        assert r.status_code == status and "out of that range" in r.json()[key], r.text
        assert httpx.post(f"{url}{path}", json=_small(body), timeout=30).status_code == 200
    ep.close()  # flushes the prediction log: must not fail on what the bad request sent
    assert list(ep.predictions()["level"]) == [1, 2]


def _small(body: dict[str, Any]) -> dict[str, Any]:
    if "inputs" in body:
        return {"inputs": [{**body["inputs"][0], "datatype": "INT64", "data": [1, 2]}]}
    return {"dataframe_split": {"columns": ["level"], "data": [[1], [2]]}}
