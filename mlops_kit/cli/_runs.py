"""``mlops-kit runs ls|show``: the recorded pipeline runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mlops_kit.cli._app import emit, json_option, main, one_line, state

if TYPE_CHECKING:
    from mlops_kit.pipeline import RunRecord, StepRecord


@main.group()
def runs() -> None:
    """Recorded pipeline runs: status, params, metrics and steps."""


@runs.command("ls")
@click.argument("pipeline", required=False)
@click.option("--limit", "-n", type=click.IntRange(1), help="Show only the newest N runs.")
@json_option
@click.pass_context
def ls(ctx: click.Context, pipeline: str | None, limit: int | None, as_json: bool) -> None:
    """List runs newest first, of every pipeline or of PIPELINE."""
    from mlops_kit.core.errors import NotFoundError
    from mlops_kit.pipeline import Pipeline, RunList

    store = state(ctx).storage
    found = RunList.read(store, pipeline=pipeline)
    if pipeline is not None and not found:
        known = Pipeline.names(store)
        raise NotFoundError(
            f"No runs of pipeline {pipeline!r} in {store.url}; pipelines with runs: {known or 'none'}."
        )
    shown = found[:limit] if limit else list(found)
    if as_json:
        emit([run.model_dump(mode="json", exclude={"steps"}) for run in shown], True)
        return
    emit(
        [
            {
                "id": run.id,
                "pipeline": run.pipeline,
                "status": run.status,
                "duration": duration(run.duration_s),
                "params": dict(run.params),
                "metrics": dict(run.metrics),
            }
            for run in shown
        ],
        False,
        ["id", "pipeline", "status", "duration", "params", "metrics"],
    )


@runs.command("show")
@click.argument("run_id")
@click.option("--traceback", "tracebacks", is_flag=True, help="Also print the traceback of failed steps.")
@json_option
@click.pass_context
def show(ctx: click.Context, run_id: str, tracebacks: bool, as_json: bool) -> None:
    """Show run RUN_ID (or a unique prefix of it) and its steps."""
    run = _find(ctx, run_id)
    if as_json:
        emit(run.model_dump(mode="json"), True)
        return
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


def _find(ctx: click.Context, run_id: str) -> RunRecord:
    from mlops_kit.core.errors import NotFoundError
    from mlops_kit.pipeline import RunList

    store = state(ctx).storage
    every = RunList.read(store)
    matches = [r for r in every if r.id == run_id] or [r for r in every if r.id.startswith(run_id)]
    if len(matches) == 1:
        return matches[0].record
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
