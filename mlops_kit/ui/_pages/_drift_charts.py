"""Drift over windows: per column, the statistic and the p-value of each stored report over time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_kit.ui._charts import lines

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ColumnCharts", "column_charts"]

MOST_COLUMNS = 30  # charted columns per page: the most drifted first
SMALLEST_P = 1e-300


@dataclass(frozen=True)
class ColumnCharts:
    column: str
    role: str
    methods: tuple[str, ...]
    drifted_windows: int
    statistic: str
    p_value: str | None  # None: no method of this column gives a p-value


def column_charts(frame: pd.DataFrame) -> tuple[list[ColumnCharts], int]:
    """Charts of the columns in ``frame`` (``ReportList.to_frame()``), most drifted first,
    at most :data:`MOST_COLUMNS`; and how many columns there are in all."""
    if frame.empty:
        return [], 0
    frame = frame.sort_values(["created_at", "seq"], kind="stable")
    groups = list(frame.groupby("column", sort=False))
    order = sorted(
        groups,
        key=lambda g: (
            -int(g[1]["drifted"].sum()),
            -float(g[1]["effect_size"].abs().max() or 0.0),
            str(g[0]),
        ),
    )
    out = []
    for column, rows in order[:MOST_COLUMNS]:
        methods = tuple(str(m) for m in dict.fromkeys(rows["method"]))
        # One line per method: a column's method can change (a new reference, a new setting),
        # and statistics of two methods are not on one scale.
        by_method = {m: rows[rows["method"] == m] for m in methods}
        statistic = lines(
            {m: (_times(r), r["statistic"].tolist()) for m, r in by_method.items()},
            title=f"{column}: statistic",
            x_title="report time",
            y_title="statistic",
        )
        with_p = {m: r for m, r in by_method.items() if r["p_value"].notna().any()}
        p_value = None
        if with_p:
            p_value = lines(
                {m: (_times(r), [_positive(p) for p in r["p_value"]]) for m, r in with_p.items()},
                title=f"{column}: p-value",
                x_title="report time",
                y_title="p-value (log scale)",
                log_y=True,
            )
        span = _times(rows)
        statistic, p_value = _spanning(statistic, span), p_value and _spanning(p_value, span)
        out.append(
            ColumnCharts(
                column=str(column),
                role=str(rows["role"].iloc[-1]),
                methods=methods,
                drifted_windows=int(rows["drifted"].sum()),
                statistic=statistic,
                p_value=p_value,
            )
        )
    return out, len(groups)


def _spanning(figure: str, times: list[str]) -> str:
    """``figure`` with its time axis over every report of the column, so that a column's two
    charts line up even when only some reports have a p-value."""
    fig = json.loads(figure)
    fig["layout"]["xaxis"]["range"] = [times[0], times[-1]]
    fig["layout"]["xaxis"]["type"] = "date"
    return json.dumps(fig, allow_nan=False)


def _positive(p: float) -> float:
    # A log axis cannot show 0 (a p-value below float precision): draw it at the floor.
    return p if p != 0.0 else SMALLEST_P


def _times(rows: pd.DataFrame) -> list[str]:
    return [t.isoformat() for t in rows["created_at"]]
