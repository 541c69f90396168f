"""The operations ``bench_listing.py`` measures, and the worker that times one in a fresh process.

Each operation is a call of the public API on a store built by ``_listing_build``.
Paging variants (``limit=50``) run only where the method accepts ``limit``
(``inspect.signature``); elsewhere the benchmark prints "n/a".
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from _listing_build import DATASET, LOGGED, MODEL, PIPELINE, Constant, build, one

# name -> label; the order of the table
WARM_BUDGET = 3.0  # seconds of warm calls at most (at least one call)
OPS = {
    "versions": 'versions("m")',
    "versions50": 'versions("m", limit=50)',
    "models": "models()",
    "search": 'search("m", tags=, order_by=, limit=10)',
    "best": 'best("m", "auc")',
    "models_ls": "mlops-kit models ls (process)",
    "register": "first register in a process",
    "ds_versions": 'Dataset("d").versions()',
    "ds_versions50": 'Dataset("d").versions(limit=50)',
    "runs": "runs of pipeline p",
    "runs50": "runs of pipeline p, limit=50",
    "endpoints": "Deployer.endpoints()",
    "predictions": "predictions(since=last batch)",
}
WRITES = {"register"}  # these change the store: measured on a copy, last


def accepts_limit(func: Callable[..., Any]) -> bool:
    return "limit" in inspect.signature(func).parameters


def paged(func: Callable[..., Any], *args: Any, limit: int = 50) -> Callable[[], Any] | None:
    """``func(*args, limit=limit)`` as a call, or ``None`` if ``func`` takes no ``limit``."""
    return (lambda: func(*args, limit=limit)) if accepts_limit(func) else None


def runs_call(store: Any, limit: int | None) -> Callable[[], Any] | None:
    """``mk.runs(store, ...)`` where it exists (tracking), else ``Pipeline.runs``."""
    import mlops_kit as mk

    fn: Callable[..., Any] | None = getattr(mk, "runs", None)
    if fn is None:
        pipe: Callable[..., Any] = mk.Pipeline([mk.step(one)], name=PIPELINE).runs
        if limit is None:
            return lambda: pipe(storage=store)
        return (lambda: pipe(storage=store, limit=limit)) if accepts_limit(pipe) else None
    if limit is not None and not accepts_limit(fn):
        return None
    kwargs: dict[str, Any] = {"limit": limit} if limit is not None else {}
    if "experiment" in inspect.signature(fn).parameters:
        kwargs["experiment"] = PIPELINE
    return lambda: fn(store, **kwargs)


def calls(store: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    """op name -> a zero-argument callable (``None``: the API has no such variant)."""
    import datetime as dt

    import mlops_kit as mk

    reg = mk.Registry(store)
    ds = mk.Dataset(DATASET, storage=store)
    dep = mk.LocalDeployer(reg, storage=store, flush_rows=1_000_000, flush_interval=3600.0)
    since = dt.datetime.fromisoformat(manifest["predlog"]["last_batch_after"])
    endpoint: list[Any] = []

    def attach() -> None:  # the endpoint's handle, its model loaded: not part of the listing
        endpoint.append(dep.endpoint(LOGGED))
        endpoint[0].flush()

    def predictions() -> Any:
        return endpoint[0].predictions(since=since)

    def models_ls() -> Any:
        return run_cli(store, ["models", "ls", "--json"])

    return {
        "versions": lambda: reg.versions(MODEL),
        "versions50": paged(reg.versions, MODEL),
        "models": reg.models,
        "search": lambda: reg.search(MODEL, tags={"team": "a"}, order_by="-metrics.auc", limit=10),
        "best": lambda: reg.best(MODEL, "auc"),
        "models_ls": models_ls,
        "register": lambda: reg.register(MODEL, {"salt": uuid.uuid4().hex}),
        "ds_versions": ds.versions,
        "ds_versions50": paged(ds.versions),
        "runs": runs_call(store, None),
        "runs50": runs_call(store, 50),
        "endpoints": dep.endpoints,
        "predictions": predictions,
        "_attach": attach,
    }


def run_cli(store: Any, args: list[str]) -> int:
    """The CLI in this process on ``store`` (so its requests are counted); output discarded."""
    from mlops_kit.cli import _app

    try:  # where the CLI opens its storage (it moved into its own module)
        from mlops_kit.cli import _storage as opener
    except ImportError:
        opener = _app  # type: ignore[assignment]
    original = opener.storage
    opener.storage = lambda url=None, **kw: store  # type: ignore[assignment]
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            _app.main.main(["--storage", store.url, *args], standalone_mode=False)
        return out.getvalue().count('"name"')
    finally:
        opener.storage = original  # type: ignore[assignment]


def cli_process(url: str, env: dict[str, str]) -> float:
    """Wall time of ``python -m mlops_kit.cli models ls`` as a whole process."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlops_kit.cli", "--storage", url, "models", "ls"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    return time.perf_counter() - t0


def warm_code() -> None:
    """Every operation once on a tiny ``MemoryStorage`` store: imports and lazy set-up."""
    import mlops_kit as mk

    mem = mk.MemoryStorage()
    manifest = build_quietly(mem)
    ops = calls(mem, manifest)
    ops["_attach"]()
    for name, call in ops.items():
        if call is not None and not name.startswith("_"):
            call()


def build_quietly(store: Any) -> dict[str, Any]:
    import _listing_build as b

    with contextlib.redirect_stderr(io.StringIO()):
        b.build_registry(store, 3, 3)
        b.build_datasets(store, 2)
        b.build_runs(store, 2)
        b.build_endpoints(store, 2)
        return {"predlog": b.build_predlog(store, 2)}


def size(result: Any) -> int | None:
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    try:
        return len(result)
    except TypeError:
        return 1


def worker_op(store: Any, counter: Any, manifest: dict[str, Any], op: str, repeat: int,
              url: str, env: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    warm_code()
    ops = calls(store, manifest)
    store.exists("bench/none")  # opens the S3 connection
    if op == "predictions":
        ops["_attach"]()
    call = ops[op]
    process = cli_process(url, env) if op == "models_ls" else None
    before = counter.snapshot()
    t0 = time.perf_counter()
    result = call()
    cold = time.perf_counter() - t0
    cold_requests = counter.since(before)
    times = []
    before = counter.snapshot()
    while len(times) < repeat and (not times or sum(times) < WARM_BUDGET):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return {
        "cold": process if process is not None else cold,
        "cold_call": cold,
        "warm": statistics.median(times),
        "cold_requests": cold_requests,
        "warm_requests": counter.since(before, len(times)),
        "n": size(result),
    }


__all__ = ["OPS", "WRITES", "Constant", "build", "worker_op"]
