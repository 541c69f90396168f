"""``export``: what the manifest and the build context say, and what it refuses before writing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

import mlops_kit as mk
from mlops_kit.core._version import __version__
from mlops_kit.integrations.kserve import export
from tests.integrations.conftest import fitted, quiet_export

RUNTIME = "mlops_kit.integrations.mlserver.RegistryRuntime"


def manifest(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def settings(context: Path, endpoint: str = "churn") -> dict[str, Any]:
    return json.loads((context / "models" / endpoint / "model-settings.json").read_text())  # type: ignore[no-any-return]


def test_a_replace_serves_the_primary(deployer: mk.LocalDeployer, tmp_path: Path) -> None:
    done = quiet_export(deployer, "churn", tmp_path / "out")
    m = manifest(done.manifest)
    pred = m["spec"]["predictor"]
    assert "canaryTrafficPercent" not in pred
    (container,) = pred["containers"]
    assert container["image"] == done.image == "mlops-kit/churn:churn-1"
    store_dir = str((tmp_path / "store").resolve())
    assert container["env"] == [{"name": "MLOPS_KIT_STORAGE", "value": store_dir}]
    assert container["envFrom"] == [{"secretRef": {"name": "mlops-kit-storage"}}]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert m["metadata"]["annotations"]["mlops-kit.io/model"] == "churn:1"
    assert settings(tmp_path / "out" / "context") == {
        "name": "churn",
        "implementation": RUNTIME,
        "parameters": {"uri": "churn:1", "version": "1", "extra": {"storage": store_dir}},
    }
    assert not (tmp_path / "out" / "primary").exists()


def test_a_canary_is_the_new_revision_with_its_percent(deployer: mk.LocalDeployer, tmp_path: Path) -> None:
    deployer.deploy("churn:2", endpoint="churn", strategy=mk.Canary(weight=0.3)).close()
    done = quiet_export(deployer, "churn", tmp_path / "out", image="registry.example/ml/churn")
    assert (done.model, done.canary_percent) == ("churn:2", 30)
    m = manifest(done.manifest)
    assert m["spec"]["predictor"]["canaryTrafficPercent"] == 30
    assert m["spec"]["predictor"]["containers"][0]["image"] == "registry.example/ml/churn:churn-2"
    assert m["metadata"]["annotations"]["mlops-kit.io/primary"] == "churn:1"
    assert settings(tmp_path / "out" / "context")["parameters"]["uri"] == "churn:2"
    assert "keeps 70%" in done.manifest.read_text()
    # The primary's revision, to apply first on a cluster that does not run it yet.
    first = manifest(tmp_path / "out" / "primary" / "inferenceservice.yaml")
    assert "canaryTrafficPercent" not in first["spec"]["predictor"]
    assert first["metadata"]["name"] == m["metadata"]["name"]
    assert first["spec"]["predictor"]["containers"][0]["image"] == "registry.example/ml/churn:churn-1"
    assert settings(tmp_path / "out" / "primary" / "context")["parameters"]["uri"] == "churn:1"


@pytest.mark.parametrize(("weight", "percent"), [(0.25, 25), (0.004, 1), (0.999, 99), (0.125, 12)])
def test_the_canary_percent_is_whole_and_leaves_both_revisions_traffic(
    weight: float, percent: int, deployer: mk.LocalDeployer, tmp_path: Path
) -> None:
    deployer.deploy("churn:2", endpoint="churn", strategy=mk.Canary(weight=weight)).close()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        done = export(deployer, "churn", tmp_path / "out")
    assert done.canary_percent == percent
    rounded = [str(w.message) for w in seen if "whole percents" in str(w.message)]
    assert bool(rounded) == (abs(weight * 100 - percent) > 1e-9)


def test_a_shadow_has_no_kserve_equivalent(deployer: mk.LocalDeployer, tmp_path: Path) -> None:
    deployer.deploy("churn:3", endpoint="churn", strategy=mk.Shadow()).close()
    with pytest.warns(UserWarning, match=r"churn:3 \(shadow\); KServe has no equivalent"):
        done = quiet_export(deployer, "churn", tmp_path / "out")
    assert done.model == "churn:1" and done.canary_percent is None
    assert "shadows churn:3: KServe does not mirror traffic" in done.manifest.read_text()
    assert "canaryTrafficPercent" not in manifest(done.manifest)["spec"]["predictor"]


def test_requirements_are_pinned_from_the_recorded_environment(
    deployer: mk.LocalDeployer, tmp_path: Path
) -> None:
    done = quiet_export(deployer, "churn", tmp_path / "out")
    env = deployer.registry.get("churn:1").environment
    lines = (tmp_path / "out" / "context" / "requirements.txt").read_text().splitlines()
    pins = [line for line in lines if "==" in line and not line.startswith(("#", "mlops-kit"))]
    assert pins == [f"{name}=={v}" for name, v in sorted(env.libraries.items())]
    assert set(env.libraries) >= {"numpy", "pandas", "scikit-learn", "cloudpickle"}
    assert any(line.startswith("mlserver") for line in lines)
    assert f"mlops-kit[mlserver]=={__version__}" in lines
    docker = (tmp_path / "out" / "context" / "Dockerfile").read_text()
    major_minor = ".".join(env.python.split(".")[:2])
    assert f"FROM python:{major_minor}-slim" in docker
    assert 'CMD ["mlserver", "start", "/opt/mlops-kit/models"]' in docker
    assert done.files == sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file())


@pytest.fixture
def unpinned(deployer: mk.LocalDeployer, monkeypatch: pytest.MonkeyPatch) -> mk.LocalDeployer:
    """churn:4 recorded Python only (as a registry written by an older tool would)."""
    from mlops_kit.registry import _registry
    from mlops_kit.registry._records import Environment

    monkeypatch.setattr(_registry, "capture_environment", lambda extra=(): Environment(python="3.11.7"))
    deployer.registry.register("churn", fitted(3.0))
    monkeypatch.undo()
    deployer.deploy("churn:4", endpoint="churn").close()
    return deployer


def test_a_model_without_recorded_libraries_is_refused_unless_allowed(
    unpinned: mk.LocalDeployer, tmp_path: Path
) -> None:
    with pytest.raises(mk.ConfigError, match=r"churn:4 recorded no library versions.*--allow-unpinned"):
        quiet_export(unpinned, "churn", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    quiet_export(unpinned, "churn", tmp_path / "out", allow_unpinned=True)
    text = (tmp_path / "out" / "context" / "requirements.txt").read_text()
    assert "none recorded" in text and "==" in text.splitlines()[-1]  # only mlops-kit is pinned


def test_an_unknown_endpoint_writes_nothing(deployer: mk.LocalDeployer, tmp_path: Path) -> None:
    with pytest.raises(mk.NotFoundError, match="No endpoint 'nope'"):
        quiet_export(deployer, "nope", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_an_undeployed_endpoint_is_refused(deployer: mk.LocalDeployer, tmp_path: Path) -> None:
    deployer.undeploy("churn")
    with pytest.raises(mk.ConfigError, match="serves nothing"):
        quiet_export(deployer, "churn", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_that_is_not_empty_is_refused_unless_forced(
    deployer: mk.LocalDeployer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(mk.ConfigError, match=r"is not empty.*--force"):
        quiet_export(deployer, "churn", out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    deployer.deploy("churn:2", endpoint="churn", strategy=mk.Canary(weight=0.5)).close()
    quiet_export(deployer, "churn", out, force=True)
    assert (out / "primary").is_dir()
    deployer.promote("churn")
    quiet_export(deployer, "churn", out, force=True)
    # The earlier export's primary/ is gone with it; the user's file stays.
    assert sorted(p.name for p in out.iterdir()) == ["context", "inferenceservice.yaml", "notes.txt"]
    assert settings(out / "context")["parameters"]["uri"] == "churn:2"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image": "registry.example/churn:v1"}, "has a tag"),
        ({"namespace": "ML_Prod"}, "--namespace 'ML_Prod' is not a valid Kubernetes name"),
        ({"secret": "my secret"}, "--secret 'my secret' is not a valid Kubernetes name"),
    ],
)
def test_bad_names_are_refused_before_writing(
    kwargs: dict[str, str], match: str, deployer: mk.LocalDeployer, tmp_path: Path
) -> None:
    with pytest.raises(mk.ConfigError, match=match):
        quiet_export(deployer, "churn", tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_store_in_memory_is_refused(tmp_path: Path) -> None:
    store = mk.MemoryStorage()
    reg = mk.Registry(store)
    reg.register("churn", fitted(1.0))
    mk.LocalDeployer(reg, storage=store).deploy("churn:1", endpoint="churn").close()
    with pytest.raises(mk.ConfigError, match="in this process's memory"):
        export(store, "churn", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_endpoint_names_become_kubernetes_names(tmp_path: Path) -> None:
    store = mk.storage(str(tmp_path / "store"))
    reg = mk.Registry(store)
    reg.register("Churn_Model", fitted(1.0))
    mk.LocalDeployer(reg, storage=store).deploy("Churn_Model:1", endpoint="9.Churn_EU").close()
    done = quiet_export(str(tmp_path / "store"), "9.Churn_EU", tmp_path / "out")
    assert manifest(done.manifest)["metadata"]["name"] == "ep-9-churn-eu"
    assert done.image == "mlops-kit/ep-9-churn-eu:Churn_Model-1"
    assert settings(tmp_path / "out" / "context", "9.Churn_EU")["name"] == "9.Churn_EU"
