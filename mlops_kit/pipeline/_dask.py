"""``DaskRunner``: steps become futures on a ``distributed`` cluster.

The whole graph is submitted at once: each step is a task that depends on the
tasks of its upstream steps, so Dask schedules it as soon as its inputs exist and
intermediate values stay on the workers. Cache lookups and writes happen on the
workers too (with a storage that workers share; with a ``MemoryStorage``, which
lives in this process, the workers send encoded results back and the driver
stores them). When the graph has finished, each step's metadata (no values) is
read from the workers' memory with one call per worker, so the graph has no task
beyond the steps themselves.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from mlops_kit.core.clock import Clock
from mlops_kit.core.errors import ConfigError, PipelineError, StorageError
from mlops_kit.core.extras import require
from mlops_kit.core.storage import MemoryStorage
from mlops_kit.pipeline._cache import encode_outputs, hit, load_inputs, lookup, persist_quietly, store_encoded
from mlops_kit.pipeline._result import Deferred
from mlops_kit.pipeline._runners import Runner
from mlops_kit.pipeline._task import Outcome, Slot, StepMeta, StepTask, cache_key, execute

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.pipeline._state import RunState

__all__ = ["DaskRunner", "process_local"]


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
        shared = storage is not None and not process_local(storage)
        # Ship the storage and the run's input values once; tasks refer to them by future.
        remote_storage = client.scatter(storage, hash=False) if storage is not None else None
        names = list(state.slots)
        scattered = (
            dict(zip(names, client.scatter([state.slots[n] for n in names], hash=False))) if names else {}
        )
        steps: dict[str, Any] = {}
        for name, task in state.tasks.items():
            sources = [
                steps[graph.producer[src]] if src in graph.producer else scattered[src]
                for _, src in task.bindings
            ]
            steps[name] = client.submit(
                _run_on_worker,
                dataclasses.replace(task, retries=0),  # Dask does the retries
                run_id,
                clock,
                remote_storage,
                shared,
                *sources,
                key=f"{name}-{run_id}",
                retries=task.step.retries,
                pure=False,
            )
        names_of = {future: name for name, future in steps.items()}
        try:
            finished = []
            for future in distributed.as_completed(list(steps.values())):
                finished.append(names_of[future])
                state.advance(names_of[future])
            lites = _collect(client, [steps[n] for n in finished if steps[n].status == "finished"])
            for name in finished:
                outcome = self._outcome(name, steps[name], lites.get(steps[name].key), client, state)
                state.record(name, outcome, advance=False)
                if outcome.meta.status == "succeeded" and not outcome.meta.cache_hit:
                    for out in outcome.slots:
                        state.deferred[out] = Deferred(functools.partial(_fetch, steps[name], out, storage))
        except BaseException:
            client.cancel(list(steps.values()))
            raise

    def _outcome(self, name: str, future: Any, lite: bytes | None, client: Any, state: RunState) -> Outcome:
        if future.status == "error":
            exc = future.exception()
            if isinstance(exc, StepFailure):
                if exc.outcome.meta.name == name:
                    return exc.outcome
                return Outcome(StepMeta(name, "skipped"), {})
            meta = StepMeta(name, "failed", state.clock.now())
            meta.error = f"{type(exc).__name__}: {exc}"
            return Outcome(meta, {}, exc)
        if lite is not None:
            import cloudpickle

            outcome: Outcome = cloudpickle.loads(lite)
        else:  # not found in worker memory (moved meanwhile): ask for it with a small task
            outcome = client.submit(_lite, future, pure=False).result()
        encoded, key, storage = outcome.meta.encoded, outcome.meta.cache_key, state.storage
        if encoded is not None and key is not None and storage is not None:
            outcome.meta.encoded = None
            try:
                store_encoded(storage, state.tasks[name], key, outcome, encoded, state.run_id, state.clock)
            except StorageError as exc:
                outcome.meta.warnings.append(f"Step {name!r} could not be cached: {exc}")
        return outcome


def _collect(client: Any, futures: list[Any]) -> dict[Any, bytes]:
    """The metadata of finished steps, read from the workers' memory in one call per worker.

    Cheaper than a companion task per step: the graph keeps only the steps' own tasks.
    """
    if not futures:
        return {}
    keys = [f.key for f in futures]
    found: dict[Any, bytes] = {}
    for per_worker in client.run(_lites_on_worker, keys).values():
        found.update(per_worker)
    return found


def _lites_on_worker(keys: list[Any], dask_worker: Any) -> dict[Any, bytes]:
    import cloudpickle

    data = dask_worker.data
    return {key: cloudpickle.dumps(data[key].lite(), protocol=5) for key in keys if key in data}


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


def process_local(storage: Storage) -> bool:
    """Whether writes made in another process would be lost (a MemoryStorage, maybe wrapped)."""
    seen = 0
    while hasattr(storage, "inner") and seen < 10:
        storage, seen = storage.inner, seen + 1
    return isinstance(storage, MemoryStorage)


def _require_distributed() -> None:
    require("distributed", extra="dask", purpose="DaskRunner")
