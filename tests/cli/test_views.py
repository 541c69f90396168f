"""Views of what is stored: monitor history, loop decisions, runs compare, archive/restore, deploy/undeploy."""

from __future__ import annotations

import json

import pytest

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining
from tests.cli.conftest import Built, Cli, one_line_error


def test_monitor_history_shows_the_stored_reports(
    cli: Cli, watched: tuple[mk.Monitor, ContinuousTraining]
) -> None:
    mon, _ = watched
    stored = mon.reports()
    records = json.loads(cli("monitor", "history", "weekly", "--json").out)
    assert [r["seq"] for r in records] == [1, 2]
    assert [r["drifted"] for r in records] == [rep.drifted for rep in stored] == [False, True]
    assert [r["drift_share"] for r in records] == [rep.drift_share for rep in stored]
    lines = cli("monitor", "history", "weekly").out.splitlines()
    assert lines[0].split() == [
        "SEQ",
        "CREATED_AT",
        "WINDOW",
        "ROWS",
        "DRIFTED",
        "DRIFT_SHARE",
        "DRIFTED_COLUMNS",
        "REASONS",
    ]
    assert "spend" in lines[2] and "yes" in lines[2]
    result = cli("monitor", "history", "weekly", "--limit", "1")
    assert len(result.out.splitlines()) == 2 and result.out.splitlines()[1].split()[0] == "2"
    assert result.err == "showing the newest 1 of 2 reports; --limit N or --all for more\n"


def test_monitor_history_of_an_unknown_monitor_names_the_known_ones(cli: Cli, watched: object) -> None:
    line = one_line_error(cli("monitor", "history", "weekyl"))
    assert "NotFoundError: Monitor 'weekyl' has no stored reports" in line and "['weekly']" in line


def test_loop_decisions_are_those_the_loop_recorded(
    cli: Cli, watched: tuple[mk.Monitor, ContinuousTraining]
) -> None:
    _, loop = watched
    expected = [d.model_dump(mode="json") for d in loop.decisions()]
    assert json.loads(cli("loop", "decisions", "solo", "--json").out) == expected
    rows = cli("loop", "decisions", "solo").out.splitlines()
    assert rows[0].split()[:4] == ["NUMBER", "AT", "ROWS", "DRIFTED"]
    assert [r.split()[0] for r in rows[1:]] == ["1", "2"]
    for row, decision in zip(rows[1:], expected):
        assert decision["action"] in row.split()
    line = one_line_error(cli("loop", "decisions", "churn"))
    assert "NotFoundError: Loop 'churn' has no decisions" in line and "['solo']" in line


def test_runs_compare_puts_runs_side_by_side(cli: Cli, built: Built) -> None:
    new, old = built.train_runs
    data = json.loads(cli("runs", "compare", new[:22], old, "--json").out)
    assert data["runs"] == [new, old]
    rows = {r["field"]: r for r in data["rows"]}
    assert rows["params.C"] == {"field": "params.C", "values": [2.0, 0.5], "same": False}
    assert rows["metrics.auc"]["values"] == pytest.approx([0.82, 0.805])
    assert rows["experiment"]["same"] is True
    only = json.loads(cli("runs", "compare", new, old, "--differences", "--json").out)["rows"]
    assert "experiment" not in {r["field"] for r in only} and "params.C" in {r["field"] for r in only}
    header = cli("runs", "compare", new, old).out.splitlines()[0].split()
    assert header == ["FIELD", new.rsplit("-", 1)[1].upper(), old.rsplit("-", 1)[1].upper(), "SAME"]
    assert one_line_error(cli("runs", "compare", new), code=2).endswith(
        "give two or more run ids to compare (see 'mlops-kit runs compare --help')"
    )


def test_models_archive_and_restore(cli: Cli, built: Built) -> None:
    reg = mk.Registry(str(built.path))
    result = cli("models", "archive", "churn", "2", "--json")
    line = one_line_error(result)  # staging points to 2
    assert json.loads(line)["error"] == "ConflictError"
    assert cli("models", "archive", "churn", "2", "--force").out == (
        "churn:2 archived (recorded in 'mlops-kit models history churn')\n"
    )
    assert reg.archived("churn") == [2, 3]
    event = json.loads(cli("models", "restore", "churn", "3", "--json").out)
    assert (event["kind"], event["version"]) == ("restored", 3)
    assert reg.archived("churn") == [2] and reg.get("churn").version == 3
    assert "ConflictError: Version 3 of model 'churn' is not archived." in one_line_error(
        cli("models", "restore", "churn", "3")
    )


def test_endpoints_deploy_and_undeploy(cli: Cli, built: Built) -> None:
    dep = mk.LocalDeployer(mk.Registry(str(built.path)))
    assert (
        cli("endpoints", "deploy", "churn:1", "--endpoint", "solo").out
        == "deployed to 'solo': primary churn:1\n"
    )
    out = json.loads(
        cli("endpoints", "deploy", "churn:2", "--endpoint", "solo", "--canary", "0.2", "--json").out
    )
    assert out["after"] == {"primary": "churn:1", "candidate": "churn:2", "strategy": "canary", "weight": 0.2}
    status = dep.status("solo")
    assert (status.primary, status.candidate, status.weight) == ("churn:1", "churn:2", 0.2)
    assert one_line_error(cli("endpoints", "deploy", "churn:2", "--canary", "0.2", "--shadow"), code=2)
    assert cli("endpoints", "undeploy", "solo", "--reason", "maintenance").out.startswith(
        "undeployed 'solo': it served churn:1"
    )
    assert dep.status("solo").primary is None
    assert [e.kind for e in dep.history("solo")][-1] == "undeploy"
    line = one_line_error(cli("endpoints", "undeploy", "solo"))
    assert "NotFoundError: Endpoint 'solo' serves nothing" in line


@pytest.mark.parametrize(
    ("args", "what", "newest"),
    [
        (["datasets", "ls", "customers"], "versions", None),
        (["models", "ls", "churn"], "versions", "3"),
        (["models", "history", "churn"], "events", None),
        (["runs", "ls"], "runs", None),
        (["endpoints", "ls"], "endpoints", None),
        (["models", "ls"], "models", None),
    ],
)
def test_listings_take_a_limit(cli: Cli, args: list[str], what: str, newest: str | None) -> None:
    every = json.loads(cli(*args, "--json", "--all").out)
    assert json.loads(cli(*args, "--json").out) == every  # fewer than the default 50
    if len(every) < 2:
        return
    result = cli(*args, "--json", "-n", "1")
    which = "first" if what in ("models", "endpoints") else "newest"
    counted = f"of {len(every)} {what}" if args[:2] != ["runs", "ls"] else f"{what} (there are more)"
    assert result.err == f"showing the {which} 1 {counted}; --limit N or --all for more\n"
    shown = json.loads(result.out)
    assert shown == ([every[0]] if args[:2] == ["runs", "ls"] or which == "first" else [every[-1]])
