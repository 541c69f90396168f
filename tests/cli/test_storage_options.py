"""``--storage-option KEY=VALUE`` (S3 on moto) and ``--storage-class`` (module:Class or an entry point)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import mlops_kit as mk
from mlops_kit.cli import main
from tests.cli.storage_plugin import InnerFolderStorage, TeamStorage
from tests.conftest import s3_options
from tests.deploy.conftest import make_registry


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, prog_name="mlops-kit", catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.s3
@pytest.mark.parametrize("form", ["flat", "nested", "after-the-command"])
def test_s3_through_storage_options(s3_endpoint: str, form: str) -> None:
    url = f"s3://test/{uuid.uuid4().hex}"
    mk.Dataset("churn", storage=mk.storage(url, **s3_options(s3_endpoint))).save(pd.DataFrame({"a": [1, 2]}))
    # The key and secret come from the AWS variables the fixture set, as a user's would.
    option = (
        f"endpoint_url={s3_endpoint}" if form != "nested" else f"client_kwargs.endpoint_url={s3_endpoint}"
    )
    if form == "after-the-command":
        args = ["datasets", "ls", "--json", "--storage", url, "--storage-option", option]
    else:
        args = ["--storage", url, "--storage-option", option, "datasets", "ls", "--json"]
    code, out, err = invoke(*args)
    assert code == 0, err
    assert [(d["name"], d["latest_rows"]) for d in json.loads(out)] == [("churn", 2)]


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("anon=true", {"anon": True}),
        ("retries=5", {"retries": 5}),
        ('key="5"', {"key": "5"}),
        ("endpoint_url=http://h:1/x=y", {"endpoint_url": "http://h:1/x=y"}),
        ("client_kwargs.region_name=eu-west-1", {"client_kwargs": {"region_name": "eu-west-1"}}),
        (
            'config_kwargs={"retries": {"max_attempts": 2}}',
            {"config_kwargs": {"retries": {"max_attempts": 2}}},
        ),
    ],
)
def test_storage_option_values(pair: str, expected: dict[str, object]) -> None:
    TeamStorage.built_with.clear()
    code, _, err = invoke(
        "--storage-class", "tests.cli.storage_plugin:TeamStorage", "--storage-option", pair, "models", "ls"
    )
    assert code == 0, err
    assert TeamStorage.built_with == [(None, expected)]


@pytest.mark.parametrize("pair", ["novalue", "=x", "a..b=1"])
def test_a_malformed_storage_option_is_a_usage_error(pair: str) -> None:
    code, out, err = invoke("--storage-option", pair, "models", "ls")
    assert (code, out) == (2, "")
    assert f"Invalid value for '--storage-option': {pair!r} is not KEY=VALUE" in err


def test_options_reach_fsspec(tmp_path: Path) -> None:
    code, _, err = invoke(
        "--storage", f"memory://x{uuid.uuid4().hex}", "--storage-option", "colour=red", "models", "ls"
    )
    assert (
        code == 1
        and "ConfigError: memory:// storage takes no options besides signing_key, got ['colour']" in err
    )


def test_a_storage_class_by_module_and_name(tmp_path: Path) -> None:
    TeamStorage.built_with.clear()
    mk.Registry(mk.storage("memory://team-growth")).register("m", {"threshold": 1})
    for args in (
        [
            "--storage-class",
            "tests.cli.storage_plugin:TeamStorage",
            "--storage",
            "team://growth",
            "models",
            "ls",
            "--json",
        ],
        [
            "models",
            "ls",
            "--json",
            "--storage",
            "team://growth",
            "--storage-class",
            "tests.cli.storage_plugin:TeamStorage",
        ],
    ):
        code, out, err = invoke(*args)
        assert code == 0, err
        assert [m["name"] for m in json.loads(out)] == ["m"]
    assert TeamStorage.built_with == [("team://growth", {}), ("team://growth", {})]
    code, out, _ = invoke(
        "models",
        "ls",
        "--json",
        env={
            "MLOPS_KIT_STORAGE": "team://growth",
            "MLOPS_KIT_STORAGE_CLASS": "tests.cli.storage_plugin:TeamStorage",
        },
    )
    assert code == 0 and [m["name"] for m in json.loads(out)] == ["m"]


def _install_entry_point(where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = where / "acme_storage-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-storage\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[mlops_kit.storage]\nteam = tests.cli.storage_plugin:TeamStorage\ninner = tests.cli.storage_plugin:InnerFolderStorage\n"
    )
    monkeypatch.syspath_prepend(str(where))


def test_a_storage_class_from_an_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_entry_point(tmp_path, monkeypatch)
    mk.Registry(mk.storage("memory://team-ops")).register("rules", {"threshold": 1})
    code, out, err = invoke("--storage-class", "team", "--storage", "team://ops", "models", "ls", "--json")
    assert code == 0, err
    assert [m["name"] for m in json.loads(out)] == ["rules"]
    code, _, err = invoke("--storage-class", "tean", "models", "ls")
    assert code == 1
    assert err.strip() == (
        "Error: ConfigError: --storage-class 'tean' is neither 'module:Class' nor an entry point of group "
        "'mlops_kit.storage' (installed: ['inner', 'team'])."
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tests.cli.storage_plugin:NOT_A_STORAGE", "not a subclass of mlops_kit.Storage"),
        ("tests.cli.storage_plugin:Missing", "cannot import it"),
        ("no_such_module_x:Storage", "cannot import it"),
        ("mlops_kit:MemoryStorage", "Cannot build MemoryStorage(URL, **storage_options)"),
    ],
)
def test_a_bad_storage_class_is_one_line(tmp_path: Path, spec: str, message: str) -> None:
    code, out, err = invoke("--storage-class", spec, "--storage", str(tmp_path), "models", "ls")
    assert (code, out) == (1, "") and len(err.strip().splitlines()) == 1
    assert message in err


def test_serve_uses_the_storage_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plugins").mkdir()
    _install_entry_point(tmp_path / "plugins", monkeypatch)
    make_registry(InnerFolderStorage(str(tmp_path / "store")))
    served: list[str] = []
    monkeypatch.setattr("mlops_kit.deploy.serve", lambda handle, **_: served.append(str(handle.version)))
    code, _, err = invoke("serve", "m:2", "--storage", str(tmp_path / "store"))
    assert code == 1 and "NotFoundError" in err  # the models live where only the class looks
    code, _, err = invoke("serve", "m:2", "--storage", str(tmp_path / "store"), "--storage-class", "inner")
    assert code == 0, err
    assert served == ["m:2"]
