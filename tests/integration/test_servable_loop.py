"""A model with its preprocessing, end to end: registered, served over HTTP, monitored on raw
columns and retrained by the loop, with a real uvicorn server and httpx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlops_kit as mk
from mlops_kit.automation import ContinuousTraining, Gate
from mlops_kit.testing import FakeClock
from tests.deploy.conftest import running

RAW = ["x1", "x2"]  # what clients send and the monitor watches
FIT = ["x1", "x2", "x1_band"]  # what the model was fit on: x1_band comes from a step


def sample(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """After a shift, x1 moves and x2's effect flips: the old model ranks rows badly."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1.0, n), rng.normal(0.0, 1.0, n)
    weight = 0.5 if shift == 0 else -1.5
    y = ((x1 - shift) + weight * x2 + rng.normal(0, 0.3, n) > 0).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


@mk.step
def features(data: pd.DataFrame) -> pd.DataFrame:
    if (data["x1"] > 1e6).any():
        raise ValueError("x1 is out of range")
    return data.assign(x1_band=np.floor(data["x1"]).clip(-3, 3))


@mk.step(name="train", outputs=("model",))
def train(features: pd.DataFrame) -> tuple[LogisticRegression]:
    mk.log_metric("auc", 0.9)
    return (LogisticRegression().fit(features[FIT], features["y"]),)


TRAINING = mk.Pipeline([features, train], name="retrain").as_model(preprocess=[features])


def first_model(store: mk.Storage, reference: pd.DataFrame) -> mk.ModelWithSteps:
    run = TRAINING.run(inputs={"data": reference}, storage=store, progress=False)
    model = run.outputs["model"]
    assert isinstance(model, mk.ModelWithSteps)
    return model


@pytest.fixture
def served() -> Iterator[tuple[httpx.Client, mk.ModelWithSteps]]:
    store = mk.MemoryStorage()
    registry = mk.Registry(store)
    reference = sample(1000, seed=1)
    model = first_model(store, reference)
    registry.register("churn", model, input_example=reference[RAW].head(5))
    endpoint = mk.LocalDeployer(registry, storage=store, log_predictions=False).deploy(
        "churn:1", endpoint="churn"
    )
    with running(endpoint.asgi_app()) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, model
    endpoint.close()


def test_a_model_with_steps_serves_raw_rows_over_http(served: tuple[httpx.Client, mk.ModelWithSteps]) -> None:
    client, model = served
    rows = sample(7, seed=2)[RAW]
    r = client.post("/predict", json={"dataframe_records": rows.to_dict("records")})
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": model.predict(rows).tolist()}
    r = client.post(
        "/predict", json={"dataframe_records": rows.to_dict("records"), "params": {"method": "predict_proba"}}
    )
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], model.predict_proba(rows), rtol=0, atol=1e-12)
    meta = client.get("/v2/models/churn").json()
    assert [i["name"] for i in meta["inputs"]] == RAW and meta["platform"] == "mlops-kit/steps"
    infer = {"inputs": [{"name": c, "shape": [7], "datatype": "FP64", "data": rows[c].tolist()} for c in RAW]}
    r = client.post("/v2/models/churn/infer", json=infer)
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == model.predict(rows).tolist()


def test_http_errors_of_a_model_with_steps(served: tuple[httpx.Client, mk.ModelWithSteps]) -> None:
    client, _ = served
    r = client.post("/predict", json={"instances": [{"x1": 0.5}]})  # the client's mistake: a 4xx
    assert r.status_code == 400 and "missing column ['x2']" in r.json()["message"]
    r = client.post("/predict", json={"instances": [{"x1": 2e6, "x2": 0.0}]})  # the model's own failure
    assert r.status_code == 500
    assert r.json()["message"] == (
        "Model churn:1 raised PreprocessingError: Step 'features' of the model's preprocessing failed at "
        "predict time on 1 row: ValueError: x1 is out of range"
    )
    assert client.post("/predict", json={"instances": [{"x1": 0.5, "x2": 0.1}]}).status_code == 200


@pytest.mark.slow
def test_the_loop_retrains_and_rolls_out_a_model_with_steps_on_raw_batches() -> None:
    clock = FakeClock(tick=1.0)
    store = mk.MemoryStorage()
    registry = mk.Registry(store, clock=clock)
    reference = sample(3000, seed=1)
    champion = registry.register(
        "churn", first_model(store, reference), metrics={"auc": 0.5}, input_example=reference[RAW].head(5)
    )
    registry.set_alias("churn", "production", champion.version)
    deployer = mk.LocalDeployer(registry, storage=store, clock=clock, log_predictions=False)
    endpoint = deployer.deploy("churn@production", endpoint="churn")
    loop = ContinuousTraining(
        monitor=mk.Monitor(reference[RAW], clock=clock),  # raw columns: x1_band is the model's business
        pipeline=TRAINING,
        registry=registry,
        deployer=deployer,
        endpoint="churn",
        model="churn",
        gate=Gate(metric="auc", target="y"),
        rollout=mk.Canary(0.5),
        promote_after=20,
        min_requests=10,
        clock=clock,
    )
    try:
        first = loop.step(sample(4000, seed=3, shift=1.5))  # raw batch: x1, x2 and the label
        assert first.drift is not None and first.drift.drifted_columns == ("x1",)
        assert first.gate is not None and first.gate.passed and first.gate.challenger > first.gate.champion  # type: ignore[operator]
        assert (first.action, first.candidate_version) == ("canary", 2)
        candidate = registry.get("churn:2")
        assert candidate.flavor == "steps" and dict(candidate.code) == dict(champion.code)
        assert candidate.signature is not None and candidate.signature.inputs.names == RAW
        assert candidate.run is not None and candidate.run.id == first.run_id

        with running(endpoint.asgi_app()) as url, httpx.Client(base_url=url, timeout=30) as client:
            answered = set()
            for i in range(80):
                r = client.post("/predict", json={"instances": [{"x1": float(i % 3) + 1.5, "x2": 0.2}]})
                assert r.status_code == 200, r.text
                answered.add(r.headers["x-model-version"])
        assert answered == {"churn:1", "churn:2"}

        second = loop.step(sample(4000, seed=4, shift=1.5))
        assert (second.action, second.primary) == ("promoted", "churn:2")
        assert registry.get("churn@production").version == 2
        third = loop.step(
            sample(4000, seed=5, shift=1.5)
        )  # the reference moved to churn:2's raw training data
        assert third.drift is not None and not third.drift.drifted and third.action == "none"
        assert [d.action for d in loop.decisions()] == ["canary", "promoted", "none"]
    finally:
        endpoint.close()
