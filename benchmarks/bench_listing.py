"""Listings as stores grow (issue 17): requests and time at 10 entries and at N, local and S3, beside MLflow.

    python benchmarks/bench_listing.py [--setup] [--quick] [--stores local s3 mlflow] [--skip-mlflow]
                                       [--cold-repeat 3] [--warm-repeat 5] [--rebuild] [--tag TAG]

Stores (built by ``_listing_build.py`` once, cached under ``.bench/listing/<code tag>/``;
the tag hashes the sources that write a store, so a change there builds new stores;
``--tag`` measures the current code on the stores of another tag):

- local folder: N = 10,000 versions of model ``m``, 1,000 models, 10,000 dataset
  versions, 5,000 pipeline runs, 1,000 endpoints, 10,000 prediction batches;
- S3 (moto's ``ThreadedMotoServer`` on 127.0.0.1, s3fs): N = 2,000 versions, 200
  models, 2,000 dataset versions, 5,000 runs, 200 endpoints, 2,000 batches;
- each also at 10 entries (10 versions, 10 models, 10 runs, ...).

``--quick`` builds smaller stores (a smoke run). The S3 store is built in a local folder
by the same code and its objects are uploaded to the moto server before measuring (the
keys and bytes are the backend's); the local store is measured on a copy of the cache,
so writes (``register``) never change the cache.

Each operation of ``_listing_ops.OPS`` runs in ``--cold-repeat`` fresh processes (the
code warmed on a throwaway ``MemoryStorage`` first: cold data, not cold imports); the
first call is "cold", then ``--warm-repeat`` calls in the same process give "warm".
``mlops-kit models ls`` is timed as a whole process. Requests: HTTP requests counted
at the moto server by type (GET, HEAD, PUT, LIST), or calls of the local storage's
backend hooks; for MLflow, SQL statements (``_listing_mlflow.py``, run in the venv
``.bench/venv-mlflow`` that ``--setup`` creates; never in the project's dependencies).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_registry_scale import BUCKET, CREDENTIALS, Requests, fmt_ms, fmt_requests, open_store, start_moto

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
BENCH = ROOT / ".bench"
VENV = BENCH / "venv-mlflow"
SMALL = {"n": 10, "models": 10, "runs": 10}
FULL = {
    "local": {"n": 10_000, "models": 1_000, "runs": 5_000},
    "s3": {"n": 2_000, "models": 200, "runs": 5_000},
}
QUICK = {"local": {"n": 300, "models": 30, "runs": 200}, "s3": {"n": 150, "models": 15, "runs": 150}}
WRITERS = ("core/storage", "registry", "datasets", "pipeline", "deploy")


TAG: str | None = None  # --tag: measure on the stores of that tag (built by other code)


def code_tag() -> str:
    """A hash of the sources that write stores: a change there means new stores."""
    if TAG:
        return TAG
    h = hashlib.sha256((HERE / "_listing_build.py").read_bytes())
    for part in WRITERS:
        for path in sorted((ROOT / "mlops_kit" / part).rglob("*.py")):
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def worker(python: str, script: Path, *args: str, progress: bool = False) -> Any:
    out = subprocess.run(
        [python, str(script), "--worker", *args],
        stdout=subprocess.PIPE,
        stderr=None if progress else subprocess.PIPE,
        text=True,
        cwd=HERE,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed:\n{(out.stderr or '')[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cached_store(kind: str, sizes: dict[str, int], rebuild: bool) -> tuple[Path, dict[str, Any]]:
    folder = BENCH / "listing" / code_tag() / f"{kind}-n{sizes['n']}-m{sizes['models']}-r{sizes['runs']}"
    if rebuild and folder.exists():
        shutil.rmtree(folder)
        folder.with_suffix(".built.json").unlink(missing_ok=True)
    print(f"  {kind} store N={sizes['n']:,}: {folder}", flush=True)
    manifest = worker(sys.executable, HERE / "bench_listing.py", "build", "--store", str(folder),
                      "--sizes", json.dumps(sizes), progress=True)  # fmt: skip
    return folder, manifest


def upload(folder: Path, endpoint: str) -> str:
    """Every object of the local store ``folder`` into a new prefix of the moto bucket."""
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint)
    prefix = f"{BUCKET}/{folder.name}-{uuid.uuid4().hex[:8]}"
    files = [p for p in folder.rglob("*") if p.is_file() and ".tmp" not in p.relative_to(folder).parts]
    t0 = time.perf_counter()
    for i in range(0, len(files), 2000):
        fs.pipe({f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in files[i : i + 2000]})
    print(f"    uploaded {len(files):,} objects to moto in {time.perf_counter() - t0:.0f} s", flush=True)
    return f"s3://{prefix}"


def measure(url: str, endpoint: str | None, manifest_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    from _listing_ops import OPS, WRITES

    out: dict[str, Any] = {}
    for op in sorted(OPS, key=lambda o: o in WRITES):
        t0 = time.perf_counter()
        argv = ["--store", url, "--endpoint", endpoint or "", "--manifest", str(manifest_path)]
        argv += ["--op", op, "--repeat", str(args.warm_repeat)]
        runs = [
            worker(sys.executable, HERE / "bench_listing.py", "op", *argv) for _ in range(args.cold_repeat)
        ]
        if runs[0] is None:
            out[op] = None
            continue
        out[op] = {
            "cold": statistics.median(r["cold"] for r in runs),
            "warm": statistics.median(r["warm"] for r in runs),
            **{k: runs[0][k] for k in ("cold_requests", "warm_requests", "n")},
        }
        print(f"    {op}: n={runs[0]['n']}, cold {fmt_ms(out[op]['cold'])} ms, "
              f"{fmt_requests(runs[0]['cold_requests'])} ({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
    return out


def measure_store(kind: str, sizes: dict[str, int], args: argparse.Namespace, endpoint: str | None) -> Any:
    folder, _ = cached_store(kind, sizes, args.rebuild)
    manifest_path = folder.with_suffix(".built.json")
    if kind == "s3":
        assert endpoint is not None
        return measure(upload(folder, endpoint), endpoint, manifest_path, args)
    with tempfile.TemporaryDirectory(dir=BENCH) as work:
        copy = Path(work) / "store"
        shutil.copytree(folder, copy)
        return measure(str(copy), None, manifest_path, args)


def ensure_mlflow(setup: bool) -> str | None:
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import mlflow, sqlalchemy, alembic"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return str(python)
    if not setup:
        print(f"MLflow skipped: no {VENV} (run once with --setup to create it).")
        return None
    print(f"installing mlflow-skinny into {VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "mlflow-skinny>=3,<4", "sqlalchemy", "alembic"]
    subprocess.run(pip, check=True)
    return str(python)


def measure_mlflow(python: str, sizes: dict[str, int], args: argparse.Namespace) -> dict[str, Any]:
    script = HERE / "_listing_mlflow.py"
    db = BENCH / "listing" / "mlflow" / f"n{sizes['n']}-m{sizes['models']}-r{sizes['runs']}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    print(f"  mlflow N={sizes['n']:,}: {db}", flush=True)
    worker(python, script, "build", "--db", str(db), "--sizes", json.dumps(sizes), progress=True)
    template = BENCH / "listing" / "mlflow" / "warm-template.db"  # for the workers' warm-up
    if not template.exists():
        worker(
            python,
            script,
            "build",
            "--db",
            str(template),
            "--sizes",
            json.dumps({"n": 3, "models": 2, "runs": 2}),
        )
    with tempfile.TemporaryDirectory(dir=BENCH) as work:
        copy = Path(work) / "mlflow.db"
        shutil.copy(db, copy)
        ops = worker(python, script, "ops", "--db", str(copy))
        out = {}
        for op in ops:
            runs = [worker(python, script, "op", "--db", str(copy), "--op", op, "--repeat", str(args.warm_repeat),
                           "--warm-db", str(template)) for _ in range(args.cold_repeat)]  # fmt: skip
            out[op] = {
                "cold": statistics.median(r["cold"] for r in runs),
                "warm": statistics.median(r["warm"] for r in runs),
                **{k: runs[0][k] for k in ("cold_requests", "warm_requests", "n", "label")},
            }
            print(f"    {op}: n={runs[0]['n']}, cold {fmt_ms(out[op]['cold'])} ms", flush=True)
    return out


def total(counts: dict[str, float]) -> float:
    return sum(v for k, v in counts.items() if not k.endswith(" miss"))


def print_table(store: str, small: dict[str, Any], big: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """A markdown table; returns the ops that miss a target."""
    n = next((r["n"] for r in big.values() if r), "?")
    what = {"local": "hook calls", "s3": "HTTP requests", "mlflow": "SQL statements"}[store]
    print(f"\n{store}: ms (cold = a fresh process's first call, median of processes; warm = median of calls);"
          f" cold {what}")  # fmt: skip
    print("| op | entries at 10 / N | cold 10 | cold N | ratio | warm 10 | warm N | ratio |"
          f" {what} at 10 | {what} at N | constant | <= 2x |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|")
    misses = []
    for op, label in labels.items():
        a, b = small.get(op), big.get(op)
        if a is None or b is None:
            print(f"| {label} | n/a | | | | | | | | | | |")
            continue
        cold, warm = b["cold"] / a["cold"], b["warm"] / a["warm"]
        constant = total(b["cold_requests"]) <= total(a["cold_requests"]) + 2
        flat = cold <= 2 and warm <= 2
        if not (constant and flat):
            misses.append(f"{store} {label}: " + ", ".join(
                [*([] if constant else [f"requests {total(a['cold_requests']):g} -> {total(b['cold_requests']):g}"]),
                 *([] if flat else [f"time cold {cold:.1f}x, warm {warm:.1f}x"])]))  # fmt: skip
        print(f"| {label} | {a['n']} / {b['n']} | {fmt_ms(a['cold'])} | {fmt_ms(b['cold'])} | {cold:.2f}x"
              f" | {fmt_ms(a['warm'])} | {fmt_ms(b['warm'])} | {warm:.2f}x | {fmt_requests(a['cold_requests'])}"
              f" | {fmt_requests(b['cold_requests'])} | {'yes' if constant else '**no**'}"
              f" | {'yes' if flat else '**no**'} |")  # fmt: skip
    print(f"(N: {n:,} for the largest listing)" if isinstance(n, int) else "")
    return misses


def save(results: dict[str, Any]) -> None:
    """Merge this run's stores into .bench/listing-results.json (a later run may measure one store)."""
    path = BENCH / "listing-results.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**saved, **results}, indent=1))


def driver(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    big = QUICK if args.quick else FULL
    print(f"{os.cpu_count()} cores; stores {args.stores}; sizes {big}; code tag {code_tag()}", flush=True)
    BENCH.mkdir(exist_ok=True)
    mlflow = None if args.skip_mlflow or "mlflow" not in args.stores else ensure_mlflow(args.setup)
    results: dict[str, dict[str, Any]] = {}
    server = None
    try:
        for kind in args.stores:
            if kind == "mlflow":
                continue
            endpoint = None
            if kind == "s3":  # one server (moto keeps its buckets in the process); the small store first
                server, endpoint = start_moto()
            results[kind] = {size: measure_store(kind, sizes, args, endpoint)
                             for size, sizes in (("small", SMALL), ("big", big[kind]))}  # fmt: skip
            if server is not None:
                server.stop()
                server = None
            save(results)
        if mlflow is not None:
            results["mlflow"] = {size: measure_mlflow(mlflow, sizes, args)
                                 for size, sizes in (("small", SMALL), ("big", big["local"]))}  # fmt: skip
    finally:
        if server is not None:
            server.stop()
    save(results)
    report(results)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


def report(results: dict[str, Any]) -> None:
    from _listing_ops import OPS

    misses = []
    for store, r in results.items():
        labels = OPS if store != "mlflow" else {op: v["label"] for op, v in r["big"].items()}
        misses += print_table(store, r["small"], r["big"], labels)
    print(
        "\nmisses (constant = cold requests at N <= at 10 + 2; <= 2x = cold and warm time at N <= 2x at 10):"
    )
    print("\n".join(f"- {m}" for m in misses) or "none")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setup", action="store_true", help="create .bench/venv-mlflow (MLflow) if missing")
    parser.add_argument("--quick", action="store_true", help="small stores: a smoke run")
    parser.add_argument(
        "--stores", nargs="+", default=["local", "s3", "mlflow"], choices=["local", "s3", "mlflow"]
    )
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--cold-repeat", type=int, default=3, help="fresh processes per operation")
    parser.add_argument("--warm-repeat", type=int, default=5, help="warm calls per process")
    parser.add_argument("--rebuild", action="store_true", help="build the stores again")
    parser.add_argument("--tag", help="use the cached stores of this code tag instead of the current one")
    parser.add_argument(
        "--report", action="store_true", help="print the tables of .bench/listing-results.json"
    )
    parser.add_argument("--worker")
    parser.add_argument("--store")
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--sizes")
    parser.add_argument("--manifest")
    parser.add_argument("--op")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    global TAG
    TAG = args.tag
    if args.report:
        report(json.loads((BENCH / "listing-results.json").read_text()))
        return
    if not args.worker:
        driver(args)
        return
    sys.path.insert(0, str(ROOT))
    if args.worker == "build":
        from _listing_build import build

        print(json.dumps(build(args.store, json.loads(args.sizes))))
        return
    from _listing_ops import calls, worker_op

    endpoint = args.endpoint or None
    store = open_store(args.store, endpoint, False)
    manifest = json.loads(Path(args.manifest).read_text())
    if calls(store, manifest)[args.op] is None:  # the API has no such variant
        print(json.dumps(None))
        return
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint} if endpoint else {}
    counter = Requests(store, endpoint)
    print(json.dumps(worker_op(store, counter, manifest, args.op, args.repeat, args.store, env)))


if __name__ == "__main__":
    main()
