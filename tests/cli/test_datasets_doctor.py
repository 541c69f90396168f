"""The CLI through click's runner: datasets, doctor, errors as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import mlops_kit as mk
from mlops_kit.cli import main
from mlops_kit.testing import FaultyStorage


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = str(tmp_path / "store")
    ds = mk.Dataset("churn", storage=url)
    v1 = ds.save(pd.DataFrame({"age": [30, 40], "plan": ["a", "b"]}), tags={"source": "crm"})
    ds.save(pd.DataFrame({"age": [50], "plan": ["c"]}), parents=[v1])
    return url


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_datasets_ls(store: str) -> None:
    code, out, _ = invoke("--storage", store, "datasets", "ls")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "VERSIONS", "LATEST_ROWS", "CREATED_AT"]
    assert out.splitlines()[1].split()[:3] == ["churn", "2", "1"]
    code, out, _ = invoke("--storage", store, "datasets", "ls", "churn", "--json")
    assert [v["version"] for v in json.loads(out)] == [1, 2]
    assert json.loads(out)[0]["tags"] == {"source": "crm"}


def test_storage_from_environment(store: str) -> None:
    code, out, _ = invoke("datasets", "ls", "--json", env={"MLOPS_KIT_STORAGE": store})
    assert code == 0
    assert json.loads(out)[0]["name"] == "churn"


def test_datasets_show(store: str) -> None:
    code, out, _ = invoke("--storage", store, "datasets", "show", "churn:1")
    assert code == 0
    assert "churn:1" in out and "age" in out and "int" in out
    code, out, _ = invoke("--storage", store, "datasets", "show", "churn", "--json")
    record = json.loads(out)
    assert (record["version"], record["parents"][0]["version"]) == (2, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["datasets", "show", "churn:9"],
            "NotFoundError: Dataset 'churn' has no version 9; versions are 1-2.",
        ),
        (["datasets", "show", "../x"], "InvalidNameError: Invalid dataset reference '../x'."),
        (["datasets", "ls", "nope"], "NotFoundError: Dataset 'nope' has no versions"),
    ],
)
def test_errors_are_one_line_and_nonzero(store: str, args: list[str], message: str) -> None:
    code, out, err = invoke("--storage", store, *args)
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert "Traceback" not in err


def test_doctor_on_a_healthy_storage(tmp_path: Path) -> None:
    code, out, _ = invoke("--storage", str(tmp_path), "doctor", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True
    assert [c["check"] for c in report["checks"]] == [
        "reachable",
        "writable",
        "exclusive create",
        "exclusive create under 16 racing threads",
    ]
    assert list(tmp_path.rglob("doctor/*/*")) == []  # probes cleaned up


class LyingStorage(mk.MemoryStorage):
    """A broken backend: create() overwrites, like s3fs before 2025.7 did."""

    def _create(self, key: str, data: bytes) -> bool:
        self._write(key, data)
        return True


def test_doctor_catches_a_backend_whose_create_overwrites(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlops_kit.cli._storage.storage", lambda url: LyingStorage())
    code, out, _ = invoke("--storage", "x", "doctor")
    assert code == 1
    assert "[FAIL] exclusive create: RuntimeError: create() overwrote an existing key" in out


def test_doctor_reports_an_unreachable_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "mlops_kit.cli._storage.storage", lambda url: FaultyStorage(mk.MemoryStorage(), fail_at=1)
    )
    code, out, _ = invoke("--storage", "x", "doctor")
    assert code == 1
    assert "[FAIL] reachable: StorageError: Injected fault" in out
