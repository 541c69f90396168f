"""The rollout's settings live on the rollout; the loop's old keyword arguments still work."""

from __future__ import annotations

from typing import Any

import pytest

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining, Gate
from tests.automation.test_loop import World, sample, train


def loop_with(world: World, **options: Any) -> ContinuousTraining:
    return ContinuousTraining(
        monitor=world.monitor,
        pipeline=mk.Pipeline([train], name="retrain"),
        registry=world.registry,
        deployer=world.deployer,
        endpoint="churn",
        model="churn",
        gate=Gate(target="y"),
        **options,
    )


def test_a_canary_carries_its_promote_and_rollback_settings() -> None:
    canary = mk.Canary(0.1, promote_after=200, max_error_rate=0.02, min_requests=50, metric_tolerance=0.01)
    assert (canary.promote_after, canary.max_error_rate, canary.min_requests) == (200, 0.02, 50)
    assert canary.metric_tolerance == 0.01
    assert repr(canary) == (
        "Canary(weight=0.1, key=None, promote_after=200, max_error_rate=0.02, min_requests=50, "
        "metric_tolerance=0.01)"
    )
    assert repr(mk.Canary(0.1)) == "Canary(weight=0.1, key=None)"  # defaults stay out of the way
    defaults = mk.Shadow()
    assert (defaults.promote_after, defaults.max_error_rate, defaults.min_requests) == (100, 0.05, 20)
    assert repr(mk.Shadow(promote_after=5)) == "Shadow(promote_after=5)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"promote_after": 0}, "promote_after= must be a positive integer"),
        ({"min_requests": True}, "min_requests= must be a positive integer"),
        ({"max_error_rate": 1.0}, r"max_error_rate: .*\[0, 1\)"),
        ({"metric_tolerance": -0.1}, "metric_tolerance: .*non-negative"),
    ],
)
def test_bad_rollout_settings(options: dict[str, Any], message: str) -> None:
    with pytest.raises(mk.ConfigError, match=message):
        mk.Canary(0.1, **options)
    with pytest.raises(mk.ConfigError, match=message):
        mk.Shadow(**options)


def test_the_loop_uses_the_rollouts_settings(world: World) -> None:
    loop = loop_with(world, rollout=mk.Canary(0.5, promote_after=20, min_requests=10))
    assert loop.step(sample(4000, seed=3, shift=1.5)).action == "canary"
    assert world.traffic(80) == 0
    assert loop.step(sample(4000, seed=4, shift=1.5)).action == "promoted"


def test_the_old_keyword_arguments_still_work_with_a_warning(world: World) -> None:
    with pytest.warns(
        DeprecationWarning, match=r"rollout=Canary\(\.\.\., promote_after=20, min_requests=10\)"
    ):
        loop = loop_with(world, rollout=mk.Canary(0.5), promote_after=20, min_requests=10)
    assert loop.rollout == mk.Canary(0.5, promote_after=20, min_requests=10)
    assert (loop.promote_after, loop.min_requests, loop.max_error_rate) == (20, 10, 0.05)
    assert loop.step(sample(4000, seed=3, shift=1.5)).action == "canary"
    assert world.traffic(80) == 0
    assert loop.step(sample(4000, seed=4, shift=1.5)).action == "promoted"


def test_old_and_new_settings_that_disagree_are_refused(world: World) -> None:
    with (
        pytest.raises(mk.ConfigError, match=r"promote_after=20 and rollout=Canary.*promote_after=30"),
        pytest.warns(DeprecationWarning, match="deprecated"),
    ):
        loop_with(world, rollout=mk.Canary(0.5, promote_after=30), promote_after=20)


def test_with_replace_the_old_settings_judge_a_rollout_found_on_the_endpoint(world: World) -> None:
    with pytest.warns(DeprecationWarning, match=r"ContinuousTraining\(promote_after=7\) is deprecated"):
        loop = loop_with(world, rollout=mk.Replace(), promote_after=7)
    assert loop.rollout == mk.Replace() and loop.promote_after == 7


@pytest.fixture
def world() -> Any:
    w = World()
    yield w
    w.close()
