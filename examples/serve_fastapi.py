"""An existing FastAPI service mounts a model endpoint next to its own routes.

    pip install "mlops-kit[serve]" fastapi && python examples/serve_fastapi.py

The script trains and registers two versions of a churn model, deploys the first,
mounts the endpoint's app under ``/models/churn`` of a FastAPI service, serves it
with uvicorn on 127.0.0.1, then queries it over HTTP while a canary of the second
version is promoted: the service never stops answering. Pass ``--serve`` to keep
the server running instead.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time

import httpx
import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlops_kit as mk


def customers(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "monthly_spend": rng.gamma(2.0, 30.0, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
        }
    )
    y = (X["monthly_spend"] < 40) & (X["plan"] == "basic") | (rng.random(n) < 0.1)
    return X, y.to_numpy()


def train(X: pd.DataFrame, y: np.ndarray, C: float) -> object:
    features = make_column_transformer(
        (StandardScaler(), ["age", "monthly_spend"]), (OneHotEncoder(handle_unknown="ignore"), ["plan"])
    )
    return make_pipeline(features, LogisticRegression(C=C)).fit(X, y)


def build_service(endpoint: mk.Endpoint) -> FastAPI:
    """The team's existing service: its own routes, plus the model mounted under /models/churn."""
    app = FastAPI(title="customer-service")

    @app.get("/customers/{customer_id}")
    def customer(customer_id: int) -> dict[str, object]:
        return {"id": customer_id, "name": f"customer {customer_id}"}

    endpoint.mount(app, "/models/churn")  # its lifespan runs in app's; its routes are in app's /docs
    return app


def main() -> None:
    store = mk.storage(tempfile.mkdtemp(prefix="mlops-kit-example-"))
    registry = mk.Registry(store)
    X, y = customers(2_000, seed=0)
    for C in (1.0, 0.1):
        registry.register("churn", train(X, y, C), params={"C": C}, input_example=X.head(5))
    registry.set_alias("churn", "production", 1)

    deployer = mk.LocalDeployer(registry)
    endpoint = deployer.deploy("churn@production")
    app = build_service(endpoint)
    if "--serve" in sys.argv:
        uvicorn.run(app, host="127.0.0.1", port=8000)
        return

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    row = {"age": 42, "monthly_spend": 18.5, "plan": "basic"}
    with httpx.Client(base_url=base) as client:
        print("own route:", client.get("/customers/7").json())
        print("ready:", client.get("/models/churn/v2/health/ready").json())
        r = client.post("/models/churn/invocations", json={"dataframe_records": [row]})
        print(f"MLflow-style answer {r.json()} from {r.headers['x-model-version']}")
        tensors = [
            {"name": k, "shape": [1], "datatype": "BYTES" if k == "plan" else "FP64", "data": [v]}
            for k, v in row.items()
        ]
        r = client.post("/models/churn/v2/models/churn/infer", json={"inputs": tensors})
        print(
            f"Open Inference Protocol answer {r.json()['outputs'][0]['data']} from version {r.json()['model_version']}"
        )

        deployer.deploy("churn:2", strategy=mk.Canary(weight=0.3))
        seen = [
            client.post("/models/churn/invocations", json={"instances": [row]}).headers["x-model-version"]
            for _ in range(200)
        ]
        print(f"canary 0.3: churn:2 answered {seen.count('churn:2')} of 200 requests")
        deployer.promote("churn")
        r = client.post("/models/churn/invocations", json={"instances": [row]})
        print(f"after promote: {r.headers['x-model-version']}")
        bad = client.post("/models/churn/invocations", json={"instances": [{"age": "old"}]})
        print(f"bad input -> {bad.status_code}: {bad.json()['message'][:80]}...")  # MLflow's error body
    server.should_exit = True
    thread.join()
    print(deployer.status("churn"))
    for event in deployer.history("churn"):
        print(" ", event)
    log = endpoint.predictions()
    print(f"prediction log: {len(log)} rows, versions {sorted(log['version'].unique())}")
    endpoint.close()


if __name__ == "__main__":
    main()
