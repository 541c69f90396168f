"""Data larger than memory: versioning a partitioned Parquet data set, and a drift report over Dask.

    python benchmarks/bench_large_datasets.py --rows 10000000 [--skip-drift] [--repeat 3]

1. Generates ``--rows`` rows x 10 columns (mixed dtypes, like ``bench_datasets.py``) as
   Parquet files of 1M rows under ``.bench/large/<rows>/source`` (kept between runs).
2. **save**: ``Dataset.save(folder)`` (streamed: fingerprint, schema, profile, quantile
   counts, sha256 of every blob, the version record) against pyarrow writing the same
   partitioned data set (``pyarrow.dataset.write_dataset``, 1M rows per file), each in a
   fresh process; wall time and the process's peak RSS (``ru_maxrss``).
3. **load**: a full scan of the version through ``Dataset.to_arrow()`` (every blob
   verified) against pyarrow scanning the files it wrote, batch by batch (the data does
   not fit in memory as pandas at 100M rows; ``ds.load()`` is for what does).
4. **drift**: ``Monitor.check`` on ``dask.dataframe.read_parquet(folder)`` on a
   ``LocalCluster`` (2 workers, 1 thread each), against the same tests by hand with
   dask.dataframe and scipy: counts at the reference's quantiles per numeric column (KS
   from them, p-value from ``scipy.stats.kstwo``) and value counts per categorical column
   (chi-square, ``scipy.stats.chi2_contingency``; for two categories its square root, the
   two-proportion z the monitor reports). Peak RSS of each worker.

Prints one JSON object per measurement.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE_ROWS = 1_000_000


def frame(rows: int, seed: int):  # type: ignore[no-untyped-def]
    """File ``seed`` of the data set: bench_datasets' columns, ids continuing across files."""
    from bench_datasets import make_frame

    return make_frame(rows, seed=seed, first_id=seed * FILE_ROWS)


def generate(folder: Path, rows: int) -> None:
    marker = folder.with_suffix(".done")
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for k, start in enumerate(range(0, rows, FILE_ROWS)):
        frame(min(FILE_ROWS, rows - start), k).to_parquet(folder / f"part-{k:05d}.parquet")
    marker.write_text("")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_save(tool: str, source: str, out: str) -> dict[str, object]:
    import pyarrow.dataset as pads

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    if tool == "pyarrow":
        pads.write_dataset(
            pads.dataset(source),
            out,
            format="parquet",
            max_rows_per_file=FILE_ROWS,
            max_rows_per_group=1 << 17,
            min_rows_per_group=1 << 17,
        )
    else:
        sys.path.insert(0, str(ROOT))
        import mlops_kit as mk

        v = mk.Dataset("large", mk.storage(out)).save(source, part_rows=FILE_ROWS)
        assert v.n_rows > 0
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_mb()}


def run_load(tool: str, out: str) -> dict[str, object]:
    import pyarrow.dataset as pads

    start = time.perf_counter()
    if tool == "pyarrow":
        scanned = pads.dataset(out, format="parquet")
    else:
        sys.path.insert(0, str(ROOT))
        import mlops_kit as mk

        scanned = mk.Dataset("large", mk.storage(out)).to_arrow()
    rows = sum(batch.num_rows for batch in scanned.to_batches())
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_mb(), "rows": rows}


def run_drift(tool: str, source: str, reference_rows: int) -> dict[str, object]:
    import dask.dataframe as dd
    import distributed

    sys.path.insert(0, str(ROOT))
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
            memory_limit="4GB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        reference = frame(reference_rows, 10_000)
        current = dd.read_parquet(source)
        start = time.perf_counter()
        if tool == "mlops_kit":
            import mlops_kit as mk

            numeric = ["age", "visits", "spend", "score", "ratio"]
            columns = [*numeric, "active", "city", "plan"]
            # KS and chi-square, the tests computed by hand (auto would pick Wasserstein at this size).
            report = mk.Monitor(reference, columns=columns, method=dict.fromkeys(numeric, "ks")).check(
                current
            )
            summary = {c: round(col.statistic, 6) for c, col in report.columns.items()}
        else:
            summary = by_hand(reference, current)
        seconds = time.perf_counter() - start
        workers = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"seconds": seconds, "worker_peak_rss_mb": sorted(workers.values()), "statistics": summary}


def by_hand(reference, current):  # type: ignore[no-untyped-def]
    """The same tests with dask.dataframe and scipy: KS at the reference's quantiles, chi-square."""
    import dask
    import numpy as np
    import pandas as pd
    from scipy import stats

    numeric = ["age", "visits", "spend", "score", "ratio"]
    categorical = ["active", "city", "plan"]
    edges = {
        c: np.unique(np.quantile(reference[c].to_numpy(dtype="float64"), np.linspace(0, 1, 251)))
        for c in numeric
    }

    def counts(part, column):  # type: ignore[no-untyped-def]
        """Per edge: values below it, and values at or below it."""
        values, e = part[column].to_numpy(dtype="float64"), edges[column]
        # searchsorted "right" counts the edges at or below a value: it is at most j iff the value is below e_j.
        below = np.cumsum(np.bincount(np.searchsorted(e, values, "right"), minlength=len(e) + 1))[:-1]
        at = np.cumsum(np.bincount(np.searchsorted(e, values, "left"), minlength=len(e) + 1))[:-1]
        return np.stack([below, at, np.full(len(e), len(values))])

    lazy = {c: current.map_partitions(counts, c, meta=object).to_delayed() for c in numeric}
    totals = {c: dask.delayed(sum)(parts) for c, parts in lazy.items()}

    def categories(part):  # type: ignore[no-untyped-def]
        return {c: part[c].astype(str).value_counts() for c in categorical}

    def add(parts):  # type: ignore[no-untyped-def]
        return {c: pd.concat([p[c] for p in parts]).groupby(level=0).sum() for c in categorical}

    vc = dask.delayed(add)(current.map_partitions(categories, meta=object).to_delayed())
    computed, value_counts = dask.compute(totals, vc)
    out = {}
    for c in numeric:
        below, at, n_cur = computed[c]
        ref = np.sort(reference[c].to_numpy(dtype="float64"))
        ref_below = np.searchsorted(ref, edges[c], "left") / len(ref)
        ref_at = np.searchsorted(ref, edges[c], "right") / len(ref)
        d = float(max(np.max(np.abs(below / n_cur - ref_below)), np.max(np.abs(at / n_cur - ref_at))))
        n = len(ref) * n_cur[0] / (len(ref) + n_cur[0])
        out[c] = round(d, 6)
        stats.kstwo.sf(d, int(round(n)))
    for c in categorical:
        ref_counts = reference[c].astype(str).value_counts()
        keys = sorted(set(ref_counts.index) | set(value_counts[c].index))
        table = np.array([[ref_counts.get(k, 0) for k in keys], [value_counts[c].get(k, 0) for k in keys]])
        chi2 = float(stats.chi2_contingency(table, correction=False)[0])  # as the monitor: no Yates
        out[c] = round(chi2**0.5 if len(keys) == 2 else chi2, 6)  # two categories: the monitor's |z|
    return out


def child(argv: list[str]) -> None:
    kind, tool, *rest = argv
    if kind == "save":
        result = run_save(tool, *rest)
    elif kind == "load":
        result = run_load(tool, *rest)
    else:
        result = run_drift(tool, rest[0], int(rest[1]))
    print(json.dumps(result))


def fresh(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--skip-drift", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="alternating rounds of save and load")
    parser.add_argument("--reference-rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    base = ROOT / ".bench" / "large" / str(args.rows)
    source = base / "source"
    start = time.perf_counter()
    generate(source, args.rows)
    size = sum(f.stat().st_size for f in source.glob("*.parquet"))
    print(
        json.dumps(
            {
                "rows": args.rows,
                "parquet_gb": round(size / 1e9, 2),
                "generated_s": round(time.perf_counter() - start, 1),
            }
        )
    )
    for round_ in range(1, args.repeat + 1):  # alternating rounds: the machine's load moves between them
        for tool in ("pyarrow", "mlops_kit"):
            out = str(base / f"out-{tool}")
            print(json.dumps({"round": round_, "save": tool, **fresh("save", tool, str(source), out)}))
            print(json.dumps({"round": round_, "load": tool, **fresh("load", tool, out)}), flush=True)
            shutil.rmtree(out, ignore_errors=True)
    if not args.skip_drift:
        for tool in ("by_hand", "mlops_kit"):
            print(json.dumps({"drift": tool, **fresh("drift", tool, str(source), str(args.reference_rows))}))


if __name__ == "__main__":
    main()
