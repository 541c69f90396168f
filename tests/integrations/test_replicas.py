"""One prediction log across replicas: three ``mlops-kit serve`` processes and an MLServer
replica on one store; the Monitor and ``ContinuousTraining`` read their rows as one, and
the loop promotes the canary on their summed counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining, Gate
from mlops_kit.cli import main
from tests.automation.test_loop import FEATURES, fit, sample, train
from tests.conftest import free_port
from tests.integrations._mlserver_env import ROOT
from tests.integrations._mlserver_proc import MLServer

REPLICAS = 3
SERVE = ["--endpoint", "churn", "--poll-interval", "0.5", "--storage"]


@contextmanager
def serving(store: str) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    """``mlops-kit serve`` joining endpoint churn (its canary included) in a process of its own."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlops_kit.cli",
            "serve",
            "churn@production",
            *SERVE,
            store,
            "--port",
            str(port),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.DEVNULL,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "mlops-kit serve exited"
            try:
                if client.get("/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "mlops-kit serve not ready"
            time.sleep(0.1)
        yield client, proc
    finally:
        client.close()
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM: the server shuts down gracefully, flushing its log and counts."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def mlserver_body(rows: pd.DataFrame) -> dict:
    return {
        "inputs": [
            {
                "name": name,
                "shape": [len(rows)],
                "datatype": "INT64" if name == "y" else "FP64",
                "data": rows[name].tolist(),
            }
            for name in [*FEATURES, "y"]
        ]
    }


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the first test of a session on a clean machine builds MLServer's venv
def test_serve_processes_and_an_mlserver_replica_write_one_log_the_loop_promotes_from(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    registry = mk.Registry(mk.storage(url))
    reference = sample(3000, seed=1)
    first = registry.register(
        "churn", fit(reference), metrics={"auc": 0.5}, input_example=reference[FEATURES].head(5)
    )
    registry.set_alias("churn", "production", first.version)
    deployer = mk.LocalDeployer(registry)
    deployer.deploy("churn@production", endpoint="churn")
    monitor = mk.Monitor(reference[FEATURES])
    loop = ContinuousTraining(
        monitor=monitor,
        pipeline=mk.Pipeline([train], name="retrain"),
        registry=registry,
        deployer=deployer,
        endpoint="churn",
        model="churn",
        gate=Gate(metric="auc", target="y"),
        rollout=mk.Canary(1.0, promote_after=20, min_requests=10),  # every request reaches it: exact counts
    )
    assert loop.step(sample(3000, seed=3, shift=1.5)).action == "canary"

    http, grpc = free_port(), free_port()
    models = tmp_path / "models"
    ports = [
        "--http-port",
        str(http),
        "--grpc-port",
        str(grpc),
        "--metrics-port",
        "0",
        "--flush-interval",
        "0.3",
    ]
    result = CliRunner().invoke(
        main,
        [
            "--storage",
            url,
            "export",
            "mlserver",
            "churn",
            "--out",
            str(models),
            "--host",
            "127.0.0.1",
            *ports,
        ],
    )
    assert result.exit_code == 0, result.output

    traffic = sample(5 * REPLICAS + 6, seed=5, shift=1.5)  # labelled: y goes along, kept in the log
    with ExitStack() as stack:
        servers = [stack.enter_context(serving(url)) for _ in range(REPLICAS)]
        mlserver = stack.enter_context(MLServer(models, http, grpc))
        assert mlserver.wait(), mlserver.log()
        for i, (client, _) in enumerate(servers):  # 5 requests each: none alone reaches promote_after=20
            for _, row in traffic.iloc[5 * i : 5 * i + 5].iterrows():
                body = {
                    "dataframe_split": {"columns": [*FEATURES, "y"], "data": [[row.x1, row.x2, int(row.y)]]}
                }
                answer = client.post("/invocations", json=body)
                assert answer.status_code == 200 and answer.headers["x-model-version"] == "churn:2", (
                    answer.text
                )
        for i in range(6):  # the MLServer replica serves the candidate as its own model
            rows = traffic.iloc[5 * REPLICAS + i : 5 * REPLICAS + i + 1]
            answer = httpx.post(
                f"{mlserver.http}/v2/models/churn-candidate/infer", json=mlserver_body(rows), timeout=30
            )
            assert answer.status_code == 200 and answer.json()["model_version"] == "churn:2", answer.text
        for _, proc in servers:
            stop(proc)
        mlserver.stop()  # unloads: our runtime flushes

    log = deployer.predictions("churn")
    assert len(log) == len(traffic) and set(log["version"]) == {"churn:2"}
    assert sorted(log["x1"]) == sorted(traffic["x1"])  # every replica's rows, once
    versions = deployer.status("churn").versions
    assert (versions["churn:2"].requests, versions["churn:2"].role) == (21, "candidate")

    report = monitor.check(log)
    assert report.n_current == 21
    ks = stats.ks_2samp(reference["x1"], traffic["x1"])
    assert report.columns["x1"].statistic == pytest.approx(ks.statistic, abs=1e-12)

    decision = loop.step(log)  # the loop reads the one log: drift on all rows, promotion on all counts
    assert decision.action == "promoted" and decision.primary == "churn:2"
    assert "promoted churn:2: 21 requests" in " ".join(decision.reasons)
