"""Runners are written against public names: ``Runner.run`` over the ``_run`` hook, ``RunState``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import mlops_kit as mk
from mlops_kit.pipeline import Runner, RunState
from mlops_kit.testing import check_runner


@mk.step
def base() -> int:
    return 2


@mk.step
def doubled(base: int) -> int:
    return 2 * base


@mk.step
def broken(base: int) -> int:
    raise ValueError("no")


@mk.step
def after_broken(broken: int) -> int:
    return broken


class PoolRunner(Runner):
    """A user's own thread-pool runner: public RunState methods only."""

    def _run(self, state: RunState) -> None:
        with ThreadPoolExecutor(2) as pool:
            for name in state.tasks:  # topological order; one at a time keeps it simple
                if state.blocked(name):
                    state.skip(name)
                else:
                    state.record(name, pool.submit(state.execute, name).result())


class ForgetfulRunner(Runner):
    def _run(self, state: RunState) -> None:
        first = next(iter(state.tasks))
        state.record(first, state.execute(first))


class OldStyleRunner(Runner):
    """Written before ``run``/``check`` existed: overrides the hooks only."""

    checked = False

    def _check(self) -> None:
        OldStyleRunner.checked = True

    def _run(self, state: RunState) -> None:
        for name in state.tasks:
            state.record(name, state.execute(name))


def test_a_runner_built_on_public_names_runs_a_pipeline() -> None:
    store = mk.MemoryStorage()
    run = mk.Pipeline([base, doubled]).run(runner=PoolRunner(), storage=store, progress=False)
    assert run.outputs["doubled"] == 4
    again = mk.Pipeline([base, doubled]).run(runner=PoolRunner(), storage=store, progress=False)
    assert [s.cache_hit for s in again.steps] == [True, True]


def test_a_failed_step_blocks_its_dependents_under_a_user_runner() -> None:
    pipe = mk.Pipeline([base, broken, after_broken])
    with pytest.raises(mk.PipelineError) as info:
        pipe.run(runner=PoolRunner(), storage=mk.MemoryStorage(), progress=False)
    assert [s.status for s in info.value.run.steps] == ["succeeded", "failed", "skipped"]


def test_a_runner_that_leaves_steps_without_an_outcome_is_reported() -> None:
    with pytest.raises(
        mk.PipelineError, match=r"ForgetfulRunner._run returned without an outcome.*'doubled'"
    ):
        mk.Pipeline([base, doubled]).run(runner=ForgetfulRunner(), storage=mk.MemoryStorage(), progress=False)


def test_runners_that_override_only_the_hooks_keep_working() -> None:
    run = mk.Pipeline([base, doubled]).run(
        runner=OldStyleRunner(), storage=mk.MemoryStorage(), progress=False
    )
    assert OldStyleRunner.checked and run.outputs["doubled"] == 4


def test_run_refuses_anything_but_a_run_state() -> None:
    with pytest.raises(mk.ConfigError, match="expects the RunState of a run, got dict"):
        mk.SequentialRunner().run({})  # type: ignore[arg-type]


def test_our_runners_pass_check_runner(runner: Runner) -> None:
    check_runner(runner)


class IgnoresBlocked(Runner):
    """Runs the dependents of a failed step as if nothing happened."""

    def _run(self, state: RunState) -> None:
        for name in state.tasks:
            state.record(name, state.execute(name))


class CachesNothingRunner(Runner):
    """Hides every cache hit by recording a fresh outcome from a run without storage."""

    def _run(self, state: RunState) -> None:
        state.storage = None
        for name in state.tasks:
            if state.blocked(name):
                state.skip(name)
            else:
                state.record(name, state.execute(name))


def test_a_runner_that_runs_blocked_steps_fails_check_runner() -> None:
    with pytest.raises(
        AssertionError, match=r"check_runner\(IgnoresBlocked\): a failing step must end the run"
    ):
        check_runner(IgnoresBlocked())


def test_a_runner_that_bypasses_the_cache_fails_check_runner() -> None:
    with pytest.raises(
        AssertionError, match=r"check_runner\(CachesNothingRunner\).*cache hits of a repeated run"
    ):
        check_runner(CachesNothingRunner())


def test_check_runner_refuses_what_is_not_a_runner() -> None:
    with pytest.raises(AssertionError, match=r"is not a mlops_kit\.pipeline\.Runner"):
        check_runner(object())  # type: ignore[arg-type]
