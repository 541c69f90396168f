"""Builds the stores of ``bench_listing.py`` (run in a worker process, public API only).

One store holds every kind of listing at one size ``n``:

- registry: model ``m`` with ``n`` versions (metrics ``auc``, tag ``team`` a/b, alias
  ``prod`` moved every 100 versions) and ``models - 1`` more models ``n0001``... of 1
  version each (a constant predictor);
- dataset ``d`` with ``n`` versions of a 2-row frame;
- pipeline ``p`` with ``runs`` runs of a one-step pipeline (cache off);
- ``models - 1`` endpoints ``e0001``... each serving model ``n0001``...;
- endpoint ``logged`` (serving ``n0001``) whose prediction log holds ``n`` batches (one
  per request), so ``Deployer.endpoints()`` returns ``models`` endpoints.

Each part is built once and marked done in ``built.json`` beside the store, so an
interrupted build resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

MODEL, DATASET, PIPELINE, LOGGED = "m", "d", "p", "logged"
PARTS = ("registry", "datasets", "runs", "endpoints", "predlog")


class Constant:
    """A model that predicts ``value`` for every row (picklable by value)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, df: Any) -> Any:
        import numpy as np

        return np.full(len(df), self.value)


def _progress(what: str, i: int, total: int, t0: float) -> None:
    if i % 1000 == 0 or i == total:
        rate = i / max(time.perf_counter() - t0, 1e-9)
        print(f"      {what}: {i:,} / {total:,} ({rate:.0f}/s)", file=sys.stderr, flush=True)


def build_registry(store: Any, n: int, models: int) -> dict[str, Any]:
    import random

    import mlops_kit as mk

    reg = mk.Registry(store)
    rng = random.Random(0)
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        mv = reg.register(
            MODEL,
            {"i": i, "salt": uuid.uuid4().hex},
            metrics={"auc": round(rng.uniform(0.5, 0.99), 6)},
            tags={"team": "a" if i % 2 else "b"},
        )
        if mv.version % 100 == 0 or i == n:
            reg.set_alias(MODEL, "prod", mv.version)
        _progress("model versions", i, n, t0)
    t0 = time.perf_counter()
    for j in range(1, models):
        reg.register(f"n{j:04d}", Constant(float(j)), metrics={"auc": 0.5})
        _progress("models", j, models - 1, t0)
    return {}


def build_datasets(store: Any, n: int) -> dict[str, Any]:
    import pandas as pd

    import mlops_kit as mk

    ds = mk.Dataset(DATASET, storage=store)
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        ds.save(pd.DataFrame({"x": [i, i + 1], "y": [float(i), 0.5]}))
        _progress("dataset versions", i, n, t0)
    return {}


def one(x: int) -> int:
    return x + 1


def build_runs(store: Any, runs: int) -> dict[str, Any]:
    import mlops_kit as mk

    pipe = mk.Pipeline([mk.step(one)], name=PIPELINE)
    t0 = time.perf_counter()
    for i in range(1, runs + 1):
        pipe.run(inputs={"x": i}, storage=store, cache=False, progress=False)
        _progress("pipeline runs", i, runs, t0)
    return {}


def build_endpoints(store: Any, endpoints: int) -> dict[str, Any]:
    import mlops_kit as mk

    dep = mk.LocalDeployer(mk.Registry(store), storage=store, log_predictions=False)
    t0 = time.perf_counter()
    for i in range(1, endpoints + 1):
        dep.deploy(f"n{i:04d}:1", endpoint=f"e{i:04d}").close()
        _progress("endpoints", i, endpoints, t0)
    dep.close()
    return {}


def build_predlog(store: Any, n: int) -> dict[str, Any]:
    import pandas as pd

    import mlops_kit as mk

    dep = mk.LocalDeployer(mk.Registry(store), storage=store, flush_rows=1_000_000, flush_interval=3600.0)
    ep = dep.deploy("n0001:1", endpoint=LOGGED)
    t0 = time.perf_counter()
    last = ""
    for i in range(1, n + 1):
        if i == n:  # predictions(since=last) returns the last batch only
            time.sleep(0.01)
            last = dt.datetime.now(dt.UTC).isoformat()
        ep.predict(pd.DataFrame({"x": [i]}))
        ep.flush()  # one batch per request
        _progress("prediction batches", i, n, t0)
    ep.close()
    dep.close()
    return {"last_batch_after": last}


def build(folder: str, sizes: dict[str, int]) -> dict[str, Any]:
    """Build (or finish building) the store in ``folder``; return its manifest."""
    import mlops_kit as mk

    manifest_path = Path(folder).with_suffix(".built.json")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    Path(folder).mkdir(parents=True, exist_ok=True)
    store = mk.FsspecStorage(folder, fsync=False)  # building only; the measured stores fsync
    steps = {
        "registry": lambda: build_registry(store, sizes["n"], sizes["models"]),
        "datasets": lambda: build_datasets(store, sizes["n"]),
        "runs": lambda: build_runs(store, sizes["runs"]),
        "endpoints": lambda: build_endpoints(store, sizes["models"] - 1),
        "predlog": lambda: build_predlog(store, sizes["n"]),
    }
    for part in PARTS:
        if part in manifest:
            continue
        print(f"    building {part} in {folder} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        extra = steps[part]()
        manifest[part] = {"seconds": round(time.perf_counter() - t0, 1), **extra}
        manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest
