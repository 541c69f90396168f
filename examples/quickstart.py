"""Quickstart: version, validate and load a dataset, train a model through a cached
pipeline, then register, deploy and query it over HTTP, on the default local storage (./.mlops).

Run it twice: the second run finds identical content and reuses the stored version,
and the training pipeline is served from its cache.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import mlops_kit as mk
from mlops_kit.core.storage import MissingExtraError


def make_customers(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "monthly_spend": rng.gamma(2.0, 30.0, n) + shift,
            "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])),
            "signup": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "churned": rng.random(n) < 0.2,
        }
    )


def main() -> None:
    store = mk.storage()  # $MLOPS_KIT_STORAGE, else the local folder ./.mlops
    customers = mk.Dataset("customers", storage=store)

    v1 = customers.save(make_customers(5_000, seed=1), tags={"source": "crm"}, description="January export")
    print(f"saved {v1}: {v1.n_rows:,} rows, fingerprint {v1.fingerprint[:12]}")

    again = customers.save(make_customers(5_000, seed=1))
    print(f"saving identical content returns {again} (no duplicate)")

    february = make_customers(5_000, seed=2, shift=5.0)
    report = v1.schema.validate(february)
    print(f"February vs the January schema: {'ok' if report.ok else report}")
    v2 = customers.save(february, tags={"source": "crm"}, parents=[v1], description="February export")
    print(f"saved {v2} with parent {v2.parents[0]}")

    spend = v2.profile.columns["monthly_spend"]
    print(
        f"monthly_spend in {v2}: mean {spend.mean:.1f}, std {spend.std:.1f}, median ~{spend.quantile(0.5):.1f}"
    )

    loaded = customers.load(version=v1.version)
    print(f"loaded {v1} back: {loaded.shape[0]:,} rows, dtypes {dict(loaded.dtypes.astype(str))}")
    print(f"versions in {store.url}: {[str(v) for v in customers.versions()]}")
    train_model(store, loaded)
    deploy_and_query(store, loaded)

    # Monitoring: do February's inputs still look like January's? Written to drift.html.
    monitor = mk.Monitor(v1, columns=["age", "monthly_spend", "plan", "churned"], storage=store)
    drift = monitor.check(february)
    print(drift.summary())
    try:
        drift.to_html("drift.html")
        print("wrote drift.html (open it in a browser)")
    except MissingExtraError as exc:  # the charts need matplotlib: pip install 'mlops-kit[report]'
        print(exc)


def deploy_and_query(store: mk.Storage, customers: pd.DataFrame) -> None:
    """Register a churn model, deploy it, and query it over HTTP on 127.0.0.1."""
    import threading
    import time

    import httpx
    import uvicorn
    from sklearn.linear_model import LogisticRegression

    features = customers[["age", "monthly_spend"]]
    model = LogisticRegression().fit(features, customers["churned"])
    registry = mk.Registry(store)
    version = registry.register("churn", model, input_example=features.head(5))
    registry.set_alias("churn", "production", version.version)
    endpoint = mk.LocalDeployer(registry).deploy("churn@production")
    print(f"deployed {endpoint.version} on endpoint {endpoint.name!r}")

    server = uvicorn.Server(
        uvicorn.Config(endpoint.asgi_app(), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    rows = {"dataframe_records": [{"age": 30, "monthly_spend": 12.0}, {"age": 64, "monthly_spend": 150.0}]}
    answer = httpx.post(f"http://127.0.0.1:{port}/invocations", json=rows)
    print(f"POST /invocations -> {answer.json()} from {answer.headers['x-model-version']}")
    server.should_exit = True
    thread.join()
    endpoint.close()


# -- training through a pipeline: steps are plain functions wired by parameter names ------


@mk.step(outputs=("X_train", "X_test", "y_train", "y_test"))
def features(customers: pd.DataFrame, test_size: float = 0.25):
    from sklearn.model_selection import train_test_split

    X = pd.get_dummies(customers[["age", "monthly_spend", "plan"]], columns=["plan"], dtype=float)
    return train_test_split(X, customers["churned"].astype(int), test_size=test_size, random_state=0)


@mk.step
def model(X_train: pd.DataFrame, y_train: pd.Series, n_estimators: int = 100):
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=n_estimators, max_depth=6, random_state=0)
    return forest.fit(X_train, y_train)


@mk.step
def evaluate(model, X_test: pd.DataFrame, y_test: pd.Series) -> float:
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))
    mk.log_metric("auc", auc)
    return auc


def train_model(store: mk.Storage, customers: pd.DataFrame) -> None:
    pipe = mk.Pipeline([features, model, evaluate], name="churn-train")
    run = pipe.run(inputs={"customers": customers}, storage=store)
    fresh = [s.name for s in run.steps if not s.cache_hit] or "none (all cached)"
    print(f"pipeline run {run.id}: {run.status}, auc {run.metrics['auc']:.3f}, steps run: {fresh}")
    fitted = run.outputs["model"]
    runs = pipe.runs(store)
    print(f"trained {type(fitted).__name__} ({fitted.n_estimators} trees); runs so far: {len(runs)}")


if __name__ == "__main__":
    main()
