"""``mlops-kit serve``: a real server process on 127.0.0.1, followed by another process's deploys."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import mlops_kit as mk
from mlops_kit.cli import main
from mlops_kit.registry import UntrustedTypesError
from tests.conftest import free_port
from tests.deploy.conftest import make_registry

ROOT = Path(__file__).resolve().parents[2]
BODY = {"dataframe_split": {"columns": ["age", "spend", "plan"], "data": [[30, 50.0, "pro"]]}}


@contextmanager
def serving(store: str, *args: str) -> Iterator[tuple[httpx.Client, subprocess.Popen[str], float]]:
    """Start ``mlops-kit serve`` in its own process; yield a client, the process, and seconds to ready."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_kit.cli", "serve", *args, "--storage", store, "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if client.get("/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() - started > 60:
                raise AssertionError("the server was not ready within 60 s")
            time.sleep(0.05)
        yield client, proc, time.monotonic() - started
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


def version(client: httpx.Client) -> str:
    r = client.post("/invocations", json=BODY)
    assert r.status_code == 200, r.text
    return r.headers["x-model-version"]


@pytest.mark.slow
def test_serve_follows_another_process_and_flushes_on_shutdown(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    reg = make_registry(mk.storage(store))
    reg.set_alias("m", "production", 1)
    dep = mk.LocalDeployer(reg)
    with serving(store, "m@production", "--poll-interval", "0.5") as (client, proc, ready_after):
        assert version(client) == "m:1"
        dep.deploy("m:2", endpoint="m", strategy=mk.Canary(0.5))
        dep.promote("m")
        promoted = time.monotonic()
        while version(client) != "m:2":
            assert time.monotonic() - promoted < 10, "the server did not follow the promote"
            time.sleep(0.05)
        followed_after = time.monotonic() - promoted
        sent = 2 + sum(1 for _ in range(20) if version(client) == "m:2")
        proc.send_signal(signal.SIGTERM)  # graceful: the prediction log is flushed
        assert proc.wait(timeout=60) == 0
    print(f"ready after {ready_after:.2f} s; followed the promote after {followed_after:.2f} s")
    assert followed_after < 0.5 + 5  # its poll interval, plus loading the model on a busy machine
    log = dep.endpoint("m").predictions()
    assert len(log) >= sent and set(log["version"]) == {"m:1", "m:2"}
    assert [e.kind for e in dep.history("m")] == ["deploy", "deploy", "promote"]


@pytest.mark.slow
def test_a_restart_joins_the_endpoint_instead_of_undoing_a_promote(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    reg = make_registry(mk.storage(store))
    reg.set_alias("m", "production", 1)
    dep = mk.LocalDeployer(reg)
    dep.deploy("m:1")
    dep.deploy("m:3", strategy=mk.Canary(0.5))
    dep.promote("m")
    with serving(store, "m@production") as (client, _, _):
        assert version(client) == "m:3"
        assert client.get("/healthz").json()["primary"] == "m:3"
    assert len(dep.history("m")) == 3


def test_serve_errors_are_one_line(tmp_path: Path) -> None:
    make_registry(mk.storage(str(tmp_path)))
    result = CliRunner().invoke(main, ["serve", "nope@production", "--storage", str(tmp_path)])
    assert result.exit_code == 1
    assert "NotFoundError:" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["serve", "../x", "--storage", str(tmp_path)])
    assert result.exit_code == 1 and "InvalidNameError" in result.stderr


def _skops_store(path: Path) -> tuple[str, list[str]]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from tests.deploy.conftest import X, Y

    store = str(path / "store")
    reg = mk.Registry(mk.storage(store))
    model = HistGradientBoostingClassifier(max_iter=5).fit(X[["age", "spend"]], Y)
    reg.register("hgb", model, input_example=X[["age", "spend"]].head(2), serializer="skops")
    with pytest.raises(UntrustedTypesError) as info:
        reg.load("hgb")
    return store, list(info.value.types)


def test_serving_a_skops_model_says_which_trusted_flags_to_pass(tmp_path: Path) -> None:
    store, types = _skops_store(tmp_path)
    result = CliRunner().invoke(main, ["serve", "hgb", "--storage", store])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "mlops-kit serve hgb:1 " + " ".join(f"--trusted {t}" for t in types) in result.stderr


@pytest.mark.slow
def test_serve_trusted_loads_a_skops_model(tmp_path: Path) -> None:
    store, types = _skops_store(tmp_path)
    flags = [arg for t in types for arg in ("--trusted", t)]
    with serving(store, "hgb", *flags) as (client, _, _):
        body = {"dataframe_split": {"columns": ["age", "spend"], "data": [[30, 50.0]]}}
        r = client.post("/invocations", json=body)
        assert r.status_code == 200 and r.headers["x-model-version"] == "hgb:1", r.text


def test_a_busy_port_is_one_line_and_its_own_exit_status(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    make_registry(mk.storage(store))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "mlops_kit.cli", "serve", "m", "--storage", store, "--port", str(port)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 4 and proc.stdout == "", proc.stderr
    assert proc.stderr.splitlines() == [
        f"Error: ServeError: cannot listen for HTTP on 127.0.0.1:{port}: Address already in use; "
        "another program may hold the port: stop it or pick another with --port"
    ]
    assert mk.LocalDeployer(mk.Registry(mk.storage(store))).endpoints() == []  # nothing deployed


def test_serve_takes_its_storage_before_or_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = str(tmp_path / "store")
    make_registry(mk.storage(store))
    served: list[str] = []
    monkeypatch.setattr("mlops_kit.deploy.serve", lambda handle, **_: served.append(str(handle.version)))
    for args in (["--storage", store, "serve", "m:1"], ["serve", "m:1", "--storage", store]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.stderr
    assert served == ["m:1", "m:1"]


@pytest.mark.slow
def test_serve_with_a_storage_class_in_its_own_process(tmp_path: Path) -> None:
    from tests.cli.storage_plugin import InnerFolderStorage

    store = str(tmp_path / "store")
    make_registry(InnerFolderStorage(store))
    with serving(store, "m:1", "--storage-class", "tests.cli.storage_plugin:InnerFolderStorage") as (
        client,
        _,
        _,
    ):
        assert version(client) == "m:1"
    assert mk.LocalDeployer(mk.Registry(InnerFolderStorage(store))).status("m").primary == "m:1"
