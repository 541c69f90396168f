"""``/metrics``: labels by version, a client hanging up mid-body, and one view of every worker."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import mlops_kit as mk
from tests.conftest import free_port
from tests.deploy.conftest import make_registry, running, wait_for

ROOT = Path(__file__).resolve().parents[2]
BODY = {"dataframe_split": {"columns": ["age", "spend", "plan"], "data": [[30, 50.0, "pro"]]}}


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """``(labels, value)`` of every sample called ``name`` in an exposition text."""
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def requests_by(text: str, *keys: str) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    for labels, value in samples(text, "mlops_kit_requests_total"):
        key = tuple(labels[k] for k in keys)
        out[key] = out.get(key, 0.0) + value
    return out


def test_latency_and_requests_are_labelled_by_version(deployer: mk.LocalDeployer) -> None:
    ep = deployer.deploy("m:1")
    deployer.deploy("m:2", strategy=mk.Canary(0.5))
    with running(ep.asgi_app(max_batch_rows=1)) as url, httpx.Client(base_url=url) as client:
        answered = [client.post("/invocations", json=BODY).headers["x-model-version"] for _ in range(40)]
        assert (
            client.post("/invocations", json={"instances": [{"age": 1}]}).status_code == 400
        )  # MLflow answers a schema error with 400
        text = client.get("/metrics").text
    ep.close()
    counts = requests_by(text, "version", "status")
    assert counts == {
        ("m:1", "200"): answered.count("m:1"),
        ("m:2", "200"): answered.count("m:2"),
        ("", "400"): 1,
    }
    latency = {
        labels["version"]: value for labels, value in samples(text, "mlops_kit_request_latency_seconds_count")
    }
    assert latency == {"m:1": answered.count("m:1"), "m:2": answered.count("m:2"), "": 1}
    assert {labels["endpoint"] for labels, _ in samples(text, "mlops_kit_request_latency_seconds_count")} == {
        "m"
    }


def test_a_client_hanging_up_mid_body_is_counted_apart_and_logged_quietly(
    deployer: mk.LocalDeployer, caplog: pytest.LogCaptureFixture
) -> None:
    ep = deployer.deploy("m:1")
    caplog.set_level(logging.DEBUG, logger="mlops_kit")
    with running(ep.asgi_app()) as url, httpx.Client(base_url=url) as client:
        address = urlparse(url)
        body = b'{"dataframe_split": {"columns": ["age"], "data": [[30]]}}'
        with socket.create_connection((address.hostname, address.port)) as raw:
            raw.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body[: len(body) // 2]
            )
        wait_for(
            lambda: ("", "499") in requests_by(client.get("/metrics").text, "version", "status"),
            what="the hang-up to be counted",
        )
        assert client.post("/invocations", json=BODY).status_code == 200  # still serving
        counts = requests_by(client.get("/metrics").text, "version", "status")
    ep.close()
    assert counts == {("", "499"): 1, ("m:1", "200"): 1}
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == []
    assert any("closed the connection" in r.getMessage() for r in caplog.records)


SERVE = textwrap.dedent(
    """
    import json, sys
    import mlops_kit as mk
    url, port, ref, options, deployer_options = sys.argv[1:]
    store = mk.storage(url, **json.loads(options))
    dep = mk.LocalDeployer(mk.Registry(store), poll_interval=0.3, **json.loads(deployer_options))
    ep = dep.deploy(ref) if ref else dep.endpoint("m")
    mk.serve(ep, port=int(port), workers=2)
    """
)


@contextmanager
def two_workers(
    url: str, ref: str = "m:1", deployer: dict[str, object] | None = None, **options: object
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``mk.serve(workers=2)`` in a process of its own, deploying ``ref`` (``""``: serving endpoint
    ``m`` as it is); yields its URL and the process."""
    import json

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, url, str(port), ref, json.dumps(options), json.dumps(deployer or {})],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"the server exited: {proc.stderr.read() if proc.stderr else ''}"
            assert time.monotonic() < deadline, "the server was not ready within 120 s"
            try:
                if httpx.get(f"{base}/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def workers_of(proc: subprocess.Popen[str], n: int) -> list[int]:
    def spawned() -> list[int]:
        return [p for p in children(proc.pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]

    wait_for(lambda: len(spawned()) >= n, what=f"{n} worker processes")
    return spawned()


def environment(pid: int) -> dict[str, bytes]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return {k.decode(): v for k, _, v in (item.partition(b"=") for item in raw.split(b"\0") if item)}


def answer(base: str) -> httpx.Response:
    # a new connection per request: the kernel hands connections to either worker
    return httpx.post(f"{base}/invocations", json=BODY, headers={"Connection": "close"}, timeout=60)


@pytest.mark.slow
def test_every_scrape_of_two_workers_counts_every_request(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    make_registry(mk.storage(store))
    totals, sent = [], 0
    with two_workers(store) as (base, proc):
        (folder,) = {environment(w)["PROMETHEUS_MULTIPROC_DIR"].decode() for w in workers_of(proc, 2)}
        for _ in range(6):
            for _ in range(10):
                assert answer(base).status_code == 200
            sent += 10
            for _ in range(3):  # several scrapes per round: any worker may answer each
                text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=60).text
                totals.append(sum(requests_by(text, "status").values()))
                in_flight = samples(text, "mlops_kit_requests_in_flight")
                assert sum(value for _, value in in_flight) == 0
            assert totals[-3:] == [sent] * 3
        assert os.path.isdir(folder)
    print("totals of successive scrapes:", totals)
    assert totals == sorted(totals) and totals[-1] == 60
    assert not os.path.exists(folder)  # the metric files go with the server


@pytest.mark.slow
def test_workers_get_the_deployer_without_its_secrets_in_their_environment(s3_endpoint: str) -> None:
    import uuid

    secret, signing_key = f"s3-secret-{uuid.uuid4().hex}", f"signing-{uuid.uuid4().hex}"
    options = {"endpoint_url": s3_endpoint, "key": "testing", "secret": secret, "signing_key": signing_key}
    url = f"s3://test/{uuid.uuid4().hex}"
    make_registry(mk.storage(url, **options))
    with two_workers(url, **options) as (base, proc):
        first = workers_of(proc, 2)
        assert answer(base).status_code == 200
        folder = environment(first[0])["PROMETHEUS_MULTIPROC_DIR"].decode()
        for pid in children(proc.pid):
            exposed = Path(f"/proc/{pid}/environ").read_bytes() + Path(f"/proc/{pid}/cmdline").read_bytes()
            assert secret.encode() not in exposed and signing_key.encode() not in exposed
            assert not any(name.startswith("MLOPS_KIT") for name in environment(pid))
        for path in Path(folder).iterdir():  # only metric files, and no secret in them
            assert path.suffix == ".db"
            assert secret.encode() not in path.read_bytes()
        # a worker that dies is replaced, and its replacement gets the deployer the same way
        os.kill(first[0], signal.SIGKILL)
        wait_for(lambda: first[0] not in workers_of(proc, 2), timeout=60, what="a replacement worker")
        replacement = (set(workers_of(proc, 2)) - set(first)).pop()
        wait_for(lambda: b"PROMETHEUS" in Path(f"/proc/{replacement}/environ").read_bytes(), what="spawn")
        exposed = Path(f"/proc/{replacement}/environ").read_bytes()
        assert secret.encode() not in exposed and signing_key.encode() not in exposed
        # its app is built once its metric files exist; then it takes its share of connections
        gauge = Path(folder) / f"gauge_livesum_{replacement}.db"
        wait_for(gauge.exists, timeout=120, what="the replacement's app")

        def answered_by_the_replacement() -> bool:
            assert answer(base).status_code == 200
            return answered_by(folder, replacement) > 0

        wait_for(answered_by_the_replacement, timeout=120, what="an answer from the replacement")


def answered_by(folder: str, pid: int) -> float:
    """Requests counted in the metric files of one worker."""
    import shutil
    import tempfile

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    with tempfile.TemporaryDirectory() as own:
        for path in Path(folder).glob(f"*_{pid}.db"):
            shutil.copy(path, own)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=own)
        return sum(requests_by(generate_latest(registry).decode(), "status").values())
