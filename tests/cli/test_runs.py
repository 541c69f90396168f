"""``mlops-kit runs ls|show`` and their errors."""

from __future__ import annotations

import json

import pytest

from mlops_kit.cli._runs import duration
from tests.cli.conftest import Built, Cli, key_values, one_line_error


def test_ls_lists_every_pipeline_newest_first(cli: Cli, built: Built) -> None:
    result = cli("runs", "ls")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "EXPERIMENT", "KIND", "STATUS", "DURATION", "PARAMS", "METRICS"]
    rows = [line.split() for line in lines[1:]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (built.failed_run, "explain", "pipeline", "failed"),
        (built.train_runs[0], "train", "pipeline", "succeeded"),
        (built.train_runs[1], "train", "pipeline", "succeeded"),
    ]
    assert rows[1][4:] == [rows[1][4], "s", "C=2", "auc=0.82"]  # duration, params, metrics
    assert rows[2][6:] == ["C=0.5", "auc=0.805"]


def test_ls_one_pipeline_limit_and_json(cli: Cli, built: Built) -> None:
    runs = json.loads(cli("runs", "ls", "train", "--json").out)
    assert [r["id"] for r in runs] == built.train_runs
    assert runs[0]["params"] == {"C": 2.0} and runs[0]["metrics"] == {"auc": pytest.approx(0.82)}
    assert runs[0]["status"] == "succeeded" and runs[0]["duration_s"] > 0
    assert "steps" not in runs[0]  # `runs show` has them
    newest = json.loads(cli("runs", "ls", "-n", "1", "--json").out)
    assert [r["id"] for r in newest] == [built.failed_run]


def test_show_prints_the_run_and_its_steps(cli: Cli, built: Built) -> None:
    result = cli("runs", "show", built.train_runs[0])
    assert result.code == 0
    head, steps = result.out.split("\n\n")
    fields = key_values(head)
    assert fields["run"] == built.train_runs[0]
    assert (fields["pipeline"], fields["status"], fields["params"]) == ("train", "succeeded", "C=2")
    assert fields["cache"] == "on, 1 of 2 steps from the cache"  # features ran in the first run
    assert fields["runner"] == "SequentialRunner"
    rows = [line.split() for line in steps.splitlines()]
    assert rows[0] == ["STEP", "STATUS", "DURATION", "CACHE", "ATTEMPTS", "ERROR"]
    assert [(r[0], r[1], r[4], r[5]) for r in rows[1:]] == [
        ("features", "succeeded", "hit", "0"),
        ("train", "succeeded", "miss", "1"),
    ]


def test_show_a_failed_run_with_its_error_and_traceback(cli: Cli, built: Built) -> None:
    result = cli("runs", "show", built.failed_run[:22])  # a unique prefix is enough
    assert result.code == 0
    assert "failed_step  explain" in result.out
    assert "error        Step 'explain' failed: ValueError: cannot explain this model" in result.out
    last = result.out.strip().splitlines()[-1].split()  # the error stays on the step's row
    assert last[:2] + last[4:] == [
        "explain",
        "failed",
        "-",
        "1",
        "ValueError:",
        "cannot",
        "explain",
        "this",
        "model",
    ]
    assert "Traceback" not in result.out
    traced = cli("runs", "show", built.failed_run, "--traceback").out
    assert "traceback of step 'explain':\nTraceback (most recent call last):" in traced
    assert 'raise ValueError("cannot explain\\nthis model")' in traced


def test_show_json_is_the_whole_record(cli: Cli, built: Built) -> None:
    run = json.loads(cli("runs", "show", built.failed_run, "--json").out)
    assert (run["id"], run["status"], run["failed_step"]) == (built.failed_run, "failed", "explain")
    assert [(s["name"], s["status"], s["cache_hit"]) for s in run["steps"]] == [
        ("features", "succeeded", True),
        ("train", "succeeded", False),  # C=1.0 here: not cached by the train runs
        ("explain", "failed", False),
    ]
    assert "ValueError" in run["steps"][2]["traceback"]


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["runs", "ls", "nope"], "NotFoundError: No runs of experiment or pipeline 'nope' in ", 1),
        (["runs", "ls", "nope"], "those with runs: ['explain', 'train'].", 1),
        (["runs", "ls", "../x"], "InvalidNameError: Invalid experiment name '../x'", 1),
        (["runs", "show", "20990101T000000"], "NotFoundError: No run '20990101T000000' in ", 1),
        (["runs", "show", "2"], "Error: Invalid value for RUN_ID: '2' starts 3 run ids (", 2),
        (
            ["runs", "ls", "-n", "0"],
            "Error: Invalid value for '--limit' / '-n': 0 is not in the range x>=1.",
            2,
        ),
    ],
)
def test_errors_are_one_line(cli: Cli, args: list[str], message: str, code: int) -> None:
    assert message in one_line_error(cli(*args), code)


def test_no_runs_yet(cli: Cli, tmp_path) -> None:
    assert cli("--storage", str(tmp_path), "runs", "ls").out == "(none)\n"
    line = one_line_error(cli("--storage", str(tmp_path), "runs", "show", "x"))
    assert "the newest runs: none" in line


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, ""),
        (0.0123, "0.01 s"),
        (59.994, "59.99 s"),
        (61.4, "1m 01s"),
        (3599.4, "59m 59s"),
        (7380, "2h 03m"),
    ],
)
def test_durations_read_well(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_tracked_runs_are_listed_shown_and_compared_with_pipeline_runs(
    cli: Cli, built: Built, tmp_path
) -> None:
    import shutil

    import mlops_kit as mk

    store = tmp_path / "copy"
    shutil.copytree(built.path, store)
    with mk.start_run(
        "tuning", storage=mk.storage(str(store)), params={"C": 2.0}, tags={"team": "crm"}
    ) as run:
        run.log_metric("auc", 0.9)
        run.log_artifact(b"id,score\n", name="scores.csv")
    listed = cli("--storage", str(store), "runs", "ls")
    first = listed.out.splitlines()[1].split()
    assert first[:4] == [run.id, "tuning", "tracked", "finished"]
    assert first[-2:] == ["C=2", "auc=0.9"]
    assert [
        r["id"] for r in json.loads(cli("--storage", str(store), "runs", "ls", "tuning", "--json").out)
    ] == [run.id]
    shown = cli("--storage", str(store), "runs", "show", run.id)
    head, artifacts = shown.out.split("\n\n")
    fields = key_values(head)
    assert (fields["experiment"], fields["status"], fields["tags"]) == ("tuning", "finished", "team=crm")
    assert artifacts.splitlines()[1].split()[:3] == ["scores.csv", "9", "text/csv"]
    compared = cli("--storage", str(store), "runs", "compare", run.id, built.train_runs[0], "--json").out
    rows = {r["field"]: r["values"] for r in json.loads(compared)["rows"]}
    assert rows["experiment"] == ["tuning", "train"] and rows["params.C"] == [2.0, 2.0]
