"""Tracked runs at scale: writing runs, and listing a page of them from a store of N runs.

    python benchmarks/bench_tracking.py [--runs 5000] [--metrics-per-run 20] [--repeat 5]

Builds a local-folder store with ``--runs`` finished runs of one experiment (two params,
a tag, ``--metrics-per-run`` values of one metric each) and reports:

- ``write``: seconds per run (start, log, end), and per buffered ``log_metric`` call;
- ``list cold``: ``mk.runs(store, "exp", limit=50)`` in a new process over a new
  ``FsspecStorage`` (median of ``--repeat`` processes; imports are done before timing);
- ``list warm``: the same call again in that process (median of ``--repeat`` calls);
- ``filter warm``: with ``metrics={"auc": (">", 0.5)}, limit=50, offset=100``.

Only the public API is used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

READER = """
import json, sys, time
import mlops_kit as mk
from mlops_kit.core.storage import FsspecStorage

mk.runs(mk.MemoryStorage(), "exp", limit=50)  # imports and lazy set-up, untimed
store = FsspecStorage(sys.argv[1])
t0 = time.perf_counter(); page = mk.runs(store, "exp", limit=50); cold = time.perf_counter() - t0
warm = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); mk.runs(store, "exp", limit=50); warm.append(time.perf_counter() - t0)
filtered = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    mk.runs(store, "exp", metrics={"auc": (">", 0.5)}, limit=50, offset=100)
    filtered.append(time.perf_counter() - t0)
print(json.dumps({"cold": cold, "warm": warm, "filtered": filtered, "rows": len(page)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--metrics-per-run", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import mlops_kit as mk
    from mlops_kit.core.storage import FsspecStorage

    with tempfile.TemporaryDirectory() as folder:
        store = FsspecStorage(folder)
        t0 = time.perf_counter()
        for i in range(args.runs):
            with mk.start_run(
                "exp", storage=store, params={"C": i / 10, "seed": i}, tags={"by": "bench"}
            ) as run:
                for step in range(args.metrics_per_run):
                    run.log_metric("loss", 1.0 / (step + 1), step=step)
                run.log_metric("auc", (i % 100) / 100)
        write = (time.perf_counter() - t0) / args.runs
        t0 = time.perf_counter()
        with mk.start_run("calls", storage=store) as run:
            for step in range(10_000):
                run.log_metric("loss", 1.0, step=step)
        per_metric = (time.perf_counter() - t0) / 10_000
        cold, warm, filtered = [], [], []
        for _ in range(args.repeat):
            done = subprocess.run(
                [sys.executable, "-c", READER, folder, str(args.repeat)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            result = json.loads(done.stdout)
            cold.append(result["cold"])
            warm.extend(result["warm"])
            filtered.extend(result["filtered"])
    print(f"runs: {args.runs}, metric values per run: {args.metrics_per_run + 1}")
    print(f"write: {write * 1e3:.2f} ms per run, {per_metric * 1e6:.1f} us per log_metric")
    print(f"list cold (limit=50): {statistics.median(cold) * 1e3:.0f} ms")
    print(f"list warm (limit=50): {statistics.median(warm) * 1e3:.1f} ms")
    print(f"filter warm (metrics, offset=100, limit=50): {statistics.median(filtered) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
