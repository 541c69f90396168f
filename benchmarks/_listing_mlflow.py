"""MLflow's SQLite registry and tracking, the same listings as ``bench_listing.py`` (run in .bench/venv-mlflow).

    python _listing_mlflow.py --worker build --db PATH --sizes JSON
    python _listing_mlflow.py --worker ops --db PATH
    python _listing_mlflow.py --worker op --db PATH --op NAME --repeat K [--warm-db PATH]

The store: registered model ``m`` with ``n`` versions (tag ``team`` a/b), ``models - 1``
more registered models of one version each, and experiment ``p`` with ``runs`` runs
(metric ``auc``, param ``C``). Requests are SQL statements sent to SQLite, counted with
SQLAlchemy's ``before_cursor_execute`` event, by their first word.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from typing import Any

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

WARM_BUDGET = 3.0  # seconds of warm calls at most (at least one call)
OPS = {
    "versions": "search_model_versions(\"name='m'\"), every page",
    "versions50": "search_model_versions(\"name='m'\", max_results=50)",
    "models": "search_registered_models(), every page",
    "search": "search_model_versions(\"name='m' and tags.team='a'\", max_results=10)",
    "latest": 'get_latest_versions("m")',
    "best": "search_runs(p, order_by=['metrics.auc DESC'], max_results=1)",
    "runs": "search_runs(p), every page",
    "runs50": "search_runs(p, max_results=50)",
    "register": 'first create_model_version("m") in a process',  # last: it writes
}


def client(db: str) -> Any:
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    mlflow.set_registry_uri(f"sqlite:///{db}")
    return MlflowClient()


def build(db: str, sizes: dict[str, int]) -> dict[str, Any]:
    from mlflow.entities import Metric, Param

    if os.path.exists(db):
        return {"built": 0}
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def no_fsync(conn: Any, record: Any) -> None:  # building only: SQLite's fsync per commit
        conn.execute("PRAGMA synchronous=OFF")

    event.listen(Engine, "connect", no_fsync)
    tmp = db + ".part"
    c = client(tmp)
    rng = random.Random(0)
    t0 = time.perf_counter()
    c.create_registered_model("m")
    for i in range(1, sizes["n"] + 1):
        c.create_model_version("m", source=f"file:///artifacts/m/{i}", tags={"team": "a" if i % 2 else "b"})
    for j in range(1, sizes["models"]):
        c.create_registered_model(f"n{j:04d}")
        c.create_model_version(f"n{j:04d}", source=f"file:///artifacts/n{j}")
    exp = c.create_experiment("p", artifact_location="file:///artifacts/p")
    for k in range(sizes["runs"]):
        run = c.create_run(exp)
        now = int(time.time() * 1000)
        metric = Metric("auc", rng.uniform(0.5, 0.99), now, 0)
        c.log_batch(run.info.run_id, metrics=[metric], params=[Param("C", str(k))])
        c.set_terminated(run.info.run_id)
    os.replace(tmp, db)
    return {"built": sizes["n"], "seconds": time.perf_counter() - t0}


def every_page(fetch: Any) -> list[Any]:
    out, token = [], None
    while True:
        page = fetch(token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def calls(c: Any) -> dict[str, Any]:
    exp = c.get_experiment_by_name("p").experiment_id
    return {
        "versions": lambda: every_page(lambda t: c.search_model_versions("name='m'", page_token=t)),
        "versions50": lambda: c.search_model_versions("name='m'", max_results=50),
        "models": lambda: every_page(lambda t: c.search_registered_models(max_results=1000, page_token=t)),
        "search": lambda: c.search_model_versions("name='m' and tags.team='a'", max_results=10),
        "latest": lambda: c.get_latest_versions("m"),
        "best": lambda: c.search_runs([exp], order_by=["metrics.auc DESC"], max_results=1),
        "register": lambda: [c.create_model_version("m", source="file:///artifacts/m/new")],
        "runs": lambda: every_page(lambda t: c.search_runs([exp], max_results=1000, page_token=t)),
        "runs50": lambda: c.search_runs([exp], max_results=50),
    }


def op(db: str, name: str, repeat: int, template: str | None) -> dict[str, Any]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    with tempfile.TemporaryDirectory() as scratch:  # imports and lazy set-up on a throwaway store
        warm_db = os.path.join(scratch, "warm.db")
        if template and os.path.exists(template):  # a new database runs every migration: seconds
            shutil.copy(template, warm_db)
        else:
            build(warm_db, {"n": 3, "models": 2, "runs": 2})
        for call in calls(client(warm_db)).values():
            call()
    counts: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counts[statement.split(None, 1)[0].upper()] += 1

    event.listen(Engine, "before_cursor_execute", count)
    c = client(db)
    call = calls(c)[name]  # opens the store (one experiment lookup) before the timed call
    before = Counter(counts)
    t0 = time.perf_counter()
    result = call()
    cold = time.perf_counter() - t0
    cold_counts = {k: float(v) for k, v in sorted((counts - before).items())}
    before, times = Counter(counts), []
    while len(times) < repeat and (not times or sum(times) < WARM_BUDGET):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    warm_counts = {k: v / len(times) for k, v in sorted((counts - before).items())}
    return {"cold": cold, "warm": statistics.median(times), "cold_requests": cold_counts,
            "warm_requests": warm_counts, "n": len(result), "label": OPS[name]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--sizes")
    parser.add_argument("--op")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warm-db", help="a small database to warm up on (a copy of it)")
    args = parser.parse_args()
    if args.worker == "build":
        result: Any = build(args.db, json.loads(args.sizes))
    elif args.worker == "ops":
        result = list(OPS)
    else:
        result = op(args.db, args.op, args.repeat, args.warm_db)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
