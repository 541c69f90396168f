"""Monitoring: the monitors, one monitor's drift over windows and alerts, and its stored reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.core.errors import NotFoundError
from mlops_kit.ui._context import Paging, ui_of
from mlops_kit.ui._links import href
from mlops_kit.ui._pages._drift_charts import MOST_COLUMNS, column_charts
from mlops_kit.ui._pages._report_html import report_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from mlops_kit.monitor import DriftReport

__all__ = ["routes"]

CHARTED_REPORTS = 200  # the drift charts and alerts cover the newest reports only: a page stays fast
MOST_ALERTS = 50


def monitors(request: Request) -> Response:
    from mlops_kit.monitor import Monitor

    ui = ui_of(request)
    paging = Paging.of(request)
    names = list(Monitor.names(ui.storage))
    shown, links = paging.slice(request, names)
    rows: list[tuple[str, DriftReport | None, int | None]] = []
    for name in shown:
        try:
            latest = Monitor.stored_reports(ui.storage, name, limit=1, newest_first=True)
        except NotFoundError:  # in the catalog, its report not readable yet: still listed
            rows.append((name, None, None))
            continue
        rows.append((name, latest[0], latest.seqs[0]))
    return ui.render(
        request,
        "monitors.html",
        title="Monitoring",
        section="monitoring",
        rows=rows,
        links=links,
    )


def monitor(request: Request) -> Response:
    from mlops_kit.monitor import Monitor

    ui = ui_of(request)
    name = request.path_params["name"]
    paging = Paging.of(request, default=20)
    newest = Monitor.stored_reports(ui.storage, name, limit=CHARTED_REPORTS, newest_first=True)
    charts, n_columns = column_charts(newest.to_frame())
    alerts = [(seq, r) for seq, r in zip(newest.seqs, newest, strict=True) if r.drifted]
    page = Monitor.stored_reports(
        ui.storage, name, limit=paging.limit + 1, offset=paging.offset, newest_first=True
    )
    reports = list(zip(page.seqs, page, strict=True))
    return ui.render(
        request,
        "monitor.html",
        title=f"Monitor {name}",
        section="monitoring",
        name=name,
        latest=(newest.seqs[0], newest[0]),
        charted=len(newest),
        most_reports=CHARTED_REPORTS,
        columns=charts,
        n_columns=n_columns,
        most_columns=MOST_COLUMNS,
        charts=[c.statistic for c in charts],
        alerts=alerts[:MOST_ALERTS],
        n_alerts=len(alerts),
        reports=reports[: paging.limit],
        links=paging.links(request, more=len(reports) > paging.limit),
        crumbs=[("Monitoring", href(request, "monitoring")), (name, None)],
    )


def report(request: Request) -> Response:
    from mlops_kit.monitor import Monitor

    ui = ui_of(request)
    name, seq, found = _stored_report(request)
    newer = Monitor.stored_reports(ui.storage, name, limit=1, offset=seq)
    return ui.render(
        request,
        "monitor_report.html",
        title=f"Monitor {name}: report {seq}",
        section="monitoring",
        name=name,
        seq=seq,
        r=found,
        newer=bool(newer),
        crumbs=[
            ("Monitoring", href(request, "monitoring")),
            (name, href(request, "monitoring", name)),
            (f"report {seq}", None),
        ],
    )


def report_html(request: Request) -> Response:
    _, _, found = _stored_report(request)
    return report_response(found)


def _stored_report(request: Request) -> tuple[str, int, DriftReport]:
    from mlops_kit.monitor import Monitor

    ui = ui_of(request)
    name, raw = request.path_params["name"], request.path_params["seq"]
    if not raw.isdigit() or int(raw) < 1:
        raise NotFoundError(f"Reports are numbered 1, 2, ...; there is no report {raw!r}.")
    seq = int(raw)
    try:
        page = Monitor.stored_reports(ui.storage, name, limit=1, offset=seq - 1)
    except NotFoundError:
        Monitor.stored_reports(ui.storage, name, limit=1)  # an unknown monitor says so
        page = None
    if not page or page.seqs[0] != seq:
        raise NotFoundError(f"Monitor {name!r} has no report {seq}.")
    return name, seq, page[0]


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/monitoring", monitors, name="monitors"),
        Route("/monitoring/{name}", monitor, name="monitor"),
        Route("/monitoring/{name}/reports/{seq}", report, name="monitor_report"),
        Route("/monitoring/{name}/reports/{seq}/html", report_html, name="monitor_report_html"),
    ]
