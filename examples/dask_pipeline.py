"""A pipeline on a Dask cluster: the same steps, ``runner=mk.DaskRunner(client)``.

Starts a ``distributed.LocalCluster`` with two worker processes (needs
``pip install 'mlops-kit[dask]'``), trains three candidate models in parallel from
one feature step, and picks the best. The storage is a folder both workers can reach,
so they read and write the step cache themselves; on a real cluster it would be a
bucket (``s3://...``). The second run is served from the cache; the third changes one
parameter, and only the steps it reaches run again.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd

import mlops_kit as mk


@mk.step(outputs=("X_train", "X_test", "y_train", "y_test"))
def features(n_rows: int = 6_000, seed: int = 0):
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{i}": rng.normal(size=n_rows) for i in range(8)})
    signal = X["x0"] * X["x1"] + np.sin(3 * X["x2"]) + 0.5 * X["x3"]
    y = (signal + rng.normal(0, 0.5, n_rows) > 0).astype(int)
    return train_test_split(X, y, test_size=0.25, random_state=seed)


def _auc(model, X_test: pd.DataFrame, y_test: pd.Series) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))


@mk.step
def forest(X_train, X_test, y_train, y_test, n_estimators: int = 60):
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(n_estimators=n_estimators, max_depth=8, n_jobs=1, random_state=0)
    model.fit(X_train, y_train)
    mk.log_metric("forest_auc", _auc(model, X_test, y_test))
    return model


@mk.step
def boosting(X_train, X_test, y_train, y_test, learning_rate: float = 0.1):
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(learning_rate=learning_rate, random_state=0).fit(X_train, y_train)
    mk.log_metric("boosting_auc", _auc(model, X_test, y_test))
    return model


@mk.step
def logistic(X_train, X_test, y_train, y_test):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(X_train, y_train)
    mk.log_metric("logistic_auc", _auc(model, X_test, y_test))
    return model


@mk.step
def best(forest, boosting, logistic, X_test, y_test) -> str:
    scores = {
        name: _auc(m, X_test, y_test)
        for name, m in [("forest", forest), ("boosting", boosting), ("logistic", logistic)]
    }
    return max(scores, key=scores.__getitem__)


def timeline(run: mk.RunRecord) -> str:
    """When each step started and how long it took, relative to the run's start."""
    lines = []
    for s in sorted(run.steps, key=lambda s: s.started_at or run.started_at):
        start = ((s.started_at or run.started_at) - run.started_at).total_seconds()
        how = "cache hit" if s.cache_hit else f"ran {s.duration_s:5.2f} s"
        lines.append(f"    {s.name:9} +{start:5.2f} s  {how}")
    return "\n".join(lines)


def main() -> None:
    from distributed import Client, LocalCluster

    pipe = mk.Pipeline([features, forest, boosting, logistic, best], name="model-selection")
    with (
        tempfile.TemporaryDirectory(prefix="mlops-kit-dask-") as folder,
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        store = mk.storage(folder)
        print(f"cluster: {len(client.scheduler_info()['workers'])} worker processes; storage: {store.url}")
        runner = mk.DaskRunner(client)

        run = pipe.run(storage=store, runner=runner, progress=False)
        aucs = ", ".join(f"{k.removesuffix('_auc')} {v:.3f}" for k, v in sorted(run.metrics.items()))
        print(f"\nrun 1: {run.status} in {run.duration_s:.1f} s; auc: {aucs}; best: {run.outputs['best']}")
        print("  the three models trained side by side on the two workers:")
        print(timeline(run))

        again = pipe.run(storage=store, runner=runner, progress=False)
        print(f"\nrun 2: {again.status} in {again.duration_s:.1f} s, every step from the cache:")
        print(timeline(again))

        third = pipe.run(params={"learning_rate": 0.3}, storage=store, runner=runner, progress=False)
        print("\nrun 3 (learning_rate=0.3): only what the parameter reaches runs again:")
        print(timeline(third))

        table = pipe.runs(storage=store).to_frame()
        print("\n" + table[["status", "cached_steps", "metrics.boosting_auc"]].to_string())


if __name__ == "__main__":  # worker processes import this file; start the cluster only once
    main()
