"""An endpoint mounted in someone else's service: a real uvicorn process, SIGTERM, every row kept.

Starlette and FastAPI never run a mounted app's lifespan, and uvicorn re-raises SIGTERM
after its graceful shutdown, which kills the process before ``atexit``. Each test
runs a host service (FastAPI or Starlette) in its own process, started the two ways
people start one (``uvicorn host:app``, with ``--workers`` too, and a script calling
``uvicorn.run``), sends
requests, stops it with SIGTERM and reads the prediction log from storage.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from tests.conftest import free_port
from tests.deploy.conftest import X, make_registry, running, wait_for

ROOT = Path(__file__).resolve().parents[2]

HOST = """
import os
import sys

import uvicorn

import mlops_kit as mk

store = mk.storage(os.environ["STORE"])
endpoint = mk.LocalDeployer(mk.Registry(store)).endpoint("bc")

if os.environ["HOST_KIND"] == "fastapi":
    from fastapi import FastAPI

    app = FastAPI(title="host")

    @app.get("/own")
    def own() -> dict:
        return {"ok": True}
else:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def own(request):
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/own", own)])

if os.environ["MOUNT"] == "mount":
    app.mount("/models/bc", endpoint.asgi_app())
else:
    endpoint.mount(app, "/models/bc")

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
"""


@contextmanager
def host_service(
    tmp_path: Path, store: str, kind: str, start: str, mount: str
) -> Iterator[tuple[httpx.Client, subprocess.Popen[str]]]:
    (tmp_path / "host.py").write_text(HOST)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STORE": store,
        "HOST_KIND": kind,
        "MOUNT": mount,
        "PORT": str(port),
    }
    if start in ("cli", "workers"):
        command = [sys.executable, "-m", "uvicorn", "host:app", "--port", str(port), "--log-level", "warning"]
        command += ["--workers", "2"] if start == "workers" else []
    else:
        command = [sys.executable, "host.py"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the host exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if client.get("/models/bc/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the host was not ready within 90 s"
            time.sleep(0.05)
        yield client, proc
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _predict(client: httpx.Client, age: int) -> None:
    body = {"dataframe_records": [{"age": age, "spend": 10.0, "plan": "basic"}]}
    r = client.post("/models/bc/invocations", json=body)
    assert r.status_code == 200, r.text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "start", "mount"),
    [
        ("fastapi", "cli", "mount"),
        ("starlette", "script", "mount"),
        ("fastapi", "script", "endpoint.mount"),
        ("starlette", "cli", "endpoint.mount"),
    ],
)
def test_sigterm_keeps_every_prediction_of_a_mounted_endpoint(
    tmp_path: Path, kind: str, start: str, mount: str
) -> None:
    store = str(tmp_path / "store")
    registry = make_registry(mk.storage(store))
    mk.LocalDeployer(registry).deploy("m:1", endpoint="bc")
    with host_service(tmp_path, store, kind, start, mount) as (client, proc):
        assert client.get("/own").json() == {"ok": True}
        for age in range(20, 31):
            _predict(client, age)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode in (0, -signal.SIGTERM), stderr  # what uvicorn makes of a SIGTERM
    reader = mk.LocalDeployer(registry).endpoint("bc")
    try:
        log = reader.predictions()
    finally:
        reader.close()
    assert sorted(log["age"]) == list(range(20, 31)), stderr
    if mount == "mount":  # told once that the host's lifespan does not reach the endpoint
        assert stderr.count("its lifespan never started") == 1, stderr


class SlowOnAge99:
    """Answers 0; on the age 99 it leaves a file saying it started, then takes a second."""

    def __init__(self, started: str) -> None:
        self.started = started

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        if (df["age"] == 99).any():
            Path(self.started).touch()
            time.sleep(1.0)
        return np.zeros(len(df))


@pytest.mark.slow
@pytest.mark.parametrize("start", ["cli", "script", "workers"])
def test_a_request_in_flight_at_sigterm_is_answered_and_logged(tmp_path: Path, start: str) -> None:
    store = str(tmp_path / "store")
    registry = mk.Registry(mk.storage(store))
    started = tmp_path / "started"
    registry.register("slow", SlowOnAge99(str(started)), input_example=X.head(2))
    mk.LocalDeployer(registry).deploy("slow:1", endpoint="bc")
    answers: list[int] = []
    with host_service(tmp_path, store, "fastapi", start, "mount") as (client, proc):
        _predict(client, 20)
        late = threading.Thread(target=lambda: answers.append(_status(client, 99)))
        late.start()
        wait_for(started.exists, what="the slow request to reach the model")
        proc.send_signal(signal.SIGTERM)  # while the model works on age 99
        late.join(timeout=60)
        proc.wait(timeout=60)
    assert answers == [200]
    reader = mk.LocalDeployer(registry).endpoint("bc")
    try:
        assert sorted(reader.predictions()["age"]) == [20, 99]
    finally:
        reader.close()


def _status(client: httpx.Client, age: int) -> int:
    body = {"dataframe_records": [{"age": age, "spend": 10.0, "plan": "basic"}]}
    return client.post("/models/bc/invocations", json=body).status_code


@pytest.mark.slow
def test_the_mounted_routes_are_in_the_hosts_openapi_page(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    mk.LocalDeployer(make_registry(mk.storage(store))).deploy("m:1", endpoint="bc")
    with host_service(tmp_path, store, "fastapi", "cli", "endpoint.mount") as (client, proc):
        paths = client.get("/openapi.json").json()["paths"]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert "/own" in paths
    assert set(paths["/models/bc/invocations"]) == {"post"}
    assert set(paths["/models/bc/v2/models/{name}/infer"]) == {"post"}
    assert paths["/models/bc/v2/models/{name}/infer"]["post"]["parameters"][0]["name"] == "name"
    assert set(paths["/models/bc/healthz"]) == {"get"}


# -- in-process: what endpoint.mount() does to the host ---------------------------------


def test_mount_runs_the_endpoint_lifespan_inside_the_hosts(deployer: mk.LocalDeployer) -> None:
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette

    ep = deployer.deploy("m:1", endpoint="bc")
    seen: list[object] = []

    @asynccontextmanager
    async def host_lifespan(app: object) -> Iterator[dict[str, int]]:  # type: ignore[misc]
        seen.append("up")
        yield {"answer": 42}
        assert ep.live.log is not None
        seen.append(ep.live.log.buffered_rows)  # the endpoint stopped (flushed) first

    host = Starlette(lifespan=host_lifespan)
    ep.mount(host, "/models/bc")
    with running(host) as url, httpx.Client(base_url=url) as client:  # uvicorn runs the host's lifespan
        for age in (20, 21):
            r = client.post(
                "/models/bc/invocations",
                json={"dataframe_records": [{"age": age, "spend": 1.0, "plan": "pro"}]},
            )
            assert r.status_code == 200, r.text
        assert ep.live.log is not None and ep.live.log.buffered_rows == 2
    assert seen == ["up", 0]
    assert sorted(ep.predictions()["age"]) == [20, 21]
    ep.close()


@pytest.mark.parametrize(
    ("host", "path", "message"),
    [
        (object(), "/models/bc", "needs a Starlette or FastAPI app"),
        ("starlette", "models/bc", "must look like '/models/churn'"),
        ("starlette", "/models/bc/", "must look like '/models/churn'"),
        ("starlette", "/", "must look like '/models/churn'"),
    ],
)
def test_mount_refuses_what_it_cannot_mount(
    deployer: mk.LocalDeployer, host: object, path: str, message: str
) -> None:
    from starlette.applications import Starlette

    ep = deployer.deploy("m:1", endpoint="bc")
    with pytest.raises(mk.ConfigError, match=message):
        ep.mount(Starlette() if host == "starlette" else host, path)
    ep.close()


def test_mount_adds_every_route_to_a_fastapi_openapi_page_once(deployer: mk.LocalDeployer) -> None:
    from fastapi import FastAPI

    ep = deployer.deploy("m:1", endpoint="bc")
    service = FastAPI()
    sub = ep.mount(service, "/models/bc")
    paths = service.openapi()["paths"]
    routes = {f"/models/bc{r.path}" for r in sub.routes}
    assert routes <= set(paths)
    assert service.openapi()["paths"] == paths  # asking again adds nothing
    infer = paths["/models/bc/v2/models/{name}/versions/{version}/infer"]["post"]
    assert [p["name"] for p in infer["parameters"]] == ["name", "version"]
    assert "application/octet-stream" in infer["requestBody"]["content"]
    assert "text/csv" in paths["/models/bc/invocations"]["post"]["requestBody"]["content"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    ep.close()
