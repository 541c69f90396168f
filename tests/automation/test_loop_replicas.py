"""The loop judges a canary on the traffic of every replica, not only of its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining, Gate
from tests.automation.test_loop import FEATURES, fit, sample, train, train_flaky

ROOT = Path(__file__).resolve().parents[2]
REPLICA = textwrap.dedent(
    """
    import sys
    import mlops_kit as mk
    url, n, x2 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    ep = mk.LocalDeployer(mk.Registry(mk.storage(url)), log_predictions=False).endpoint("churn")
    failures = 0
    for i in range(n):
        try:
            ep.predict({"x1": float(i % 3), "x2": x2})
        except Exception:
            failures += 1
    ep.close()  # flushes this replica's counts
    print(failures)
    """
)


def replicas(url: str, n: int, x2: float = 0.0) -> list[int]:
    """Two processes serving the endpoint at once, ``n`` requests each; their failures."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, url, str(n), str(x2)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    return [int(out.strip()) for out in outputs]


def loop_on(url: str, steps: list[Any]) -> tuple[ContinuousTraining, mk.LocalDeployer]:
    store = mk.storage(url)
    registry = mk.Registry(store)
    reference = sample(3000, seed=1)
    first = registry.register(
        "churn", fit(reference), metrics={"auc": 0.5}, input_example=reference[FEATURES].head(5)
    )
    registry.set_alias("churn", "production", first.version)
    deployer = mk.LocalDeployer(registry, log_predictions=False)
    deployer.deploy("churn@production", endpoint="churn")
    loop = ContinuousTraining(
        monitor=mk.Monitor(reference[FEATURES]),
        pipeline=mk.Pipeline(steps, name="retrain"),
        registry=registry,
        deployer=deployer,
        endpoint="churn",
        model="churn",
        gate=Gate(metric="auc", target="y"),
        rollout=mk.Canary(1.0, promote_after=20, min_requests=10),  # every request reaches it: exact counts
    )
    return loop, deployer


@pytest.mark.slow
def test_a_canary_served_by_two_replicas_is_promoted_on_their_combined_traffic(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    loop, deployer = loop_on(url, [train])
    assert loop.step(sample(3000, seed=3, shift=1.5)).action == "canary"
    assert replicas(url, 15) == [0, 0]  # 15 each: neither alone reaches promote_after=20
    versions = deployer.status("churn").versions
    assert (versions["churn:2"].requests, versions["churn:2"].role) == (30, "candidate")
    decision = loop.step(sample(3000, seed=4, shift=1.5))
    assert decision.action == "promoted" and decision.primary == "churn:2"
    assert "promoted churn:2: 30 requests" in " ".join(decision.reasons)


@pytest.mark.slow
def test_a_canary_failing_on_two_replicas_is_rolled_back_on_their_combined_errors(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    loop, deployer = loop_on(url, [train_flaky])
    assert loop.step(sample(3000, seed=6, shift=1.5)).action == "canary"
    assert replicas(url, 8, x2=3.0) == [8, 8]  # 8 each: neither alone reaches min_requests=10
    decision = loop.step(sample(3000, seed=7, shift=1.5))
    assert decision.action == "rolled_back"
    assert "erred on 100.0% of the 16 requests it answered" in " ".join(decision.reasons)
    status = deployer.status("churn")
    assert (status.primary, status.candidate) == ("churn:1", None)


def test_a_shadow_is_promoted_on_the_requests_it_mirrored() -> None:
    from tests.automation.test_loop import World
    from tests.deploy.conftest import wait_for

    world = World(rollout=mk.Shadow(promote_after=20, min_requests=10))
    try:
        assert world.loop.step(sample(3000, seed=3, shift=1.5)).action == "shadow"
        assert world.traffic(25) == 0

        def mirrored() -> int:
            return world.deployer.status("churn").versions["churn:2 (shadow)"].requests

        wait_for(lambda: mirrored() == 25, what="the shadow's requests")
        decision = world.loop.step(sample(3000, seed=4, shift=1.5))
        assert decision.action == "promoted" and decision.primary == "churn:2"
    finally:
        world.close()
