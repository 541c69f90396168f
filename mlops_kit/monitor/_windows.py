"""Drift over time: splitting data into time windows, and the series of their reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_kit.core.dtypes import logical_dtype
from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.monitor._report import DriftReport

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["WindowedReport", "performance_frame", "reports_frame", "split_windows"]


def split_windows(
    df: pd.DataFrame, time_column: str, freq: str
) -> Iterator[tuple[dt.datetime, dt.datetime, pd.DataFrame]]:
    """The non-empty windows of ``df`` as ``(start, end, rows)``, in time order."""
    import pandas as pd

    if time_column not in df.columns:
        raise SchemaError(
            f"The time column {time_column!r} is not in the data, which has {list(df.columns)[:20]}."
        )
    if logical_dtype(df[time_column]) != "datetime":
        raise SchemaError(
            f"The time column {time_column!r} holds {df[time_column].dtype} values; expected datetimes "
            f"(convert it with pd.to_datetime)."
        )
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
        grouper = pd.Grouper(key=time_column, freq=freq)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"Invalid window frequency {freq!r}; expected a pandas frequency like '1D' or '6h'."
        ) from exc
    if df[time_column].isna().all():
        raise SchemaError(f"The time column {time_column!r} holds only nulls.")
    found = False
    for start, part in df.groupby(grouper, sort=True):
        if len(part):
            found = True
            begin = pd.Timestamp(start)  # type: ignore[arg-type]
            yield begin.to_pydatetime(), (begin + offset).to_pydatetime(), part
    if not found:
        raise SchemaError("The current data is empty; a drift check needs at least one row.")


def reports_frame(reports: Sequence[DriftReport], seqs: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per report and column: when, which method, the scores and the decisions."""
    import pandas as pd

    seqs = range(1, len(reports) + 1) if seqs is None else seqs
    rows = [
        {
            "seq": i,
            "created_at": r.created_at,
            "window_start": r.window_start,
            "window_end": r.window_end,
            "column": c.column,
            "role": c.role,
            "method": c.method,
            "statistic": c.statistic,
            "p_value": c.p_value,
            "effect_size": c.effect_size,
            "drifted": c.drifted,
            "drift_share": r.drift_share,
            "dataset_drifted": r.drifted,
        }
        for i, r in zip(seqs, reports)
        for c in r.columns.values()
    ]
    # The multivariate detectors as rows of their own: column = the detector, role "joint".
    rows += [
        {
            "seq": i,
            "created_at": r.created_at,
            "window_start": r.window_start,
            "window_end": r.window_end,
            "column": d.method,
            "role": "joint",
            "method": d.method,
            "statistic": d.statistic,
            "p_value": d.p_value,
            "effect_size": d.effect_size,
            "drifted": d.drifted,
            "drift_share": r.drift_share,
            "dataset_drifted": r.drifted,
        }
        for i, r in zip(seqs, reports)
        for d in r.multivariate
    ]
    columns = [
        "seq", "created_at", "window_start", "window_end", "column", "role", "method",
        "statistic", "p_value", "effect_size", "drifted", "drift_share", "dataset_drifted",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


_PERFORMANCE_COLUMNS = [
    "seq", "created_at", "window_start", "window_end", "kind", "method", "metric", "value",
    "lower", "upper", "reference", "p_value", "degraded", "decayed",
]  # fmt: skip


def performance_frame(reports: Sequence[DriftReport], seqs: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per report and metric, realized (``kind="realized"``) and estimated (``"estimated"``)."""
    import pandas as pd

    seqs = range(1, len(reports) + 1) if seqs is None else seqs
    rows = []
    for i, r in zip(seqs, reports):
        for kind, perf, method in (
            ("realized", r.performance, "labels"),
            ("estimated", r.estimated_performance, getattr(r.estimated_performance, "method", "")),
        ):
            if perf is None:
                continue
            for name, value in perf.metrics.items():
                lo, hi = perf.intervals.get(name, (None, None))
                rows.append(
                    {
                        "seq": i, "created_at": r.created_at, "window_start": r.window_start,
                        "window_end": r.window_end, "kind": kind, "method": method, "metric": name,
                        "value": value, "lower": lo, "upper": hi, "reference": perf.reference.get(name),
                        "p_value": perf.p_values.get(name), "degraded": name in perf.degraded,
                        "decayed": perf.decayed,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows, columns=_PERFORMANCE_COLUMNS)


@dataclass(frozen=True)
class WindowedReport:
    """The reports of :meth:`Monitor.check_windows`, one per time window.

    Attributes
    ----------
    reports : tuple of DriftReport
        One per non-empty window, in time order (``window_start``/``window_end`` set).
    scores : pandas.DataFrame
        Effect sizes over time: one row per window start, one column per monitored column,
        plus ``drift_share``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import mlops_kit as mk
    >>> rng = np.random.default_rng(0)
    >>> mon = mk.Monitor(pd.DataFrame({"x": rng.normal(size=3000)}))
    >>> days = pd.DataFrame({"x": np.r_[rng.normal(size=2000), rng.normal(1.0, 1.0, 2000)],
    ...                      "ts": pd.date_range("2025-01-01", periods=4000, freq="36s")})
    >>> windows = mon.check_windows(days, time_column="ts", freq="20h")
    >>> [r.drifted for r in windows.reports]
    [False, True]
    >>> windows.scores.round(2)
                            x  drift_share
    window_start
    2025-01-01 00:00:00  0.07          0.0
    2025-01-01 20:00:00  1.05          1.0
    """

    reports: tuple[DriftReport, ...]
    time_column: str
    freq: str

    @property
    def drifted(self) -> bool:
        """Whether any window drifted."""
        return any(r.drifted for r in self.reports)

    @property
    def scores(self) -> pd.DataFrame:
        import pandas as pd

        rows = {
            r.window_start: {
                **{name: c.effect_size for name, c in r.columns.items()},
                "drift_share": r.drift_share,
            }
            for r in self.reports
        }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "window_start"
        return frame

    def to_frame(self) -> pd.DataFrame:
        """One row per window and column (the same layout as :meth:`Monitor.history`)."""
        return reports_frame(self.reports)

    @property
    def performance(self) -> pd.DataFrame:
        """Performance over time: one row per window and metric, realized and estimated, with intervals."""
        return performance_frame(self.reports)

    def summary(self) -> str:
        """One line per window."""
        lines = [f"{len(self.reports)} windows of {self.freq} on {self.time_column!r}:"]
        for r in self.reports:
            cols = ", ".join(r.drifted_columns[:5]) or "-"
            verdict = "DRIFT" if r.drifted else "ok"
            lines.append(
                f"  {r.window_start:%Y-%m-%d %H:%M}  {r.n_current:>9,} rows  {verdict:<5} drifted: {cols}"
                + _performance_note(r)
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_html(self, path: str | Path | None = None) -> str:
        """One self-contained HTML page: drift over time, then the latest window's report."""
        from mlops_kit.monitor._html import render_windows

        page = render_windows(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def _repr_html_(self) -> str:
        from mlops_kit.monitor._html import render_windows

        return render_windows(self, fragment=True)


def _performance_note(report: DriftReport) -> str:
    perf, est = report.performance, report.estimated_performance
    if perf is not None and perf.n_labelled:
        return "  performance: " + {True: "DECAYED", False: "ok", None: "not compared"}[perf.decayed]
    if est is not None:
        return "  estimated performance: " + {True: "DECAYED", False: "ok", None: "not compared"}[est.decayed]
    return ""
