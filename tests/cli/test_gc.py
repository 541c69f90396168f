"""``mlops-kit gc``: temporaries of killed writers go, keys and live writers' files stay."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlops_kit as mk
from mlops_kit.cli._gc import parse_duration
from tests.cli.conftest import Built, Cli, one_line_error

ROOT = Path(__file__).resolve().parents[2]


def leave_temporaries(path: Path) -> list[Path]:
    """What writers killed mid-write leave: a staged key and a staged blob."""
    files = [path / "models" / ".tmp-k1ll3d", path / ".tmp" / "mlops-kit-blob-k1ll3d.tmp"]
    for file in files:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(b"x" * 1500)
    return files


def test_gc_removes_leftovers_and_no_key(cli: Cli, built: Built) -> None:
    keys = mk.storage(str(built.path)).list()
    files = leave_temporaries(built.path)

    kept = cli("gc")  # the default: 1h; these files are brand new
    assert kept.code == 0
    assert kept.out.startswith("removed 0 temporary files (0 B) unchanged for over 1h from ")
    assert "kept 2 changed more recently" in kept.out
    assert all(f.exists() for f in files)

    dry = cli("gc", "--older-than", "0", "--dry-run")
    assert dry.code == 0
    assert dry.out.splitlines()[0].startswith("would remove 2 temporary files (3.0 kB) unchanged for over 0s")
    assert sorted(line.strip() for line in dry.out.splitlines()[1:]) == [
        ".tmp/mlops-kit-blob-k1ll3d.tmp",
        "models/.tmp-k1ll3d",
    ]
    assert all(f.exists() for f in files)

    done = cli("gc", "--older-than", "0", "--json")
    assert done.code == 0
    report = json.loads(done.out)
    assert report["storage"] == str(built.path)
    assert (report["files"], report["bytes_freed"], report["kept"]) == (2, 3000, 0)
    assert (report["dry_run"], report["older_than"]) == (False, 0)
    assert not any(f.exists() for f in files)
    assert mk.storage(str(built.path)).list() == keys
    assert cli("models", "ls").code == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", dt.timedelta(0)),
        ("0s", dt.timedelta(0)),
        ("45s", dt.timedelta(seconds=45)),
        ("30m", dt.timedelta(minutes=30)),
        ("1h", dt.timedelta(hours=1)),
        ("1.5h", dt.timedelta(minutes=90)),
        ("2d", dt.timedelta(days=2)),
        ("1w", dt.timedelta(weeks=1)),
        (" 2H ", dt.timedelta(hours=2)),
    ],
)
def test_durations(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "1", "-1h", "1 hour", "h", "1h30m", ""])
def test_a_bad_duration_is_a_one_line_usage_error(cli: Cli, text: str) -> None:
    line = one_line_error(cli("gc", "--older-than", text), code=2)
    assert f"Invalid value for '--older-than': {text!r} is not a duration" in line
    assert "30m, 1h, 2d" in line and "(see 'mlops-kit gc --help')" in line


def test_gc_from_the_installed_command(tmp_path: Path) -> None:
    store = mk.storage(str(tmp_path / "store"))
    store.write("a/b", b"1")
    leave_temporaries(tmp_path / "store")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = ["--storage", str(tmp_path / "store"), "gc", "--older-than", "0"]
    done = subprocess.run(
        [sys.executable, "-m", "mlops_kit.cli", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("removed 2 temporary files")
    assert store.list() == ["a/b"]
