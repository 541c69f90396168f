"""``mlops-kit models ls|show|history|alias set|alias rm`` and their errors."""

from __future__ import annotations

import json

import pytest

import mlops_kit as mk
from tests.cli.conftest import Built, Cli, key_values, one_line_error


def test_ls_lists_models_with_latest_version_and_aliases(cli: Cli) -> None:
    result = cli("models", "ls")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["NAME", "LATEST", "VERSIONS", "ALIASES", "CREATED_AT"]
    assert lines[1].split()[:5] == ["churn", "2", "3", "production=1,", "staging=2"]  # 3 is archived
    assert lines[2].split()[:3] == ["rules", "1", "1"]
    rows = json.loads(cli("models", "ls", "--json").out)
    assert rows[0] | {"created_at": None} == {
        "name": "churn",
        "latest": 2,
        "versions": 3,
        "aliases": {"production": 1, "staging": 2},
        "created_at": None,
    }


def test_ls_name_lists_versions(cli: Cli) -> None:
    rows = json.loads(cli("models", "ls", "churn", "--json").out)
    assert [(r["version"], r["aliases"], r["archived"]) for r in rows] == [
        (1, ["production"], False),
        (2, ["staging"], False),
        (3, [], True),
    ]
    assert rows[0]["metrics"] == {"auc": 0.805}
    text = cli("models", "ls", "churn").out
    assert "sklearn.linear_model.LogisticRegression" in text
    assert text.splitlines()[3].split()[:4] == [
        "3",
        "sklearn.linear_model.LogisticRegression",
        "auc=0.1",
        "yes",
    ]


@pytest.mark.parametrize("ref", ["churn:1", "churn@production"])
def test_show_prints_the_record_lineage_and_signature(cli: Cli, built: Built, ref: str) -> None:
    result = cli("models", "show", ref)
    assert result.code == 0
    fields = key_values(result.out.split("\n\n")[0])
    assert fields["model"] == "churn:1"
    assert fields["aliases"] == "production"
    assert fields["metrics"] == "auc=0.805"
    assert fields["params"] == "C=0.5"
    assert fields["tags"] == "team=growth"
    assert fields["dataset"].startswith("customers:1 (fingerprint ")
    assert fields["run"] == f"train/{built.train_runs[1]}"
    assert fields["class"] == "sklearn.linear_model.LogisticRegression (sklearn)"
    assert "python 3." in fields["environment"] and "scikit-learn" in fields["environment"]
    inputs = result.out.split("\ninputs\n")[1].split("\n\n")[0].splitlines()
    assert [line.split() for line in inputs] == [
        ["COLUMN", "TYPE", "NULLABLE"],
        ["age", "int", "yes"],
        ["spend", "float", "yes"],
    ]
    assert "\noutputs\nCOLUMN" in result.out


def test_show_json_is_the_record_plus_aliases(cli: Cli, built: Built) -> None:
    record = json.loads(cli("models", "show", "churn", "--json").out)
    assert (record["name"], record["version"], record["aliases"], record["archived"]) == (
        "churn",
        2,
        ["staging"],
        False,
    )
    assert record["signature"]["inputs"]["columns"]["age"]["dtype"] == "int"
    first = json.loads(cli("models", "show", "churn:1", "--json").out)
    assert first["run"] == {"id": built.train_runs[1], "pipeline": "train"}
    assert first["dataset"]["name"] == "customers"
    # The JSON is the record itself: it reads back as a ModelVersion.
    fields = {k: v for k, v in first.items() if k not in ("aliases", "archived")}
    assert mk.ModelVersion.model_validate(fields).ref == "churn:1"


def test_show_a_model_without_signature(cli: Cli) -> None:
    result = cli("models", "show", "rules")
    assert result.code == 0
    assert "none (registered without an input example)" in result.out
    assert "inputs" not in result.out.split("signature")[1]


def test_alias_set_and_rm_are_recorded_in_history(cli: Cli, built: Built) -> None:
    result = cli("models", "alias", "set", "churn", "production", "2")
    assert (result.code, result.out) == (0, "churn@production -> 2 (was 1)\n")
    assert cli("models", "alias", "set", "churn", "canary", "1").out == "churn@canary -> 1 (new)\n"
    assert cli("models", "alias", "rm", "churn", "staging").out == "churn@staging deleted (was 2)\n"
    assert mk.Registry(str(built.path)).aliases("churn") == {"canary": 1, "production": 2}

    events = json.loads(cli("models", "history", "churn", "--json").out)
    moves = [(e["kind"], e["alias"], e["from_version"], e["version"]) for e in events]
    assert moves == [
        ("registered", None, None, 1),
        ("registered", None, None, 2),
        ("registered", None, None, 3),
        ("archived", None, None, 3),
        ("alias_set", "production", None, 1),
        ("alias_set", "staging", None, 2),
        ("alias_set", "production", 1, 2),
        ("alias_set", "canary", None, 1),
        ("alias_deleted", "staging", 2, None),
    ]
    assert all(e["by"] and e["at"] for e in events)
    lines = cli("models", "history", "churn").out.splitlines()
    assert lines[0].split() == ["AT", "BY", "EVENT", "ALIAS", "FROM", "TO"]
    assert lines[7].split()[3:] == ["alias_set", "production", "1", "2"]  # who and when come first
    assert lines[8].split()[3:] == ["alias_set", "canary", "(new)", "1"]
    assert lines[9].split()[3:] == ["alias_deleted", "staging", "2", "(deleted)"]


def test_alias_commands_print_json(cli: Cli) -> None:
    event = json.loads(cli("models", "alias", "set", "churn", "production", "2", "--json").out)
    assert (event["kind"], event["from_version"], event["version"]) == ("alias_set", 1, 2)
    event = json.loads(cli("models", "alias", "rm", "churn", "production", "--json").out)
    assert (event["kind"], event["from_version"]) == ("alias_deleted", 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "show", "nope"], "NotFoundError: No model named 'nope'; models in "),
        (
            ["models", "show", "churn:9"],
            "NotFoundError: Model 'churn' has no version 9; its versions are 1 to 3.",
        ),
        (
            ["models", "show", "churn@prod"],
            "NotFoundError: Model 'churn' has no alias 'prod'; its aliases: 'production' -> 1, 'staging' -> 2.",
        ),
        (["models", "show", "churn:x"], "InvalidNameError: Invalid model reference 'churn:x'."),
        (["models", "show", "../etc"], "InvalidNameError: Invalid model reference '../etc'."),
        (["models", "ls", "nope"], "NotFoundError: No model named 'nope'"),
        (["models", "history", "nope"], "NotFoundError: No model named 'nope'"),
        (["models", "history", "a/b"], "InvalidNameError:"),
        (
            ["models", "alias", "set", "churn", "production", "7"],
            "NotFoundError: Model 'churn' has no version 7",
        ),
        (
            ["models", "alias", "set", "churn", "production", "0"],
            "InvalidNameError: Invalid model version 0: expected a positive integer",
        ),
        (
            ["models", "alias", "set", "churn", "42", "1"],
            "InvalidNameError: Invalid alias '42': an alias cannot",
        ),
        (
            ["models", "alias", "set", "churn", "prod", "3"],
            "ConflictError: Version 3 of model 'churn' is archived",
        ),
        (["models", "alias", "set", "nope", "production", "1"], "NotFoundError: No model named 'nope'"),
        (["models", "alias", "rm", "churn", "canary"], "NotFoundError: Model 'churn' has no alias 'canary'"),
    ],
)
def test_errors_are_one_line(cli: Cli, args: list[str], message: str) -> None:
    assert message in one_line_error(cli(*args))


def test_a_non_numeric_version_is_a_one_line_usage_error(cli: Cli) -> None:
    line = one_line_error(cli("models", "alias", "set", "churn", "production", "two"), code=2)
    assert "Error: Invalid value for 'VERSION': 'two' is not a valid integer." in line
    assert "(see 'mlops-kit models alias set --help')" in line


def test_an_empty_storage_has_no_models(cli: Cli, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("--storage", str(tmp_path / "empty"), "models", "ls")  # the last --storage wins
    assert (result.code, result.out) == (0, "(none)\n")
    assert cli("--storage", str(tmp_path / "empty"), "models", "ls", "--json").out == "[]\n"


def test_a_model_whose_versions_are_all_archived_has_no_latest(cli: Cli, built: Built) -> None:
    mk.Registry(str(built.path)).archive("rules", 1)
    rows = {r["name"]: r for r in json.loads(cli("models", "ls", "--json").out)}
    assert (rows["rules"]["latest"], rows["rules"]["versions"]) == (None, 1)
    assert cli("models", "ls").out.splitlines()[2].split()[:2] == ["rules", "1"]  # LATEST is empty
    line = one_line_error(cli("models", "show", "rules"))
    assert "NotFoundError: Every version of model 'rules' (1 to 1) is archived" in line
    assert cli("models", "show", "rules:1").code == 0
