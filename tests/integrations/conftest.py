"""A store with an endpoint, registered models, and the CRD schema the manifests must satisfy."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import mlops_kit as mk

CRD = Path(__file__).resolve().parents[1] / "data" / "kserve_inferenceservice_crd_v1beta1.yaml"


def fitted(c: float) -> LogisticRegression:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    return LogisticRegression(C=c).fit(x, (x[:, 0] > 0).astype(int))


@pytest.fixture
def deployer(tmp_path: Path) -> mk.LocalDeployer:
    """Endpoint 'churn' serving churn:1; churn:2 and churn:3 registered, not deployed."""
    store = mk.storage(str(tmp_path / "store"))
    reg = mk.Registry(store)
    for c in (0.5, 1.0, 2.0):
        reg.register("churn", fitted(c))
    dep = mk.LocalDeployer(reg, storage=store)
    dep.deploy("churn:1", endpoint="churn").close()
    return dep


def quiet_export(*args: Any, **kwargs: Any) -> Any:
    """``export`` without the warning that a local folder is not visible from a pod."""
    from mlops_kit.integrations.kserve import export

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is a local folder")
        return export(*args, **kwargs)


def closed(schema: Any) -> Any:
    """``schema`` with every object that lists ``properties`` closed to other fields, as the API
    server's strict field validation (kubectl's default) rejects unknown fields."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items() if k != "properties"}
    if "properties" in schema:
        out["properties"] = {k: closed(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    return out


@pytest.fixture(scope="session")
def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    return closed(copy.deepcopy(version["schema"]["openAPIV3Schema"]))  # type: ignore[no-any-return]
