"""Which storage a command uses: a missing folder is not an empty storage; options anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlops_kit.cli import main
from tests.cli.conftest import Built, Cli, one_line_error

READS = [
    ["datasets", "ls"],
    ["models", "ls"],
    ["models", "ls", "churn"],
    ["runs", "ls"],
    ["endpoints", "ls"],
    ["gc", "--dry-run"],
    ["doctor"],
]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, prog_name="mlops-kit", catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_missing_folder_is_no_storage_and_nothing_is_created(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "typo" / "store"
    code, out, err = invoke("--storage", str(missing), *args)
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"Error: NotFoundError: No storage at '{missing}': the folder does not exist, so nothing is "
        f"stored there. Check --storage (or $MLOPS_KIT_STORAGE); to start a new storage there, create "
        f"it first: mkdir -p {missing}"
    )
    assert list(tmp_path.iterdir()) == []  # no folder tree, no doctor/<uuid>


def test_an_existing_empty_folder_is_an_empty_storage(tmp_path: Path) -> None:
    assert invoke("--storage", str(tmp_path), "models", "ls") == (0, "(none)\n", "")
    assert invoke("--storage", str(tmp_path), "datasets", "ls", "--json") == (0, "[]\n", "")


def test_a_file_is_not_a_storage(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    code, _, err = invoke("--storage", str(tmp_path / "f"), "models", "ls")
    assert code == 1 and "ConfigError: The storage" in err and "is a file, not a folder" in err


def test_doctor_leaves_no_folder_behind(tmp_path: Path) -> None:
    code, out, _ = invoke("--storage", str(tmp_path), "doctor")
    assert code == 0, out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["models", "ls", "--json", "--storage", "{store}"],
        ["models", "--storage", "{store}", "ls", "--json"],
        ["--storage", "{store}", "models", "ls", "--json"],
        ["--storage", "/nowhere/at/all", "models", "ls", "--json", "--storage", "{store}"],
    ],
    ids=["after", "between-group-and-command", "before", "after-wins"],
)
def test_storage_is_accepted_anywhere(built: Built, args: list[str]) -> None:
    argv = [a.replace("{store}", str(built.path)) for a in args]
    code, out, err = invoke(*argv)
    assert code == 0, err
    assert [m["name"] for m in json.loads(out)] == ["churn", "rules"]


def test_storage_after_the_command_wins_over_the_environment(built: Built, tmp_path: Path) -> None:
    code, out, _ = invoke(
        "models", "ls", "--json", "--storage", str(built.path), env={"MLOPS_KIT_STORAGE": str(tmp_path)}
    )
    assert code == 0 and len(json.loads(out)) == 2


@pytest.mark.parametrize(
    ("args", "kind", "code"),
    [
        (["models", "show", "nope", "--json"], "NotFoundError", 1),
        (["runs", "ls", "--json", "--colour"], "UsageError", 2),
        (["--colour", "runs", "ls", "--json"], "UsageError", 2),
        (["models", "alias", "set", "churn", "production", "two", "--json"], "UsageError", 2),
        (["datasets", "show", "x@@y", "--json"], "InvalidNameError", 1),
    ],
)
def test_errors_under_json_are_json(cli: Cli, args: list[str], kind: str, code: int) -> None:
    record = json.loads(one_line_error(cli(*args), code=code))
    assert record["error"] == kind and record["exit_code"] == code
    assert isinstance(record["message"], str) and record["message"]


def test_a_json_error_for_a_missing_storage(tmp_path: Path) -> None:
    code, out, err = invoke("models", "ls", "--json", "--storage", str(tmp_path / "nope"))
    assert (code, out) == (1, "")
    assert json.loads(err)["error"] == "NotFoundError"


def test_datasets_show_speaks_of_datasets_not_model_aliases(cli: Cli) -> None:
    for ref in ("x@@y", "x@prod", "x:0"):
        line = one_line_error(cli("datasets", "show", ref))
        assert "model" not in line and "@<alias>" not in line, line
        assert line.startswith(f"Error: InvalidNameError: Invalid dataset reference {ref!r}.")
        assert "Expected 'name' or 'name:<version>'" in line
