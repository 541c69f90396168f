"""``RunList``: the runs of a pipeline, with a side-by-side comparison table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.pipeline._records import RunRecord

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunList"]


class RunList(list[RunRecord]):
    """A list of runs, newest first, as returned by :meth:`Pipeline.runs`."""

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
