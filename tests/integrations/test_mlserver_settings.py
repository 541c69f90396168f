"""The settings ``mlops-kit export mlserver`` writes and the runtime reads (no MLServer needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

import mlops_kit as mk
from mlops_kit.cli import main
from mlops_kit.core.errors import ConfigError, InvalidNameError
from mlops_kit.core.extras import MissingExtraError
from mlops_kit.integrations._mlserver_core import Options

X = pd.DataFrame({"age": [25, 40, 61, 33], "spend": [10.0, 80.5, 5.2, 42.0]})


def export(store: Path, endpoint: str, out: Path, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--storage", str(store), "export", "mlserver", endpoint, "--out", str(out), *options]
    )
    return result.exit_code, result.output


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    registry = mk.Registry(mk.storage(str(path)))
    for c in (1.0, 0.1):
        registry.register("churn", LogisticRegression(C=c).fit(X, [0, 1, 0, 1]), input_example=X)
    registry.set_alias("churn", "production", 1)
    deployer = mk.LocalDeployer(registry)
    deployer.deploy("churn@production", endpoint="churn")
    deployer.close()
    return path


def test_export_writes_the_primary_and_the_candidate_and_no_secret(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    code, output = export(store, "churn", out, "--storage-option", "key=SECRET-123")
    assert code == 0, output
    settings = json.loads((out / "churn" / "model-settings.json").read_text())
    assert settings["implementation"] == "mlops_kit.integrations.mlserver.RegistryRuntime"
    assert settings["parameters"]["uri"] == str(store)
    assert settings["parameters"]["extra"]["ref"] == "churn@production"  # it still points to the primary
    assert not (out / "churn-candidate").exists()
    assert json.loads((out / "settings.json").read_text())["parallel_workers"] == 0

    deployer = mk.LocalDeployer(mk.Registry(mk.storage(str(store))))
    deployer.deploy("churn:2", endpoint="churn", strategy=mk.Canary(weight=0.1))
    assert export(store, "churn", out)[0] == 0
    candidate = json.loads((out / "churn-candidate" / "model-settings.json").read_text())
    assert (candidate["name"], candidate["parameters"]["extra"]) == (
        "churn-candidate",
        {"ref": "churn:2", "endpoint": "churn", "poll_interval": 5.0, "flush_interval": 5.0},
    )
    deployer.promote("churn")  # churn:2 is the primary now; the alias still says churn:1: pinned
    assert export(store, "churn", out)[0] == 0
    settings = json.loads((out / "churn" / "model-settings.json").read_text())
    assert settings["parameters"]["extra"]["ref"] == "churn:2"
    assert not (out / "churn-candidate").exists()  # the earlier candidate is gone
    written = "".join(p.read_text() for p in out.rglob("*.json"))
    assert "SECRET-123" not in written and "SECRET-123" not in output


def test_export_of_an_endpoint_that_does_not_exist_writes_nothing(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    code, output = export(store, "nope", out)
    assert code == 1
    assert "NotFoundError" in output and "No endpoint 'nope'" in output and "churn" in output
    assert not out.exists()


@pytest.mark.parametrize(
    ("uri", "extra", "error", "says"),
    [
        (None, {"ref": "churn@production"}, ConfigError, "names no store: set parameters.uri"),
        ("/s", {}, ConfigError, "names no model: set parameters.extra.ref"),
        ("/s", {"ref": "churn", "pol_interval": 1}, ConfigError, "unknown parameters.extra ['pol_interval']"),
        ("/s", {"ref": "churn", "poll_interval": 0}, ConfigError, "poll_interval of 'm' must be a number"),
        ("/s", {"ref": "churn", "trusted": "x.Y"}, ConfigError, "must be a list of 'module.Class' names"),
        ("/s", {"ref": "../etc"}, InvalidNameError, "../etc"),
    ],
)
def test_bad_runtime_options_say_what_to_write(uri: str | None, extra: dict, error: type, says: str) -> None:
    with pytest.raises(error, match=None) as caught:
        Options.parse(uri, extra, "m")
    assert says in str(caught.value)


def test_options_default_to_the_models_own_endpoint() -> None:
    options = Options.parse("s3://bucket/mlops", {"ref": "churn:3"}, "m")
    assert (options.storage, options.ref, options.endpoint, options.poll_interval) == (
        "s3://bucket/mlops",
        "churn:3",
        "churn",
        5.0,
    )


def test_the_runtime_without_mlserver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_kit.integrations import _mlserver_runtime, mlserver

    monkeypatch.setitem(sys.modules, "mlserver", None)  # as if not installed
    _mlserver_runtime.runtime_class.cache_clear()
    with pytest.raises(
        MissingExtraError, match=r"on MLServer needs mlserver: pip install 'mlops-kit\[mlserver\]'"
    ):
        _ = mlserver.RegistryRuntime
    _mlserver_runtime.runtime_class.cache_clear()


def test_options_in_the_kserve_exports_spelling() -> None:
    options = Options.parse(
        "churn:3", {"storage": "s3://bucket/mlops", "storage_options": {"anon": False}}, "m"
    )
    assert (options.storage, options.ref, options.endpoint, dict(options.storage_options)) == (
        "s3://bucket/mlops",
        "churn:3",
        "churn",
        {"anon": False},
    )
