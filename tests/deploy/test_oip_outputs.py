"""Requested outputs on the Open Inference Protocol: only those come back, an unknown one is a
400, MLServer's ``predict_proba`` output asks for probabilities, and the metadata lists them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from tests.deploy._oip_servers import Servers, oip_servers

AGES, SPENDS = [25, 40, 61], [10.0, 80.5, 5.2]


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with oip_servers() as live:
        yield live


def body(**extra: Any) -> dict[str, Any]:
    inputs = [
        {"name": "age", "shape": [3], "datatype": "INT64", "data": AGES},
        {"name": "spend", "shape": [3], "datatype": "FP64", "data": SPENDS},
    ]
    return {"inputs": inputs, **extra}


def infer(servers: Servers, name: str, payload: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{servers.urls[name]}/v2/models/{name}/infer", json=payload, timeout=30)


def proba_reference(servers: Servers) -> np.ndarray:
    import pandas as pd

    model = servers.registry.load("clf:1")
    return np.asarray(model.predict_proba(pd.DataFrame({"age": AGES, "spend": SPENDS})))


@pytest.mark.parametrize(
    ("requested", "names"),
    [(["double"], ["double"]), (["age", "double"], ["age", "double"]), (["predict"], ["double", "age"])],
)
def test_only_the_requested_outputs_come_back_in_the_order_asked(
    servers: Servers, requested: list[str], names: list[str]
) -> None:
    r = infer(servers, "dbl", body(outputs=[{"name": n} for n in requested]))
    assert r.status_code == 200, r.text
    outputs = r.json()["outputs"]
    assert [o["name"] for o in outputs] == names
    by_name = {o["name"]: o["data"] for o in outputs}
    assert by_name.get("double", [2.0 * a for a in AGES]) == [2.0 * a for a in AGES]
    assert by_name.get("age", AGES) == AGES


def test_an_unknown_output_is_a_400_that_lists_the_known_ones(servers: Servers) -> None:
    r = infer(servers, "dbl", body(outputs=[{"name": "label"}]))
    assert r.status_code == 400
    error = r.json()["error"]
    assert "'label'" in error and "['double', 'age', 'predict']" in error, error
    r = infer(servers, "m", body(outputs=[{"name": "predict_proba"}]))
    assert r.status_code == 400 and "['prediction', 'predict']" in r.json()["error"], r.text


def test_mlserver_predict_proba_output_returns_the_probabilities(servers: Servers) -> None:
    r = infer(servers, "clf", body(outputs=[{"name": "predict_proba"}]))
    assert r.status_code == 200, r.text
    [output] = r.json()["outputs"]
    assert output["name"] == "predict_proba" and output["shape"] == [3, 2] and output["datatype"] == "FP64"
    got = np.array(output["data"]).reshape(3, 2)
    np.testing.assert_allclose(got, proba_reference(servers), rtol=1e-12)


def test_parameters_method_returns_the_same_probabilities(servers: Servers) -> None:
    r = infer(servers, "clf", body(parameters={"method": "predict_proba"}))
    assert r.status_code == 200, r.text
    [output] = r.json()["outputs"]
    assert output["name"] == "predict_proba"
    np.testing.assert_allclose(np.array(output["data"]).reshape(3, 2), proba_reference(servers), rtol=1e-12)
    r = infer(servers, "clf", body(outputs=[{"name": "prediction"}]))
    assert r.status_code == 200 and r.json()["outputs"][0]["name"] == "prediction", r.text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"outputs": [{"name": "prediction"}, {"name": "predict_proba"}]}, "one method per request"),
        (
            {"outputs": [{"name": "prediction"}], "parameters": {"method": "predict_proba"}},
            "asks for predict_proba",
        ),
        ({"outputs": [{"name": "prediction"}, {"name": "prediction"}]}, "twice"),
        ({"outputs": [{"id": "prediction"}]}, "'outputs' must be a list of objects with a 'name'"),
        ({"outputs": {"name": "prediction"}}, "'outputs' must be a list of objects with a 'name'"),
        ({"outputs": [{"name": "prediction", "parameters": {"binary_data": "yes"}}]}, "binary_data"),
        ({"outputs": [{"name": "prediction", "parameters": {"classification": 2}}]}, "classification"),
        ({"parameters": {"method": "transform"}}, "Unknown method 'transform'"),
    ],
)
def test_contradictory_or_malformed_output_requests_are_400(
    servers: Servers, extra: dict[str, Any], message: str
) -> None:
    r = infer(servers, "clf", body(**extra))
    assert r.status_code == 400, r.text
    assert message in r.json()["error"], r.json()


def test_model_metadata_lists_the_probability_output(servers: Servers) -> None:
    meta = httpx.get(f"{servers.urls['clf']}/v2/models/clf", timeout=30).json()
    assert meta["outputs"] == [
        {"name": "prediction", "datatype": "INT64", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]},
    ]
    meta = httpx.get(f"{servers.urls['m']}/v2/models/m", timeout=30).json()
    assert meta["outputs"] == [{"name": "prediction", "datatype": "FP64", "shape": [-1]}]
    meta = httpx.get(f"{servers.urls['dbl']}/v2/models/dbl", timeout=30).json()
    assert [o["name"] for o in meta["outputs"]] == ["double", "age"]
