"""Plotly figures as JSON for a page's ``data-figure`` attributes (drawn by static/ui.js).

The figures are plain dicts: no plotly Python objects, only its JavaScript bundle, served
by the app itself so charts work offline. Labels are user data: :func:`label` escapes them
(Plotly reads a few HTML tags in text).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_kit.ui._context import label

__all__ = ["bars", "figure", "lines"]


def _clean(value: Any) -> Any:
    # JSON has no NaN or infinity; Plotly draws a gap for null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def figure(data: Sequence[Mapping[str, Any]], **layout: Any) -> str:
    """The JSON of a figure: its traces and layout (``title=``, ``xaxis=``...)."""
    return json.dumps({"data": list(data), "layout": layout}, default=str, allow_nan=False)


def lines(
    series: Mapping[str, tuple[Sequence[Any], Sequence[float | None]]],
    *,
    title: str = "",
    x_title: str = "",
    y_title: str = "",
    mode: str = "lines+markers",
    log_y: bool = False,
) -> str:
    """One line per series: ``{name: (xs, ys)}``."""
    traces = [
        {
            "type": "scatter",
            "mode": mode,
            "name": label(name),
            "x": list(xs),
            "y": [_clean(y) for y in ys],
        }
        for name, (xs, ys) in series.items()
    ]
    yaxis: dict[str, Any] = {"title": {"text": label(y_title)}}
    if log_y:
        yaxis["type"] = "log"
    return figure(
        traces,
        title={"text": label(title)},
        xaxis={"title": {"text": label(x_title)}},
        yaxis=yaxis,
        showlegend=len(traces) > 1,
    )


def bars(
    xs: Sequence[Any],
    ys: Sequence[float | None],
    *,
    title: str = "",
    x_title: str = "",
    y_title: str = "",
    widths: Sequence[float] | None = None,
) -> str:
    """A bar chart (a histogram when ``widths`` gives each bin's width)."""
    trace: dict[str, Any] = {"type": "bar", "x": [label(x) if isinstance(x, str) else x for x in xs]}
    trace["y"] = [_clean(y) for y in ys]
    if widths is not None:
        trace["width"] = list(widths)
    return figure(
        [trace],
        title={"text": label(title)},
        xaxis={"title": {"text": label(x_title)}},
        yaxis={"title": {"text": label(y_title)}},
        bargap=0.02 if widths is not None else 0.2,
    )
