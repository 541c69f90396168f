"""``mlops-kit endpoints ls|status|promote|rollback``: what the deployment logs say, and moving versions.

The state shown is the fold of each endpoint's deployment log, which every process
shares; the request counts are those every serving process flushed to the endpoint's
health log (every ``flush_interval`` seconds and on shutdown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mlops_kit.cli._app import emit, json_option, main, one_line, state, table
from mlops_kit.cli._listing import clip, limit_options

if TYPE_CHECKING:
    from mlops_kit.deploy import Deployer, DeploymentEvent, EndpointStatus


def deployer_of(ctx: click.Context) -> Deployer:
    """The deployer of the storage given to the CLI; the commands use only :class:`Deployer`."""
    from mlops_kit.deploy import LocalDeployer
    from mlops_kit.registry import Registry

    store = state(ctx).storage
    return LocalDeployer(Registry(store), storage=store)


@main.group()
def endpoints() -> None:
    """Deployed endpoints: what they serve, canaries, promote and rollback."""


@endpoints.command("ls")
@limit_options
@json_option
@click.pass_context
def ls(ctx: click.Context, limit: int, show_all: bool, as_json: bool) -> None:
    """List the endpoints that serve a model."""
    dep = deployer_of(ctx)
    names = clip(dep.endpoints(), limit, show_all, "endpoints", newest=None)
    statuses = [dep.status(name) for name in names]
    if as_json:
        emit([s.model_dump(mode="json") for s in statuses], True)
        return
    emit(
        [
            {
                "endpoint": s.endpoint,
                "primary": s.primary,
                "candidate": candidate_text(s),
                "previous": s.previous[0] if s.previous else "",
                "updated_at": s.updated_at,
                "updated_by": s.updated_by,
            }
            for s in statuses
        ],
        False,
        ["endpoint", "primary", "candidate", "previous", "updated_at", "updated_by"],
    )


@endpoints.command("status")
@click.argument("name")
@json_option
@click.pass_context
def status(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show endpoint NAME: versions and their traffic weights, counts, and its history."""
    dep = deployer_of(ctx)
    now = dep.status(name)
    events = dep.history(name)
    if as_json:
        emit(
            {
                **now.model_dump(mode="json"),
                "requests": now.requests,
                "errors": now.errors,
                "history": [e.model_dump(mode="json") for e in events],
            },
            True,
        )
        return
    emit(
        {
            "endpoint": now.endpoint,
            "primary": now.primary or "(nothing deployed)",
            "candidate": candidate_text(now) or "none",
            "rollback_to": ", ".join(now.previous) or "nothing",
            "updated": f"{now.updated_at:%Y-%m-%d %H:%M:%S} by {now.updated_by}" if now.updated_at else "",
            "events": now.events,
        },
        False,
    )
    rows = _traffic(now)
    if rows:
        click.echo("\nversions")
        click.echo(table(rows, ["version", "role", "weight", "requests", "errors", "p50_ms", "p99_ms"]))
    click.echo("\nhistory")
    click.echo(table([_event_row(e) for e in events]))


def candidate_text(s: EndpointStatus) -> str:
    if s.candidate is None:
        return ""
    if s.strategy == "canary":
        key = f" by {s.key!r}" if s.key else ""
        return f"{s.candidate} (canary {s.weight:g}{key})"
    return f"{s.candidate} ({s.strategy})"


def _traffic(s: EndpointStatus) -> list[dict[str, Any]]:
    """One row per version taking traffic: its role, share of requests and (if any) counts."""
    share = s.weight if s.strategy == "canary" and s.weight is not None else 0.0
    roles: list[tuple[str, str, str]] = []
    if s.primary is not None:
        roles.append((s.primary, "primary", f"{1 - share:g}"))
    if s.candidate is not None:
        shadow = s.strategy == "shadow"
        roles.append((s.candidate, "shadow" if shadow else "candidate", "copy" if shadow else f"{share:g}"))
    rows = []
    for version, role, weight in roles:
        stats = s.versions.get(version)
        rows.append(
            {
                "version": version,
                "role": role,
                "weight": weight,
                "requests": "-" if stats is None else stats.requests,
                "errors": "-" if stats is None else stats.errors,
                "p50_ms": "" if stats is None or stats.p50_ms is None else stats.p50_ms,
                "p99_ms": "" if stats is None or stats.p99_ms is None else stats.p99_ms,
            }
        )
    return rows


def _event_row(e: DeploymentEvent) -> dict[str, Any]:
    how = ""
    if e.kind == "deploy":
        how = e.strategy or "replace"
        if e.strategy == "canary" and e.weight is not None:
            how = f"canary {e.weight:g}"
    return {
        "at": e.at,
        "by": e.by,
        "event": e.kind,
        "version": e.target or "",
        "strategy": how,
        "primary_before": "" if e.from_model is None else f"{e.from_model}:{e.from_version}",
        "reason": one_line(e.reason) if e.reason else "",
    }


@endpoints.command("promote")
@click.argument("name")
@click.option("--reason", default="", help="A note recorded in the endpoint's history.")
@json_option
@click.pass_context
def promote(ctx: click.Context, name: str, reason: str, as_json: bool) -> None:
    """Make the candidate (canary or shadow) of endpoint NAME its primary."""
    dep = deployer_of(ctx)
    _move(dep, name, as_json, lambda: dep.promote(name, reason=reason))


@endpoints.command("rollback")
@click.argument("name")
@click.option("--reason", default="", help="A note recorded in the endpoint's history.")
@json_option
@click.pass_context
def rollback(ctx: click.Context, name: str, reason: str, as_json: bool) -> None:
    """Drop the candidate of endpoint NAME, or, without one, return to the previous primary."""
    dep = deployer_of(ctx)
    _move(dep, name, as_json, lambda: dep.rollback(name, reason=reason))


def _move(dep: Deployer, name: str, as_json: bool, change: Any) -> None:
    before = dep.status(name)
    event: DeploymentEvent = change()
    after = dep.status(event.endpoint)
    if as_json:
        emit(
            {"event": event.model_dump(mode="json"), "before": serving(before), "after": serving(after)},
            True,
        )
        return
    parts = []
    if before.primary != after.primary:
        parts.append(f"primary {before.primary} -> {after.primary}")
    if candidate_text(before) != candidate_text(after):
        parts.append(f"candidate {candidate_text(before) or 'none'} -> {candidate_text(after) or 'none'}")
    if before.primary == after.primary:
        parts.append(f"primary stays {after.primary}")
    click.echo(f"{event.kind} {event.endpoint!r}: {'; '.join(parts)}")


def serving(s: EndpointStatus) -> dict[str, Any]:
    return {"primary": s.primary, "candidate": s.candidate, "strategy": s.strategy, "weight": s.weight}
