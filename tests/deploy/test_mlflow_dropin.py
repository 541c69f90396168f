"""MLflow's scoring clients keep working: /health, /version, Parquet bodies, and MLflow's error
bodies and status codes on MLflow's routes, while the Open Inference Protocol routes keep theirs
(a real uvicorn server, httpx)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import httpx
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.core._version import __version__
from tests.deploy.conftest import Picky, X, make_registry, running

ROW = {"age": 30, "spend": 50.0, "plan": "pro"}
PARQUET = {"content-type": "application/vnd.apache.parquet"}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[httpx.Client, mk.LocalDeployer]]:
    reg = make_registry()
    reg.register("m", Picky(), input_example=X.head(2))  # m:4 doubles the age, raises on 13
    dep = mk.LocalDeployer(reg, log_predictions=False)
    ep = dep.deploy("m:4")
    with running(ep.asgi_app(max_body_bytes=4096)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, dep
    ep.close()


def parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def test_health_and_version(server: tuple[httpx.Client, mk.LocalDeployer]) -> None:
    client, _ = server
    r = client.get("/health")
    assert r.status_code == 200 and r.headers["x-model-version"] == "m:4"
    r = client.get("/version")
    assert r.status_code == 200 and r.text == __version__
    assert r.headers["content-type"].startswith("text/plain")


def test_health_is_an_mlflow_error_while_nothing_is_served(registry: mk.Registry) -> None:
    dep = mk.LocalDeployer(registry, log_predictions=False)
    ep = dep.deploy("m:1", endpoint="gone")
    with running(ep.asgi_app()) as url, httpx.Client(base_url=url) as client:
        dep.undeploy("gone")
        r = client.get("/health")
        assert r.status_code == 503 and r.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
        r = client.post("/invocations", json={"instances": [ROW]})
        assert r.status_code == 503 and set(r.json()) == {"error_code", "message"}
        assert "serves no model" in r.json()["message"]
    ep.close()


def test_a_parquet_body_is_answered_like_json(server: tuple[httpx.Client, mk.LocalDeployer]) -> None:
    client, _ = server
    frame = pd.DataFrame({"age": [30, 41], "spend": [1.5, 2.0], "plan": ["pro", "basic"]})
    r = client.post("/invocations", content=parquet(frame), headers=PARQUET)
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": [60.0, 82.0]} and r.headers["x-model-version"] == "m:4"
    r = client.post("/predict", content=parquet(frame), headers=PARQUET)
    assert r.json() == {"predictions": [60.0, 82.0]}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"PAR1 not parquet", 400, "The Parquet body cannot be read"),
        (b"", 400, "The Parquet body cannot be read"),
        (parquet(pd.DataFrame({"age": [30]})), 400, "missing columns ['spend', 'plan']"),
        (
            parquet(pd.DataFrame({"age": [1] * 1000, "spend": [1.0] * 1000, "plan": ["x"] * 1000})),
            413,
            "cells",
        ),
        (parquet(pd.DataFrame({**ROW, "spend": [float("nan")]})), 200, ""),  # Picky takes NaN spend
        (parquet(pd.DataFrame({**ROW, "age": [[1, 2]]})), 400, "column 'age': expected int"),
        (parquet(pd.DataFrame({**ROW, "spend": [float("inf")]})), 400, "column 'spend': 1 infinite value"),
    ],
    ids=["garbage", "empty", "schema", "too-many-cells", "nan", "list-cells", "inf"],
)
def test_bad_parquet_bodies_get_mlflow_errors(
    server: tuple[httpx.Client, mk.LocalDeployer], body: bytes, status: int, message: str
) -> None:
    client, _ = server
    r = client.post("/invocations", content=body, headers=PARQUET)
    assert r.status_code == status, r.text
    if status != 200:
        assert r.json()["error_code"] == "BAD_REQUEST" and message in r.json()["message"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "message"),
    [
        (b"{not json", {}, 400, "BAD_REQUEST", "not valid JSON"),
        (json.dumps({"instances": [{"age": 30}]}).encode(), {}, 400, "BAD_REQUEST", "missing columns"),
        (json.dumps({"instances": [{**ROW, "age": "x"}]}).encode(), {}, 400, "BAD_REQUEST", "expected int"),
        (json.dumps({"instances": []}).encode(), {}, 400, "BAD_REQUEST", "no rows"),
        (
            json.dumps({"instances": [ROW], "params": {"method": "predict_proba"}}).encode(),
            {},
            400,
            "BAD_REQUEST",
            "has no predict_proba",
        ),
        (b"hello", {"content-type": "text/plain"}, 415, "BAD_REQUEST", "Unsupported content type"),
        (b"x" * 5000, {}, 413, "BAD_REQUEST", "larger than the limit"),
        (
            json.dumps({"instances": [{**ROW, "age": 13}]}).encode(),
            {},
            500,
            "INTERNAL_ERROR",
            "Model m:4 raised ValueError: age 13 is unlucky",
        ),
    ],
)
@pytest.mark.parametrize("route", ["/invocations", "/predict"])
def test_mlflow_routes_answer_mlflow_errors(
    server: tuple[httpx.Client, mk.LocalDeployer],
    route: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
    message: str,
) -> None:
    client, _ = server
    r = client.post(route, content=body, headers=headers or {"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error_code", "message"}
    assert r.json()["error_code"] == code and message in r.json()["message"]
    assert "x-model-version" in r.headers


def test_method_not_allowed_on_an_mlflow_route_is_an_mlflow_error(
    server: tuple[httpx.Client, mk.LocalDeployer],
) -> None:
    client, _ = server
    r = client.get("/invocations")
    assert r.status_code == 405 and r.json()["error_code"] == "BAD_REQUEST"
    assert client.get("/nope").json() == {"error": "No route GET /nope."}  # other routes: ours


def test_open_inference_protocol_routes_keep_their_errors(
    server: tuple[httpx.Client, mk.LocalDeployer],
) -> None:
    client, _ = server
    inputs = [{"name": "age", "shape": [1], "datatype": "INT64", "data": [30]}]
    r = client.post("/v2/models/m/infer", json={"inputs": inputs})
    assert r.status_code == 422 and set(r.json()) == {"error"} and "missing columns" in r.json()["error"]
    text = client.get("/metrics").text
    assert 'mlops_kit_requests_total{endpoint="m",status="422",version=""}' in text


def test_metrics_count_mlflow_schema_errors_as_400(server: tuple[httpx.Client, mk.LocalDeployer]) -> None:
    client, _ = server
    client.post("/invocations", json={"instances": [{"age": 30}]})
    assert 'mlops_kit_requests_total{endpoint="m",status="400",version=""}' in client.get("/metrics").text
