"""The loop takes anything that behaves like a monitor, a deployer and a pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining, Gate
from tests.automation.test_loop import World, fit, sample


class AlertingMonitor:
    """A user's wrapper around a monitor: not a subclass, the same members."""

    def __init__(self, inner: mk.Monitor, alerts: list[str]) -> None:
        self.inner, self.alerts = inner, alerts
        self.columns, self.target, self.prediction = inner.columns, inner.target, inner.prediction

    def check(self, current: Any) -> Any:
        report = self.inner.check(current)
        if report.drifted:
            self.alerts.append("drift")
        return report

    def with_reference(self, reference: Any) -> AlertingMonitor:
        return AlertingMonitor(self.inner.with_reference(reference), self.alerts)


class AuditedDeployer:
    """An in-house deployer: delegates to ours and keeps its own audit of what it was asked."""

    def __init__(self, inner: mk.LocalDeployer) -> None:
        self.inner = inner
        self.asked: list[str] = []

    def deploy(self, ref: Any, *, endpoint: str | None = None, strategy: Any = None, reason: str = "") -> Any:
        self.asked.append(f"deploy {ref}")
        return self.inner.deploy(ref, endpoint=endpoint, strategy=strategy, reason=reason)

    def promote(self, endpoint: str, *, reason: str = "") -> Any:
        self.asked.append(f"promote {endpoint}")
        return self.inner.promote(endpoint, reason=reason)

    def rollback(self, endpoint: str, *, reason: str = "") -> Any:
        return self.inner.rollback(endpoint, reason=reason)

    def status(self, endpoint: str) -> mk.EndpointStatus:
        return self.inner.status(endpoint)

    def endpoints(self) -> list[str]:
        return self.inner.endpoints()


@dataclass
class Run:
    id: str
    outputs: dict[str, Any]
    status: str = "succeeded"
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


class PlainTrainer:
    """A pipeline of the user's own: fits on the batch, no mk.Pipeline involved."""

    name, inputs, outputs = "plain", ["data"], ["model"]

    def __init__(self) -> None:
        self.runs = 0

    def run(self, inputs: dict[str, pd.DataFrame] | None = None, **options: Any) -> Run:
        assert inputs is not None
        self.runs += 1
        return Run(id=f"plain-{self.runs}", outputs={"model": fit(inputs["data"])})


def test_a_users_monitor_deployer_and_pipeline_drive_the_loop() -> None:
    world = World()
    try:
        alerts: list[str] = []
        deployer, trainer = AuditedDeployer(world.deployer), PlainTrainer()
        loop = ContinuousTraining(
            monitor=AlertingMonitor(world.monitor, alerts),
            pipeline=trainer,
            registry=world.registry,
            deployer=deployer,
            endpoint="churn",
            model="churn",
            gate=Gate(target="y"),
            rollout=mk.Canary(0.5, promote_after=20, min_requests=10),
        )
        first = loop.step(sample(4000, seed=3, shift=1.5))
        assert (first.action, first.run_id, alerts) == ("canary", "plain-1", ["drift"])
        assert world.registry.get("churn:2").run is not None
        assert world.traffic(80) == 0
        assert loop.step(sample(4000, seed=4, shift=1.5)).action == "promoted"
        assert deployer.asked == ["deploy churn:2", "promote churn"]
        assert isinstance(loop.monitor, AlertingMonitor)  # the reference moved, the wrapper stayed
    finally:
        world.close()


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("monitor", r"monitor must behave like mk.Monitor: object lacks \['check', 'with_reference'"),
        ("deployer", r"deployer must behave like mk.LocalDeployer: object lacks \['deploy', 'promote'"),
        ("pipeline", r"pipeline must behave like mk.Pipeline: object lacks \['run', 'name'"),
    ],
)
def test_an_object_missing_members_is_refused_naming_them(what: str, message: str) -> None:
    world = World()
    try:
        arguments: dict[str, Any] = {
            "monitor": world.monitor,
            "pipeline": PlainTrainer(),
            "deployer": world.deployer,
            what: object(),
        }
        with pytest.raises(mk.ConfigError, match=message):
            ContinuousTraining(
                registry=world.registry, endpoint="churn", model="churn", gate=Gate(target="y"), **arguments
            )
    finally:
        world.close()
