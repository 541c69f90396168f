"""Small inline-SVG charts drawn with matplotlib (the ``report`` extra), no pyplot global state."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlops_kit.core.extras import require
from mlops_kit.monitor._columns import Distribution

if TYPE_CHECKING:
    from mlops_kit.monitor._report import DriftReport

__all__ = ["distribution_svg", "timeline_svg"]

REFERENCE = "#9aa5b8"
CURRENT = "#2f6fdf"
DRIFT = "#d0342c"
_STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller files, page fonts, selectable labels
    "svg.hashsalt": "mlops-kit",  # deterministic ids
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8a8f98",
    "axes.labelcolor": "#3b3f45",
    "xtick.color": "#5b6068",
    "ytick.color": "#5b6068",
    "legend.frameon": False,
}
_PALETTE = ["#2f6fdf", "#e8842c", "#2a9d62", "#8e5bd0", "#c9406e", "#1c9fb0", "#8c7a35", "#5b6068"]
_counter = itertools.count(1)


def _style() -> Any:
    """The chart style as an rc context; matplotlib reads it while artists are created and saved."""
    matplotlib = require("matplotlib", extra="report", purpose="Drawing reports")
    return matplotlib.rc_context(_STYLE)


def _figure(width: float, height: float, left: float = 0.6, right: float = 0.15) -> Any:
    """A figure with fixed margins in inches (a layout engine would double the drawing time)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=0.45 / height, top=1 - 0.32 / height
    )
    return fig, fig.add_subplot()


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, transparent=True)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # Several charts share one page: give each chart's ids (clip paths, markers) a unique prefix.
    ids = sorted(set(re.findall(r'id="([^"]+)"', text)), key=len, reverse=True)
    if ids:
        prefix = f"c{next(_counter)}-"
        pattern = re.compile(r'(id="|#)(' + "|".join(map(re.escape, ids)) + r')(?=["\)])')
        text = pattern.sub(lambda m: m.group(1) + prefix + m.group(2), text)
    return text


def distribution_svg(dist: Distribution, column: str) -> str:
    """Reference vs current: step histograms (numeric) or paired bars (categorical)."""
    with _style():
        return _distribution(dist, column)


def _distribution(dist: Distribution, column: str) -> str:
    import numpy as np

    if dist.kind == "numeric":
        fig, ax = _figure(5.6, 2.5)
        edges = np.asarray(dist.edges)
        ax.stairs(dist.reference, edges, fill=True, color=REFERENCE, alpha=0.55, label="reference")
        ax.stairs(dist.current, edges, color=CURRENT, linewidth=1.6, label="current")
        ax.set_xlabel(column)
        ax.set_ylabel("share of rows")
    else:
        n = len(dist.labels)
        longest = max((len(_short(label)) for label in dist.labels), default=4)
        fig, ax = _figure(5.6, max(1.8, 0.28 * n + 0.9), left=min(2.4, 0.25 + 0.065 * longest))
        y = np.arange(n)
        ax.barh(y - 0.2, dist.reference, height=0.4, color=REFERENCE, label="reference")
        ax.barh(y + 0.2, dist.current, height=0.4, color=CURRENT, label="current")
        ax.set_yticks(y, [_short(label) for label in dist.labels])
        ax.invert_yaxis()
        ax.set_xlabel("share of rows")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, fontsize=8, borderaxespad=0.2)
    return _svg(fig)


def _short(label: str, width: int = 24) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def timeline_svg(reports: Sequence[DriftReport], columns: Sequence[str]) -> str:
    """Effect size per window for ``columns`` (drifted windows marked), and the drift share."""
    with _style():
        return _timeline(reports, columns)


def _timeline(reports: Sequence[DriftReport], columns: Sequence[str]) -> str:
    import numpy as np
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig, ax = _figure(7.2, 3.3, right=0.6)
    ax.set_prop_cycle(color=_PALETTE)
    times = [r.window_start or r.created_at for r in reports]
    for name in columns:
        values = [
            np.nan if (c := r.columns.get(name)) is None or c.effect_size is None else c.effect_size
            for r in reports
        ]
        (_line,) = ax.plot(times, values, marker="o", markersize=3, linewidth=1.4, label=_short(name, 18))
        hits = [
            (t, v) for t, v, r in zip(times, values, reports) if name in r.columns and r.columns[name].drifted
        ]
        if hits:
            ax.scatter(*zip(*hits), s=36, facecolors="none", edgecolors=DRIFT, linewidths=1.4, zorder=3)
    ax.axhline(0.1, color=DRIFT, linestyle="--", linewidth=0.9, label="auto threshold")
    ax.set_ylabel("effect size")
    share = ax.twinx()
    share.bar(times, [r.drift_share for r in reports], width=_bar_width(times), color=REFERENCE, alpha=0.25)
    share.set_ylim(0, 1)
    share.set_ylabel("share of drifted columns")
    share.spines["right"].set_visible(True)
    ax.set_zorder(share.get_zorder() + 1)
    ax.patch.set_visible(False)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        fontsize=7,
        ncols=min(5, len(columns) + 1),
        borderaxespad=0.2,
    )
    return _svg(fig)


def _bar_width(times: Sequence[Any]) -> float:
    if len(times) < 2:
        return 0.8
    import matplotlib.dates as mdates

    nums = mdates.date2num(list(times))
    return float(min(b - a for a, b in itertools.pairwise(nums)) * 0.8)
