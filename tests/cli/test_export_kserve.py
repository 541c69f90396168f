"""``mlops-kit export kserve``: what it prints and writes, and its one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli.conftest import Cli, one_line_error


def test_writes_the_canary_of_the_endpoint(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "kserve"
    result = cli("export", "kserve", "churn", "--out", str(out), "--namespace", "ml", "--json")
    assert result.code == 0, result.err
    printed = json.loads(result.out)
    assert (printed["model"], printed["canary_percent"]) == ("churn:2", 25)  # the fixture's Canary(0.25)
    assert printed["image"] == "mlops-kit/churn:churn-2"
    assert sorted(printed["files"]) == sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    manifest = yaml.safe_load((out / "inferenceservice.yaml").read_text())
    assert manifest["metadata"]["namespace"] == "ml"
    assert manifest["spec"]["predictor"]["canaryTrafficPercent"] == 25
    assert "is a local folder" in result.err  # the warning, one line


def test_an_unknown_endpoint_is_one_line_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    line = one_line_error(cli("export", "kserve", "nope", "--out", str(tmp_path / "kserve")))
    assert line.startswith("Error: NotFoundError: No endpoint 'nope'")
    assert not (tmp_path / "kserve").exists()


def test_a_folder_that_is_not_empty_needs_force(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "kserve"
    assert cli("export", "kserve", "solo", "--out", str(out)).code == 0
    line = one_line_error(cli("export", "kserve", "solo", "--out", str(out)))
    assert "is not empty" in line and "--force" in line
    assert cli("export", "kserve", "solo", "--out", str(out), "--force").code == 0


def test_a_tagged_image_is_refused(cli: Cli, tmp_path: Path) -> None:
    line = one_line_error(cli("export", "kserve", "solo", "--out", str(tmp_path / "k"), "--image", "reg/x:1"))
    assert line.startswith("Error: ConfigError: --image 'reg/x:1' has a tag")
