"""Client mistakes (bad input) are counted apart and never roll back a healthy canary."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import mlops_kit as mk
from tests.automation.test_loop import World, sample, train_flaky
from tests.deploy.conftest import running

MALFORMED = 60  # with a 50% canary, fewer than 10 reach the candidate with p = 1.5e-8 (binom.cdf(9, 60, 0.5))


@pytest.fixture
def canary() -> Iterator[World]:
    world = World()
    first = world.loop.step(sample(4000, seed=3, shift=1.5))
    assert first.action == "canary"
    yield world
    world.close()


def check_promoted_despite(world: World) -> None:
    stats = world.deployer.status("churn").versions["churn:2"]
    assert stats.errors == 0 and stats.client_errors >= 10  # refused, not failed
    decision = world.loop.step(sample(4000, seed=4, shift=1.5))
    assert decision.action == "promoted", decision
    rollout = decision.rollout
    assert rollout is not None and rollout.candidate == "churn:2"
    assert (rollout.errors, rollout.client_errors) == (0, stats.client_errors)
    assert rollout.requests == stats.requests
    told = " ".join(decision.reasons)
    assert f"{stats.client_errors} requests refused for bad input" in told
    assert "not counted against it" in told


def test_schema_errors_in_process_are_not_the_candidates_errors(canary: World) -> None:
    for _ in range(MALFORMED):
        with pytest.raises(mk.SchemaError):
            canary.endpoint.predict({"x1": 1.0})  # no x2
    assert canary.traffic(80) == 0
    check_promoted_despite(canary)


def test_rejected_http_requests_are_not_the_candidates_errors(canary: World) -> None:
    bad = {"dataframe_split": {"columns": ["x1"], "data": [[1.0]]}}
    good = {"dataframe_split": {"columns": ["x1", "x2"], "data": [[1.0, 0.5]]}}
    with running(canary.endpoint.asgi_app()) as url, httpx.Client(base_url=url, timeout=60) as client:
        codes = {client.post("/invocations", json=bad).status_code for _ in range(MALFORMED)}
        assert codes <= {400, 422}  # the client's mistake: a 4xx
        assert {client.post("/invocations", json=good).status_code for _ in range(80)} == {200}
    check_promoted_despite(canary)


def test_model_failures_still_count() -> None:
    """The candidate's own failures still roll it back, and the decision tells the two apart."""
    world = World(steps=[train_flaky])
    try:
        assert world.loop.step(sample(4000, seed=3, shift=1.5)).action == "canary"
        for _ in range(MALFORMED):
            with pytest.raises(mk.SchemaError):
                world.endpoint.predict({"x1": 1.0})
        assert world.traffic(60, x2=3.0) > 10  # the candidate's predict raises on these
        stats = world.deployer.status("churn").versions["churn:2"]
        answered = stats.requests - stats.client_errors
        assert stats.errors == answered and stats.client_errors >= 10
        decision = world.loop.step(sample(4000, seed=4, shift=1.5))
        assert decision.action == "rolled_back"
        assert decision.rollout is not None
        assert (decision.rollout.errors, decision.rollout.client_errors) == (answered, stats.client_errors)
        assert f"erred on 100.0% of the {answered} requests it answered" in " ".join(decision.reasons)
    finally:
        world.close()
