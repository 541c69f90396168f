"""The persisted records of tracked runs: the run, its artifacts, its logged events, its heartbeat."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, PrivateAttr

from mlops_kit.core.errors import NotFoundError
from mlops_kit.core.lineage import RunLink
from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.pipeline import MetricPoint

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage

__all__ = ["Artifact", "RunEvents", "TrackedRun", "TrackedStatus"]

TrackedStatus = Literal["running", "finished", "failed", "unfinished"]


class Artifact(Record):
    """A file logged on a run: a name, and a content-addressed, verified blob.

    Attributes
    ----------
    name : str
        The artifact's name in the run (``"roc.png"``, ``"model.pkl"``).
    blob : str
        sha256 hex digest of the bytes (``storage.get_blob(blob)`` verifies them).
    size : int
        Size in bytes.
    media_type : str
        A MIME type guessed from the name (``application/octet-stream`` if unknown).

    Examples
    --------
    >>> import mlops_kit as mk
    >>> with mk.start_run("exp", storage=mk.MemoryStorage()) as run:
    ...     artifact = run.log_dict({"k": 1}, "config.json")
    >>> artifact.name, artifact.media_type, artifact.size
    ('config.json', 'application/json', 12)
    """

    name: str
    blob: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    media_type: str = "application/octet-stream"


class RunEvents(Record):
    """One batch of what a run logged, appended to the run's own event log."""

    at: dt.datetime
    params: FrozenMap[Any] = Field(default_factory=dict)
    tags: FrozenMap[str] = Field(default_factory=dict)
    metrics: tuple[MetricPoint, ...] = ()
    artifacts: tuple[Artifact, ...] = ()


class TrackedRun(Record):
    """A run tracked with :func:`~mlops_kit.start_run`, as stored (or as a reader sees it).

    The record is appended to the experiment's log when the run starts (``running``)
    and when it ends (``finished``, or ``failed`` with the exception's message).
    Readers show a ``running`` run whose process stopped sending heartbeats as
    ``unfinished``; that status is never stored.

    Attributes
    ----------
    id : str
        Unique, and sortable by start time (UTC timestamp plus a random suffix), like
        pipeline run ids.
    experiment : str
        The experiment's name.
    status : {"running", "finished", "failed", "unfinished"}
    params : Mapping of str to scalar
    tags : Mapping of str to str
    metrics : Mapping of str to float
        The last logged value of each metric (:meth:`metric_history` has every value).
    artifacts : Mapping of str to Artifact
        The latest artifact logged under each name.
    started_at, ended_at : datetime
        Start and end (``ended_at`` is ``None`` until the run ends).
    duration_s : float or None
        Wall time of the run.
    error : str or None
        Why the run failed (``"ValueError: message"``), or why it is unfinished.
    heartbeat_s : float
        How often the run's process records that it is alive.
    created_by : str
        ``user@host`` that started the run.

    See Also
    --------
    start_run, runs

    Examples
    --------
    >>> import mlops_kit as mk
    >>> store = mk.MemoryStorage()
    >>> with mk.start_run("exp", storage=store, tags={"by": "ada"}) as run:
    ...     _ = run.log_artifact(b"a,b", name="table.csv")
    >>> stored = mk.runs(store, "exp")[0]
    >>> stored.kind, stored.status, dict(stored.tags), stored.artifact("table.csv")
    ('tracked', 'finished', {'by': 'ada'}, b'a,b')
    >>> stored.link
    RunLink(id='...', experiment='exp')
    """

    id: str
    experiment: str
    status: TrackedStatus
    params: FrozenMap[Any] = Field(default_factory=dict)
    tags: FrozenMap[str] = Field(default_factory=dict)
    metrics: FrozenMap[float] = Field(default_factory=dict)
    artifacts: FrozenMap[Artifact] = Field(default_factory=dict)
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    duration_s: float | None = None
    error: str | None = None
    heartbeat_s: float = Field(gt=0)
    created_by: str = ""

    _storage: Storage | None = PrivateAttr(default=None)

    @property
    def kind(self) -> str:
        """``"tracked"`` (a pipeline's :class:`~mlops_kit.RunRecord` has no ``kind``)."""
        return "tracked"

    @property
    def link(self) -> RunLink:
        """A :class:`~mlops_kit.core.lineage.RunLink` to this run, for lineage."""
        return RunLink(id=self.id, experiment=self.experiment)

    def metric_history(self, name: str | None = None) -> list[MetricPoint]:
        """Every logged value of every metric (of ``name`` only, if given), in logging order.

        Raises
        ------
        NotFoundError
            If the record was not read from storage (so there is nothing to read from).
        """
        from mlops_kit.tracking._store import read_events

        points = [p for batch in read_events(self._stored(), self.id) for p in batch.metrics]
        return [p for p in points if name is None or p.name == name]

    def artifact(self, name: str) -> bytes:
        """The bytes of artifact ``name``, verified against their digest.

        Raises
        ------
        NotFoundError
            If the run has no artifact of that name; the message lists them.
        IntegrityError
            If the stored bytes do not match the digest.
        """
        found = self.artifacts.get(name)
        if found is None:
            raise NotFoundError(
                f"Run {self.id} of experiment {self.experiment!r} has no artifact {name!r}; "
                f"its artifacts are {sorted(self.artifacts)}."
            )
        return self._stored().get_blob(found.blob)

    def _stored(self) -> Storage:
        if self._storage is None:
            raise NotFoundError(
                f"Run {self.id} was not read from storage; read it with mk.runs(storage, ...)."
            )
        return self._storage

    def __repr__(self) -> str:
        return (
            f"TrackedRun(id={self.id!r}, experiment={self.experiment!r}, status={self.status!r}, "
            f"metrics={dict(self.metrics)!r})"
        )

    __str__ = __repr__

    def _repr_html_(self) -> str:
        def table(title: str, values: dict[str, Any]) -> str:
            rows = "".join(
                f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in values.items()
            )
            return f"<tr><th colspan='2'>{title}</th></tr>{rows}" if values else ""

        body = table("params", dict(self.params)) + table("metrics", dict(self.metrics))
        body += table("tags", dict(self.tags)) + table(
            "artifacts", {k: f"{a.size} B" for k, a in self.artifacts.items()}
        )
        return (
            f"<div><b>{escape(self.experiment)}</b> run <code>{escape(self.id)}</code>: "
            f"<b>{self.status}</b>{escape(' (' + self.error + ')') if self.error else ''}<table>{body}</table></div>"
        )
