"""Runners that execute steps on this machine: in order, on threads, or in processes."""

from __future__ import annotations

import abc
import collections
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from mlops_kit.core.arguments import check_positive_int
from mlops_kit.core.errors import ConfigError, PipelineError
from mlops_kit.pipeline._state import RunState
from mlops_kit.pipeline._task import Outcome, StepMeta, StepTask

__all__ = ["Runner", "SequentialRunner", "ThreadRunner", "check_workers", "schedule"]


class Runner(abc.ABC):
    """How the steps of a run are executed. Every runner gives the same results.

    Callers use the public :meth:`check` and :meth:`run`; a new runner implements the
    protected hook :meth:`_run` (and, if it can fail to start, :meth:`_check`) with
    the public methods of :class:`RunState` only. Prove it with
    :func:`mlops_kit.testing.check_runner`.

    Examples
    --------
    A runner of one's own, here in step order like :class:`SequentialRunner`:

    >>> import mlops_kit as mk
    >>> from mlops_kit.pipeline import Runner
    >>> class InOrder(Runner):
    ...     def _run(self, state):
    ...         for name in state.tasks:
    ...             if state.blocked(name):
    ...                 state.skip(name)
    ...             else:
    ...                 state.record(name, state.execute(name))
    >>> @mk.step
    ... def one() -> int:
    ...     return 1
    >>> mk.Pipeline([one]).run(runner=InOrder(), storage=mk.MemoryStorage(), progress=False).outputs["one"]
    1
    """

    def check(self) -> None:
        """Raise :class:`~mlops_kit.ConfigError` if the runner cannot work here.

        :meth:`Pipeline.run` calls it before the run is recorded, so a runner that
        cannot start (no Dask client, say) leaves no failed run behind.
        """
        self._check()

    def run(self, state: RunState) -> None:
        """Execute every step of ``state``: each one gets an outcome (run, cached or skipped).

        Raises
        ------
        ConfigError
            If ``state`` is not a :class:`RunState`.
        PipelineError
            If the hook returned without recording an outcome for every step (a
            defect of the runner; the message names the steps).
        """
        if not isinstance(state, RunState):
            raise ConfigError(f"Runner.run expects the RunState of a run, got {type(state).__name__}.")
        self._run(state)
        missing = [name for name in state.tasks if name not in state.outcomes]
        if missing:
            raise PipelineError(
                f"{type(self).__name__}._run returned without an outcome for steps {missing}. A runner "
                "must call state.record(name, state.execute(name)) for every step, or state.skip(name) "
                "for the ones state.blocked(name) reports."
            )

    def _check(self) -> None:  # noqa: B027 (a hook: most runners need no check)
        """Hook: raise :class:`ConfigError` if the runner cannot work (called by :meth:`check`)."""

    @abc.abstractmethod
    def _run(self, state: RunState) -> None:
        """Hook: execute every step of ``state`` that is not blocked, recording each outcome."""

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
        for name in state.tasks:
            if state.blocked(name):
                state.skip(name)
                continue
            state.starting(name)
            state.record(name, state.execute(name))


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
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="mlops-step") as pool:
            try:
                schedule(
                    state,
                    lambda name, task: pool.submit(state.execute, name),
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
