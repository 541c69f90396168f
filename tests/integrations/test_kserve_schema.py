"""The manifests ``export`` writes validate against KServe's InferenceService CRD schema (no cluster)."""

from __future__ import annotations

import contextlib
import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import mlops_kit as mk
from tests.integrations.conftest import quiet_export


def errors(schema: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def manifests(out: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(out.rglob("inferenceservice.yaml"))]


@pytest.mark.parametrize("rollout", ["replace", "canary", "shadow"])
def test_every_written_manifest_validates(
    rollout: str, deployer: mk.LocalDeployer, crd_schema: dict[str, Any], tmp_path: Path
) -> None:
    if rollout == "canary":
        deployer.deploy("churn:2", endpoint="churn", strategy=mk.Canary(weight=0.3)).close()
    if rollout == "shadow":
        deployer.deploy("churn:3", endpoint="churn", strategy=mk.Shadow()).close()
    out = tmp_path / "out"
    with (
        pytest.warns(UserWarning, match="no equivalent") if rollout == "shadow" else contextlib.nullcontext()
    ):
        quiet_export(deployer, "churn", out, namespace="ml-prod", image="registry.example/team/churn")
    found = manifests(out)
    assert len(found) == (2 if rollout == "canary" else 1)
    for manifest in found:
        assert errors(crd_schema, manifest) == []
        assert manifest["apiVersion"] == "serving.kserve.io/v1beta1"
        assert manifest["kind"] == "InferenceService"
        assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", manifest["metadata"]["name"])
        assert manifest["metadata"]["namespace"] == "ml-prod"


@pytest.fixture
def good(deployer: mk.LocalDeployer, tmp_path: Path) -> dict[str, Any]:
    deployer.deploy("churn:2", endpoint="churn", strategy=mk.Canary(weight=0.3)).close()
    quiet_export(deployer, "churn", tmp_path / "out")
    return yaml.safe_load((tmp_path / "out" / "inferenceservice.yaml").read_text())  # type: ignore[no-any-return]


def _container(m: dict[str, Any]) -> dict[str, Any]:
    return m["spec"]["predictor"]["containers"][0]  # type: ignore[no-any-return]


BREAKAGES = {
    "canary percent as text": lambda m: m["spec"]["predictor"].update(canaryTrafficPercent="30"),
    "canary percent as a fraction": lambda m: m["spec"]["predictor"].update(canaryTrafficPercent=0.3),
    "misspelt field": lambda m: m["spec"]["predictor"].update(canaryTraficPercent=30),
    "no predictor": lambda m: m["spec"].pop("predictor"),
    "container without a name": lambda m: _container(m).pop("name"),
    "env entry without a name": lambda m: _container(m)["env"].append({"value": "x"}),
    "secret inlined in envFrom": lambda m: _container(m)["envFrom"][0]["secretRef"].update(data="k"),
    "port as a list": lambda m: _container(m)["ports"][0].update(containerPort=[8080]),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_manifest_fails_the_check(
    breakage: str, good: dict[str, Any], crd_schema: dict[str, Any]
) -> None:
    assert errors(crd_schema, good) == []
    broken = copy.deepcopy(good)
    BREAKAGES[breakage](broken)
    assert errors(crd_schema, broken) != []


def test_the_crd_gives_canary_percent_no_range(good: dict[str, Any], crd_schema: dict[str, Any]) -> None:
    """150 passes the schema: KServe's admission webhook, not the CRD, refuses it; so the
    exporter keeps the percent in 1..99 itself (test_kserve.py checks that)."""
    over = copy.deepcopy(good)
    over["spec"]["predictor"]["canaryTrafficPercent"] = 150
    assert errors(crd_schema, over) == []
    pred = crd_schema["properties"]["spec"]["properties"]["predictor"]["properties"]
    assert pred["canaryTrafficPercent"] == {"format": "int64", "type": "integer"}
