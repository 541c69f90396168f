"""``mk.runs``: tracked runs and pipeline runs listed together, filtered, paged, compared."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from mlops_kit.core.arguments import StorageLike, check_storage
from mlops_kit.core.clock import SYSTEM_CLOCK, Clock
from mlops_kit.core.errors import ConfigError
from mlops_kit.core.listing import NameList
from mlops_kit.core.names import check_name
from mlops_kit.core.storage import resolve_storage
from mlops_kit.pipeline import RunRecord
from mlops_kit.pipeline import judge as judge_pipeline_run
from mlops_kit.tracking import _order, _store
from mlops_kit.tracking._records import TrackedRun

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AnyRun", "RunTable", "experiments", "runs"]

AnyRun: TypeAlias = "TrackedRun | RunRecord"

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def runs(
    storage: StorageLike = None,
    experiment: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, tuple[str, float]] | None = None,
    tags: Mapping[str, str] | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    clock: Clock | None = None,
) -> RunTable:
    """Tracked runs and pipeline runs, newest first, filtered and paged.

    Newest first means: within an experiment (or a pipeline), in the reverse order
    their starts were recorded; across experiments and pipelines, by start time. That
    is the order of start times, except for runs started concurrently, which are
    listed in the order their starts were recorded (so a new run appears at the top,
    never inside a page already seen). A page (``limit=``) reads the runs' logs from
    their ends, only as far as it needs.

    A pipeline's runs belong to the experiment named like the pipeline, so
    ``experiment="churn"`` lists the runs tracked under ``"churn"`` and the runs of
    the pipeline ``"churn"`` in one table.

    Parameters
    ----------
    storage : Storage, str or None
        Where to look; default ``$MLOPS_KIT_STORAGE`` or ``./.mlops``.
    experiment : str, optional
        Only this experiment (or pipeline); default every one.
    params : dict, optional
        Keep runs whose params have exactly these values (``{"C": 0.5}``).
    metrics : dict of str to (op, number), optional
        Keep runs whose last value of each metric compares true:
        ``{"auc": (">=", 0.9)}``; ops are ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``.
        Runs without the metric are left out.
    tags : dict of str to str, optional
        Keep runs carrying all these tags.
    status : str, optional
        Keep runs with this status (``finished``, ``failed``, ``running``,
        ``unfinished``; pipeline runs have ``succeeded``, ``failed``, ``running``).
    limit, offset : int, optional
        Paging, applied after filtering: skip ``offset`` runs, return at most ``limit``.
    clock : Clock, optional
        The reader's clock, which judges whether a ``running`` tracked run is still
        alive (see :func:`start_run`'s ``heartbeat``).

    Returns
    -------
    RunTable
        A list of :class:`TrackedRun` and :class:`~mlops_kit.RunRecord`; ``.to_frame()``
        compares them.

    Raises
    ------
    InvalidNameError
        If ``experiment`` or a filter key breaks the name rule. Storage is not touched.
    ConfigError
        If a filter, ``limit`` or ``offset`` is malformed.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> store = mk.MemoryStorage()
    >>> for C in (0.1, 1.0, 10.0):
    ...     with mk.start_run("tune", storage=store, params={"C": C}) as run:
    ...         run.log_metric("auc", 0.8 + C / 100)
    >>> [r.params["C"] for r in mk.runs(store, "tune")]  # newest first
    [10.0, 1.0, 0.1]
    >>> [r.params["C"] for r in mk.runs(store, "tune", metrics={"auc": (">", 0.805)})]
    [10.0, 1.0]
    >>> [r.params["C"] for r in mk.runs(store, "tune", limit=1, offset=1)]
    [1.0]
    """
    name = None if experiment is None else check_name(experiment, "experiment name")
    match = _matcher(params, metrics, tags, status)
    start, stop = _page(limit, offset)
    store = resolve_storage(check_storage(storage))
    now = (clock or SYSTEM_CLOCK).now()
    # A page reads the logs from their ends, as far as it needs; everything reads the cached folds.
    stored = _order.folded(store, name) if stop is None else _order.newest_first(store, name, wanted=stop)
    page, matched = RunTable(), 0
    for run in stored:
        if stop is not None and matched >= stop:
            break
        # Only running runs cost reads: is their process still alive?
        run = (
            _store.judge(store, run, now)
            if isinstance(run, TrackedRun)
            else judge_pipeline_run(store, run, now)
        )
        if not match(run):
            continue
        matched += 1
        if matched > start:
            page.append(_store.attach(store, run) if isinstance(run, TrackedRun) else run)
    return page


def experiments(storage: StorageLike = None) -> NameList:
    """The names of the experiments with tracked runs, sorted (pipelines are listed by ``Pipeline.names``).

    Reads the storage's catalog of experiments: no listing of a folder.

    Examples
    --------
    >>> import mlops_kit as mk
    >>> from mlops_kit.tracking import experiments
    >>> store = mk.MemoryStorage()
    >>> for name in ("tune", "baseline", "tune"):
    ...     mk.start_run(name, storage=store).end().status
    'finished'
    'finished'
    'finished'
    >>> experiments(store)
    ['baseline', 'tune']
    """
    return NameList(_store.experiment_names(resolve_storage(check_storage(storage))))


class RunTable(list[AnyRun]):
    """Runs of any kind, newest first, as returned by :func:`mlops_kit.runs`."""

    def __getitem__(self, index: Any) -> Any:
        found = super().__getitem__(index)
        return RunTable(found) if isinstance(index, slice) else found

    def to_frame(self) -> pd.DataFrame:
        """One row per run (indexed by id): kind, experiment, status, timing, ``params.*``, ``metrics.*``, ``tags.*``.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind`` (``tracked`` or ``pipeline``), ``experiment`` (the
            pipeline's name for pipeline runs), ``status``, ``started_at``,
            ``duration_s``, then one column per param, metric and tag seen in any run
            (missing values are NaN).

        Examples
        --------
        >>> import mlops_kit as mk
        >>> store = mk.MemoryStorage()
        >>> with mk.start_run("tune", storage=store, params={"C": 0.5}, tags={"by": "ada"}) as run:
        ...     run.log_metric("auc", 0.85)
        >>> print(mk.runs(store).to_frame()[["kind", "status", "params.C", "metrics.auc", "tags.by"]].to_string(index=False))
           kind   status  params.C  metrics.auc tags.by
        tracked finished       0.5         0.85     ada
        """
        import pandas as pd

        fixed = ["id", "kind", "experiment", "status", "started_at", "duration_s"]
        rows: list[dict[str, Any]] = []
        for run in self:
            tracked = isinstance(run, TrackedRun)
            row: dict[str, Any] = {
                "id": run.id,
                "kind": "tracked" if tracked else "pipeline",
                "experiment": run.experiment if isinstance(run, TrackedRun) else run.pipeline,
                "status": run.status,
                "started_at": run.started_at,
                "duration_s": run.duration_s,
            }
            row.update({f"params.{k}": v for k, v in run.params.items()})
            row.update({f"metrics.{k}": v for k, v in run.metrics.items()})
            row.update({f"tags.{k}": v for k, v in run.tags.items()})
            rows.append(row)
        extra = dict.fromkeys(k for row in rows for k in row if k not in fixed)
        groups = [sorted(k for k in extra if k.startswith(p)) for p in ("params.", "metrics.", "tags.")]
        columns = fixed + [k for group in groups for k in group]
        return pd.DataFrame(rows, columns=columns).set_index("id")

    def _repr_html_(self) -> str:
        return str(self.to_frame().to_html())


def _matcher(
    params: Mapping[str, Any] | None,
    metrics: Mapping[str, tuple[str, float]] | None,
    tags: Mapping[str, str] | None,
    status: str | None,
) -> Callable[[AnyRun], bool]:
    """Check the filters once, before storage is touched; return the predicate."""
    wanted_params = dict(_keys(params, "params", "param name"))
    wanted_tags = dict(_keys(tags, "tags", "tag key"))
    tests: list[tuple[str, Callable[[Any, Any], bool], float]] = []
    for key, condition in _keys(metrics, "metrics", "metric name"):
        if not (isinstance(condition, tuple) and len(condition) == 2 and condition[0] in _OPS) or isinstance(
            condition[1], bool | str
        ):
            raise ConfigError(
                f"metrics={{{key!r}: ...}} must be an (op, number) pair like ('>=', 0.9), with op one of "
                f"{sorted(_OPS)}; got {condition!r}."
            )
        tests.append((key, _OPS[condition[0]], float(condition[1])))
    if status is not None and not isinstance(status, str):
        raise ConfigError(f"status= must be a string like 'finished', got {status!r}.")

    def match(run: AnyRun) -> bool:
        if status is not None and run.status != status:
            return False
        if any(k not in run.params or run.params[k] != v for k, v in wanted_params.items()):
            return False
        if any(run.tags.get(k) != v for k, v in wanted_tags.items()):
            return False
        return all(k in run.metrics and op(run.metrics[k], v) for k, op, v in tests)

    return match


def _keys(mapping: Mapping[str, Any] | None, argument: str, kind: str) -> list[tuple[str, Any]]:
    if mapping is None:
        return []
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{argument}= must be a dict, got {type(mapping).__name__}.")
    return [(check_name(k, kind), v) for k, v in mapping.items()]


def _page(limit: int | None, offset: int) -> tuple[int, int | None]:
    for value, argument in ((limit, "limit"), (offset, "offset")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(f"{argument}= must be a non-negative integer, got {value!r}.")
    return offset, None if limit is None else offset + limit
