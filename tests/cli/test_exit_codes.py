"""The exit statuses docs/cli.md documents are the ones every command returns."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from mlops_kit.cli import main
from mlops_kit.cli._errors import ExitCode
from tests.cli.conftest import Built, Cli, customers

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def documented() -> dict[str, set[int]]:
    """The rows of the 'command | exit statuses' table."""
    text = DOCS.read_text()
    table = text[text.index("| command | exit statuses |") :].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([a-z ]+)` \| ([0-9, ]+) \|$", table, re.M)
    return {name: {int(c) for c in codes.split(",")} for name, codes in rows}


def leaves(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaves(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_the_status_table_lists_every_exit_code() -> None:
    text = DOCS.read_text()
    table = text[text.index("| status | meaning |") :].split("\n\n", 1)[0]
    assert [int(c) for c in re.findall(r"^\| (\d) \|", table, re.M)] == [int(c) for c in ExitCode]


def test_every_command_is_in_the_table() -> None:
    assert sorted(documented()) == sorted(leaves(main))


def _success(command: str, built: Built, tmp_path: Path) -> list[str]:
    """Arguments with which ``command`` succeeds on the test storage."""
    data = tmp_path / "week.csv"
    customers(seed=1).to_csv(data, index=False)
    new, old = built.train_runs
    return {
        "datasets ls": ["datasets", "ls"],
        "datasets show": ["datasets", "show", "customers"],
        "doctor": ["doctor"],
        "endpoints deploy": ["endpoints", "deploy", "churn:1", "--endpoint", "solo"],
        "endpoints ls": ["endpoints", "ls"],
        "endpoints promote": ["endpoints", "promote", "churn"],
        "endpoints rollback": ["endpoints", "rollback", "churn"],
        "endpoints status": ["endpoints", "status", "churn"],
        "endpoints undeploy": ["endpoints", "undeploy", "solo"],
        "export kserve": ["export", "kserve", "churn", "--out", str(tmp_path / "kserve")],
        "export mlserver": ["export", "mlserver", "churn", "--out", str(tmp_path / "mlserver")],
        "gc": ["gc", "--dry-run"],
        "loop decisions": ["loop", "decisions", "solo"],
        "models alias rm": ["models", "alias", "rm", "churn", "staging"],
        "models alias set": ["models", "alias", "set", "churn", "staging", "1"],
        "models archive": ["models", "archive", "churn", "1", "--force"],
        "models history": ["models", "history", "churn"],
        "models ls": ["models", "ls"],
        "models restore": ["models", "restore", "churn", "3"],
        "models show": ["models", "show", "churn@production"],
        "monitor history": ["monitor", "history", "weekly"],
        "monitor report": [
            "monitor",
            "report",
            "--reference",
            "customers",
            "--current",
            str(data),
            "--out",
            str(tmp_path / "r.html"),
        ],
        "predict": ["predict", "churn:1", "--input", str(data), "--out", str(tmp_path / "p.csv")],
        "runs compare": ["runs", "compare", new, old],
        "runs ls": ["runs", "ls"],
        "runs show": ["runs", "show", new],
        "serve": ["serve", "churn@production"],
        "ui": ["ui", "--port", "0"],
    }[command]


@pytest.mark.parametrize("command", sorted(documented()))
def test_each_documented_status_is_real(
    command: str,
    cli: Cli,
    built: Built,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if command in ("loop decisions", "monitor history"):
        request.getfixturevalue("watched")  # stores a loop's decisions and a monitor's reports
    if command == "serve":
        monkeypatch.setattr("mlops_kit.deploy.serve", lambda handle, **_: None)  # returns as if stopped
    if command == "ui":
        monkeypatch.setattr("uvicorn.run", lambda app, **_: None)  # returns as if stopped
    args = _success(command, built, tmp_path)
    seen: dict[int, int] = {}
    for code in sorted(documented()[command]):
        if code == ExitCode.OK:
            result = cli(*args)
        elif code == ExitCode.ERROR:  # a storage folder that does not exist
            result = cli(*args, "--storage", str(tmp_path / "missing"))
        elif code == ExitCode.USAGE:
            result = cli(*args, "--colour")
        elif code == ExitCode.DRIFT:
            drifted = tmp_path / "drifted.csv"
            moved = customers(seed=2).assign(
                age=lambda d: d["age"] + 20, spend=lambda d: d["spend"] * 1.5, plan="pro"
            )
            moved.to_csv(drifted, index=False)
            result = cli(
                *[drifted.as_posix() if a.endswith("week.csv") else a for a in args], "--fail-on-drift"
            )
        else:
            assert code == ExitCode.CANNOT_LISTEN
            with socket.socket() as holder:
                holder.bind(("127.0.0.1", 0))
                holder.listen()
                result = cli(*args, "--port", str(holder.getsockname()[1]))
        seen[code] = result.code
    assert seen == {code: code for code in documented()[command]}
