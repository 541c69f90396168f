"""One run's page and its artifacts' bytes; finding runs by id, and their metric charts."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import NotFoundError
from mlops_kit.ui._charts import lines
from mlops_kit.ui._context import ui_of
from mlops_kit.ui._links import href
from mlops_kit.ui._pages._runs_query import experiment_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from mlops_kit.core.storage import Storage
    from mlops_kit.tracking import AnyRun

__all__ = ["artifact", "find_runs", "histories", "is_image", "metric_charts", "run_page"]

# Only these are served as images (and shown inline); SVG and HTML can carry script.
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def find_runs(storage: Storage, ids: Iterable[str]) -> list[AnyRun]:
    """The runs with these ids, in that order; :class:`NotFoundError` names the first unknown one."""
    from mlops_kit.tracking import runs

    wanted = list(ids)
    found: dict[str, AnyRun] = {}
    for run in runs(storage):  # every run: the folds are cached, so this is a walk in memory
        if run.id in wanted:
            found[run.id] = run
            if len(found) == len(set(wanted)):
                break
    for each in wanted:
        if each not in found:
            raise NotFoundError(f"No run with id {each!r} in this store (tracked or pipeline run).")
    return [found[each] for each in wanted]


def image_type(name: str, media_type: str | None) -> str | None:
    """The image content type of an artifact shown inline, or ``None`` for any other file."""
    if media_type in IMAGE_TYPES.values():
        return media_type
    return IMAGE_TYPES.get(os.path.splitext(name)[1].lower())


def is_image(artifact: Any) -> bool:
    """Whether an artifact is shown inline as an image."""
    return image_type(artifact.name, artifact.media_type) is not None


def histories(run: AnyRun) -> dict[str, tuple[list[int], list[float]]]:
    """Each metric's values over steps; a value logged without a step is placed at its ordinal."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for point in run.metric_history():
        xs, ys = series.setdefault(point.name, ([], []))
        xs.append(point.step if point.step is not None else len(xs))
        ys.append(point.value)
    for name, value in run.metrics.items():  # a metric with no history still has its last value
        series.setdefault(name, ([0], [value]))
    return series


def metric_charts(named: list[tuple[str, AnyRun]]) -> list[tuple[str, str]]:
    """One chart per metric, one line per run (``named`` pairs a legend name with a run)."""
    per_metric: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    for legend, run in named:
        for metric, series in histories(run).items():
            per_metric.setdefault(metric, {})[legend] = series
    return [
        (metric, lines(series, title=metric, x_title="step", y_title=metric))
        for metric, series in sorted(per_metric.items())
    ]


def run_page(request: Request) -> Response:
    ui = ui_of(request)
    [run] = find_runs(ui.storage, [request.path_params["id"]])
    artifacts = sorted(getattr(run, "artifacts", {}).values(), key=lambda a: a.name)
    experiment = experiment_of(run)
    return ui.render(
        request,
        "run.html",
        title=f"Run {run.id}",
        section="runs",
        run=run,
        experiment=experiment,
        charts=metric_charts([(run.id, run)]),
        artifacts=[(a, is_image(a)) for a in artifacts],
        crumbs=[
            ("Runs", href(request, "runs")),
            (experiment, href(request, "runs", experiment=experiment)),
            (run.id, None),
        ],
    )


def artifact(request: Request) -> Response:
    """An artifact's verified bytes: images as images, anything else as a download that is never sniffed."""
    from starlette.responses import Response

    from mlops_kit.tracking import TrackedRun

    ui = ui_of(request)
    [run] = find_runs(ui.storage, [request.path_params["id"]])
    name = request.path_params["name"]
    if not isinstance(run, TrackedRun):
        raise NotFoundError(
            f"Run {run.id} is a pipeline run: it has no artifacts (its outputs are its steps')."
        )
    data = run.artifact(name)  # NotFoundError for an unknown name; IntegrityError if the bytes changed
    found = run.artifacts[name]
    kind = image_type(found.name, found.media_type)
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}
    if kind is None:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", found.name)  # names follow the name rule; never trust it here
        headers["Content-Disposition"] = f'attachment; filename="{safe}"'
        kind = "application/octet-stream"
    return Response(data, media_type=kind, headers=headers)
