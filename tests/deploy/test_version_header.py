"""Every response carries ``x-model-version``: errors, health, metadata and metrics included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import mlops_kit as mk
from tests.deploy.conftest import Picky, X, make_registry, running

ROW = {"age": 30, "spend": 50.0, "plan": "pro"}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    reg = make_registry()
    reg.register("m", Picky(), input_example=X.head(2))  # m:4 raises on age 13
    ep = mk.LocalDeployer(reg).deploy("m:4")
    with running(ep.asgi_app(max_body_bytes=4096)) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c
    ep.close()


def split(age: Any) -> dict[str, Any]:
    return {"dataframe_split": {"columns": list(ROW), "data": [[age, 50.0, "pro"]]}}


CASES = [
    ("ok", "POST", "/invocations", {"json": split(30)}, 200),
    ("model raised", "POST", "/invocations", {"json": split(13)}, 500),
    (
        "malformed JSON",
        "POST",
        "/invocations",
        {"content": b"{", "headers": {"content-type": "application/json"}},
        400,
    ),
    ("schema", "POST", "/invocations", {"json": split("old")}, 400),  # MLflow's status for it
    (
        "too large",
        "POST",
        "/invocations",
        {"content": b"x" * 5000, "headers": {"content-type": "application/json"}},
        413,
    ),
    (
        "content type",
        "POST",
        "/invocations",
        {"content": b"x", "headers": {"content-type": "image/png"}},
        415,
    ),
    ("unknown model", "POST", "/v2/models/other/infer", {"json": {"inputs": []}}, 404),
    ("server metadata", "GET", "/v2", {}, 200),
    ("model metadata", "GET", "/v2/models/m", {}, 200),
    ("model ready", "GET", "/v2/models/m/versions/4/ready", {}, 200),
    ("health", "GET", "/healthz", {}, 200),
    ("live", "GET", "/v2/health/live", {}, 200),
    ("metrics", "GET", "/metrics", {}, 200),
    ("no route", "GET", "/nowhere", {}, 404),
    ("wrong method", "GET", "/invocations", {}, 405),
]


@pytest.mark.parametrize(("what", "method", "path", "options", "status"), CASES, ids=[c[0] for c in CASES])
def test_every_response_names_the_version(
    client: httpx.Client, what: str, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    r = client.request(method, path, **options)
    assert r.status_code == status, r.text
    assert r.headers["x-model-version"] == "m:4"


def test_nothing_deployed_says_none() -> None:
    reg = make_registry()
    dep = mk.LocalDeployer(reg)
    ep = dep.deploy("m:1", endpoint="gone")
    dep.undeploy("gone")
    with running(ep.asgi_app()) as url, httpx.Client(base_url=url, timeout=30) as c:
        for path in ("/healthz", "/v2/health/ready"):
            r = c.get(path)
            assert r.status_code == 503 and r.headers["x-model-version"] == "none"
        r = c.post("/invocations", json=split(30))
        assert r.status_code == 503 and r.headers["x-model-version"] == "none"
    ep.close()
