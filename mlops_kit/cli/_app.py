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

from mlops_kit.core.errors import MlopsKitError
from mlops_kit.core.storage import STORAGE_ENV, Storage, storage

F = TypeVar("F", bound=Callable[..., Any])

DEBUG_ENV = "MLOPS_KIT_DEBUG"


class Group(click.Group):
    """A group whose errors are one clear line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise  # "mlops-kit models" alone: click prints the group's help
        except click.UsageError as exc:
            # Click prints the usage line, a hint and the error: make it the error and the hint.
            if exc.ctx is None:
                raise
            error = click.UsageError(
                f"{one_line(exc.format_message())} (see '{exc.ctx.command_path} --help')"
            )
            raise error from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (MlopsKitError, OSError, ValueError, ImportError) as exc:
            raise click.ClickException(f"{type(exc).__name__}: {one_line(str(exc))}") from None
        except Exception as exc:  # a bug of ours or a library's: still one line, with a way to see more
            if os.environ.get(DEBUG_ENV):
                raise
            raise click.ClickException(
                f"{type(exc).__name__}: {one_line(str(exc))} (unexpected; set {DEBUG_ENV}=1 for the traceback)"
            ) from None


def one_line(text: str) -> str:
    """``text`` on one line: its lines stripped and joined by spaces."""
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip()) or "(no message)"


class State:
    """What every command gets: the storage (opened on first use)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._storage: Storage | None = None

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            self._storage = storage(self.url)
        return self._storage


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--storage",
    "url",
    envvar=STORAGE_ENV,
    metavar="URL",
    help=f"Storage URL or path (default: ${STORAGE_ENV}, else ./.mlops).",
)
@click.version_option(package_name="mlops-kit", prog_name="mlops-kit")
@click.pass_context
def main(ctx: click.Context, url: str | None) -> None:
    """mlops_kit: datasets, models, runs, endpoints and monitoring from the command line."""
    ctx.obj = State(url)
    # Warnings (a model saved with other library versions, say) become one line each too;
    # catch_warnings puts the usual display back when the command ends.
    ctx.with_resource(warnings.catch_warnings())
    warnings.showwarning = _show_warning


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


def state(ctx: click.Context) -> State:
    obj = ctx.find_object(State)
    assert obj is not None
    return obj


def run() -> None:
    """Entry point of the ``mlops-kit`` script."""
    sys.exit(main(standalone_mode=True))
