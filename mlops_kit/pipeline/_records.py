"""The persisted records of the pipeline block: runs, steps, stored outputs, cache entries."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any, Literal

from pydantic import Field

from mlops_kit.core.errors import NotFoundError
from mlops_kit.core.lineage import RunLink
from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.pipeline._metrics import MetricPoint

__all__ = [
    "CacheEntry",
    "OutputRecord",
    "RunRecord",
    "RunStatus",
    "StepRecord",
    "StepStatus",
]

RunStatus = Literal["running", "succeeded", "failed", "unfinished"]
StepStatus = Literal["succeeded", "failed", "skipped"]


class OutputRecord(Record):
    """One output of a step: its content fingerprint and, when cached, where its bytes are.

    Attributes
    ----------
    fingerprint : str or None
        Typed content fingerprint (``None`` when the run did not cache, or the value
        could not be fingerprinted).
    blob : str or None
        sha256 of the stored bytes, when the output was stored.
    materializer : str or None
        The name of the materializer that wrote the blob.
    size : int or None
        The blob's size in bytes.
    """

    fingerprint: str | None = None
    blob: str | None = None
    materializer: str | None = None
    size: int | None = None


class StepRecord(Record):
    """What happened to one step in a run.

    Attributes
    ----------
    name : str
        The step's name.
    status : {"succeeded", "failed", "skipped"}
        ``skipped`` means the step did not run because a step it depends on failed
        or the run was interrupted.
    cache_hit : bool
        Whether the outputs came from the cache instead of running the step.
    cache_key : str or None
        The cache key (``None`` when the step was not cacheable in this run).
    started_at : datetime or None
        When the step started (for a cache hit: when it was looked up).
    duration_s : float
        Seconds spent, including retries (``ended_at`` is ``started_at`` plus this).
    attempts : int
        How many times the function was called (0 for a cache hit).
    outputs : Mapping of str to OutputRecord
        Fingerprints and stored blobs of the outputs.
    metrics : tuple of MetricPoint
        Metrics logged by the step with :func:`~mlops_kit.log_metric`.
    error, traceback : str or None
        For a failed step: ``"ExceptionType: message"`` and the formatted traceback.
    """

    name: str
    status: StepStatus
    cache_hit: bool = False
    cache_key: str | None = None
    started_at: dt.datetime | None = None
    duration_s: float = 0.0
    attempts: int = 0
    outputs: FrozenMap[OutputRecord] = Field(default_factory=dict)
    metrics: tuple[MetricPoint, ...] = ()
    error: str | None = None
    traceback: str | None = None

    @property
    def ended_at(self) -> dt.datetime | None:
        """When the step ended."""
        return None if self.started_at is None else self.started_at + dt.timedelta(seconds=self.duration_s)


class CacheEntry(Record):
    """A cached step result: a small record pointing to the output blobs."""

    key: str
    step: str
    outputs: FrozenMap[OutputRecord]
    metrics: tuple[MetricPoint, ...] = ()
    run_id: str
    duration_s: float
    created_at: dt.datetime


class RunRecord(Record):
    """One run of a pipeline, persisted in the storage's append-only log.

    The record is appended when the run starts (status ``running``) and again when
    it ends (``succeeded`` or ``failed``, also on Ctrl-C), never per step. While it
    runs, its process writes a heartbeat every ``heartbeat_s`` seconds; readers show a
    ``running`` run whose heartbeats stopped (a killed process) as ``unfinished``, a
    status never stored. It is
    frozen: :meth:`Pipeline.run` and :meth:`Pipeline.runs` give a :class:`RunResult`
    that holds it (``result.record``) beside the run's outputs, and reads its
    attributes through.

    Attributes
    ----------
    id : str
        Unique, and sortable by start time (UTC timestamp plus a random suffix).
    pipeline : str
        The pipeline's name.
    status : {"running", "succeeded", "failed", "unfinished"}
    params : Mapping
        The parameter values the steps used: the ``params`` given to ``run`` and
        the defaults that applied (values that are not JSON-able are stored as
        their ``repr``).
    inputs : Mapping of str to str or None
        The content fingerprint of each pipeline input.
    tags : Mapping of str to str
        Labels given to ``run``.
    steps : tuple of StepRecord
        One record per step, in execution order.
    metrics : Mapping of str to float
        The last logged value of each metric.
    started_at, ended_at : datetime
        Start and end (``ended_at`` is ``None`` while running).
    duration_s : float or None
        Wall time of the run.
    error : str or None
        Why the run failed.
    failed_step : str or None
        The first step that failed.
    runner : str
        The runner that executed the steps.
    cache : bool
        Whether caching was on.
    created_by : str
        ``user@host`` that started the run.
    heartbeat_s : float or None
        Seconds between the heartbeats of the running process (``None`` for runs
        recorded before pipelines sent heartbeats).

    See Also
    --------
    Pipeline.run, Pipeline.runs, RunResult

    Examples
    --------
    >>> import mlops_kit as mk
    >>> @mk.step
    ... def greet(name: str) -> str:
    ...     mk.log_metric("length", len(name))
    ...     return f"hello {name}"
    >>> pipe, store = mk.Pipeline([greet], name="hello"), mk.MemoryStorage()
    >>> run = pipe.run(inputs={"name": "ada"}, storage=store, tags={"env": "doc"}, progress=False)
    >>> run.status, run.outputs["greet"], run.metrics, dict(run.tags)
    ('succeeded', 'hello ada', {'length': 3.0}, {'env': 'doc'})
    >>> step = run.step("greet")
    >>> step.status, step.attempts, step.outputs["greet"].materializer
    ('succeeded', 1, 'json')
    >>> stored = pipe.runs(store)[0]  # read back: outputs load from their blobs
    >>> stored == run, stored.outputs["greet"]
    (True, 'hello ada')
    >>> run.link
    RunLink(id='...', pipeline='hello')
    >>> run.record == stored.record, type(run.record).__name__
    (True, 'RunRecord')
    """

    id: str
    pipeline: str
    status: RunStatus
    params: FrozenMap[Any] = Field(default_factory=dict)
    inputs: FrozenMap[str | None] = Field(default_factory=dict)
    tags: FrozenMap[str] = Field(default_factory=dict)
    steps: tuple[StepRecord, ...] = ()
    metrics: FrozenMap[float] = Field(default_factory=dict)
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    duration_s: float | None = None
    error: str | None = None
    failed_step: str | None = None
    runner: str = "SequentialRunner"
    cache: bool = True
    created_by: str = ""
    heartbeat_s: float | None = None

    @property
    def link(self) -> RunLink:
        """A :class:`~mlops_kit.core.lineage.RunLink` to this run, for lineage."""
        return RunLink(id=self.id, pipeline=self.pipeline)

    def step(self, name: str) -> StepRecord:
        """The record of the step called ``name``.

        Raises
        ------
        NotFoundError
            If the run has no such step; the message lists the steps.
        """
        for record in self.steps:
            if record.name == name:
                return record
        raise NotFoundError(
            f"Run {self.id} has no step {name!r}; its steps are {[s.name for s in self.steps]}."
        )

    def metric_history(self, name: str | None = None) -> list[MetricPoint]:
        """Every logged metric value (of ``name`` only, if given), in logging order."""
        return [p for s in self.steps for p in s.metrics if name is None or p.name == name]

    def __hash__(self) -> int:
        return hash((self.id, self.status, self.ended_at))

    def __repr__(self) -> str:
        return (
            f"RunRecord(id={self.id!r}, pipeline={self.pipeline!r}, status={self.status!r}, "
            f"steps={len(self.steps)}, metrics={dict(self.metrics)!r})"
        )

    __str__ = __repr__

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(s.name)}</td><td>{s.status}{' (cached)' if s.cache_hit else ''}</td>"
            f"<td>{s.duration_s:.3f} s</td><td>{escape(s.error or '')}</td></tr>"
            for s in self.steps
        )
        metrics = ", ".join(f"{escape(k)}={v:.4g}" for k, v in self.metrics.items()) or "none"
        return (
            f"<div><b>{escape(self.pipeline)}</b> run <code>{escape(self.id)}</code>: <b>{self.status}</b>, "
            f"metrics: {metrics}<table><tr><th>step</th><th>status</th><th>time</th><th>error</th></tr>"
            f"{rows}</table></div>"
        )
