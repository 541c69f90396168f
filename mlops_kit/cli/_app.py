"""The root command: storage selection, ``--json``, and one-line errors."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from click.exceptions import NoArgsIsHelpError

from mlops_kit.cli._errors import CliError, CliUsageError, one_line, wants_json
from mlops_kit.cli._storage import StorageChoice, storage_params
from mlops_kit.core.errors import MlopsKitError

F = TypeVar("F", bound=Callable[..., Any])

DEBUG_ENV = "MLOPS_KIT_DEBUG"
_JSON_KEY = "mlops_kit.json"

__all__ = ["DEBUG_ENV", "Group", "emit", "json_option", "main", "one_line", "run", "state", "table"]


class Group(click.Group):
    """The root group: every error is one clear line on stderr (JSON under ``--json``) and a
    documented exit status (:class:`ExitCode`), never a traceback."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        as_json = wants_json(args)
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx is not None else info_name
            raise CliUsageError(exc.format_message(), path, as_json=as_json) from None
        ctx.meta[_JSON_KEY] = as_json
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        as_json = bool(ctx.meta.get(_JSON_KEY))
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise  # "mlops-kit models" alone: click prints the group's help
        except (CliError, CliUsageError) as exc:
            exc.as_json = as_json
            raise
        except click.UsageError as exc:
            # Click prints the usage line, a hint and the error: make it the error and the hint.
            if exc.ctx is None:
                raise CliUsageError(exc.format_message(), None, as_json=as_json) from None
            raise CliUsageError(exc.format_message(), exc.ctx.command_path, as_json=as_json) from None
        except click.ClickException as exc:
            kind = type(exc).__name__
            raise CliError(
                kind, exc.format_message(), exc.exit_code, as_json=as_json, show_kind=False
            ) from None
        except (click.exceptions.Exit, click.Abort):
            raise
        except (MlopsKitError, OSError, ValueError, ImportError) as exc:
            raise CliError(type(exc).__name__, str(exc), as_json=as_json) from None
        except Exception as exc:  # a bug of ours or a library's: still one line, with a way to see more
            if os.environ.get(DEBUG_ENV):
                raise
            message = f"{one_line(str(exc))} (unexpected; set {DEBUG_ENV}=1 for the traceback)"
            raise CliError(type(exc).__name__, message, as_json=as_json) from None


def state(ctx: click.Context) -> StorageChoice:
    """The storage choice of the command line (``.storage`` opens it)."""
    obj = ctx.find_object(StorageChoice)
    assert obj is not None
    return obj


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mlops-kit", prog_name="mlops-kit")
@click.pass_context
def main(ctx: click.Context) -> None:
    """mlops_kit: datasets, models, runs, endpoints and monitoring from the command line."""
    ctx.ensure_object(StorageChoice)
    # Warnings (a model saved with other library versions, say) become one line each too;
    # catch_warnings puts the usual display back when the command ends.
    ctx.with_resource(warnings.catch_warnings())
    warnings.showwarning = _show_warning


# Before the command; every command gets them too (add_storage_params, once all are registered).
main.params[:0] = storage_params(root=True)


def add_storage_params(group: click.Group) -> None:
    """Give every command and group under ``group`` the storage options: they may come anywhere."""
    for command in group.commands.values():
        if not any(p.name == "storage" for p in command.params):
            command.params.extend(storage_params(root=False))
        if isinstance(command, click.Group):
            add_storage_params(command)


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    click.echo(f"warning: {category.__name__}: {one_line(str(message))}", err=True)


def json_option(fn: F) -> F:
    """Add ``--json``: print machine-readable JSON instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


def emit(data: Any, as_json: bool, columns: Sequence[str] | None = None) -> None:
    """Print ``data`` (a list of dicts, or a dict) as JSON or as a readable table."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, value in data.items():
            click.echo(f"{key:<{width}}  {_cell(value)}".rstrip())
        return
    click.echo(table(data, columns))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain-text table with a header; ``(none)`` when there are no rows."""
    if not rows:
        return "(none)"
    columns = list(columns or rows[0])
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d %H:%M:%S"))
    return "" if value is None else str(value)


def run() -> None:
    """Entry point of the ``mlops-kit`` script."""
    sys.exit(main(standalone_mode=True))
