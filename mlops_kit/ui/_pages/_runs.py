"""Runs: tracked and pipeline runs in one table (sorted, filtered, paged), comparisons, one run's page.

Routes: ``/runs`` (the table; see :mod:`._runs_query` for its query string),
``/runs/compare?id=..&id=..`` (2 to 20 runs side by side), ``/runs/{id}`` (one run) and
``/runs/{id}/artifacts/{name}`` (an artifact's bytes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.ui._context import BadRequest, Paging, ui_of
from mlops_kit.ui._links import href
from mlops_kit.ui._pages._runs_detail import artifact, find_runs, metric_charts, run_page
from mlops_kit.ui._pages._runs_query import (
    FIXED,
    STATUSES,
    RunQuery,
    cell,
    columns_of,
    experiment_of,
    kind_of,
    param_text,
    sort_runs,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from mlops_kit.tracking import AnyRun

__all__ = ["routes"]

FEWEST_COMPARED, MOST_COMPARED = 2, 20


def runs_table(request: Request) -> Response:
    from mlops_kit.pipeline import Pipeline
    from mlops_kit.tracking import experiments, runs

    ui = ui_of(request)
    query = RunQuery.of(request)
    paging = Paging.of(request)
    if query.sort is None:  # newest first: a page reads only what it shows
        found = list(runs(ui.storage, **query.filters, limit=paging.limit + 1, offset=paging.offset))
    else:  # a sort needs every matching run
        ordered = sort_runs(list(runs(ui.storage, **query.filters)), query.sort, descending=query.descending)
        found = ordered[paging.offset : paging.offset + paging.limit + 1]
    shown = found[: paging.limit]
    columns = columns_of(shown)
    known = sorted(set(experiments(ui.storage)) | set(Pipeline.names(ui.storage)))
    return ui.render(
        request,
        "runs.html",
        title="Runs",
        section="runs",
        rows=[_row(request, run, columns) for run in shown],
        headers=[_header(request, query, c) for c in [*FIXED, *columns]],
        query=query,
        names=known,
        statuses=STATUSES,
        links=paging.links(request, more=len(found) > paging.limit),
    )


def _row(request: Request, run: AnyRun, columns: list[str]) -> dict[str, Any]:
    cells = []
    for column in columns:
        value = cell(run, column)
        cells.append((column, value, None if value is None else _filter_link(request, column, value)))
    return {"run": run, "kind": kind_of(run), "experiment": experiment_of(run), "cells": cells}


def _filter_link(request: Request, column: str, value: Any) -> str | None:
    """The table narrowed to runs with this param or tag value (metrics filter with ?metric=)."""
    group, _, key = column.partition(".")
    text = str(value) if group == "tags" else param_text(value) if group == "params" else None
    if text is None:
        return None
    prefix = "tag" if group == "tags" else "param"
    return _table_link(request, **{f"{prefix}.{key}": text})


def _table_link(request: Request, **changes: str) -> str:
    """The runs table with this query changed, from its first page (a relative link, as every link)."""
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key != "offset" and key not in changes:
            query.setdefault(key, []).append(value)
    return href(request, "runs", **query, **changes)


def _header(request: Request, query: RunQuery, column: str) -> dict[str, Any]:
    """A column's header: its sort link (a second click reverses the order) and the current order."""
    current = query.sort == column
    order = "asc" if current and query.descending else "desc"
    url = _table_link(request, sort=column, order=order)
    arrow = ("▼" if query.descending else "▲") if current else ""
    numeric = column in ("duration",) or column.startswith("metrics.")
    return {"name": column, "link": url, "arrow": arrow, "numeric": numeric}


def compare(request: Request) -> Response:
    ui = ui_of(request)
    ids = list(dict.fromkeys(request.query_params.getlist("id")))  # once each, in the order given
    if not FEWEST_COMPARED <= len(ids) <= MOST_COMPARED:
        raise BadRequest(
            f"Compare {FEWEST_COMPARED} to {MOST_COMPARED} different runs (?id=<run id>&id=<run id>...); "
            f"got {len(ids)}. Tick them in the runs table."
        )
    found = find_runs(ui.storage, ids)
    return ui.render(
        request,
        "runs_compare.html",
        title=f"Comparing {len(found)} runs",
        section="runs",
        runs=[(run, experiment_of(run)) for run in found],
        params=_side_by_side([run.params for run in found]),
        metrics=_side_by_side([run.metrics for run in found]),
        tags=_side_by_side([run.tags for run in found]),
        charts=metric_charts([(run.id, run) for run in found]),
        crumbs=[("Runs", href(request, "runs")), ("compare", None)],
    )


_ABSENT = object()


def _side_by_side(mappings: list[Any]) -> list[tuple[str, list[Any], bool]]:
    """One row per key: the key, each run's value (``None`` if absent), and whether they differ."""
    keys = sorted({k for m in mappings for k in m})
    rows = []
    for key in keys:
        values = [m.get(key, _ABSENT) for m in mappings]
        differ = any(not _same(v, values[0]) for v in values[1:])
        rows.append((key, [None if v is _ABSENT else v for v in values], differ))
    return rows


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN on both sides
    return isinstance(a, bool) == isinstance(b, bool) and bool(a == b)


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/runs", runs_table, name="runs"),
        Route("/runs/compare", compare, name="runs_compare"),  # before /runs/{id}: "compare" is no id
        Route("/runs/{id}", run_page, name="run"),
        Route("/runs/{id}/artifacts/{name}", artifact, name="run_artifact"),
    ]
