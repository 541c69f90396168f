"""A step records what it did even when it fails part-way, and the next step goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining
from tests.automation.test_loop import World, sample


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The docs' loop on 800-row batches: the monitor's test then needs raw reference rows.

    Its monitor is built without ``storage=``, so it would look in ``./.mlops`` (empty here).
    """
    monkeypatch.chdir(tmp_path)
    world = World()
    yield world
    world.close()


def to_canary(world: World) -> None:
    first = world.loop.step(sample(800, seed=3, shift=1.5))
    assert first.action == "canary", first
    assert world.traffic(80) == 0


def fresh_loop(world: World) -> ContinuousTraining:
    """The same loop built anew, as by another process: nothing carried over but storage."""
    return ContinuousTraining(
        monitor=mk.Monitor(sample(3000, seed=1)[["x1", "x2"]], clock=world.clock),
        pipeline=world.loop.pipeline,
        registry=world.registry,
        deployer=world.deployer,
        endpoint="churn",
        model="churn",
        gate=world.loop.gate,
        rollout=mk.Canary(0.5, promote_after=20, min_requests=10),
        clock=world.clock,
    )


def test_the_moved_reference_is_readable_by_a_monitor_without_storage(small: World) -> None:
    to_canary(small)
    promoted = small.loop.step(sample(800, seed=4, shift=1.5))
    assert (promoted.action, promoted.primary, promoted.error) == ("promoted", "churn:2", None)
    assert any("churn-training:1" in r for r in promoted.reasons)  # says what drift is measured against
    # After the promote, drift is measured against what churn:2 learned from: no more drift.
    after = small.loop.step(sample(800, seed=5, shift=1.5))
    assert after.drift is not None and not after.drift.drifted
    again = fresh_loop(small).step(sample(800, seed=6, shift=1.5))
    assert again.drift is not None and not again.drift.drifted and again.error is None
    assert [d.action for d in small.loop.decisions()] == ["canary", "promoted", "none", "none"]


def test_a_step_failing_after_the_promote_records_what_was_done(
    small: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_canary(small)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise mk.StorageError("registry storage is down")

    monkeypatch.setattr(small.registry, "set_alias", broken)
    with pytest.raises(mk.StorageError, match="registry storage is down"):
        small.loop.step(sample(800, seed=4, shift=1.5))
    failed = small.loop.decisions()[-1]
    assert (failed.action, failed.primary) == ("promoted", "churn:2")  # what was done
    assert failed.error is not None and "StorageError: registry storage is down" in failed.error
    assert failed.done == ("promoted churn:2",)
    assert "failed" in str(failed) and "promoted churn:2" in str(failed)
    assert small.registry.get("churn@production").version == 1  # the alias did not move

    monkeypatch.undo()
    following = fresh_loop(small).step(sample(800, seed=5, shift=1.5))
    assert following.error is None
    assert small.registry.get("churn@production").version == 2  # caught up
    assert any("caught up" in r and "churn@production" in r for r in following.reasons)


def test_a_failure_before_any_effect_says_nothing_was_done(
    small: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(batch: Any) -> None:
        raise RuntimeError("monitor exploded")

    monkeypatch.setattr(small.loop.monitor, "check", broken)
    with pytest.raises(RuntimeError, match="monitor exploded"):
        small.loop.step(sample(800, seed=3, shift=1.5))
    (failed,) = small.loop.decisions()
    assert (failed.action, failed.done, failed.primary) == ("none", (), "churn:1")
    assert failed.error is not None and failed.error.startswith("checking drift failed: RuntimeError")
    assert "nothing was changed" in failed.reasons[-1]


def test_an_unrecorded_change_is_noticed_by_the_next_step(
    small: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_canary(small)
    store = small.store
    append = store.append

    def lose_decisions(prefix: str, record: Any) -> int:  # a crash just before the decision is stored
        if prefix.startswith("automation/"):
            raise mk.StorageError("lost")
        return append(prefix, record)

    monkeypatch.setattr(store, "append", lose_decisions)
    with pytest.raises(mk.StorageError, match="lost"):
        small.loop.step(sample(800, seed=4, shift=1.5))
    monkeypatch.undo()
    assert [d.action for d in small.loop.decisions()] == ["canary"]
    following = small.loop.step(sample(800, seed=5, shift=1.5))
    assert any("since decision 1" in r and "churn:2" in r for r in following.reasons), following.reasons
