"""Quickstart: from a dataset to a self-healing deployment, on the local folder ./.mlops.

Version the data, train through a cached pipeline, register with lineage, serve over
HTTP on 127.0.0.1, receive shifted traffic, detect the drift, retrain through the
champion/challenger gate, canary the challenger and promote it. It prints the story
and writes drift.html. Run it twice: the second run reuses the stored data and the
pipeline's cache.

Needs the ui and report extras: pip install ".[ui,report]"
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

import mlops_kit as mk

FEATURES = ["age", "monthly_spend", "support_calls", "plan"]


def customers(n: int, seed: int, month: str) -> pd.DataFrame:
    """Synthetic customers. In February prices went up and spend now drives churn."""
    rng = np.random.default_rng(seed)
    feb = month == "february"
    spend = rng.gamma(2.0, 30.0, n) * (1.4 if feb else 1.0)
    calls = rng.poisson(1.6 if feb else 1.0, n)
    age = rng.integers(18, 80, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])
    logit = -1.5 + 0.8 * calls - 0.02 * (age - 45) + (0.04 * (spend - 85) if feb else -0.01 * (spend - 60))
    return pd.DataFrame(
        {
            "age": age,
            "monthly_spend": spend.round(2),
            "support_calls": calls,
            "plan": pd.Categorical(plan, categories=["basic", "plus", "pro"]),
            "churned": rng.random(n) < 1 / (1 + np.exp(-logit)),
        }
    )


# -- the training pipeline: plain functions, wired by their parameter names -------------


@mk.step(outputs=("X_train", "X_test", "y_train", "y_test"))
def split(data: pd.DataFrame, test_size: float = 0.25):
    from sklearn.model_selection import train_test_split

    return tuple(train_test_split(data[FEATURES], data["churned"], test_size=test_size, random_state=0))


@mk.step
def model(X_train: pd.DataFrame, y_train: pd.Series, C: float = 1.0):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder=StandardScaler()
    )
    return make_pipeline(encode, LogisticRegression(C=C, max_iter=500)).fit(X_train, y_train)


@mk.step
def evaluate(model, X_test: pd.DataFrame, y_test: pd.Series) -> float:
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))
    mk.log_metric("auc", auc)
    return auc


# -- serving over HTTP ----------------------------------------------------------------


@contextmanager
def serving(endpoint: mk.Endpoint) -> Iterator[str]:
    """Serve the endpoint with uvicorn on a free port of 127.0.0.1, in a thread."""
    import uvicorn

    config = uvicorn.Config(endpoint.asgi_app(), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def post(url: str, rows: pd.DataFrame) -> tuple[list[object], str]:
    """POST rows to the MLflow-compatible route; return the predictions and the answering version."""
    body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}).encode()
    request = urllib.request.Request(f"{url}/invocations", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())["predictions"], answer.headers["x-model-version"]


def send_traffic(url: str, data: pd.DataFrame, requests: int, rows: int) -> dict[str, int]:
    served: dict[str, int] = {}
    for i in range(requests):
        _, version = post(url, data.iloc[(i * rows) % len(data) :][:rows][FEATURES])
        served[version] = served.get(version, 0) + 1
    return served


def main() -> None:
    started = time.perf_counter()
    store = mk.storage()  # $MLOPS_KIT_STORAGE, else the local folder ./.mlops
    say = print

    # 1. Version the training data.
    january = mk.Dataset("customers", storage=store).save(
        customers(6000, 1, "january"), tags={"month": "january"}
    )
    say(f"1. data: {january} ({january.n_rows:,} rows, fingerprint {january.fingerprint[:12]})")

    # 2. Train through a cached pipeline.
    pipeline = mk.Pipeline([split, model, evaluate], name="churn-train")
    run = pipeline.run(inputs={"data": customers(6000, 1, "january")}, storage=store, progress=False)
    cached = sum(s.cache_hit for s in run.steps)
    say(
        f"2. trained: run {run.id}, auc {run.metrics['auc']:.3f} ({cached} of {len(run.steps)} steps from cache)"
    )

    # 2b. Try other regularization strengths in a tracked experiment (a notebook's work).
    from sklearn.metrics import roc_auc_score

    X_train, X_test, y_train, y_test = (run.outputs[k] for k in ("X_train", "X_test", "y_train", "y_test"))
    for C in (0.01, 0.1, 10.0):
        with mk.start_run("churn-tuning", storage=store, params={"C": C}, tags={"team": "crm"}) as trial:
            for n in (500, 1500, len(X_train)):  # a learning curve: the step is the training rows
                fitted = model(X_train[:n], y_train[:n], C=C)
                trial.log_metric("auc", roc_auc_score(y_test, fitted.predict_proba(X_test)[:, 1]), step=n)
            trial.log_dict({"features": FEATURES}, "features.json")
    say(
        f"   tuned C in experiment 'churn-tuning': {len(mk.runs(store, experiment='churn-tuning'))} runs so far"
    )

    # 3. Register with lineage, and call it production.
    registry = mk.Registry(store)
    champion = registry.register(
        "churn",
        run.outputs["model"],
        metrics=run.metrics,
        dataset=january,
        run=run,
        input_example=run.outputs["X_test"].head(5),
    )
    registry.set_alias("churn", "production", champion.version)
    say(
        f"3. registered {champion.ref} (from {champion.dataset} by run {champion.run.id}) as churn@production"
    )

    # 4. Deploy, and serve over HTTP.
    deployer = mk.LocalDeployer(registry)
    endpoint = deployer.deploy("churn@production", endpoint="churn")
    with serving(endpoint) as url:
        predictions, version = post(url, customers(3, 7, "january")[FEATURES])
        say(f"4. serving {endpoint.version} at {url}: POST /invocations -> {predictions} from {version}")

        # 5. February's customers arrive: prices went up.
        since = mk.core.clock.SYSTEM_CLOCK.now()
        february = customers(6000, 2, "february")
        send_traffic(url, february, requests=60, rows=10)
        inputs = endpoint.predictions(since=since)[FEATURES]
        monitor = mk.Monitor(
            january, columns=FEATURES, name="churn", storage=store
        )  # named: reports are kept
        drift = monitor.check(inputs)
        drift.to_html("drift.html")
        moved = ", ".join(drift.drifted_columns) or "nothing"
        say(f"5. monitored {len(inputs):,} served rows: drifted={drift.drifted} ({moved}); wrote drift.html")

        # 6. The level-2 loop: retrain on drift, gate, canary, promote.
        loop = mk.ContinuousTraining(
            monitor=monitor,
            pipeline=pipeline,
            registry=registry,
            deployer=deployer,
            endpoint="churn",
            model="churn",
            gate=mk.Gate(metric="auc", target="churned"),
            rollout=mk.Canary(0.3, promote_after=40),
        )
        first = loop.step(february)  # labels for February's customers came back
        say(f"6. {first}")
        if first.gate is not None and first.gate.champion is not None:
            say(
                f"   the gate scored both models on February's held-out rows: there the champion's auc is "
                f"{first.gate.champion:.3f}, against {run.metrics['auc']:.3f} on January's test rows at step 2"
            )
        # A 30% canary routes each request at random: 250 requests give the challenger
        # its 40 healthy ones with near certainty (mean 75, sd 7).
        served = send_traffic(url, february, requests=250, rows=5)
        say(f"   traffic during the canary: {served}")
        second = loop.step(customers(3000, 3, "february"))
        say(f"   {second}")
    endpoint.close()  # flushes the prediction log to storage
    history = [f"{e.kind} {e.target}" for e in deployer.history("churn")[-3:]]
    say(f"7. now serving {deployer.status('churn').primary}; last endpoint events: {history}")
    say(f"   done in {time.perf_counter() - started:.1f} s; everything is in {store.url} (run me again)")
    say(
        f"8. see it all in the browser: mlops-kit ui --storage {store.url}  (then open http://127.0.0.1:5000)"
    )


if __name__ == "__main__":
    main()
