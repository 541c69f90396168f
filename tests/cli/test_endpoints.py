"""``mlops-kit endpoints ls|status|promote|rollback`` and their errors."""

from __future__ import annotations

import json

import pytest

import mlops_kit as mk
from tests.cli.conftest import Built, Cli, key_values, one_line_error


def deployer(built: Built) -> mk.LocalDeployer:
    reg = mk.Registry(str(built.path))
    return mk.LocalDeployer(reg, storage=reg.storage)


def test_ls_lists_what_each_endpoint_serves(cli: Cli) -> None:
    result = cli("endpoints", "ls")
    assert result.code == 0
    lines = [line.split() for line in result.out.splitlines()]
    assert lines[0] == ["ENDPOINT", "PRIMARY", "CANDIDATE", "PREVIOUS", "UPDATED_AT", "UPDATED_BY"]
    assert lines[1][:5] == ["churn", "churn:1", "churn:2", "(canary", "0.25)"]
    assert lines[2][:2] == ["solo", "churn:2"]
    statuses = json.loads(cli("endpoints", "ls", "--json").out)
    assert [(s["endpoint"], s["primary"], s["candidate"], s["weight"]) for s in statuses] == [
        ("churn", "churn:1", "churn:2", 0.25),
        ("solo", "churn:2", None, None),
    ]


def test_status_shows_versions_weights_and_history(cli: Cli) -> None:
    result = cli("endpoints", "status", "churn")
    assert result.code == 0
    head, versions, history = result.out.split("\n\n")
    fields = key_values(head)
    assert fields["primary"] == "churn:1"
    assert fields["candidate"] == "churn:2 (canary 0.25)"
    assert fields["rollback_to"] == "nothing"
    assert fields["events"] == "2"
    rows = [line.split() for line in versions.splitlines()]
    assert rows[:4] == [
        ["versions"],
        ["VERSION", "ROLE", "WEIGHT", "REQUESTS", "ERRORS", "P50_MS", "P99_MS"],
        ["churn:1", "primary", "0.75", "0", "0"],  # nothing served yet, by any process
        ["churn:2", "candidate", "0.25", "0", "0"],
    ]
    assert len(versions.splitlines()) == 4
    rows = [line.split() for line in history.splitlines()]
    assert rows[1] == ["AT", "BY", "EVENT", "VERSION", "STRATEGY", "PRIMARY_BEFORE", "REASON"]
    assert [r[3:6] for r in rows[2:]] == [["deploy", "churn:1", "replace"], ["deploy", "churn:2", "canary"]]


def test_status_json(cli: Cli) -> None:
    status = json.loads(cli("endpoints", "status", "churn", "--json").out)
    assert (status["primary"], status["candidate"], status["strategy"], status["weight"]) == (
        "churn:1",
        "churn:2",
        "canary",
        0.25,
    )
    assert (status["requests"], status["errors"]) == (0, 0)
    assert {v: (s["role"], s["requests"]) for v, s in status["versions"].items()} == {
        "churn:1": ("primary", 0),
        "churn:2": ("candidate", 0),
    }
    assert [(e["kind"], e["ref"], e["version"]) for e in status["history"]] == [
        ("deploy", "churn@production", 1),
        ("deploy", "churn:2", 2),
    ]


def test_status_counts_requests_served_in_this_process(cli: Cli, built: Built, monkeypatch) -> None:
    """The counts come from the deployer's status; an endpoint served here has some."""
    import pandas as pd

    dep = deployer(built)
    with dep.endpoint("solo") as ep:
        ep.predict(pd.DataFrame({"age": [30, 40], "spend": [20.0, 80.0]}))
        monkeypatch.setattr("mlops_kit.cli._endpoints.deployer_of", lambda ctx: dep)
        rows = [line.split() for line in cli("endpoints", "status", "solo").out.split("\n\n")[1].splitlines()]
    assert rows[2][:5] == ["churn:2", "primary", "1", "1", "0"]
    assert "(requests are counted" not in " ".join(" ".join(r) for r in rows)


def test_status_shows_the_counts_other_processes_flushed(cli: Cli, built: Built) -> None:
    import pandas as pd

    with deployer(built).endpoint("solo") as ep:  # closing flushes its counts to storage
        ep.predict(pd.DataFrame({"age": [30, 40], "spend": [20.0, 80.0]}))
        ep.predict(pd.DataFrame({"age": [50], "spend": [20.0]}))
    rows = [line.split() for line in cli("endpoints", "status", "solo").out.split("\n\n")[1].splitlines()]
    assert rows[2][:5] == ["churn:2", "primary", "1", "2", "0"]


def test_promote_then_rollback_twice(cli: Cli, built: Built) -> None:
    result = cli("endpoints", "promote", "churn", "--reason", "canary looked good")
    assert (result.code, result.out) == (
        0,
        "promote 'churn': primary churn:1 -> churn:2; candidate churn:2 (canary 0.25) -> none\n",
    )
    assert deployer(built).status("churn").primary == "churn:2"
    assert cli("endpoints", "rollback", "churn").out == "rollback 'churn': primary churn:2 -> churn:1\n"
    events = deployer(built).history("churn")
    assert [(e.kind, e.target, e.reason) for e in events[2:]] == [
        ("promote", "churn:2", "canary looked good"),
        ("rollback", "churn:1", ""),
    ]
    line = one_line_error(cli("endpoints", "rollback", "churn"))
    assert line == (
        "Error: ConflictError: Endpoint 'churn' has nothing to roll back to: no candidate and no previous "
        "primary (it serves churn:1)."
    )


def test_rollback_drops_a_candidate(cli: Cli, built: Built) -> None:
    moved = json.loads(cli("endpoints", "rollback", "churn", "--json").out)
    assert moved["event"]["kind"] == "rollback"
    assert moved["before"] == {
        "primary": "churn:1",
        "candidate": "churn:2",
        "strategy": "canary",
        "weight": 0.25,
    }
    assert moved["after"] == {"primary": "churn:1", "candidate": None, "strategy": None, "weight": None}
    assert deployer(built).status("churn").candidate is None


def test_promote_prints_json(cli: Cli) -> None:
    moved = json.loads(cli("endpoints", "promote", "churn", "--json").out)
    assert (moved["event"]["kind"], moved["event"]["from_version"], moved["after"]["primary"]) == (
        "promote",
        1,
        "churn:2",
    )


def test_a_rollback_prints_the_candidate_it_dropped(cli: Cli) -> None:
    assert cli("endpoints", "rollback", "churn").out == (
        "rollback 'churn': candidate churn:2 (canary 0.25) -> none; primary stays churn:1\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["endpoints", "status", "nope"], "NotFoundError: No endpoint 'nope' in "),
        (["endpoints", "status", "nope"], "endpoints: ['churn', 'solo']."),
        (["endpoints", "promote", "nope"], "NotFoundError: No endpoint 'nope'"),
        (["endpoints", "rollback", "nope"], "NotFoundError: No endpoint 'nope'"),
        (["endpoints", "status", "a b"], "InvalidNameError:"),
        (["endpoints", "promote", "solo"], "ConflictError: Endpoint 'solo' has no candidate to promote"),
        (["endpoints", "rollback", "solo"], "ConflictError: Endpoint 'solo' has nothing to roll back to"),
    ],
)
def test_errors_are_one_line(cli: Cli, args: list[str], message: str) -> None:
    assert message in one_line_error(cli(*args))


def test_no_endpoints_yet(cli: Cli, tmp_path) -> None:
    assert cli("--storage", str(tmp_path), "endpoints", "ls").out == "(none)\n"
    assert cli("--storage", str(tmp_path), "endpoints", "ls", "--json").out == "[]\n"


def test_an_undeployed_endpoint_keeps_its_status_and_history(cli: Cli, built: Built) -> None:
    deployer(built).undeploy("solo", reason="retired")
    assert [s["endpoint"] for s in json.loads(cli("endpoints", "ls", "--json").out)] == ["churn"]
    result = cli("endpoints", "status", "solo")
    head, history = result.out.split("\n\n")
    assert key_values(head)["primary"] == "(nothing deployed)"
    assert [line.split()[3] for line in history.splitlines()[2:]] == ["deploy", "undeploy"]
    assert history.splitlines()[-1].endswith("churn:2         retired")
