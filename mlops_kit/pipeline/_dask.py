"""``DaskRunner``: steps become futures on a ``distributed`` cluster.

The whole graph is submitted at once: each step is a task that depends on the
tasks of its upstream steps, so Dask schedules it as soon as its inputs exist and
intermediate values stay on the workers. Cache lookups and writes happen on the
workers too (with a storage that workers share; with a ``MemoryStorage``, which
lives in this process, the workers send encoded results back and the driver
stores them). Each step's metadata (no values) comes back to the driver as a
worker event, so the graph has no task beyond the steps themselves; a step whose
event went missing is asked for it by a small task.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from mlops_kit.core.clock import Clock
from mlops_kit.core.errors import ConfigError, PipelineError, StorageError
from mlops_kit.core.storage import MemoryStorage, MissingExtraError
from mlops_kit.pipeline._records import Deferred
from mlops_kit.pipeline._runners import Runner
from mlops_kit.pipeline._task import (
    Outcome,
    Slot,
    StepMeta,
    StepTask,
    cache_key,
    encode_outputs,
    execute,
    hit,
    load_inputs,
    lookup,
    persist_quietly,
    store_encoded,
)

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.pipeline._state import RunState

__all__ = ["DaskRunner"]


class DaskRunner(Runner):
    """Run the steps as Dask futures on a ``distributed`` cluster.

    A step's ``retries=`` becomes the task's Dask retries. Values computed on the
    cluster stay there until you read ``run.outputs[...]`` (which fetches them);
    the run object keeps them alive on the cluster while it exists.

    Parameters
    ----------
    client : distributed.Client, optional
        The client to submit to; by default the current one (``get_client()``).

    Raises
    ------
    MissingExtraError
        If ``distributed`` is not installed (``pip install 'mlops-kit[dask]'``).

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def square(x: int) -> int:
    ...     return x * x
    >>> client = Client(LocalCluster(n_workers=2, processes=True))  # doctest: +SKIP
    >>> run = mk.Pipeline([square]).run(inputs={"x": 7}, runner=mk.DaskRunner(client))  # doctest: +SKIP
    >>> run.outputs["square"]  # doctest: +SKIP
    49
    """

    def __init__(self, client: Any = None) -> None:
        _require_distributed()
        self.client = client

    def __repr__(self) -> str:
        return f"DaskRunner({self.client!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"client": None}  # a client does not travel; the other side uses its own

    def _get_client(self) -> Any:
        if self.client is not None:
            return self.client
        import distributed

        try:
            return distributed.get_client()
        except ValueError:
            raise ConfigError(
                "DaskRunner() has no client and there is no current Dask client: pass one, "
                "DaskRunner(distributed.Client(...))."
            ) from None

    def _check(self) -> None:
        self._get_client()

    def _run(self, state: RunState) -> None:
        import distributed

        client = self._get_client()
        graph, run_id, clock, storage = state.graph, state.run_id, state.clock, state.storage
        shared = storage is not None and not _process_local(storage)
        # Metadata comes back as worker events, except when results must travel to the driver
        # anyway (a storage the workers cannot write to): then by a small task per step.
        by_event = storage is None or shared
        if by_event:
            _listen(client, run_id)
        # Ship the storage and the run's input values once; tasks refer to them by future.
        remote_storage = client.scatter(storage, hash=False) if storage is not None else None
        names = list(state.slots)
        scattered = (
            dict(zip(names, client.scatter([state.slots[n] for n in names], hash=False))) if names else {}
        )
        steps: dict[str, Any] = {}
        metas: dict[str, Any] = {}
        for name, task in state.tasks.items():
            sources = [
                steps[graph.producer[src]] if src in graph.producer else scattered[src]
                for _, src in task.bindings
            ]
            steps[name] = client.submit(
                _run_on_worker,
                dataclasses.replace(task, retries=0),  # Dask does the retries
                run_id,
                by_event,
                clock,
                remote_storage,
                shared,
                *sources,
                key=f"{name}-{run_id}",
                retries=task.step.retries,
                pure=False,
            )
            if not by_event:
                metas[name] = client.submit(_lite, steps[name], key=f"{name}-meta-{run_id}", pure=False)
        names_of = {future: name for name, future in steps.items()}
        try:
            finished = []
            for future in distributed.as_completed(list(steps.values())):
                finished.append(names_of[future])
                state.advance(names_of[future])
            received = _SINKS.pop(run_id, {})
            for name in finished:
                outcome = self._outcome(name, steps[name], metas.get(name), received.get(name), client, state)
                state.record(name, outcome, advance=False)
                if outcome.meta.status == "succeeded" and not outcome.meta.cache_hit:
                    for out in outcome.slots:
                        state.deferred[out] = Deferred(functools.partial(_fetch, steps[name], out, storage))
        except BaseException:
            client.cancel([*steps.values(), *metas.values()])
            raise
        finally:
            _SINKS.pop(run_id, None)

    def _outcome(
        self, name: str, future: Any, meta_future: Any, event: bytes | None, client: Any, state: RunState
    ) -> Outcome:
        if future.status == "error":
            exc = future.exception()
            if isinstance(exc, StepFailure):
                if exc.outcome.meta.name == name:
                    return exc.outcome
                return Outcome(StepMeta(name, "skipped"), {})
            meta = StepMeta(name, "failed", state.clock.now())
            meta.error = f"{type(exc).__name__}: {exc}"
            return Outcome(meta, {}, exc)
        if event is not None:
            import cloudpickle

            outcome: Outcome = cloudpickle.loads(event)
        else:  # no event (none sent, or it was lost): ask the worker holding the result
            outcome = (
                meta_future if meta_future is not None else client.submit(_lite, future, pure=False)
            ).result()
        encoded, key, storage = outcome.meta.encoded, outcome.meta.cache_key, state.storage
        if encoded is not None and key is not None and storage is not None:
            outcome.meta.encoded = None
            try:
                store_encoded(storage, state.tasks[name], key, outcome, encoded, state.run_id, state.clock)
            except StorageError as exc:
                outcome.meta.warnings.append(f"Step {name!r} could not be cached: {exc}")
        return outcome


# Worker events carry each step's metadata to the driver without an extra task per step:
# one subscription per client, dispatching by run id to the run that waits for them.
_TOPIC = "mlops-kit-step-outcomes"
_SINKS: dict[str, dict[str, bytes]] = {}
_LISTENING: set[str] = set()


def _listen(client: Any, run_id: str) -> None:
    _SINKS[run_id] = {}
    if client.id not in _LISTENING:
        client.subscribe_topic(_TOPIC, _on_event)
        _LISTENING.add(client.id)


def _on_event(event: tuple[float, Any]) -> None:
    message = event[1]
    sink = _SINKS.get(str(message.get("run"))) if isinstance(message, dict) else None
    if sink is not None:
        sink[message["step"]] = message["outcome"]


def _publish(run_id: str, outcome: Outcome) -> None:
    import cloudpickle
    from distributed import get_worker

    lite = cloudpickle.dumps(outcome.lite(), protocol=5)
    get_worker().log_event(_TOPIC, {"run": run_id, "step": outcome.meta.name, "outcome": lite})


class StepFailure(Exception):
    """Raised on a worker when a step fails, so that Dask retries it and dependents stop."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.meta.error)
        self.outcome = outcome

    def __reduce__(self) -> tuple[Any, ...]:
        import cloudpickle

        outcome = self.outcome
        try:
            cloudpickle.dumps(outcome.cause)
        except Exception:  # the original exception cannot travel: send its text
            outcome = dataclasses.replace(outcome, cause=PipelineError(outcome.meta.error))
        return (StepFailure, (outcome,))


def _run_on_worker(
    task: StepTask,
    run_id: str,
    publish: bool,
    clock: Clock,
    storage: Storage | None,
    shared: bool,
    *sources: Any,
) -> Outcome:
    outcome = _step_on_worker(task, run_id, clock, storage, shared, *sources)
    if publish:
        _publish(run_id, outcome)
    return outcome


def _step_on_worker(
    task: StepTask, run_id: str, clock: Clock, storage: Storage | None, shared: bool, *sources: Any
) -> Outcome:
    args = [
        source.slots[src] if isinstance(source, Outcome) else source
        for (_, src), source in zip(task.bindings, sources)
    ]
    key = cache_key(task, args)
    if key is not None and storage is not None:
        entry = lookup(storage, key)
        if entry is not None:
            return hit(task, key, entry, clock)
    kwargs = load_inputs(task, args, storage, clock)
    if isinstance(kwargs, Outcome):
        raise StepFailure(kwargs)
    outcome = execute(task, kwargs, clock)
    if outcome.meta.status != "succeeded":
        raise StepFailure(outcome)
    if key is not None and storage is not None:
        if shared:
            persist_quietly(storage, task, key, outcome, run_id, clock)
        else:
            outcome.meta.cache_key = key
            outcome.meta.encoded = encode_outputs(outcome)
            if outcome.meta.encoded is None:
                outcome.meta.warnings.append(
                    f"An output of step {task.step.name!r} could not be stored; not cached."
                )
    return outcome


def _lite(outcome: Outcome) -> Outcome:
    return outcome.lite()


def _fetch(future: Any, name: str, storage: Storage | None) -> Any:
    slot: Slot = future.result().slots[name]
    return slot.get(storage)


def _process_local(storage: Storage) -> bool:
    """Whether writes made in another process would be lost (a MemoryStorage, maybe wrapped)."""
    seen = 0
    while hasattr(storage, "inner") and seen < 10:
        storage, seen = storage.inner, seen + 1
    return isinstance(storage, MemoryStorage)


def _require_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            "DaskRunner needs the 'distributed' package: pip install 'mlops-kit[dask]'"
        ) from exc
