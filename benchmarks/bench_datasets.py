"""Dataset save + load vs plain Parquet, side by side, each run in a fresh process.

    python benchmarks/bench_datasets.py [--rows 5000000] [--repeat 3]

The frame has 10 columns of mixed dtypes (ints, floats, bool, string, category,
datetime with time zone). For each tool the script reports the median time of
save and of load, and the peak RSS growth during each operation relative to the
frame's in-memory size (Linux: peak reset through /proc/self/clear_refs).
mlops_kit includes everything it does: content fingerprint, schema, profile, sha256
of the stored bytes (and its verification on load), and the version record.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _proc import rss_kib

ROOT = Path(__file__).resolve().parents[1]


def make_frame(rows: int, seed: int = 0, first_id: int = 0):  # type: ignore[no-untyped-def]
    """Ten columns of every kind a dataset holds; ids from ``first_id``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + rows, dtype=np.int64),
            "age": rng.integers(18, 90, rows),
            "visits": rng.integers(0, 1000, rows).astype("int32"),
            "spend": rng.gamma(2.0, 30.0, rows),
            "score": rng.normal(size=rows),
            "ratio": rng.random(rows).astype("float32"),
            "active": rng.random(rows) < 0.3,
            "city": pd.Series(rng.choice(["paris", "lyon", "nantes", "lille", "nice"], rows), dtype="str"),
            "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], rows)),
            "seen": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**8, rows), "s"),
        }
    )


def _measure(fn):  # type: ignore[no-untyped-def]
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak-RSS watermark
        f.write("5")
    before = rss_kib("VmRSS:")
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    return result, elapsed, (rss_kib("VmHWM:") - before) * 1024


def worker(tool: str, rows: int, folder: str) -> dict[str, float]:
    import pandas as pd

    df = make_frame(rows)
    size = int(df.memory_usage(deep=True).sum())
    if tool == "parquet":
        path = os.path.join(folder, "plain.parquet")
        _, save_s, save_mem = _measure(lambda: df.to_parquet(path))
        loaded, load_s, load_mem = _measure(lambda: pd.read_parquet(path))
    else:
        sys.path.insert(0, str(ROOT))
        import mlops_kit as mk

        store = mk.FsspecStorage(folder, fsync=(tool == "mlops_kit"))
        ds = mk.Dataset("bench", storage=store)
        version, save_s, save_mem = _measure(lambda: ds.save(df))
        loaded, load_s, load_mem = _measure(lambda: ds.load(version.version))
    assert len(loaded) == rows
    return {
        "save_s": save_s,
        "load_s": load_s,
        "save_mem": save_mem / size,
        "load_mem": load_mem / size,
        "frame_mb": size / 1e6,
    }


def run(tool: str, rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir=ROOT / ".bench" if (ROOT / ".bench").is_dir() else None) as folder:
        out = subprocess.run(
            [sys.executable, __file__, "--worker", tool, "--rows", str(rows), "--folder", folder],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.rows, args.folder)))
        return
    tools = ["parquet", "mlops_kit", "mlops_kit-nofsync"]
    results: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
    for _ in range(args.repeat):  # interleaved, so drift in machine load hits every tool alike
        for tool in tools:
            results[tool].append(run(tool, args.rows))
    med = {t: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for t, rs in results.items()}
    frame_mb = med["parquet"]["frame_mb"]
    print(
        f"frame: {args.rows:,} rows x 10 columns, {frame_mb:,.0f} MB in memory; median of {args.repeat} runs"
    )
    print(
        f"{'tool':<20}{'save s':>9}{'load s':>9}{'total s':>9}{'vs parquet':>12}{'save mem':>10}{'load mem':>10}"
    )
    base = med["parquet"]["save_s"] + med["parquet"]["load_s"]
    for tool, m in med.items():
        total = m["save_s"] + m["load_s"]
        print(
            f"{tool:<20}{m['save_s']:>9.2f}{m['load_s']:>9.2f}{total:>9.2f}{total / base:>11.2f}x"
            f"{m['save_mem']:>9.2f}x{m['load_mem']:>9.2f}x"
        )
    print("mem = peak RSS growth during the operation / the frame's in-memory size")


if __name__ == "__main__":
    main()
