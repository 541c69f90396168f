"""The first page of runs on a store of 5,000 tracked runs: ``mk.runs(limit=50)`` and the UI's ``/runs``.

    python benchmarks/bench_runs_page.py [--runs 5000] [--experiments 4] [--repeat 5] [--store PATH]

Builds (once, then reuses) a local-folder store under ``.bench/runs-<N>`` with ``--runs``
finished tracked runs spread over ``--experiments`` experiments (two params, a tag, an
``auc`` metric over 5 steps each), then reports, median of ``--repeat``:

- ``runs cold``: ``mk.runs(store, limit=50)`` in a new process over a new storage object;
- ``runs warm``: the same call again in that process;
- ``runs filtered``: ``mk.runs(store, metrics={"auc": (">", 0.5)}, limit=50, offset=100)``,
  which folds every run;
- ``page cold`` / ``page warm``: ``GET /runs`` from ``mlops-kit ui`` (a real uvicorn server
  in its own process), the first request after start and the next ones;
- ``sorted cold`` / ``sorted warm``: ``GET /runs?sort=metrics.auc&order=desc``: sorting folds
  every run (cold: the first fold in the server's process; warm: the folds are cached);
- ``oldest run``, ``compare``: ``GET /runs/<the oldest run>`` and ``/runs/compare`` of the newest
  and the oldest run (finding runs by id walks the cached folds).

Only the public API and the CLI are used.
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

ROOT = Path(__file__).resolve().parents[1]

READER = """
import json, sys, time
import mlops_kit as mk

mk.runs(mk.MemoryStorage(), limit=50)  # imports and lazy set-up, untimed
store = mk.storage(sys.argv[1])
t0 = time.perf_counter(); page = mk.runs(store, limit=50); cold = time.perf_counter() - t0
warm, filtered = [], []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); mk.runs(store, limit=50); warm.append(time.perf_counter() - t0)
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); mk.runs(store, metrics={"auc": (">", 0.5)}, limit=50, offset=100)
    filtered.append(time.perf_counter() - t0)
print(json.dumps({"cold": cold, "warm": warm, "filtered": filtered, "rows": len(page)}))
"""


def build(folder: Path, n_runs: int, n_experiments: int) -> None:
    """Fill ``folder`` with finished tracked runs (skipped if a previous build completed)."""
    import mlops_kit as mk

    done = folder / "BUILT"
    if done.exists() and done.read_text() == f"{n_runs} {n_experiments}":
        return
    store = mk.storage(str(folder))
    t0 = time.perf_counter()
    for i in range(n_runs):
        params = {"C": round(0.01 * (i % 100 + 1), 2), "penalty": ("l1", "l2")[i % 2]}
        with mk.start_run(
            f"exp-{i % n_experiments}", storage=store, params=params, tags={"team": "crm"}
        ) as run:
            for step in range(5):
                run.log_metric("auc", 0.5 + (i % 97) / 200 + step / 100, step=step)
    done.write_text(f"{n_runs} {n_experiments}")
    print(f"built {n_runs} runs in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_page(url: str, repeat: int) -> tuple[float, list[float]]:
    import httpx

    with httpx.Client(timeout=60) as http:
        t0 = time.perf_counter()
        first = http.get(url)
        cold = time.perf_counter() - t0
        first.raise_for_status()
        warm = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            http.get(url).raise_for_status()
            warm.append(time.perf_counter() - t0)
    return cold, warm


def serve_and_time(folder: Path, n_runs: int, repeat: int) -> dict[str, float]:
    import httpx

    import mlops_kit as mk

    newest, oldest = (mk.runs(mk.storage(str(folder)), limit=1, offset=n)[0].id for n in (0, n_runs - 1))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "mlops_kit.cli", "--storage", str(folder), "ui", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/static/ui.css", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the UI server did not start") from None
                time.sleep(0.1)
        cold, warm = time_page(base + "/runs", repeat)
        sorted_cold, sorted_warm = time_page(base + "/runs?sort=metrics.auc&order=desc", repeat)
        _, oldest_run = time_page(f"{base}/runs/{oldest}", repeat)
        _, compared = time_page(f"{base}/runs/compare?id={newest}&id={oldest}", repeat)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "page cold": cold,
        "page warm": statistics.median(warm),
        "sorted cold": sorted_cold,
        "sorted warm": statistics.median(sorted_warm),
        "oldest run": statistics.median(oldest_run),
        "compare": statistics.median(compared),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--experiments", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", type=Path, default=None, help="default .bench/runs-<N>")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    folder = args.store or ROOT / ".bench" / f"runs-{args.runs}"
    folder.mkdir(parents=True, exist_ok=True)
    build(folder, args.runs, args.experiments)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    colds, warms, filtered = [], [], []
    for _ in range(args.repeat):
        out = subprocess.run(
            [sys.executable, "-c", READER, str(folder), str(args.repeat)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        got = json.loads(out.stdout)
        assert got["rows"] == 50, got
        colds.append(got["cold"])
        warms.append(statistics.median(got["warm"]))
        filtered.append(statistics.median(got["filtered"]))
    figures = {
        "runs cold": statistics.median(colds),
        "runs warm": statistics.median(warms),
        "runs filtered": statistics.median(filtered),
        **serve_and_time(folder, args.runs, args.repeat),
    }
    print(f"store: {folder} ({args.runs} runs, {args.experiments} experiments)")
    for name, seconds in figures.items():
        print(f"{name:>14}: {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
