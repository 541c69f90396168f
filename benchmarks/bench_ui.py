"""How long each page of the web UI takes on a large store (issue 13: under 300 ms).

The store holds what ``bench_listing.py``'s stores hold (model ``m`` with N versions and
999 more models, dataset ``d`` with N versions, pipeline ``p`` with R/2 runs, 999
endpoints and endpoint ``logged`` with N prediction batches), plus R/2 tracked runs in
experiment ``exp`` (params, three metrics over 10 steps, a tag) and a monitor ``mon``
with 200 reports. It is built once and cached under ``.bench/ui/``.

Each page is fetched from a real ``mlops-kit ui`` process over HTTP: once right after
the server starts ("cold": nothing cached in the process) and then ``--repeat`` times
("warm", the median). The same pages on a store of 10 of everything give the ratio
that says whether a page's cost grows with the store.

    python benchmarks/bench_ui.py            # N=10,000 versions, R=5,000 runs
    python benchmarks/bench_ui.py --quick    # N=300, R=200: a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
BENCH = ROOT / ".bench" / "ui"
FULL = {"n": 10_000, "models": 1_000, "runs": 5_000}
QUICK = {"n": 300, "models": 30, "runs": 200}
SMALL = {"n": 10, "models": 10, "runs": 10}
REPORTS = 200
BUDGET_MS = 300.0


def build(sizes: dict[str, int]) -> Path:
    sys.path.insert(0, str(HERE))
    from _listing_build import build as build_listing

    import mlops_kit as mk

    folder = BENCH / f"n{sizes['n']}-m{sizes['models']}-r{sizes['runs']}"
    half = {**sizes, "runs": sizes["runs"] // 2}
    manifest = build_listing(str(folder), half)
    manifest_path = folder.with_suffix(".built.json")
    store = mk.FsspecStorage(str(folder), fsync=False)
    if "tracked" not in manifest:
        t0 = time.perf_counter()
        for i in range(sizes["runs"] - half["runs"]):
            with mk.start_run(
                "exp", storage=store, params={"C": i % 7, "seed": i}, tags={"team": "ab"[i % 2]}
            ) as run:
                for step in range(10):
                    run.log_metric("auc", 0.5 + step / 40 + (i % 5) / 100, step=step)
                    run.log_metric("loss", 1.0 - step / 20, step=step)
                run.log_metric("f1", 0.6 + (i % 9) / 50)
        manifest["tracked"] = {"seconds": round(time.perf_counter() - t0, 1)}
        manifest_path.write_text(json.dumps(manifest, indent=1))
    if "monitor" not in manifest:
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(0)
        reference = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(list("abc"), 500)})
        monitor = mk.Monitor(reference, name="mon", storage=store)
        for i in range(REPORTS):
            monitor.check(
                pd.DataFrame({"x": rng.normal(i / REPORTS, 1, 300), "c": rng.choice(list("abc"), 300)})
            )
        manifest["monitor"] = {"reports": REPORTS}
        manifest_path.write_text(json.dumps(manifest, indent=1))
    return folder


def pages(store: Path, sizes: dict[str, int]) -> list[str]:
    import mlops_kit as mk

    opened = mk.storage(str(store))
    tracked = [r.id for r in mk.runs(opened, experiment="exp", limit=2)]
    n, half = sizes["n"], sizes["runs"] // 2
    return [
        "/",
        "/datasets",
        "/datasets/d",
        f"/datasets/d/{n}",
        "/runs",
        f"/runs?offset={half}",
        "/runs?experiment=exp&sort=metrics.auc&order=desc",
        f"/runs/{tracked[0]}",
        f"/runs/compare?id={tracked[0]}&id={tracked[1]}",
        "/models",
        f"/models?offset={sizes['models'] - 50}",
        "/models/m",
        f"/models/m?offset={n // 2}",
        f"/models/m/{n}",
        "/endpoints",
        "/endpoints/logged",
        "/monitoring",
        "/monitoring/mon",
        "/decisions",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(store: Path, paths: list[str], repeat: int) -> dict[str, dict[str, Any]]:
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "mlops_kit.cli", "ui", "--storage", str(store), "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    out: dict[str, dict[str, Any]] = {}
    try:
        with httpx.Client(timeout=120) as client:
            while True:
                try:
                    client.get(url + "/static/ui.css")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            for path in paths:
                t0 = time.perf_counter()
                first = client.get(url + path)
                cold = time.perf_counter() - t0
                warm = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    client.get(url + path)
                    warm.append(time.perf_counter() - t0)
                out[path] = {"status": first.status_code, "cold": cold, "warm": statistics.median(warm)}
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a small store: a smoke run")
    parser.add_argument("--repeat", type=int, default=5, help="warm fetches per page (median)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    print(f"building or reusing the stores under {BENCH} ...", flush=True)
    big, small = build(sizes), build(SMALL)
    paths = pages(big, sizes)
    large = measure(big, paths, args.repeat)
    tiny = measure(small, pages(small, SMALL), args.repeat)
    print(f"\nUI pages on a store of {sizes['n']:,} model versions and {sizes['runs']:,} runs "
          f"(ratio: warm time against the same page on a store of 10):")  # fmt: skip
    print(
        f"{'page':<58} {'status':>6} {'cold ms':>8} {'warm ms':>8} {'x small':>8}  under {BUDGET_MS:.0f} ms"
    )
    for path, small_path in zip(paths, tiny, strict=True):
        big_page, small_page = large[path], tiny[small_path]
        ratio = big_page["warm"] / max(small_page["warm"], 1e-9)
        ok = "yes" if max(big_page["cold"], big_page["warm"]) * 1e3 < BUDGET_MS else "NO"
        print(f"{path[:58]:<58} {big_page['status']:>6} {big_page['cold'] * 1e3:>8.1f} "
              f"{big_page['warm'] * 1e3:>8.1f} {ratio:>8.1f}  {ok}")  # fmt: skip


if __name__ == "__main__":
    main()
