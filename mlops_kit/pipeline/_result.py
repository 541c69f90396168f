"""``RunResult``: what ``Pipeline.run`` and ``Pipeline.runs`` give, the frozen record plus live outputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import NotFoundError
from mlops_kit.pipeline._materializers import load_output
from mlops_kit.pipeline._records import RunRecord

if TYPE_CHECKING:
    from mlops_kit.core.lineage import RunLink
    from mlops_kit.core.storage import Storage
    from mlops_kit.pipeline._metrics import MetricPoint
    from mlops_kit.pipeline._records import RunStatus, StepRecord

__all__ = ["Deferred", "RunOutputs", "RunResult"]


class RunResult:
    """A run as its caller sees it: the persisted :class:`RunRecord` and the run's outputs.

    The record is frozen: it is exactly what was appended to storage, and nothing is
    attached to it afterwards. The result holds what the record cannot: the output
    values in memory (for the run that produced them) and the storage their blobs are
    read from (for a run read back). Every attribute and method of the record reads
    through (``result.status``, ``result.metrics``, ``result.step("train")``...).

    Attributes
    ----------
    record : RunRecord
        The persisted record.
    outputs : RunOutputs
        The outputs of the run's steps, by name.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def answer() -> int:
    ...     return 42
    >>> run = mk.Pipeline([answer], name="q").run(storage=mk.MemoryStorage(), progress=False)
    >>> run
    RunResult(id='...', pipeline='q', status='succeeded', steps=1, metrics={})
    >>> run.outputs["answer"], run.status, type(run.record).__name__
    (42, 'succeeded', 'RunRecord')
    """

    # The record's fields, read through __getattr__; declared so type checkers know them.
    if TYPE_CHECKING:
        id: str
        pipeline: str
        status: RunStatus
        params: Mapping[str, Any]
        inputs: Mapping[str, str | None]
        tags: Mapping[str, str]
        steps: tuple[StepRecord, ...]
        metrics: Mapping[str, float]
        started_at: dt.datetime
        ended_at: dt.datetime | None
        duration_s: float | None
        error: str | None
        failed_step: str | None
        runner: str
        cache: bool
        created_by: str
        link: RunLink

        def step(self, name: str) -> StepRecord: ...
        def metric_history(self, name: str | None = None) -> list[MetricPoint]: ...

    __slots__ = ("_storage", "_values", "record")

    def __init__(
        self, record: RunRecord, storage: Storage | None = None, values: Mapping[str, Any] | None = None
    ) -> None:
        self.record = record
        self._storage = storage
        self._values: dict[str, Any] = dict(values or {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy and pickle probe dunders before __init__ runs
            raise AttributeError(name)
        return getattr(self.record, name)

    @property
    def outputs(self) -> RunOutputs:
        """The outputs of the run's steps, by name.

        Values come from memory for the run that produced them; for a run read back
        from storage they are loaded from the stored blobs on first access (only runs
        with caching on store their outputs).
        """
        return RunOutputs(self.record, self._storage, self._values)

    def __eq__(self, other: object) -> bool:
        # The same run state, whether or not the outputs are in memory.
        if isinstance(other, RunResult):
            return self.record == other.record
        return isinstance(other, RunRecord) and self.record == other

    def __hash__(self) -> int:
        return hash(self.record)

    def __repr__(self) -> str:
        return repr(self.record).replace("RunRecord(", "RunResult(", 1)

    def _repr_html_(self) -> str:
        return self.record._repr_html_()


class RunOutputs(Mapping[str, Any]):
    """Read-only mapping of a run's output names to their values (loaded lazily)."""

    def __init__(
        self, run: RunRecord, storage: Storage | None = None, values: dict[str, Any] | None = None
    ) -> None:
        self._run = run
        self._storage = storage
        self._values = {} if values is None else values  # shared with the RunResult: loaded once
        self._refs = {
            name: out for s in run.steps if s.status == "succeeded" for name, out in s.outputs.items()
        }

    def __getitem__(self, name: str) -> Any:
        values = self._values
        if name in values:
            value = values[name]
            if isinstance(value, Deferred):
                value = values[name] = value()
            return value
        ref = self._refs.get(name)
        if ref is None:
            known = sorted(self._refs)
            raise KeyError(f"Run {self._run.id} has no output {name!r}; its outputs are {known}.")
        if ref.blob is None or self._storage is None:
            raise NotFoundError(
                f"Output {name!r} of run {self._run.id} was not stored (the run did not cache it). "
                "Run the pipeline again with cache=True to get it."
            )
        value = values[name] = load_output(self._storage, ref)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def __repr__(self) -> str:
        return f"RunOutputs({sorted(self._refs)})"


class Deferred:
    """A value computed on first access (a Dask future's result, say)."""

    def __init__(self, fetch: Callable[[], Any]) -> None:
        self._fetch = fetch

    def __call__(self) -> Any:
        return self._fetch()
