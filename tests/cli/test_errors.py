"""What every command shares: errors are one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import mlops_kit as mk
from mlops_kit.cli import main
from mlops_kit.testing import FaultyStorage
from tests.cli.conftest import Cli, one_line_error


def test_usage_errors_are_one_line_with_a_pointer_to_help(cli: Cli) -> None:
    line = one_line_error(cli("models", "show"), code=2)
    assert line == "Error: Missing argument 'REF'. (see 'mlops-kit models show --help')"
    line = one_line_error(cli("runs", "ls", "--colour"), code=2)
    assert line == "Error: No such option '--colour'. (see 'mlops-kit runs ls --help')"
    line = one_line_error(cli("endpoints", "scale", "churn"), code=2)
    assert line == "Error: No such command 'scale'. (see 'mlops-kit endpoints --help')"


def test_a_group_alone_prints_its_help(cli: Cli) -> None:
    result = CliRunner().invoke(main, ["models"], prog_name="mlops-kit")
    assert result.exit_code == 2  # click's convention for a group without a command
    assert "Commands:" in result.output and "alias" in result.output and "history" in result.output


def test_every_command_group_is_registered() -> None:
    assert {
        "datasets",
        "doctor",
        "endpoints",
        "gc",
        "loop",
        "models",
        "monitor",
        "predict",
        "runs",
        "serve",
    } <= set(main.commands)


def test_an_unexpected_error_is_one_line_and_the_traceback_is_opt_in(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: object) -> None:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr("mlops_kit.cli._models._registry", broken)
    line = one_line_error(cli("models", "ls"))
    assert (
        line
        == "Error: RuntimeError: a bug over two lines (unexpected; set MLOPS_KIT_DEBUG=1 for the traceback)"
    )
    with pytest.raises(RuntimeError, match="a bug"):
        cli("models", "ls", env={"MLOPS_KIT_DEBUG": "1"})


@pytest.mark.parametrize(
    "args",
    [
        ["models", "ls"],
        ["models", "show", "churn"],
        ["models", "alias", "set", "churn", "production", "1"],
        ["runs", "ls", "--json"],
        ["runs", "show", "x"],
        ["endpoints", "ls"],
        ["endpoints", "promote", "churn"],
    ],
)
def test_a_failing_storage_is_one_line(cli: Cli, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "mlops_kit.cli._storage.storage", lambda url: FaultyStorage(mk.MemoryStorage(), fail_at=1)
    )
    line = one_line_error(cli(*args))
    if "--json" in args:
        assert json.loads(line)["error"] == "StorageError"
    else:
        assert line.startswith("Error: StorageError: Injected fault")


def test_warnings_are_one_line_and_do_not_stop_the_command(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from mlops_kit.registry import EnvironmentMismatchWarning, Registry

    def warned(ctx: object) -> Registry:
        warnings.warn(
            "registered with scikit-learn 1.0,\nloaded with 1.9", EnvironmentMismatchWarning, stacklevel=1
        )
        return Registry(mk.MemoryStorage())

    monkeypatch.setattr("mlops_kit.cli._models._registry", warned)
    shown = warnings.showwarning
    result = cli("models", "ls")
    assert (result.code, result.out) == (0, "(none)\n")
    assert (
        result.err
        == "warning: EnvironmentMismatchWarning: registered with scikit-learn 1.0, loaded with 1.9\n"
    )
    assert warnings.showwarning is shown  # restored when the command ended
