"""``ProcessRunner``: independent steps in worker processes, shipped with cloudpickle."""

from __future__ import annotations

import multiprocessing
import threading
import weakref
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from mlops_kit.core.clock import Clock
from mlops_kit.core.errors import ConfigError, PipelineError
from mlops_kit.pipeline._cache import persist_quietly, prepare
from mlops_kit.pipeline._runners import Runner, check_workers, schedule
from mlops_kit.pipeline._state import RunState
from mlops_kit.pipeline._task import Outcome, StepMeta, StepTask, execute

__all__ = ["ProcessRunner"]


class ProcessRunner(Runner):
    """Run independent steps concurrently in worker processes.

    Steps and their inputs are sent with cloudpickle, so functions defined in a
    notebook work too. Cache lookups and writes happen in this process; only the
    call itself runs in a worker. The pool is started on first use and reused by
    later runs with this runner; :meth:`close` (or a ``with`` block) stops it.

    Parameters
    ----------
    max_workers : int, optional
        Worker processes (default: the number of CPUs).
    mp_context : str, optional
        ``"forkserver"`` (default on POSIX: safe with threads), ``"spawn"`` or
        ``"fork"``.

    Raises
    ------
    PipelineError
        When the run meets a step, an input or an output that cannot be pickled;
        the message names the step.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def square(x: int) -> int:
    ...     return x * x
    >>> with mk.ProcessRunner(max_workers=1) as runner:
    ...     run = mk.Pipeline([square]).run(inputs={"x": 7}, runner=runner,
    ...                                      storage=mk.MemoryStorage(), progress=False)
    >>> run.outputs["square"]
    49
    """

    def __init__(self, max_workers: int | None = None, *, mp_context: str | None = None) -> None:
        self.max_workers = check_workers(max_workers)
        methods = multiprocessing.get_all_start_methods()
        if mp_context is None:
            mp_context = "forkserver" if "forkserver" in methods else "spawn"
        if mp_context not in methods:
            raise ConfigError(f"mp_context must be one of {methods}, got {mp_context!r}.")
        self.mp_context = mp_context
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ProcessRunner(max_workers={self.max_workers}, mp_context={self.mp_context!r})"

    def __enter__(self) -> ProcessRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (a later run starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __getstate__(self) -> dict[str, Any]:
        return {"max_workers": self.max_workers, "mp_context": self.mp_context}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["max_workers"], mp_context=state["mp_context"])  # type: ignore[misc]

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context(self.mp_context)
                self._pool = ProcessPoolExecutor(self.max_workers, mp_context=context)
                weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
            return self._pool

    def _run(self, state: RunState) -> None:
        pool = self._executor()
        storage, clock = state.storage, state.clock
        keys: dict[str, str | None] = {}

        def start(name: str, task: StepTask) -> Future[bytes] | Outcome:
            keys[name], kwargs = prepare(task, state.args(name), storage, clock)
            if isinstance(kwargs, Outcome):
                return kwargs
            payload = _pickle_call(task, kwargs, clock)
            if isinstance(payload, Outcome):
                return payload
            return pool.submit(_execute_pickled, payload)

        def finish(name: str, task: StepTask, future: Future[bytes]) -> Outcome:
            import cloudpickle

            try:
                outcome: Outcome = cloudpickle.loads(future.result())
            except BrokenProcessPool as exc:
                self.close()  # the next run starts a fresh pool
                return _failed(
                    task, clock, f"the worker process running step {task.step.name!r} died ({exc})."
                )
            key = keys[name]
            if key is not None and storage is not None and outcome.meta.status == "succeeded":
                persist_quietly(storage, task, key, outcome, state.run_id, clock)
            return outcome

        try:
            schedule(state, start, finish)
        except BaseException:
            self.close()
            raise


def _pickle_call(task: StepTask, kwargs: dict[str, Any], clock: Clock) -> bytes | Outcome:
    import cloudpickle

    try:
        return bytes(cloudpickle.dumps((task, kwargs, clock), protocol=5))
    except Exception as exc:
        culprit = "its function"
        try:
            cloudpickle.dumps(task.step)
        except Exception:
            pass
        else:
            for param, value in kwargs.items():
                try:
                    cloudpickle.dumps(value)
                except Exception:
                    culprit = f"its input {param!r} ({type(value).__qualname__})"
                    break
        return _failed(
            task,
            clock,
            f"step {task.step.name!r} cannot be sent to a worker process: {culprit} cannot be pickled "
            f"({type(exc).__name__}: {exc}). Use the ThreadRunner or SequentialRunner for it.",
        )


def _execute_pickled(payload: bytes) -> bytes:
    """Worker-process side: unpickle a step call, run it, pickle the outcome."""
    import cloudpickle

    task, kwargs, clock = cloudpickle.loads(payload)
    outcome: Outcome = execute(task, kwargs, clock)
    try:
        return bytes(cloudpickle.dumps(outcome, protocol=5))
    except Exception as exc:
        if outcome.cause is not None:  # an exception that cannot travel: send its text
            outcome.cause = PipelineError(outcome.meta.error)
            try:
                return bytes(cloudpickle.dumps(outcome, protocol=5))
            except Exception:
                pass
        culprit = next((n for n, s in outcome.slots.items() if not _picklable(s.value)), "an output")
        failed = _failed(
            task,
            clock,
            f"output {culprit!r} of step {task.step.name!r} cannot be sent back from the worker process: "
            f"it cannot be pickled ({type(exc).__name__}: {exc}). Use the ThreadRunner or SequentialRunner "
            "for it.",
        )
        failed.meta.started_at, failed.meta.duration_s = outcome.meta.started_at, outcome.meta.duration_s
        return bytes(cloudpickle.dumps(failed, protocol=5))


def _picklable(value: Any) -> bool:
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception:
        return False
    return True


def _failed(task: StepTask, clock: Clock, message: str) -> Outcome:
    meta = StepMeta(task.step.name, "failed", clock.now())
    meta.error = f"PipelineError: {message[0].upper()}{message[1:]}"
    return Outcome(meta, {}, PipelineError(meta.error[len("PipelineError: ") :]))
