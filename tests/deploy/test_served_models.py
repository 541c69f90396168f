"""What can be served: plain functions (as predict), and skops artifacts with reviewed trusted types."""

from __future__ import annotations

import functools

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

import mlops_kit as mk
from mlops_kit.deploy import DeploymentError
from mlops_kit.registry import UntrustedTypesError
from tests.deploy.conftest import X, Y, running

NUMERIC = X[["age", "spend"]]


def double_age(df: pd.DataFrame) -> np.ndarray:
    return df["age"].to_numpy() * 2.0


def scaled(df: pd.DataFrame, factor: float) -> np.ndarray:
    return df["spend"].to_numpy() * factor


class NoPredict:
    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(df))


@pytest.fixture
def reg() -> mk.Registry:
    return mk.Registry(mk.MemoryStorage())


def test_a_plain_function_is_served_as_predict(reg: mk.Registry) -> None:
    reg.register("double", double_age, input_example=NUMERIC.head(2))
    reg.register("scaled", functools.partial(scaled, factor=10.0), input_example=NUMERIC.head(2))
    dep = mk.LocalDeployer(reg, log_predictions=False)
    ep = dep.deploy("double")
    assert ep.predict({"age": 21, "spend": 1.0}).tolist() == [42.0]
    with pytest.raises(mk.SchemaError, match="missing column"):  # checked against the signature
        ep.predict({"age": 21})
    with pytest.raises(mk.ConfigError, match="has no predict_proba"):
        ep.predict_proba({"age": 21, "spend": 1.0})
    assert dep.deploy("scaled").predict({"age": 1, "spend": 2.5}).tolist() == [25.0]
    with running(ep.asgi_app()) as url, httpx.Client(base_url=url) as client:
        r = client.post("/invocations", json={"dataframe_records": [{"age": 5, "spend": 1.0}]})
        assert r.json() == {"predictions": [10.0]}
        body = {
            "inputs": [
                {"name": "age", "shape": [1], "datatype": "INT64", "data": [7]},
                {"name": "spend", "shape": [1], "datatype": "FP64", "data": [1.0]},
            ]
        }
        r = client.post("/v2/models/double/infer", json=body)
        assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [14.0], r.text
    ep.close()
    dep.close()


def test_a_callable_object_without_predict_is_still_refused(reg: mk.Registry) -> None:
    reg.register("odd", NoPredict(), input_example=NUMERIC.head(2))
    with pytest.raises(DeploymentError, match="has no predict method; only models with predict, and plain"):
        mk.LocalDeployer(reg).deploy("odd")


@pytest.fixture
def skops_reg(reg: mk.Registry) -> mk.Registry:
    model = HistGradientBoostingClassifier(max_iter=5).fit(NUMERIC, Y)
    reg.register("hgb", model, input_example=NUMERIC.head(3), serializer="skops")
    return reg


def untrusted(reg: mk.Registry) -> list[str]:
    with pytest.raises(UntrustedTypesError) as info:
        reg.load("hgb")
    return list(info.value.types)


def test_deploying_a_skops_model_says_exactly_how_to_trust_its_types(skops_reg: mk.Registry) -> None:
    types = untrusted(skops_reg)
    assert types  # HistGradientBoosting holds types beyond skops' defaults
    dep = mk.LocalDeployer(skops_reg, log_predictions=False)
    with pytest.raises(DeploymentError) as info:
        dep.deploy("hgb")
    message = str(info.value)
    assert f"deployer.deploy('hgb:1', trusted={types!r})" in message
    assert "mlops-kit serve hgb:1 " + " ".join(f"--trusted {t}" for t in types) in message
    assert "registry.load" not in message
    ep = dep.deploy("hgb", trusted=types)  # what the message said
    expected = skops_reg.load("hgb", trusted=types).predict(NUMERIC).tolist()
    assert ep.predict(NUMERIC).tolist() == expected
    assert dep.history("hgb")[-1].kind == "deploy"
    ep.close()


def test_the_deployer_can_trust_types_for_every_version(skops_reg: mk.Registry) -> None:
    types = untrusted(skops_reg)
    dep = mk.LocalDeployer(skops_reg, log_predictions=False, trusted=types)
    with dep.deploy("hgb") as ep:
        assert ep.predict(NUMERIC).tolist() == skops_reg.load("hgb", trusted=types).predict(NUMERIC).tolist()
    with pytest.raises(DeploymentError, match="holds types that are not trusted"):
        mk.LocalDeployer(skops_reg, trusted=types[:-1]).deploy("hgb", endpoint="other")


def test_trusted_is_refused_where_it_means_nothing(skops_reg: mk.Registry) -> None:
    skops_reg.register("pickled", double_age, input_example=NUMERIC.head(2))
    dep = mk.LocalDeployer(skops_reg)
    with pytest.raises(mk.ConfigError, match="applies to versions stored with the 'skops' serializer"):
        dep.deploy("pickled", trusted=["x.Y"])
    with pytest.raises(mk.ConfigError, match="expects a list of type names"):
        mk.LocalDeployer(skops_reg, trusted="sklearn.Thing")  # type: ignore[arg-type]
