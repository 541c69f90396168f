"""The prediction log under a flood of wide or large requests, each scenario in a fresh process.

    python benchmarks/bench_predlog.py [--scenario wide|big|all] [--requests 100]

- **wide**: ``--requests`` one-row requests, each with the model's 3 columns and
  ``--extras`` extra columns of its own (names differ between requests, as when a
  client sends ids or features the signature does not know).
- **big**: ``--requests`` requests of about 9 MB of JSON each (the default body
  limit is 10 MiB): 250,000 rows of the model's columns plus a text column.

Each request body is parsed with ``json.loads`` as the server does, then goes
through the same path as an HTTP request (``Live.infer(columns, raw=columns)``).
No flush runs while the requests arrive (``flush_rows`` and the interval are out of
reach; the byte bound may still ask for one, which the script runs at the end as
the background thread would). Reported: the bytes sent, the peak RSS growth while
the requests are accepted (what the buffer holds), the buffer's accounted bytes,
and the time and peak RSS growth of the flush that follows (Linux: peak reset
through ``/proc/self/clear_refs``).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _proc import rss_kib

ROOT = Path(__file__).resolve().parents[1]


def _reset_peak() -> int:
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return rss_kib("VmRSS:")


def _bodies(scenario: str, requests: int, extras: int) -> Any:
    """Request bodies (JSON text), one at a time."""
    for i in range(requests):
        if scenario == "wide":
            columns: dict[str, list[Any]] = {"age": [30], "spend": [1.5], "plan": ["pro"]}
            columns.update({f"r{i}_c{j}": [j] for j in range(extras)})
        else:
            n = 250_000
            columns = {
                "age": list(range(n)),
                "spend": [0.5] * n,
                "plan": ["basic"] * n,
                "note": ["n"] * n,
            }
        yield json.dumps(columns)


def worker(scenario: str, requests: int, extras: int) -> dict[str, float]:
    import pandas as pd
    from sklearn.dummy import DummyRegressor

    import mlops_kit as mk

    frame = pd.DataFrame({"age": [25, 40], "spend": [10.0, 80.5], "plan": ["basic", "pro"]})
    reg = mk.Registry(mk.MemoryStorage())
    reg.register("m", DummyRegressor().fit(frame, [0.0, 1.0]), input_example=frame)
    dep = mk.LocalDeployer(reg, flush_rows=10**9, flush_interval=10**6, max_buffer_rows=10**9)
    ep = dep.deploy("m:1")
    live, log = ep.live, ep.live.log
    assert log is not None
    live._stopping.set()  # no background flush: this script runs it
    live._wakeup.set()
    sent = 0
    before = _reset_peak()
    for body in _bodies(scenario, requests, extras):
        sent += len(body)
        columns = json.loads(body)
        del body
        live.infer(columns, raw=columns)
        del columns
    accepted = (rss_kib("VmHWM:") - before) * 1024
    accounted = float(getattr(log, "buffered_bytes", float("nan")))
    before = _reset_peak()
    start = time.perf_counter()
    written = log.flush()
    seconds = time.perf_counter() - start
    flushed = (rss_kib("VmHWM:") - before) * 1024
    return {
        "sent_mb": sent / 1e6,
        "accept_peak_mb": accepted / 1e6,
        "accounted_mb": accounted / 1e6,
        "flush_s": seconds,
        "flush_peak_mb": flushed / 1e6,
        "rows_written": written,
        "dropped_requests": log.dropped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=["wide", "big", "all"], default="all")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--extras", type=int, default=2000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.scenario, args.requests, args.extras)))
        return
    for scenario in ["wide", "big"] if args.scenario == "all" else [args.scenario]:
        command = [sys.executable, __file__, "--worker", "--scenario", scenario]
        command += ["--requests", str(args.requests), "--extras", str(args.extras)]
        out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(
            scenario,
            "  ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()),
        )


if __name__ == "__main__":
    main()
