"""Runners that execute steps on this machine: in order, on threads, or in processes."""

from __future__ import annotations

import abc
import collections
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from mlops_kit.core.arguments import check_positive_int
from mlops_kit.pipeline._cache import run_here
from mlops_kit.pipeline._state import RunState
from mlops_kit.pipeline._task import Outcome, StepMeta, StepTask

__all__ = ["Runner", "SequentialRunner", "ThreadRunner", "check_workers", "schedule"]


class Runner(abc.ABC):
    """How the steps of a run are executed. Every runner gives the same results."""

    def _check(self) -> None:  # noqa: B027 (a hook: most runners need no check)
        """Raise :class:`ConfigError` if the runner cannot work (called before the run is recorded)."""

    @abc.abstractmethod
    def _run(self, state: RunState) -> None:
        """Execute every step of ``state`` that is not blocked, recording each outcome."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SequentialRunner(Runner):
    """Run the steps one after the other in this thread (the default).

    Examples
    --------
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def total(values: list) -> int:
    ...     return sum(values)
    >>> pipe = mk.Pipeline([total], name="sum")
    >>> run = pipe.run(inputs={"values": [1, 2, 3]}, runner=mk.SequentialRunner(),
    ...                storage=mk.MemoryStorage(), progress=False)
    >>> run.outputs["total"]
    6
    """

    def _run(self, state: RunState) -> None:
        storage, run_id, clock = state.storage, state.run_id, state.clock
        for name, task in state.tasks.items():
            if state.blocked(name):
                state.record(name, Outcome(StepMeta(name, "skipped"), {}))
                continue
            state.starting(name)
            state.record(name, run_here(task, state.args(name), storage, run_id, clock))


class ThreadRunner(Runner):
    """Run independent steps concurrently on a pool of threads.

    Good for steps that release the GIL (I/O, numpy, pandas, scikit-learn with
    native code). Each step's metrics stay with that step.

    Parameters
    ----------
    max_workers : int, optional
        Threads in the pool (default: ``min(32, cpu count + 4)``).

    Examples
    --------
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def a() -> int:
    ...     return 1
    >>> @mk.step
    ... def b() -> int:
    ...     return 2
    >>> @mk.step
    ... def c(a: int, b: int) -> int:
    ...     return a + b
    >>> run = mk.Pipeline([a, b, c]).run(runner=mk.ThreadRunner(max_workers=2),
    ...                                  storage=mk.MemoryStorage(), progress=False)
    >>> run.outputs["c"]
    3
    """

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = check_workers(max_workers)

    def __repr__(self) -> str:
        return f"ThreadRunner(max_workers={self.max_workers})"

    def _run(self, state: RunState) -> None:
        storage, run_id, clock = state.storage, state.run_id, state.clock
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="mlops-step") as pool:
            try:
                schedule(
                    state,
                    lambda name, task: pool.submit(run_here, task, state.args(name), storage, run_id, clock),
                    lambda name, task, future: future.result(),
                )
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def schedule(
    state: RunState,
    start: Callable[[str, StepTask], Future[Any] | Outcome],
    finish: Callable[[str, StepTask, Future[Any]], Outcome],
) -> None:
    """Run steps as soon as their inputs are ready; ``start`` may answer at once (a cache hit)."""
    graph, tasks = state.graph, state.tasks
    waiting = {name: len(graph.deps[name]) for name in tasks}
    ready = collections.deque(name for name in tasks if waiting[name] == 0)
    running: dict[Future[Any], str] = {}

    def done(name: str, outcome: Outcome) -> None:
        state.record(name, outcome)
        for consumer in graph.consumers[name]:
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                ready.append(consumer)

    while ready or running:
        while ready:
            name = ready.popleft()
            if state.blocked(name):
                done(name, Outcome(StepMeta(name, "skipped"), {}))
                continue
            state.starting(name)
            started = start(name, tasks[name])
            if isinstance(started, Outcome):
                done(name, started)
            else:
                running[started] = name
        if running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                done(name, finish(name, tasks[name], future))


def check_workers(max_workers: int | None) -> int | None:
    return None if max_workers is None else check_positive_int(max_workers, "max_workers", hint="or None")
