"""Datasets: the names, a dataset's versions, and one version's schema, profile and lineage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_kit.ui._charts import bars
from mlops_kit.ui._context import Paging, ui_of
from mlops_kit.ui._links import href

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from mlops_kit.core.profile import ColumnProfile

__all__ = ["routes"]

MOST_BINS = 60
MOST_CATEGORIES = 30


def datasets(request: Request) -> Response:
    from mlops_kit.datasets import Dataset

    ui = ui_of(request)
    paging = Paging.of(request)
    names = list(Dataset.names(ui.storage))
    shown, links = paging.slice(request, names)
    rows = [(n, Dataset(n, ui.storage).versions(limit=1, newest_first=True)) for n in shown]
    return ui.render(
        request,
        "datasets.html",
        title="Datasets",
        section="datasets",
        rows=[(n, v[0] if v else None) for n, v in rows],
        total=len(names),
        links=links,
    )


def dataset(request: Request) -> Response:
    from mlops_kit.datasets import Dataset

    ui = ui_of(request)
    name = request.path_params["name"]
    paging = Paging.of(request)
    found = Dataset(name, ui.storage)
    versions = list(found.versions(limit=paging.limit + 1, offset=paging.offset, newest_first=True))
    if not versions and paging.offset == 0:
        found.latest()  # NotFoundError, with the block's own message: a 404 page
    return ui.render(
        request,
        "dataset.html",
        title=f"Dataset {name}",
        section="datasets",
        name=name,
        versions=versions[: paging.limit],
        links=paging.links(request, more=len(versions) > paging.limit),
        crumbs=[("Datasets", href(request, "datasets")), (name, None)],
    )


def dataset_version(request: Request) -> Response:
    from mlops_kit.datasets import Dataset

    ui = ui_of(request)
    name, raw = request.path_params["name"], request.path_params["version"]
    version = Dataset(name, ui.storage).get(_version_number(raw))
    charts = [(column, _profile_chart(column, p)) for column, p in version.profile.columns.items()]
    return ui.render(
        request,
        "dataset_version.html",
        title=f"Dataset {name}:{version.version}",
        section="datasets",
        v=version,
        columns=version.schema_.columns,
        profile=version.profile.columns,
        charts=[(c, fig) for c, fig in charts if fig is not None],
        crumbs=[
            ("Datasets", href(request, "datasets")),
            (name, href(request, "datasets", name)),
            (str(version.version), None),
        ],
    )


def _version_number(raw: str) -> int:
    from mlops_kit.core.errors import NotFoundError

    if not raw.isdigit():
        raise NotFoundError(f"Versions are numbers (1, 2, ...), not {raw!r}.")
    return int(raw)


def _profile_chart(column: str, profile: ColumnProfile) -> str | None:
    """A histogram of a numeric column, or the counts of a categorical one's top values."""
    if profile.histogram is not None and profile.histogram.counts:
        hist = profile.histogram
        while len(hist.counts) > MOST_BINS:
            hist = hist.coarsen(hist.exponent + 1)
        edges = hist.edges
        centers = [(float(a) + float(b)) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        return bars(
            centers,
            list(hist.counts),
            title=column,
            x_title=column,
            y_title="rows",
            widths=[hist.width] * len(centers),
        )
    if profile.counts:
        top: list[tuple[Any, int]] = sorted(profile.counts.items(), key=lambda kv: -kv[1])[:MOST_CATEGORIES]
        rest = sum(profile.counts.values()) - sum(c for _, c in top) + (profile.other or 0)
        xs: list[Any] = [str(k) for k, _ in top] + (["(others)"] if rest else [])
        ys = [c for _, c in top] + ([rest] if rest else [])
        return bars(xs, ys, x_title=column, y_title="rows")
    return None


def routes() -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/datasets", datasets, name="datasets"),
        Route("/datasets/{name}", dataset, name="dataset"),
        Route("/datasets/{name}/{version}", dataset_version, name="dataset_version"),
    ]
