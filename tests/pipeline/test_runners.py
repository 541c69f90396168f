"""Every runner gives the same outputs and the same RunRecord shape; runner-specific behaviour."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

import mlops_kit as mk
from mlops_kit.pipeline import Runner
from mlops_kit.pipeline._result import Deferred


@mk.step
def source(n: int) -> list:
    return list(range(n))


@mk.step
def left(source: list) -> int:
    mk.log_metric("left_sum", sum(source))
    return sum(source)


@mk.step
def right(source: list, power: int = 2) -> list:
    for i, x in enumerate(source):
        mk.log_metric("value", x**power, step=i)
    return [x**power for x in source]


@mk.step(outputs=("combined", "size"))
def join(left: int, right: list) -> tuple:
    return left + sum(right), len(right)


@mk.step
def pid(size: int) -> int:
    return os.getpid()


DIAMOND = mk.Pipeline([source, left, right, join, pid], name="diamond")


def shape(run: mk.RunRecord) -> list[tuple[Any, ...]]:
    return [
        (s.name, s.status, s.cache_hit, sorted(s.outputs), [(p.name, p.value, p.step) for p in s.metrics])
        for s in run.steps
    ]


def test_every_runner_gives_the_same_results(runner: Runner) -> None:
    store = mk.MemoryStorage()
    run = DIAMOND.run(inputs={"n": 4}, storage=store, runner=runner, progress=False)
    reference = DIAMOND.run(inputs={"n": 4}, storage=mk.MemoryStorage(), progress=False)
    assert run.status == "succeeded"
    assert run.runner == type(runner).__name__
    assert {k: run.outputs[k] for k in ("source", "left", "right", "combined", "size")} == {
        "source": [0, 1, 2, 3],
        "left": 6,
        "right": [0, 1, 4, 9],
        "combined": 20,
        "size": 4,
    }
    assert shape(run) == shape(reference)
    assert run.metrics == reference.metrics == {"left_sum": 6.0, "value": 9.0}
    assert [s.outputs["source"].fingerprint for s in run.steps[:1]] == [
        s.outputs["source"].fingerprint for s in reference.steps[:1]
    ]
    if isinstance(runner, (mk.ProcessRunner, mk.DaskRunner)):
        assert run.outputs["pid"] != os.getpid()  # the steps ran in other processes
    again = DIAMOND.run(inputs={"n": 4}, storage=store, runner=runner, progress=False)
    assert [s.cache_hit for s in again.steps] == [True] * 5
    assert again.outputs["combined"] == 20
    assert again.metrics == run.metrics


@mk.step
def fail_on_odd(left: int) -> int:
    if left % 2:
        raise ValueError(f"odd total {left}")
    return left


@mk.step
def after_failure(fail_on_odd: int) -> int:
    return fail_on_odd


def test_every_runner_records_failures_the_same_way(runner: Runner) -> None:
    pipe = mk.Pipeline([source, left, right, fail_on_odd, after_failure], name="failing")
    store = mk.MemoryStorage()
    with pytest.raises(mk.PipelineError, match="Step 'fail_on_odd' failed: ValueError: odd total 3") as info:
        pipe.run(inputs={"n": 3}, storage=store, runner=runner, progress=False)
    assert isinstance(info.value.__cause__, ValueError)
    record = pipe.runs(store)[0]
    assert [(s.name, s.status) for s in record.steps] == [
        ("source", "succeeded"),
        ("left", "succeeded"),
        ("right", "succeeded"),
        ("fail_on_odd", "failed"),
        ("after_failure", "skipped"),
    ]
    assert "raise ValueError" in (record.step("fail_on_odd").traceback or "")


def test_retries(runner: Runner, tmp_path: Path) -> None:
    attempts_file = tmp_path / "attempts"

    @mk.step(retries=2)
    def flaky(n: int) -> int:
        with open(attempts_file, "a") as f:  # a file: counts attempts across processes
            f.write("x")
        if len(attempts_file.read_text()) < 3:
            raise ConnectionError("try again")
        return n

    run = mk.Pipeline([flaky]).run(inputs={"n": 5}, storage=mk.MemoryStorage(), runner=runner, progress=False)
    assert run.outputs["flaky"] == 5
    assert len(attempts_file.read_text()) == 3
    if not isinstance(runner, mk.DaskRunner):  # Dask retries the task itself and does not say how often
        assert run.step("flaky").attempts == 3


def test_thread_runner_runs_independent_branches_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=20)

    @mk.step
    def a() -> int:
        barrier.wait()  # only returns if b is running at the same time
        return 1

    @mk.step
    def b() -> int:
        barrier.wait()
        return 2

    run = mk.Pipeline([a, b]).run(
        runner=mk.ThreadRunner(max_workers=2), storage=mk.MemoryStorage(), progress=False
    )
    assert (run.outputs["a"], run.outputs["b"]) == (1, 2)


def test_process_runner_names_the_step_whose_function_cannot_be_pickled(
    process_runner: mk.ProcessRunner,
) -> None:
    lock = threading.Lock()

    @mk.step
    def uses_lock(n: int) -> int:
        with lock:
            return n

    with pytest.raises(
        mk.PipelineError, match="Step 'uses_lock' cannot be sent to a worker process: its function"
    ):
        mk.Pipeline([uses_lock]).run(
            inputs={"n": 1}, runner=process_runner, storage=mk.MemoryStorage(), progress=False
        )


def test_process_runner_names_the_input_that_cannot_be_pickled(process_runner: mk.ProcessRunner) -> None:
    @mk.step
    def take(thing: object) -> int:
        return 1

    with pytest.raises(mk.PipelineError, match=r"its input 'thing' \(lock\) cannot be pickled"):
        mk.Pipeline([take]).run(
            inputs={"thing": threading.Lock()}, runner=process_runner, cache=False, progress=False
        )


def test_process_runner_names_the_step_whose_output_cannot_be_pickled(
    process_runner: mk.ProcessRunner,
) -> None:
    @mk.step
    def make_lock(n: int) -> Any:
        return threading.Lock()

    with pytest.raises(mk.PipelineError, match="Output 'make_lock' of step 'make_lock' cannot be sent back"):
        mk.Pipeline([make_lock]).run(inputs={"n": 1}, runner=process_runner, cache=False, progress=False)


def test_process_runner_recovers_from_a_dead_worker(process_runner: mk.ProcessRunner) -> None:
    @mk.step
    def die(n: int) -> int:
        os._exit(3)

    with pytest.raises(mk.PipelineError, match="The worker process running step 'die' died"):
        mk.Pipeline([die]).run(
            inputs={"n": 1}, runner=process_runner, storage=mk.MemoryStorage(), progress=False
        )
    run = DIAMOND.run(inputs={"n": 2}, runner=process_runner, storage=mk.MemoryStorage(), progress=False)
    assert run.outputs["combined"] == 2


def test_runner_options_are_checked() -> None:
    with pytest.raises(mk.ConfigError, match="max_workers= must be a positive integer"):
        mk.ThreadRunner(max_workers=0)
    with pytest.raises(mk.ConfigError, match="mp_context must be one of"):
        mk.ProcessRunner(mp_context="teleport")
    assert repr(mk.ThreadRunner(3)) == "ThreadRunner(max_workers=3)"


@pytest.mark.dask
def test_dask_keeps_values_on_the_cluster_until_asked(dask_client: Any) -> None:
    run = DIAMOND.run(inputs={"n": 3}, runner=mk.DaskRunner(dask_client), cache=False, progress=False)
    assert all(isinstance(v, Deferred) for v in run._values.values())
    assert run.outputs["right"] == [0, 1, 4]
    assert run._values["right"] == [0, 1, 4]  # fetched once, then kept


@pytest.mark.dask
def test_dask_workers_write_the_cache_to_shared_storage(dask_client: Any, tmp_path: Path) -> None:
    store = mk.storage(str(tmp_path / "store"))
    first = DIAMOND.run(inputs={"n": 3}, runner=mk.DaskRunner(dask_client), storage=store, progress=False)
    assert first.status == "succeeded"
    keys_after_first = store.list("cache")
    assert len(keys_after_first) == 5
    again = DIAMOND.run(inputs={"n": 3}, storage=store, progress=False)  # another runner reads them
    assert [s.cache_hit for s in again.steps] == [True] * 5
    assert again.outputs["combined"] == first.outputs["combined"]


@pytest.mark.dask
def test_dask_runner_uses_the_current_client(dask_client: Any) -> None:
    run = mk.Pipeline([source]).run(inputs={"n": 2}, runner=mk.DaskRunner(), cache=False, progress=False)
    assert run.outputs["source"] == [0, 1]


def test_dask_runner_without_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import distributed

    def no_client() -> Any:
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    store = mk.MemoryStorage()
    with pytest.raises(mk.ConfigError, match="no current Dask client: pass one"):
        mk.Pipeline([source]).run(inputs={"n": 2}, runner=mk.DaskRunner(), storage=store, progress=False)
    assert store.list() == []  # refused before anything was recorded


def test_dask_runner_names_the_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(mk.ConfigError, match=r"pip install 'mlops-kit\[dask\]'") as info:
        mk.DaskRunner()
    assert isinstance(info.value, ImportError)


@pytest.mark.dask
def test_dask_asks_by_task_when_metadata_is_not_in_worker_memory(dask_client: Any, monkeypatch) -> None:
    from mlops_kit.pipeline import _dask

    monkeypatch.setattr(_dask, "_collect", lambda client, futures: {})  # as if every result had moved
    run = DIAMOND.run(inputs={"n": 3}, runner=mk.DaskRunner(dask_client), cache=False, progress=False)
    assert run.status == "succeeded"
    assert run.metrics == {"left_sum": 3.0, "value": 4.0}
    assert run.outputs["combined"] == 8
