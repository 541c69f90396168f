"""No credential reaches a written file: S3 keys given as storage options or in the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import mlops_kit as mk
from mlops_kit.cli import main
from mlops_kit.integrations.kserve import export
from tests.integrations.conftest import fitted

KEY = "AKIAEXPORTTEST7Q2Z"
SECRET = "wJalrXUtnFEMI-export-test-9f8e7d"
TOKEN = "session-token-export-test-41c3"
ENV_SECRET = "env-secret-export-test-5b6a"
SIGNING = "signing-key-export-test-0d1e"


def written(out: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(out.rglob("*")) if p.is_file())


@pytest.fixture
def s3_deployer(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[mk.LocalDeployer, str]:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET)
    monkeypatch.setenv("MLOPS_KIT_SIGNING_KEY", SIGNING)
    url = "s3://test/kserve-secrets"
    store = mk.FsspecStorage(
        url,
        endpoint_url=s3_endpoint,
        key=KEY,
        secret=SECRET,
        token=TOKEN,
        client_kwargs={"region_name": "eu-west-1"},
    )
    reg = mk.Registry(store)
    reg.register("churn", fitted(1.0))
    reg.register("churn", fitted(2.0))
    dep = mk.LocalDeployer(reg, storage=store)
    dep.deploy("churn:1", endpoint="churn").close()
    dep.deploy("churn:2", endpoint="churn", strategy=mk.Canary(weight=0.2)).close()
    return dep, url


@pytest.mark.s3
def test_no_credential_is_written_by_the_function(
    s3_deployer: tuple[mk.LocalDeployer, str], tmp_path: Path
) -> None:
    dep, url = s3_deployer
    with pytest.warns(UserWarning, match=r"Storage options key, secret, token were not written") as seen:
        done = export(dep, "churn", tmp_path / "out")
    text = written(tmp_path / "out")
    for value in (KEY, SECRET, TOKEN, ENV_SECRET, SIGNING):
        assert value not in text
        assert all(value not in str(w.message) for w in seen)
    assert len(done.files) == 10  # both revisions: manifest, Dockerfile, requirements, settings, wheels note
    # What is not secret is written: where the store is and how to reach it.
    assert f"value: {url}" in done.manifest.read_text()
    settings = (tmp_path / "out" / "context" / "models" / "churn" / "model-settings.json").read_text()
    assert '"endpoint_url": "http://127.0.0.1:' in settings and '"region_name": "eu-west-1"' in settings


@pytest.mark.s3
def test_no_credential_is_written_by_the_command(
    s3_deployer: tuple[mk.LocalDeployer, str], s3_endpoint: str, tmp_path: Path
) -> None:
    _, url = s3_deployer
    args = [
        "--storage",
        url,
        "export",
        "kserve",
        "churn",
        "--out",
        str(tmp_path / "out"),
        "--secret",
        "churn-s3",
    ]
    for option in (f"endpoint_url={s3_endpoint}", f"key={KEY}", f"secret={SECRET}"):
        args += ["--storage-option", option]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    text = written(tmp_path / "out")
    for value in (KEY, SECRET, ENV_SECRET, SIGNING):
        assert value not in text and value not in result.output
    assert "name: churn-s3" in text
