"""``mlops-kit models ls|show|history|archive|restore|alias set|alias rm``: the model registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mlops_kit.cli._app import emit, json_option, main, state, table
from mlops_kit.cli._listing import clip, limit_options, note_clipped

if TYPE_CHECKING:
    from mlops_kit.core.schema import Schema
    from mlops_kit.registry import ModelEvent, ModelVersion, Registry


def _registry(ctx: click.Context) -> Registry:
    from mlops_kit.registry import Registry

    return Registry(state(ctx).storage)


@main.group()
def models() -> None:
    """Registered models: versions, aliases and their history."""


@models.command("ls")
@click.argument("name", required=False)
@limit_options
@json_option
@click.pass_context
def ls(ctx: click.Context, name: str | None, limit: int, show_all: bool, as_json: bool) -> None:
    """List models (latest version, aliases), or the versions of model NAME."""

    reg = _registry(ctx)
    if name is not None:
        aliases = reg.aliases(name)
        archived = set(reg.archived(name))
        rows = [
            {
                "version": mv.version,
                "class": mv.model_class,
                "metrics": dict(mv.metrics),
                "aliases": [a for a, v in aliases.items() if v == mv.version],
                "archived": mv.version in archived,
                "created_at": mv.created_at,
                "created_by": mv.created_by,
            }
            for mv in _newest_versions(reg, name, limit, show_all)
        ]
        emit(rows, as_json)
        return
    shown = clip(reg.models(), limit, show_all, "models", newest=None)
    # One read of the summary log for the page, not requests per model.
    rows = [
        {
            "name": each.name,
            "latest": each.latest,
            "versions": each.versions,
            "aliases": each.aliases,
            "created_at": each.created_at,
        }
        for each in (reg.summaries(limit=len(shown)) if shown else [])
    ]
    emit(rows, as_json, ["name", "latest", "versions", "aliases", "created_at"])


@models.command("show")
@click.argument("ref")
@json_option
@click.pass_context
def show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Show one version: REF is NAME (latest), NAME:VERSION or NAME@ALIAS."""
    reg = _registry(ctx)
    mv = reg.get(ref)
    aliases = [a for a, v in reg.aliases(mv.name).items() if v == mv.version]
    archived = mv.version in reg.archived(mv.name)
    if as_json:
        emit({**mv.model_dump(mode="json"), "aliases": aliases, "archived": archived}, True)
        return
    emit(_summary(mv, aliases, archived), False)
    if mv.signature is not None:
        click.echo("\ninputs")
        click.echo(_schema_table(mv.signature.inputs))
        if mv.signature.outputs is not None:
            click.echo("\noutputs")
            click.echo(_schema_table(mv.signature.outputs))


def _summary(mv: ModelVersion, aliases: list[str], archived: bool) -> dict[str, Any]:
    env = mv.environment
    return {
        "model": mv.ref,
        "aliases": aliases,
        "archived": "yes" if archived else "no",
        "class": f"{mv.model_class} ({mv.flavor})",
        "serializer": mv.serializer,
        "size_bytes": mv.size_bytes,
        "fingerprint": mv.fingerprint,
        "metrics": dict(mv.metrics),
        "params": dict(mv.params),
        "tags": dict(mv.tags),
        "description": mv.description,
        "dataset": "" if mv.dataset is None else f"{mv.dataset} (fingerprint {mv.dataset.fingerprint[:12]})",
        "run": "" if mv.run is None else str(mv.run),
        "environment": f"python {env.python}" + "".join(f", {k} {v}" for k, v in env.libraries.items()),
        "signature": "none (registered without an input example)" if mv.signature is None else "see below",
        "created_at": mv.created_at,
        "created_by": mv.created_by,
    }


def _schema_table(schema: Schema) -> str:
    return table(
        [
            {"column": name, "type": spec.dtype, "nullable": "yes" if spec.nullable else "no"}
            for name, spec in schema.columns.items()
        ]
    )


@models.command("history")
@click.argument("name")
@limit_options
@json_option
@click.pass_context
def history(ctx: click.Context, name: str, limit: int, show_all: bool, as_json: bool) -> None:
    """Every registration, alias move and archive of model NAME, oldest first."""
    events = clip(_registry(ctx).history(name), limit, show_all, "events", newest="last")
    if as_json:
        emit([e.model_dump(mode="json") for e in events], True)
        return
    emit([_event_row(e) for e in events], False, ["at", "by", "event", "alias", "from", "to"])


def _event_row(event: ModelEvent) -> dict[str, Any]:
    moved = event.kind in ("alias_set", "alias_deleted")
    return {
        "at": event.at,
        "by": event.by,
        "event": event.kind,
        "alias": event.alias or "",
        "from": event.from_version if event.from_version is not None else ("(new)" if moved else ""),
        "to": event.version if event.version is not None else "(deleted)",
    }


@models.group()
def alias() -> None:
    """Point aliases (production, staging, ...) at versions."""


@alias.command("set")
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@click.argument("version", type=int)
@json_option
@click.pass_context
def alias_set(ctx: click.Context, name: str, alias_name: str, version: int, as_json: bool) -> None:
    """Point NAME@ALIAS at VERSION (recorded in the model's history)."""
    event = _registry(ctx).set_alias(name, alias_name, version)
    if as_json:
        emit(event.model_dump(mode="json"), True)
        return
    before = "new" if event.from_version is None else f"was {event.from_version}"
    click.echo(f"{event.name}@{event.alias} -> {event.version} ({before})")


@alias.command("rm")
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@json_option
@click.pass_context
def alias_rm(ctx: click.Context, name: str, alias_name: str, as_json: bool) -> None:
    """Delete NAME@ALIAS; the version it pointed to is untouched."""
    event = _registry(ctx).delete_alias(name, alias_name)
    if as_json:
        emit(event.model_dump(mode="json"), True)
        return
    click.echo(f"{event.name}@{event.alias} deleted (was {event.from_version})")


@models.command("archive")
@click.argument("name")
@click.argument("version", type=click.IntRange(1))
@click.option("--force", is_flag=True, help="Archive even while aliases point to the version (they stay).")
@json_option
@click.pass_context
def archive(ctx: click.Context, name: str, version: int, force: bool, as_json: bool) -> None:
    """Hide NAME:VERSION from 'latest' and searches; it stays loadable by number (undo: restore)."""
    _changed(_registry(ctx).archive(name, version, force=force), as_json)


@models.command("restore")
@click.argument("name")
@click.argument("version", type=click.IntRange(1))
@json_option
@click.pass_context
def restore(ctx: click.Context, name: str, version: int, as_json: bool) -> None:
    """Undo 'models archive': NAME:VERSION counts for 'latest' again."""
    _changed(_registry(ctx).restore(name, version), as_json)


def _changed(event: ModelEvent, as_json: bool) -> None:
    if as_json:
        emit(event.model_dump(mode="json"), True)
        return
    click.echo(
        f"{event.name}:{event.version} {event.kind} (recorded in 'mlops-kit models history {event.name}')"
    )


def _newest_versions(reg: Registry, name: str, limit: int, show_all: bool) -> list[ModelVersion]:
    """The newest ``limit`` versions, oldest first (every version with ``--all``): one page read."""
    if show_all:
        return list(reg.versions(name))
    page = reg.versions(name, limit=limit, newest_first=True)
    if page and page[0].version > limit:
        note_clipped(limit, page[0].version, "versions", "newest")
    return page[::-1]
