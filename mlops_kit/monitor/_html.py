"""Self-contained HTML for drift reports: inline CSS, inline SVG charts, a tiny sorting script.

Nothing is fetched from the network, so a page works offline, as an e-mail attachment
or in a notebook. Every value from the data (column names, categories) is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

from mlops_kit.monitor._charts import distribution_svg, timeline_svg
from mlops_kit.monitor._columns import ColumnDrift, ColumnSummary

if TYPE_CHECKING:
    from mlops_kit.monitor._estimation import EstimatedPerformance
    from mlops_kit.monitor._performance import Performance
    from mlops_kit.monitor._report import DriftReport
    from mlops_kit.monitor._windows import WindowedReport

__all__ = ["render_report", "render_windows"]

_CSS = """
.mk-report{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
.mk-report{max-width:1100px;margin:0 auto;padding:18px}
.mk-report h1{font-size:22px;margin:0 0 4px}.mk-report h2{font-size:17px;margin:26px 0 8px}
.mk-report h3{font-size:15px;margin:0 0 6px;display:flex;gap:8px;align-items:center}
.mk-report .sub{color:#59636e;margin:0 0 14px}
.mk-report .cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.mk-report .card{border:1px solid #d8dee4;border-radius:8px;padding:8px 14px;min-width:120px}
.mk-report .card{background:#f6f8fa}
.mk-report .card b{display:block;font-size:20px}.mk-report .card span{color:#59636e;font-size:12px}
.mk-report .badge{display:inline-block;border-radius:12px;padding:2px 10px;font-size:12px;font-weight:600}
.mk-report .drift{background:#fde4e1;color:#a4221a}.mk-report .ok{background:#dff5e3;color:#1a6b2c}
.mk-report .na{background:#eef1f4;color:#59636e}
.mk-report table{border-collapse:collapse;width:100%;font-size:13px}
.mk-report th,.mk-report td{padding:5px 8px;border-bottom:1px solid #e6e9ed;text-align:right}
.mk-report th:first-child,.mk-report td:first-child{text-align:left}
.mk-report td.t,.mk-report th.t{text-align:left}
.mk-report table.sortable th{cursor:pointer;user-select:none;background:#f6f8fa;position:sticky;top:0}
.mk-report table.sortable th:after{content:" \\2195";color:#aab2bd}
.mk-report th[aria-sort=ascending]:after{content:" \\2191";color:#1f2328}
.mk-report th[aria-sort=descending]:after{content:" \\2193";color:#1f2328}
.mk-report tr.hit td{background:#fff6f5}
.mk-report a{color:#0b5cd5;text-decoration:none}
.mk-report section.col{border:1px solid #d8dee4;border-radius:8px;padding:12px 14px;margin:12px 0}
.mk-report .row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.mk-report .row>div:first-child{flex:1 1 520px}.mk-report .row>table{flex:0 1 340px;width:auto}
.mk-report svg{max-width:100%;height:auto}
.mk-report .row>div:first-child svg,.mk-report .timeline svg{width:100%}
.mk-report .note{color:#59636e;font-size:12px}
"""

_SORT_JS = """
(function(){document.querySelectorAll("table.sortable").forEach(function(t){
if(t.getAttribute("data-bound"))return;t.setAttribute("data-bound","1");
t.querySelectorAll("th").forEach(function(th,i){th.addEventListener("click",function(){
var asc=th.getAttribute("aria-sort")!=="ascending",body=t.tBodies[0];
t.querySelectorAll("th").forEach(function(h){h.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",asc?"ascending":"descending");
function key(r){var c=r.cells[i],v=c.getAttribute("data-v");return v===null?c.textContent.trim():v;}
var rows=Array.prototype.slice.call(body.rows);rows.sort(function(a,b){
var x=key(a),y=key(b),nx=x===""?-Infinity:Number(x),ny=y===""?-Infinity:Number(y);
var c=(!isNaN(nx)&&!isNaN(ny))?(nx<ny?-1:nx>ny?1:0):x.localeCompare(y);return asc?c:-c;});
rows.forEach(function(r){body.appendChild(r);});});});});})();
"""


def _page(title: str, body: str, fragment: bool) -> str:
    content = f'<div class="mk-report"><style>{_CSS}</style>{body}<script>{_SORT_JS}</script></div>'
    if fragment:
        return content
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body>{content}</body></html>\n"
    )


def _num(value: float | None, fmt: str = ".3g") -> str:
    return "n/a" if value is None else format(value, fmt)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _badge(drifted: bool | None, yes: str = "drift", no: str = "ok") -> str:
    if drifted is None:
        return '<span class="badge na">n/a</span>'
    return f'<span class="badge drift">{yes}</span>' if drifted else f'<span class="badge ok">{no}</span>'


def _card(value: str, label: str) -> str:
    return f'<div class="card"><b>{value}</b><span>{escape(label)}</span></div>'


def _td(text: str, sort: float | str | None = None, cls: str = "") -> str:
    attr = "" if sort is None else f' data-v="{escape(str(sort))}"'
    klass = f' class="{cls}"' if cls else ""
    return f"<td{klass}{attr}>{text}</td>"


def _sortable(headers: Iterable[str], rows: Iterable[str], left: int = 1) -> str:
    ths = "".join(f'<th class="t">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(headers))
    return f'<table class="sortable"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def render_report(report: DriftReport, *, fragment: bool = False, heading: str = "Drift report") -> str:
    """The HTML page (or notebook fragment) of one report."""
    body = _report_body(report, heading)
    return _page(f"{heading}: {report.reference}", body, fragment)


def _report_body(report: DriftReport, heading: str) -> str:
    features = [c for c in report.columns.values() if c.role == "feature"]
    drifted = sum(c.drifted for c in features)
    when = f"{report.created_at:%Y-%m-%d %H:%M:%S %Z}".strip()
    window = (
        f" &middot; window {report.window_start:%Y-%m-%d %H:%M} to {report.window_end:%Y-%m-%d %H:%M}"
        if report.window_start and report.window_end
        else ""
    )
    name = f" &middot; monitor <b>{escape(report.monitor)}</b>" if report.monitor else ""
    reasons = escape(", ".join(report.reasons)) if report.reasons else "nothing to report"
    cards = [
        _card(f"{drifted} / {len(features)}", "feature columns drifted"),
        _card(
            f"{report.drift_share:.0%}", f"drift share (dataset drift at {report.drift_share_threshold:.0%})"
        ),
        _card(f"{report.n_reference:,}", "reference rows"),
        _card(f"{report.n_current:,}", "current rows"),
    ]
    if report.performance is not None:
        cards.append(_card(_badge(report.performance.decayed, "decayed", "holding"), "model performance"))
    if report.estimated_performance is not None:
        est = report.estimated_performance
        cards.append(
            _card(_badge(est.decayed, "decayed", "holding"), f"estimated performance ({est.method})")
        )
    parts = [
        f"<h1>{escape(heading)} {_badge(report.drifted, 'DRIFT', 'no drift')}</h1>",
        f'<p class="sub">reference <b>{escape(report.reference)}</b>{name}{window} &middot; {escape(when)}'
        f" &middot; {reasons}</p>",
        f'<div class="cards">{"".join(cards)}</div>',
    ]
    if report.performance is not None:
        parts.append(_performance(report))
    if report.multivariate:
        parts.append(_multivariate(report))
    if report.estimated_performance is not None:
        parts.append(_estimated(report))
    parts.append("<h2>Columns</h2>")
    parts.append(_columns_table(report))
    if report.ignored_columns:
        shown = ", ".join(escape(c) for c in report.ignored_columns[:30])
        parts.append(f'<p class="note">Not monitored (ignored): {shown}</p>')
    parts.append("<h2>Distributions</h2>")
    ordered = sorted(report.columns.values(), key=lambda c: (not c.drifted, -(c.effect_size or 0.0)))
    index = {name: i for i, name in enumerate(report.columns)}
    parts.extend(_column_section(col, index[col.column]) for col in ordered)
    return "".join(parts)


def _performance(report: DriftReport) -> str:
    perf = report.performance
    assert perf is not None
    heading = (
        f"Performance ({escape(perf.task)}, {perf.n_labelled:,} labelled rows, tolerance {perf.tolerance:g})"
    )
    return _metrics_table(heading, perf, "current")


def _estimated(report: DriftReport) -> str:
    est = report.estimated_performance
    assert est is not None
    heading = (
        f"Estimated performance ({escape(est.method.upper())}, {est.n_rows:,} rows without labels, "
        f"tolerance {est.tolerance:g})"
    )
    return _metrics_table(heading, est, "estimate")


def _metrics_table(heading: str, perf: Performance | EstimatedPerformance, label: str) -> str:
    rows = []
    for name, value in perf.metrics.items():
        ref = perf.reference.get(name)
        delta = None if ref is None else value - ref
        bounds = perf.intervals.get(name)
        band = "n/a" if bounds is None else f"{bounds[0]:.4f} &ndash; {bounds[1]:.4f}"
        rows.append(
            f"<tr{' class=hit' if name in perf.degraded else ''}><td>{escape(name)}</td>"
            f"<td>{_num(ref, '.4f')}</td><td>{_num(value, '.4f')}</td><td>{band}</td>"
            f"<td>{_num(delta, '+.4f')}</td><td>{_num(perf.p_values.get(name), '.3g')}</td>"
            f"<td>{_badge(name in perf.degraded if ref is not None else None, 'worse', 'ok')}</td></tr>"
        )
    note = f'<p class="note">{escape(perf.note)}</p>' if perf.note else ""
    return (
        f"<h2>{heading}</h2>"
        f'<table><thead><tr><th class="t">metric</th><th>reference</th><th>{label}</th>'
        f"<th>{perf.confidence:.0%} interval</th><th>change</th><th>p (worse)</th>"
        f"<th>status</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"
    )


def _multivariate(report: DriftReport) -> str:
    rows = [
        f"<tr{' class=hit' if d.drifted else ''}><td>{escape(d.method)}</td><td>{_num(d.baseline, '.4f')}</td>"
        f"<td>{_num(d.statistic, '.4f')}</td><td>{_num(d.p_value)}</td>"
        f"<td>{_num(d.effect_size, '.3f')} (min {d.min_effect:g})</td>"
        f"<td>{_badge(d.drifted) if not d.note else escape(d.note)}</td></tr>"
        for d in report.multivariate
    ]
    return (
        "<h2>Multivariate drift</h2>"
        '<table><thead><tr><th class="t">detector</th><th>no drift</th><th>current</th><th>p-value</th>'
        f"<th>effect</th><th>status</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _columns_table(report: DriftReport) -> str:
    rows = []
    for i, col in enumerate(report.columns.values()):
        p = col.p_adjusted if col.p_adjusted is not None else col.p_value
        null_change = f"{_pct(col.null_rate_reference)} &rarr; {_pct(col.null_rate_current)}"
        rows.append(
            f"<tr{' class=hit' if col.drifted else ''}>"
            + _td(f'<a href="#mk-col-{i}">{escape(col.column)}</a>', col.column, "t")
            + _td(escape(col.role), cls="t")
            + _td(escape(col.dtype), cls="t")
            + _td(escape(col.method), cls="t")
            + _td(_num(col.statistic), _sort(col.statistic))
            + _td(_num(p), _sort(p))
            + _td(f"{col.threshold:g}", col.threshold)
            + _td(_num(col.effect_size), _sort(col.effect_size))
            + _td(null_change, _sort(col.null_rate_current))
            + _td(_badge(col.drifted), int(col.drifted))
            + "</tr>"
        )
    headers = ["column", "role", "type", "method", "statistic", "p-value", "threshold", "effect size",
               "nulls (ref &rarr; cur)", "status"]  # fmt: skip
    return _sortable(headers, rows, left=4)


def _sort(value: float | None) -> float | str:
    return "" if value is None else value


def _column_section(col: ColumnDrift, index: int) -> str:
    chart = (
        distribution_svg(col.distribution, col.column)
        if col.distribution
        else '<p class="note">no values to draw</p>'
    )
    if col.p_value is not None:
        p = col.p_adjusted if col.p_adjusted is not None else col.p_value
        score = (
            f"{escape(col.method)} statistic {_num(col.statistic)}, p-value {_num(p)} "
            f"(drift below {col.threshold:g})"
        )
    else:
        score = f"{escape(col.method)} {_num(col.statistic)} (drift at {col.threshold:g} or more)"
    minimum = f" (drift needs {col.min_effect:g} or more)" if col.min_effect else ""
    lines = [f"{score}; effect size ({escape(col.effect_measure)}) {_num(col.effect_size)}{minimum}"]
    if col.reasons:
        lines.append("drift signals: " + escape(", ".join(col.reasons)))
    if col.unseen:
        shown = ", ".join(f"{escape(k)} ({v:,})" for k, v in list(col.unseen.items())[:10])
        expected = "" if col.unseen_expected is None else f", {col.unseen_expected:.1%} expected"
        lines.append(f"unseen categories ({col.unseen_share:.1%} of current values{expected}): {shown}")
    if col.note:
        lines.append(escape(col.note))
    role = f' <span class="badge na">{escape(col.role)}</span>' if col.role != "feature" else ""
    return (
        f'<section class="col" id="mk-col-{index}"><h3>{escape(col.column)}{role} {_badge(col.drifted)}</h3>'
        f'<p class="note">{"<br>".join(lines)}</p><div class="row"><div>{chart}</div>'
        f"{_summary_table(col.reference, col.current)}</div></section>"
    )


def _summary_table(ref: ColumnSummary, cur: ColumnSummary) -> str:
    def row(label: str, a: str, b: str) -> str:
        return f"<tr><td>{label}</td><td>{a}</td><td>{b}</td></tr>"

    rows = [
        row("values", f"{ref.count:,}", f"{cur.count:,}"),
        row("nulls", _pct(ref.null_rate), _pct(cur.null_rate)),
    ]
    if ref.n_categories is None:
        for key in ("mean", "std", "min", "p25", "median", "p75", "max"):
            rows.append(row(key, _num(getattr(ref, key), ".4g"), _num(getattr(cur, key), ".4g")))
    else:
        rows.append(row("categories", f"{ref.n_categories:,}", f"{cur.n_categories or 0:,}"))
        top = list(dict.fromkeys([*ref.top, *cur.top]))[:6]
        for key in top:
            a = ref.top.get(key)
            b = cur.top.get(key)
            rows.append(
                row(
                    escape(key),
                    "&ndash;" if a is None else f"{a / max(ref.count, 1):.1%}",
                    "&ndash;" if b is None else f"{b / max(cur.count, 1):.1%}",
                )
            )
    return (
        '<table><thead><tr><th class="t"></th><th>reference</th><th>current</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def render_windows(windows: WindowedReport, *, fragment: bool = False) -> str:
    """Drift over time: a chart and a table of windows, then the latest window in full."""
    reports = windows.reports
    if not reports:
        return _page("Drift over time", "<h1>Drift over time</h1><p>No windows.</p>", fragment)
    peak: dict[str, float] = {}
    for r in reports:
        for name, c in r.columns.items():
            peak[name] = max(peak.get(name, 0.0), c.effect_size or 0.0)
    top = sorted(peak, key=lambda n: -peak[n])[:8]
    rows = []
    for r in reports:
        cols = ", ".join(escape(c) for c in r.drifted_columns[:8]) or "&ndash;"
        rows.append(
            f"<tr{' class=hit' if r.drifted else ''}>"
            + _td(f"{r.window_start:%Y-%m-%d %H:%M}", str(r.window_start), "t")
            + _td(f"{r.n_current:,}", r.n_current)
            + _td(f"{r.drift_share:.0%}", r.drift_share)
            + _td(cols, cls="t")
            + _td(_performance_badge(r), cls="t")
            + _td(_badge(r.drifted), int(r.drifted))
            + "</tr>"
        )
    n_drift = sum(r.drifted for r in reports)
    body = (
        f"<h1>Drift over time {_badge(windows.drifted, 'DRIFT', 'no drift')}</h1>"
        f'<p class="sub">{len(reports)} windows of {escape(windows.freq)} on '
        f"<b>{escape(windows.time_column)}</b> &middot; reference <b>{escape(reports[0].reference)}</b>"
        f" &middot; {n_drift} drifted window{'s' if n_drift != 1 else ''}</p>"
        f'<div class="timeline">{timeline_svg(reports, top)}</div>'
        f'<p class="note">Lines: effect size per window for the {len(top)} columns that moved most '
        "(circled where the column drifted); bars: share of drifted columns.</p>"
        "<h2>Windows</h2>"
        + _sortable(
            ["window start", "rows", "drift share", "drifted columns", "performance", "status"], rows, left=1
        )
        + _report_body(reports[-1], "Latest window")
    )
    return _page("Drift over time", body, fragment)


def _performance_badge(report: DriftReport) -> str:
    """The window's performance verdict: realized when labelled, else estimated, else n/a."""
    perf, est = report.performance, report.estimated_performance
    if perf is not None and perf.n_labelled:
        return _badge(perf.decayed, "decayed", "holding")
    if est is not None:
        return _badge(est.decayed, "decayed (estimated)", "holding (estimated)")
    return _badge(None)
