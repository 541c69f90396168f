"""The HTTP app on a real uvicorn server on 127.0.0.1: routes, formats, errors, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlops_kit as mk
from tests.deploy.conftest import Picky, X, make_registry, running

ROW = {"age": 30, "spend": 50.0, "plan": "pro"}
PARQUET = "application/vnd.apache.parquet"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint]]:
    reg = make_registry()
    reg.register("m", Picky(), input_example=X.head(2))  # m:4 raises on age 13
    dep = mk.LocalDeployer(reg)
    ep = dep.deploy("m:1")
    with running(ep.asgi_app(max_body_bytes=4096)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, dep, ep
    ep.close()


def oip(row: dict[str, object], **changes: object) -> dict[str, object]:
    types = {"age": "INT64", "spend": "FP64", "plan": "BYTES"}
    inputs = [{"name": k, "shape": [1], "datatype": types[k], "data": [v]} for k, v in row.items()]
    return {"inputs": inputs, **changes}


def test_open_inference_protocol_routes(server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint]) -> None:
    client, _, _ = server
    assert client.get("/v2").json()["name"] == "mlops-kit"
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200
    meta = client.get("/v2/models/m").json()
    assert meta["versions"] == ["1"] and meta["platform"] == "mlops-kit/sklearn"
    assert meta["inputs"] == [
        {"name": "age", "datatype": "INT64", "shape": [-1]},
        {"name": "spend", "datatype": "FP64", "shape": [-1]},
        {"name": "plan", "datatype": "BYTES", "shape": [-1]},
    ]
    assert client.get("/v2/models/m/versions/1").status_code == 200
    assert client.get("/v2/models/m/versions/1/ready").json()["ready"] is True
    assert client.get("/v2/models/m/versions/7").status_code == 404
    assert client.get("/v2/models/other").status_code == 404
    r = client.post("/v2/models/m/infer", json=oip(ROW, id="req-1"))
    assert r.status_code == 200 and r.headers["x-model-version"] == "m:1"
    assert r.json() == {
        "model_name": "m",
        "model_version": "1",
        "id": "req-1",
        "outputs": [{"name": "prediction", "shape": [1], "datatype": "FP64", "data": [1.0]}],
    }


@pytest.mark.parametrize(
    "payload",
    [
        {
            "dataframe_split": {
                "columns": ["age", "spend", "plan"],
                "data": [[30, 50.0, "pro"], [40, 1.5, "basic"]],
            }
        },
        {"dataframe_records": [ROW, ROW]},
        {"instances": [ROW, ROW]},
        {"inputs": {"age": [30, 31], "spend": [1.0, 2.0], "plan": ["a", "b"]}},
    ],
    ids=["split", "records", "instances", "inputs"],
)
def test_mlflow_formats(server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint], payload: dict) -> None:
    client, _, _ = server
    r = client.post("/invocations", json=payload)
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": [1.0, 1.0]}
    assert client.post("/predict", json=payload).json() == {"predictions": [1.0, 1.0]}


def test_csv_and_predict_proba(server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint]) -> None:
    client, _, _ = server
    r = client.post(
        "/invocations", content=b"age,spend,plan\n30,1.5,pro\n", headers={"content-type": "text/csv"}
    )
    assert r.json() == {"predictions": [1.0]}
    r = client.post("/invocations", json={"instances": [ROW], "params": {"method": "predict_proba"}})
    assert r.status_code == 400 and "has no predict_proba" in r.json()["message"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "not valid JSON"),
        (b"", {"content-type": "application/json"}, 400, "empty"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "Expected a JSON object"),
        (b"hello", {"content-type": "text/plain"}, 415, "Unsupported content type"),
        (json.dumps({"instances": [{"age": 30}]}).encode(), {}, 400, "missing columns ['spend', 'plan']"),
        (json.dumps({"instances": [{**ROW, "age": "x"}]}).encode(), {}, 400, "column 'age': expected int"),
        (json.dumps({"instances": []}).encode(), {}, 400, "no rows"),
        (json.dumps({"instances": [ROW], "dataframe_records": [ROW]}).encode(), {}, 400, "exactly one of"),
        (json.dumps({"instances": [{**ROW, "age": [1, 2]}]}).encode(), {}, 400, "nested"),
        (json.dumps({"instances": [ROW], "params": {"method": "fit"}}).encode(), {}, 400, "Unknown method"),
        (b"x" * 5000, {"content-type": "application/json"}, 413, "larger than the limit of 4096 bytes"),
    ],
)
def test_bad_requests_get_json_errors(
    server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint],
    body: bytes,
    headers: dict,
    status: int,
    message: str,
) -> None:
    client, _, _ = server
    r = client.post("/invocations", content=body, headers=headers or {"content-type": "application/json"})
    assert r.status_code == status
    assert r.json()["error_code"] == "BAD_REQUEST" and message in r.json()["message"]  # MLflow's format
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"inputs": []}, 400, "non-empty list"),
        (oip(ROW) | {"id": 5}, 400, "'id' must be a string"),
        ({"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [1]}]}, 400, "says 2 values"),
        (
            {"inputs": [{"name": "age", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]}]},
            400,
            "not a column",
        ),
        ({"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": ["x"]}]}, 400, "holds 'x'"),
        (
            {"inputs": [{"name": "age", "shape": [1], "datatype": "INT128", "data": [1]}]},
            400,
            "unknown datatype",
        ),
        (oip({"age": 1, "spend": 2.0}), 422, "missing column ['plan']"),
        (
            oip({**ROW, "plan": 3})
            | {
                "inputs": [
                    {"name": "plan", "shape": [1], "datatype": "INT64", "data": [3]},
                    *oip(ROW)["inputs"][:2],
                ]
            },
            422,
            "column 'plan': expected string",
        ),  # type: ignore[list-item]
    ],
)
def test_bad_oip_requests(
    server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint], payload: dict, status: int, message: str
) -> None:
    client, _, _ = server
    r = client.post("/v2/models/m/infer", json=payload)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_a_model_that_raises_gives_500_and_the_server_keeps_serving(
    server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint],
) -> None:
    client, dep, _ = server
    dep.deploy("m:4", endpoint="m", strategy=mk.Canary(1.0))
    try:
        r = client.post("/invocations", json={"instances": [{**ROW, "age": 13}]})
        assert r.status_code == 500
        assert r.json() == {
            "error_code": "INTERNAL_ERROR",
            "message": "Model m:4 raised ValueError: age 13 is unlucky",
        }
        assert client.post("/invocations", json={"instances": [ROW]}).json() == {"predictions": [60.0]}
        r = client.post("/v2/models/m/versions/1/infer", json=oip(ROW))  # a pinned version bypasses routing
        assert r.json()["outputs"][0]["data"] == [1.0] and r.headers["x-model-version"] == "m:1"
    finally:
        dep.rollback("m")


def test_metrics_count_requests_by_version_and_status(
    server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint],
) -> None:
    client, _, _ = server
    client.post("/invocations", json={"instances": [ROW]})
    client.post("/invocations", json={"instances": [{"age": 1}]})
    text = client.get("/metrics").text
    assert 'mlops_kit_requests_total{endpoint="m",status="200",version="m:1"}' in text
    assert 'mlops_kit_requests_total{endpoint="m",status="400",version=""}' in text  # MLflow's 400
    assert "mlops_kit_request_latency_seconds_bucket" in text
    assert 'mlops_kit_requests_in_flight{endpoint="m"} 0.0' in text
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["primary"] == "m:1"


def test_unknown_routes_and_methods_are_json(
    server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint],
) -> None:
    client, _, _ = server
    r = client.get("/nope")
    assert r.status_code == 404 and "No route" in r.json()["error"]
    r = client.get("/invocations")
    assert r.status_code == 405 and "not allowed" in r.json()["message"]


def test_an_undeployed_endpoint_answers_503(registry: mk.Registry) -> None:
    dep = mk.LocalDeployer(registry)
    ep = dep.deploy("m:1", endpoint="gone")
    with running(ep.asgi_app()) as url, httpx.Client(base_url=url) as client:
        dep.undeploy("gone")
        assert client.get("/v2/health/ready").status_code == 503
        assert client.get("/healthz").status_code == 503
        r = client.post("/invocations", json={"instances": [ROW]})
        assert r.status_code == 503 and "serves no model" in r.json()["message"]
        dep.deploy("m:2", endpoint="gone")
        assert client.post("/invocations", json={"instances": [ROW]}).json() == {"predictions": [2.0]}
    ep.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
cells = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=4)
)
row_like = st.fixed_dictionaries({}, optional={"age": cells, "spend": cells, "plan": cells, "other": cells})
payloads = st.one_of(
    json_values,
    st.builds(lambda rows: {"instances": rows}, st.lists(row_like, max_size=3)),
    st.builds(lambda rows: {"dataframe_records": rows}, st.lists(row_like | json_values, max_size=3)),
    st.builds(
        lambda cols, data: {"dataframe_split": {"columns": cols, "data": data}},
        st.lists(st.sampled_from(["age", "spend", "plan", "x"]), max_size=4),
        st.lists(st.lists(cells, max_size=4), max_size=3),
    ),
    st.builds(
        lambda name, dtype, shape, data: {
            "inputs": [{"name": name, "datatype": dtype, "shape": shape, "data": data}]
        },
        st.sampled_from(["age", "spend", "plan", ""]),
        st.sampled_from(["INT64", "FP64", "BYTES", "BOOL", "FP32", "weird"]),
        st.lists(st.integers(-1, 3), max_size=3),
        st.lists(cells | st.lists(cells, max_size=2), max_size=3),
    ),
)


def test_hypothesis_payloads_never_get_a_5xx(
    server: tuple[httpx.Client, mk.LocalDeployer, mk.Endpoint],
) -> None:
    client, _, _ = server

    # Each example is an HTTP round trip: generation is fine, the calls are slow (more so under load).
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        payload=payloads,
        route=st.sampled_from(["/invocations", "/v2/models/m/infer", "/v2/models/m/versions/1/infer"]),
        content_type=st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "text/csv", "image/png", PARQUET]
        ),
        garbage=st.binary(max_size=30) | st.none(),
    )
    def check(payload: object, route: str, content_type: str, garbage: bytes | None) -> None:
        body = garbage if garbage is not None else json.dumps(payload).encode()
        r = client.post(route, content=body, headers={"content-type": content_type})
        assert r.status_code < 500, (r.status_code, r.text, body)
        assert r.headers["content-type"] == "application/json"
        error = {"error_code", "message"} if route == "/invocations" else {"error"}
        assert (
            set(r.json()) == error
            if r.status_code >= 400
            else "predictions" in r.json() or "outputs" in r.json()
        )

    check()
    assert client.get("/v2/health/ready").status_code == 200  # still serving
