"""Exit codes, and errors shown as one line of text or, under ``--json``, one line of JSON."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import IO, Any

import click

__all__ = ["CliError", "CliUsageError", "ExitCode", "one_line", "wants_json"]


class ExitCode(enum.IntEnum):
    """The exit statuses of every command (the table in docs/cli.md lists who returns which)."""

    OK = 0
    ERROR = 1  # not found, conflict, unreadable storage or file, a failed doctor check
    USAGE = 2  # a mistyped command line
    DRIFT = 3  # monitor report --fail-on-drift found drift
    CANNOT_LISTEN = 4  # serve: the port is taken or may not be used


def one_line(text: str) -> str:
    """``text`` on one line: its lines stripped and joined by spaces."""
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip()) or "(no message)"


def wants_json(args: Sequence[str]) -> bool:
    """Whether a command line asks for ``--json`` (options end at ``--``)."""
    args = list(args)
    if "--" in args:
        args = args[: args.index("--")]
    return "--json" in args


def _echo_json(kind: str, message: str, code: int, file: IO[Any] | None) -> None:
    record = {"error": kind, "message": message, "exit_code": code}
    click.echo(json.dumps(record), file=file, err=file is None)


class CliError(click.ClickException):
    """A command's error: ``Error: <Kind>: <message>``, or its JSON form under ``--json``.

    ``kind`` is the exception class (``NotFoundError``); it is left out of the text when
    ``show_kind`` is false (click's own errors, whose message already says what they are).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        exit_code: int = ExitCode.ERROR,
        *,
        as_json: bool = False,
        show_kind: bool = True,
    ) -> None:
        super().__init__(one_line(message))
        self.kind, self.as_json, self.show_kind = kind, as_json, show_kind
        # click 8.5 types exit_code as a ClassVar; each error carries its own.
        self.__dict__["exit_code"] = int(exit_code)

    def format_message(self) -> str:
        return f"{self.kind}: {self.message}" if self.show_kind else self.message

    def show(self, file: IO[Any] | None = None) -> None:
        if self.as_json:
            _echo_json(self.kind, self.message, self.exit_code, file)
        else:
            super().show(file)


class CliUsageError(click.UsageError):
    """A mistyped command line: the error and a pointer to ``--help``, without the usage block."""

    def __init__(self, message: str, command_path: str | None, *, as_json: bool = False) -> None:
        hint = f" (see '{command_path} --help')" if command_path else ""
        super().__init__(f"{one_line(message)}{hint}")
        self.as_json = as_json

    def show(self, file: IO[Any] | None = None) -> None:
        if self.as_json:
            _echo_json("UsageError", self.message, self.exit_code, file)
        else:
            click.echo(f"Error: {self.format_message()}", file=file, err=file is None)
