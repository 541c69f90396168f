"""The result of one drift check, as a frozen record: text, dict, JSON, frame, HTML, Prometheus."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, ValidationError

from mlops_kit.core.errors import SchemaError
from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.monitor._columns import ColumnDrift
from mlops_kit.monitor._estimation import EstimatedPerformance
from mlops_kit.monitor._multivariate import MultivariateDrift
from mlops_kit.monitor._performance import Performance

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DriftReport"]


class DriftReport(Record):
    """What a :meth:`Monitor.check` found.

    Attributes
    ----------
    drifted : bool
        Whether anything calls for attention: dataset drift (at least ``drift_share``
        of the feature columns drifted), prediction or target drift, or performance
        decay. ``reasons`` says which.
    dataset_drift : bool
        Whether the share of drifted feature columns reached ``drift_share_threshold``.
    drift_share : float
        The share of feature columns that drifted.
    columns : dict of str to ColumnDrift
        Per column: method, statistic, p-value, threshold, effect size, null rates,
        unseen categories, summaries and distributions.
    performance : Performance or None
        Model quality when the current data carried the target.
    estimated_performance : EstimatedPerformance or None
        Model quality estimated without labels (``Monitor(..., estimate_performance=True)``).
    ignored_columns : tuple of str
        Current columns that are not monitored (ids, timestamps, ...).
    multivariate : tuple of MultivariateDrift
        The multivariate detectors' verdicts (``Monitor(multivariate=...)``), else empty.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import mlops_kit as mk
    >>> rng = np.random.default_rng(0)
    >>> mon = mk.Monitor(pd.DataFrame({"x": rng.normal(size=5000)}))
    >>> rep = mon.check(pd.DataFrame({"x": rng.normal(1.0, 1.0, 5000), "id": range(5000)}))
    >>> rep.drifted, rep.columns["x"].method, rep.ignored_columns
    (True, 'wasserstein', ('id',))
    >>> print(rep.summary())
    DRIFT: 1 of 1 feature columns drifted (100% >= 50%); reasons: dataset drift.
      reference DataFrame (5,000 rows), current 5,000 rows
      x  wasserstein=1.03 (threshold 0.1)  effect 1.03  drifted: distribution
    >>> mk.DriftReport.from_json(rep.to_json()) == rep
    True
    """

    model_config = ConfigDict(ser_json_inf_nan="strings")
    SCHEMA_VERSION = 1

    monitor: str | None = None
    reference: str
    created_at: dt.datetime
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    n_reference: int
    n_current: int
    columns: FrozenMap[ColumnDrift]
    correction: str | None = None
    drift_share: float
    drift_share_threshold: float
    dataset_drift: bool
    drifted: bool
    reasons: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    performance: Performance | None = None
    multivariate: tuple[MultivariateDrift, ...] = ()
    estimated_performance: EstimatedPerformance | None = None

    REPR_FIELDS = ("monitor", "reference", "n_current", "drifted", "drift_share", "reasons", "created_at")

    @property
    def drifted_columns(self) -> list[str]:
        """The names of the columns that drifted."""
        return [name for name, col in self.columns.items() if col.drifted]

    # -- text and data ---------------------------------------------------------------

    def summary(self, max_columns: int = 10) -> str:
        """A few lines of text: the verdict, then the drifted columns (or the closest calls)."""
        features = [c for c in self.columns.values() if c.role == "feature"]
        n_drift = sum(c.drifted for c in features)
        verdict = "DRIFT" if self.drifted else "no drift"
        cmp = ">=" if self.dataset_drift else "<"
        head = (
            f"{verdict}: {n_drift} of {len(features)} feature columns drifted "
            f"({self.drift_share:.0%} {cmp} {self.drift_share_threshold:.0%})"
        )
        if self.reasons:
            head += f"; reasons: {', '.join(self.reasons)}"
        lines = [
            head + ".",
            f"  reference {self.reference} ({self.n_reference:,} rows), current {self.n_current:,} rows",
        ]
        ranked = sorted(self.columns.values(), key=lambda c: (not c.drifted, -(c.effect_size or 0.0)))
        width = max((len(c.column) for c in ranked[:max_columns]), default=0)
        for col in ranked[:max_columns]:
            score = f"p={col.score:.3g}" if col.p_value is not None else f"{col.method}={_num(col.statistic)}"
            state = f"drifted: {', '.join(col.reasons)}" if col.drifted else _quiet(col.note)
            role = "" if col.role == "feature" else f" [{col.role}]"
            lines.append(
                f"  {col.column:<{width}}{role}  {score} (threshold {col.threshold:g})  "
                f"effect {_num(col.effect_size)}  {state}"
            )
        if len(ranked) > max_columns:
            lines.append(f"  ... {len(ranked) - max_columns} more columns")
        perf = self.performance
        if perf is not None:
            shown = ", ".join(
                f"{k} {_num(perf.reference.get(k))} -> {_num(v)}" if k in perf.reference else f"{k} {_num(v)}"
                for k, v in perf.metrics.items()
            )
            state = {True: "DECAYED", False: "ok", None: "not compared"}[perf.decayed]
            lines.append(f"  performance ({perf.task}, {perf.n_labelled:,} labelled rows): {shown}: {state}")
            lines.append(f"    {perf.confidence:.0%} intervals: {_intervals(perf.intervals)}")
        est = self.estimated_performance
        if est is not None:
            state = {True: "DECAYED", False: "ok", None: "not compared"}[est.decayed]
            shown = ", ".join(
                f"{k} {_num(v)} {_interval(est.intervals.get(k))}" for k, v in est.metrics.items()
            )
            lines.append(
                f"  estimated performance ({est.method}, {est.n_rows:,} rows, no labels): {shown}: {state}"
            )
        for joint in self.multivariate:
            state = "DRIFTED" if joint.drifted else (joint.note or "ok")
            p_value = "n/a" if joint.p_value is None else f"{joint.p_value:.3g}"
            lines.append(
                f"  multivariate {joint.method}: {_num(joint.statistic)} (no drift {_num(joint.baseline)}, "
                f"p={p_value}, effect {_num(joint.effect_size)} >= {joint.min_effect:g}?): {state}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (the same content as :meth:`to_json`)."""
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = None) -> str:
        """The report as JSON (infinite scores are written as the string ``"Infinity"``)."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> DriftReport:
        """Read a report written by :meth:`to_json`.

        Raises
        ------
        SchemaError
            If the text is not a drift report.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise SchemaError(f"Not a DriftReport JSON document: {exc}") from exc

    def to_frame(self) -> pd.DataFrame:
        """One row per column: role, type, method, statistic, p-value, threshold, effect size, drifted."""
        import pandas as pd

        rows = [
            {
                "column": c.column,
                "role": c.role,
                "dtype": c.dtype,
                "method": c.method,
                "statistic": c.statistic,
                "p_value": c.p_value,
                "p_adjusted": c.p_adjusted,
                "threshold": c.threshold,
                "effect_size": c.effect_size,
                "null_rate_reference": c.null_rate_reference,
                "null_rate_current": c.null_rate_current,
                "unseen_share": c.unseen_share,
                "drifted": c.drifted,
                "reasons": ",".join(c.reasons),
            }
            for c in self.columns.values()
        ]
        return pd.DataFrame(rows).set_index("column")

    # -- views -------------------------------------------------------------------------

    def to_html(self, path: str | Path | None = None) -> str:
        """Render the report as ONE self-contained HTML page; write it to ``path`` if given.

        The page needs no network: charts are inline SVG (matplotlib, the ``report``
        extra), styles and the table-sorting script are inline.

        Raises
        ------
        MissingExtraError
            If matplotlib is not installed (``pip install 'mlops-kit[report]'``).
        """
        from mlops_kit.monitor._html import render_report

        page = render_report(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def _repr_html_(self) -> str:
        from mlops_kit.monitor._html import render_report

        return render_report(self, fragment=True)

    def to_prometheus(self, registry: Any = None) -> Any:
        """Expose this report's scores as Prometheus gauges; returns the registry.

        A private ``CollectorRegistry`` is made unless ``registry`` is given.

        Raises
        ------
        MissingExtraError
            If prometheus-client is not installed (``pip install 'mlops-kit[serve]'``).
        """
        from mlops_kit.monitor._prometheus import register

        return register(lambda: [self], registry)


def _quiet(note: str) -> str:
    """The state of a column that did not drift: ``ok``, unless too little data says nothing."""
    return "not enough data" if note.startswith("not enough data") else "ok"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _interval(bounds: tuple[float, float] | None) -> str:
    return "" if bounds is None else f"[{bounds[0]:.3g}, {bounds[1]:.3g}]"


def _intervals(intervals: Mapping[str, tuple[float, float]]) -> str:
    return ", ".join(f"{k} {_interval(v)}" for k, v in intervals.items()) or "n/a"
