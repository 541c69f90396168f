"""``mlops-kit gc``: remove the temporary files that killed writers left behind."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import click

from mlops_kit.cli._app import emit, json_option, main, state

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> dt.timedelta:
    """``30s``, ``30m``, ``1h``, ``2d``, ``1w`` or ``0`` as a timedelta; ``ValueError`` otherwise."""
    text = text.strip().lower()
    if text == "0":
        return dt.timedelta(0)
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(text)
    return dt.timedelta(**{_UNITS[match[2]]: float(match[1])})


class Duration(click.ParamType):
    """A duration on the command line: a number and a unit (``s``, ``m``, ``h``, ``d``, ``w``), or ``0``."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        try:
            return parse_duration(str(value))
        except (ValueError, OverflowError):
            self.fail(
                f"{value!r} is not a duration: expected a number and a unit, "
                "as in 30s, 30m, 1h, 2d or 1w (or 0 for every temporary file)",
                param,
                ctx,
            )


@main.command("gc")
@click.option(
    "--older-than",
    type=Duration(),
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="Remove only temporary files unchanged for longer than this (30m, 1h, 2d); "
    "0 takes every one, so use it only when no writer is running.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@json_option
@click.pass_context
def gc(ctx: click.Context, older_than: dt.timedelta, dry_run: bool, as_json: bool) -> None:
    """Remove the temporary files that killed writers left behind.

    Never touches a key, nor a file a live writer is still writing.
    """
    store = state(ctx).storage
    report = store.gc(older_than=older_than, dry_run=dry_run)
    if as_json:
        emit({"storage": store.url, **report.to_dict()}, True)
        return
    verb = "would remove" if dry_run else "removed"
    plural = "" if report.files == 1 else "s"
    line = (
        f"{verb} {report.files} temporary file{plural} ({_size(report.bytes_freed)}) "
        f"unchanged for over {_age(older_than)} from {store.url}"
    )
    if report.kept:
        line += f"; kept {report.kept} changed more recently (writers at work)"
    click.echo(line)
    for name in report.removed:
        click.echo(f"  {name}")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _age(delta: dt.timedelta) -> str:
    seconds = delta.total_seconds()
    for unit, scale in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= scale and seconds % scale == 0:
            return f"{int(seconds // scale)}{unit}"
    return f"{seconds:g}s"
