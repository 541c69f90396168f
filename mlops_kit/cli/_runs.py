"""``mlops-kit runs ls|show|compare``: the recorded pipeline runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeGuard, cast

import click

from mlops_kit.cli._app import emit, json_option, main, one_line, state
from mlops_kit.cli._listing import limit_options, note_clipped

if TYPE_CHECKING:
    from mlops_kit.pipeline import RunRecord, StepRecord
    from mlops_kit.tracking import AnyRun, TrackedRun


@main.group()
def runs() -> None:
    """Tracked runs and pipeline runs: status, params, metrics, steps and artifacts."""


@runs.command("ls")
@click.argument("experiment", required=False)
@limit_options
@json_option
@click.pass_context
def ls(ctx: click.Context, experiment: str | None, limit: int, show_all: bool, as_json: bool) -> None:
    """List runs newest first: tracked runs and pipeline runs, of every experiment or of
    EXPERIMENT (a pipeline's runs are in the experiment named like the pipeline)."""
    from mlops_kit.core.errors import NotFoundError
    from mlops_kit.pipeline import Pipeline
    from mlops_kit.tracking import experiments
    from mlops_kit.tracking import runs as list_runs

    store = state(ctx).storage
    found = list(list_runs(store, experiment, limit=None if show_all else limit + 1))
    if experiment is not None and not found:
        known = sorted({*experiments(store), *Pipeline.names(store)})
        raise NotFoundError(
            f"No runs of experiment or pipeline {experiment!r} in {store.url}; those with runs: {known or 'none'}."
        )
    if not show_all and len(found) > limit:
        found = found[:limit]
        note_clipped(limit, None, "runs", "newest")  # counting them all would read them all
    if as_json:
        emit([run.model_dump(mode="json", exclude={"steps"}) for run in found], True)
        return
    emit(
        [
            {
                "id": run.id,
                "experiment": _experiment(run),
                "kind": "tracked" if _tracked(run) else "pipeline",
                "status": run.status,
                "duration": duration(run.duration_s),
                "params": dict(run.params),
                "metrics": dict(run.metrics),
            }
            for run in found
        ],
        False,
        ["id", "experiment", "kind", "status", "duration", "params", "metrics"],
    )


def _tracked(run: AnyRun) -> TypeGuard[TrackedRun]:
    return getattr(run, "kind", "pipeline") == "tracked"  # no import of tracking at start-up


def _experiment(run: AnyRun) -> str:
    return run.experiment if _tracked(run) else run.pipeline  # type: ignore[union-attr]


@runs.command("show")
@click.argument("run_id")
@click.option("--traceback", "tracebacks", is_flag=True, help="Also print the traceback of failed steps.")
@json_option
@click.pass_context
def show(ctx: click.Context, run_id: str, tracebacks: bool, as_json: bool) -> None:
    """Show run RUN_ID (or a unique prefix of it): a pipeline run with its steps, a
    tracked run with its artifacts."""
    run = _find(ctx, run_id)
    if as_json:
        emit(run.model_dump(mode="json"), True)
        return
    if _tracked(run):
        emit(_tracked_summary(run), False)
        if run.artifacts:
            click.echo()
            rows = [
                {"artifact": a.name, "bytes": a.size, "type": a.media_type, "sha256": a.blob[:12]}
                for a in run.artifacts.values()
            ]
            emit(rows, False, ["artifact", "bytes", "type", "sha256"])
        return
    run = cast("RunRecord", run)
    emit(_summary(run), False)
    click.echo()
    emit(
        [_step_row(s) for s in run.steps],
        False,
        ["step", "status", "duration", "cache", "attempts", "error"],
    )
    if tracebacks:
        for s in run.steps:
            if s.traceback:
                click.echo(f"\ntraceback of step {s.name!r}:\n{s.traceback.rstrip()}")


def _find(ctx: click.Context, run_id: str) -> AnyRun:
    from mlops_kit.core.errors import NotFoundError
    from mlops_kit.tracking import runs as list_runs

    store = state(ctx).storage
    every = list(list_runs(store))
    matches = [r for r in every if r.id == run_id] or [r for r in every if r.id.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise click.BadParameter(
            f"{run_id!r} starts {len(matches)} run ids ({', '.join(r.id for r in matches[:3])}, ...); "
            "give more of it",
            param_hint="RUN_ID",
        )
    newest = ", ".join(r.id for r in every[:3]) or "none"
    raise NotFoundError(
        f"No run {run_id!r} in {store.url}; the newest runs: {newest}. List them with 'mlops-kit runs ls'."
    )


def _tracked_summary(run: TrackedRun) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "run": run.id,
        "experiment": run.experiment,
        "status": run.status,
        "started_at": run.started_at,
        "ended_at": run.ended_at if run.ended_at is not None else f"({run.status})",
        "duration": duration(run.duration_s),
        "params": dict(run.params),
        "metrics": dict(run.metrics),
        "tags": dict(run.tags),
        "created_by": run.created_by,
    }
    if run.error:
        fields["error"] = one_line(run.error)
    return fields


def _summary(run: RunRecord) -> dict[str, Any]:
    cached = sum(s.cache_hit for s in run.steps)
    fields: dict[str, Any] = {
        "run": run.id,
        "pipeline": run.pipeline,
        "status": run.status,
        "started_at": run.started_at,
        "ended_at": run.ended_at if run.ended_at is not None else "(running)",
        "duration": duration(run.duration_s),
        "runner": run.runner,
        "cache": f"on, {cached} of {len(run.steps)} steps from the cache" if run.cache else "off",
        "params": dict(run.params),
        "metrics": dict(run.metrics),
        "inputs": {name: (fp or "")[:12] for name, fp in run.inputs.items()},
        "tags": dict(run.tags),
        "created_by": run.created_by,
    }
    if run.status == "failed":
        fields["failed_step"] = run.failed_step or ""
        fields["error"] = one_line(run.error or "")
    return fields


def _step_row(step: StepRecord) -> dict[str, Any]:
    if step.cache_hit:
        cache = "hit"
    else:
        cache = "miss" if step.cache_key else "-"
    return {
        "step": step.name,
        "status": step.status,
        "duration": duration(step.duration_s) if step.status != "skipped" else "",
        "cache": cache,
        "attempts": step.attempts,
        "error": one_line(step.error) if step.error else "",
    }


def duration(seconds: float | None) -> str:
    """Seconds for people: ``0.25 s``, ``2m 03s``, ``1h 02m``; empty while unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--differences", is_flag=True, help="Show only the rows where the runs differ.")
@json_option
@click.pass_context
def compare(ctx: click.Context, run_ids: tuple[str, ...], differences: bool, as_json: bool) -> None:
    """Compare runs side by side: status, duration, params, metrics, tags and input fingerprints.

    Each RUN_ID is an id or a unique prefix of one; give two or more.
    """
    if len(run_ids) < 2:
        raise click.UsageError("give two or more run ids to compare")
    found = [_find(ctx, run_id) for run_id in run_ids]
    rows = [row for row in _comparison(found) if not (differences and row["same"])]
    if as_json:
        emit({"runs": [r.id for r in found], "rows": rows}, True)
        return
    labels = _labels([r.id for r in found])
    table_rows = [
        {"field": row["field"], **dict(zip(labels, map(_shown, row["values"]))), "same": row["same"]}
        for row in rows
    ]
    emit(table_rows, False, ["field", *labels, "same"])


def _comparison(found: list[AnyRun]) -> list[dict[str, Any]]:
    """One row per field any of the runs has; ``None`` where a run lacks it."""
    fields: dict[str, list[Any]] = {
        "experiment": [_experiment(r) for r in found],
        "status": [r.status for r in found],
        "started_at": [r.started_at for r in found],
        "duration_s": [r.duration_s for r in found],
    }
    for group in ("params", "metrics", "inputs", "tags"):
        keys = sorted({k for r in found for k in getattr(r, group, {})})
        for key in keys:
            fields[f"{group}.{key}"] = [getattr(r, group, {}).get(key) for r in found]
    return [
        {"field": name, "values": values, "same": all(v == values[0] for v in values)}
        for name, values in fields.items()
    ]


def _labels(ids: list[str]) -> list[str]:
    """Short column headers: the id's time and random part (``...Z-3f902e23``), whole if repeated."""
    short = [i.rsplit("-", 1)[-1] for i in ids]
    return short if len(set(short)) == len(short) else ids


def _shown(value: Any) -> Any:
    if value is None:
        return "-"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a fingerprint
    return value
