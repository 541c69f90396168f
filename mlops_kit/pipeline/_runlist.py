"""``RunList``: the runs of a pipeline, with a side-by-side comparison table."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Any

from mlops_kit.core.arguments import check_page
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock
from mlops_kit.core.heartbeat import stale_message
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import resolve_storage
from mlops_kit.pipeline._records import RunRecord
from mlops_kit.pipeline._result import RunResult

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.core.arguments import StorageLike
    from mlops_kit.core.storage import Storage
from mlops_kit.core.storage import runorder
from mlops_kit.core.storage.catalog import Catalog

__all__ = ["RunList", "heartbeat_key", "judge", "pipeline_catalog", "pipeline_names", "runs_log"]

_PREFIX = "pipelines"


def runs_log(pipeline: str) -> str:
    """The log prefix of a pipeline's run records."""
    return f"{_PREFIX}/{pipeline}/runs"


def heartbeat_key(pipeline: str, run_id: str) -> str:
    """Where a running pipeline run's process keeps its heartbeat."""
    return f"{_PREFIX}/{pipeline}/heartbeats/{run_id}"


def judge(storage: Storage, record: RunRecord, now: dt.datetime) -> RunRecord:
    """A ``running`` record whose process stopped sending heartbeats, as ``unfinished``.

    Other records are returned as they are (the log's cached objects: not changed).
    """
    if record.status != "running" or record.heartbeat_s is None:
        return record
    key = heartbeat_key(record.pipeline, record.id)
    why = stale_message(storage, key, record.started_at, record.heartbeat_s, now)
    return record if why is None else record.evolve(status="unfinished", error=why)


def pipeline_catalog(storage: Storage) -> Catalog:
    """The names of a storage's pipelines with runs (a catalog log: no listing)."""
    return Catalog(storage, _PREFIX, "runs")


def pipeline_names(storage: Storage) -> list[str]:
    """Names of the pipelines with at least one recorded run."""
    return pipeline_catalog(storage).names()


class RunList(list[RunResult]):
    """A list of runs (:class:`RunResult`), newest first, as returned by :meth:`Pipeline.runs`."""

    @classmethod
    def read(
        cls,
        storage: StorageLike = None,
        *,
        pipeline: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        clock: Clock | None = None,
    ) -> RunList:
        """The recorded runs of one pipeline, or of every pipeline, newest first, without their code.

        Each run appears once, in its latest state (``running`` until its end is
        recorded; ``unfinished`` if its process stopped sending heartbeats). Newest first
        means in the reverse order their starts were recorded (across pipelines, by start
        time): the order of start times, except for runs started concurrently, so a new
        run appears at the top, never inside a page already seen. A page (``limit=``)
        reads the runs' logs from their ends, only as far as it needs.

        Parameters
        ----------
        storage : Storage, str or None
            Where to look; default ``$MLOPS_KIT_STORAGE`` or ``./.mlops``.
        pipeline : str, optional
            Only the runs of the pipeline with this name (an empty list if it has none).
        limit, offset : int, optional
            A page: skip the ``offset`` newest runs, return at most ``limit``.
        clock : Clock, optional
            The reader's clock, which judges whether a ``running`` run is still alive.

        Raises
        ------
        InvalidNameError
            If ``pipeline`` is not a valid name. Storage is not touched.
        ConfigError
            If ``limit`` is not a positive integer or ``offset`` a non-negative one.

        Examples
        --------
        >>> import mlops_kit as mk
        >>> from mlops_kit.pipeline import RunList
        >>> @mk.step
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> store = mk.MemoryStorage()
        >>> first = mk.Pipeline([double], name="a").run(inputs={"x": 1}, storage=store, progress=False)
        >>> second = mk.Pipeline([double], name="b").run(inputs={"x": 2}, storage=store, progress=False)
        >>> [r.pipeline for r in RunList.read(store)]  # newest first
        ['b', 'a']
        >>> [r.id for r in RunList.read(store, pipeline="a")] == [first.id]
        True
        >>> [r.pipeline for r in RunList.read(store, limit=1, offset=1)]
        ['a']
        """
        name = None if pipeline is None else check_name(pipeline, "pipeline name")
        limit, offset = check_page(limit, offset)
        store = resolve_storage(storage)
        names = pipeline_names(store) if name is None else [name]
        if limit is None:
            stored = runorder.merge(runorder.folded(store, runs_log(n), RunRecord) for n in names)
        else:  # from the logs' ends, as far as the page needs
            wanted = offset + limit if name is not None else None
            stored = runorder.merge(
                runorder.from_end(store, runs_log(n), RunRecord, wanted=wanted) for n in names
            )
        stop = None if limit is None else offset + limit
        now = (clock or SYSTEM_CLOCK).now().astimezone(dt.UTC)
        return cls(RunResult(judge(store, r, now), store) for r in itertools.islice(stored, offset, stop))

    def to_frame(self) -> pd.DataFrame:
        """One row per run (indexed by id): status, timing, then ``params.*``, ``metrics.*``, ``tags.*``.

        Returns
        -------
        pandas.DataFrame
            Columns ``pipeline``, ``status``, ``started_at``, ``duration_s``,
            ``cached_steps``, ``failed_step``, then one column per param, metric and
            tag seen in any run (missing values are NaN).

        Examples
        --------
        >>> import mlops_kit as mk
        >>> @mk.step
        ... def fit(C: float = 1.0) -> float:
        ...     mk.log_metric("auc", 0.8 + C / 10)
        ...     return C
        >>> pipe, store = mk.Pipeline([fit], name="tune"), mk.MemoryStorage()
        >>> for C in (0.5, 1.0):
        ...     _ = pipe.run(params={"C": C}, storage=store, progress=False)
        >>> print(pipe.runs(store).to_frame()[["status", "params.C", "metrics.auc"]].to_string(index=False))
           status  params.C  metrics.auc
        succeeded       1.0         0.90
        succeeded       0.5         0.85
        """
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for run in self:
            row: dict[str, Any] = {
                "id": run.id,
                "pipeline": run.pipeline,
                "status": run.status,
                "started_at": run.started_at,
                "duration_s": run.duration_s,
                "cached_steps": sum(s.cache_hit for s in run.steps),
                "failed_step": run.failed_step,
            }
            row.update({f"params.{k}": v for k, v in run.params.items()})
            row.update({f"metrics.{k}": v for k, v in run.metrics.items()})
            row.update({f"tags.{k}": v for k, v in run.tags.items()})
            rows.append(row)
        columns = ["id", "pipeline", "status", "started_at", "duration_s", "cached_steps", "failed_step"]
        return pd.DataFrame(rows, columns=_ordered(columns, rows)).set_index("id")

    def _repr_html_(self) -> str:
        return self.to_frame().to_html()


def _ordered(fixed: list[str], rows: list[dict[str, Any]]) -> list[str]:
    extra = dict.fromkeys(k for row in rows for k in row if k not in fixed)
    groups = [sorted(k for k in extra if k.startswith(prefix)) for prefix in ("params.", "metrics.", "tags.")]
    return fixed + [k for group in groups for k in group]
