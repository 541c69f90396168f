"""``mlops-kit monitor report``: Parquet and CSV against a dataset version, the HTML, exit codes, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import Cli, customers, one_line_error


@pytest.fixture
def shifted(tmp_path: Path) -> Path:
    """Current data where most features moved: drift."""
    frame = customers(seed=1)
    frame["age"] += 20
    frame["spend"] *= 1.5
    frame["plan"] = "pro"
    path = tmp_path / "current.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def steady(tmp_path: Path) -> Path:
    """Current data from the same distribution: no drift."""
    path = tmp_path / "current.parquet"
    customers(seed=1).to_parquet(path)
    return path


def test_drift_writes_the_report_prints_the_summary_and_exits_0(cli: Cli, shifted: Path) -> None:
    out = shifted.parent / "report.html"
    result = cli(
        "monitor", "report", "--reference", "customers", "--current", str(shifted), "--out", str(out)
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("DRIFT: 3 of 5 feature columns drifted (60% >= 50%)")
    assert lines[1] == "  reference customers:1 (400 rows), current 400 rows"
    assert {line.split()[0] for line in lines[2:5]} == {"age", "spend", "plan"}  # drifted ones first
    assert all("drifted: " in line for line in lines[2:5])
    assert all(line.endswith("ok") for line in lines[5:7])  # signup was read back as datetimes
    assert lines[-1] == f"wrote {out}"
    page = out.read_text()
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "<svg" in page and "spend" in page
    assert "<script src=" not in page and "<link " not in page  # self-contained: nothing to fetch


def test_fail_on_drift_exits_3_and_still_writes_the_report(cli: Cli, shifted: Path) -> None:
    out = shifted.parent / "r.html"
    args = ["monitor", "report", "--reference", "customers:1", "--current", str(shifted), "--out", str(out)]
    result = cli(*args, "--fail-on-drift")
    assert result.code == 3
    assert result.out.startswith("DRIFT:") and out.exists()


def test_no_drift_exits_0_even_with_fail_on_drift(cli: Cli, steady: Path) -> None:
    out = steady.parent / "r.html"
    args = ["monitor", "report", "--reference", "customers", "--current", str(steady), "--out", str(out)]
    result = cli(*args, "--fail-on-drift", "--target", "churned")
    assert result.code == 0, result.err
    assert result.out.startswith("no drift: 0 of 4 feature columns drifted")  # the target is not a feature
    assert "churned [target]" in result.out


def test_prediction_and_method_options(cli: Cli, steady: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(steady)
    frame["score"] = frame["churned"]
    current = tmp_path / "scored.parquet"
    frame.to_parquet(current)
    result = cli(
        "monitor",
        "report",
        "--reference",
        "customers",
        "--current",
        str(current),
        "--out",
        str(tmp_path / "r.html"),
        "--prediction",
        "churned",
        "--method",
        "psi",
        "--json",
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["html"] == str(tmp_path / "r.html")
    assert report["columns"]["churned"]["role"] == "prediction"
    assert {c["method"] for c in report["columns"].values()} == {"psi"}
    assert report["ignored_columns"] == ["score"]
    assert report["drifted"] is False and report["reference"] == "customers:1"


def test_the_default_output_is_report_html_in_the_working_folder(
    cli: Cli, steady: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("monitor", "report", "--reference", "customers", "--current", str(steady)).code == 0
    assert (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--reference", "nope"], "NotFoundError: Dataset 'nope' has no versions", 1),
        (["--reference", "customers:4"], "NotFoundError: Dataset 'customers' has no version 4", 1),
        (["--reference", "customers@prod"], "a dataset has versions, not aliases", 1),
        (["--reference", "../x"], "InvalidNameError:", 1),
        (["--target", "label"], "'label'", 1),
        (["--method", "magic"], "'magic'", 1),
    ],
)
def test_bad_options_are_one_line_errors(
    cli: Cli, steady: Path, args: list[str], message: str, code: int
) -> None:
    defaults = {"--reference": "customers", "--current": str(steady), "--out": str(steady.parent / "r.html")}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for k, v in {**defaults, **given}.items() for x in (k, v)]
    line = one_line_error(cli("monitor", "report", *argv), code)
    assert message in line
    assert not (steady.parent / "r.html").exists()


def test_unreadable_files_are_one_line_errors(cli: Cli, tmp_path: Path) -> None:
    def report(current: Path, out: Path | None = None) -> str:
        out = out or tmp_path / "r.html"
        result = cli(
            "monitor", "report", "--reference", "customers", "--current", str(current), "--out", str(out)
        )
        return one_line_error(result, result.code) + f" [{result.code}]"

    missing = report(tmp_path / "missing.csv")
    assert missing.startswith("Error: Invalid value for '--current': File '") and missing.endswith(
        "missing.csv' does not exist. (see 'mlops-kit monitor report --help') [2]"
    )
    (tmp_path / "data.txt").write_text("age\n1\n")
    assert "is neither Parquet (.parquet, .pq) nor CSV" in report(tmp_path / "data.txt")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    line = report(tmp_path / "bad.parquet")
    assert line.startswith(
        f"Error: Could not open file '{tmp_path / 'bad.parquet'}': not readable as Parquet:"
    )
    assert line.endswith("[1]")
    (tmp_path / "empty.csv").write_text("")
    assert "not readable as CSV: No columns to parse from file [1]" in report(tmp_path / "empty.csv")
    (tmp_path / "few.csv").write_text("age\n30\n")
    assert "SchemaError: " in report(tmp_path / "few.csv")  # readable, but not the reference's columns
    assert "the folder" in report(tmp_path / "few.csv", tmp_path / "no" / "r.html")
    assert not list(tmp_path.glob("*.html"))


def test_a_missing_report_extra_is_a_one_line_error(
    cli: Cli, steady: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    out = steady.parent / "r.html"
    result = cli("monitor", "report", "--reference", "customers", "--current", str(steady), "--out", str(out))
    line = one_line_error(result)
    assert (
        line == "Error: MissingExtraError: Drawing reports needs matplotlib: pip install 'mlops-kit[report]'"
    )
    assert not out.exists()
