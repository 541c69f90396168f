"""A step returning a pyarrow dataset of millions of rows streams it into the cache with bounded memory.

As in tests/datasets/test_bounded_memory.py, each run is a fresh subprocess, and the check
is that its peak RSS does not grow with the rows. The peak is read from ``VmHWM`` in
``/proc/self/status``, which is the program's own: ``ru_maxrss`` survives ``exec`` and
starts at the forking process's size (a pytest process of several GB after the whole
suite, so every growth read 0). Compared: 6M rows x 10 float64 columns (458 MiB in
memory) against a quarter of them. Streaming costs a fixed amount (pyarrow's Parquet
reader and writer, its allocator's caches): measured, the peak grew 283 MB for 1.5M rows
and 316 MB for 6M (133 MB for the cache hit, the input's fingerprint pass). Holding the
rows would add three quarters of the data, about 340 MB: a step that does hold them
(returns an in-memory dataset) grew it 737 MB, and is measured too, so the check is seen
to fail when memory grows with the rows.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROWS, COLUMNS, CHUNK = 6_000_000, 10, 250_000
DATA_MB = ROWS * COLUMNS * 8 / 2**20
GROWTH_MB = 120  # well below the ~340 MB that holding 3/4 of the rows adds

RUN = textwrap.dedent(
    """
    import sys
    import pyarrow.dataset as pads
    import mlops_kit as mk

    folder, store, mode = sys.argv[1], sys.argv[2], sys.argv[3]

    @mk.step
    def kept(data):
        if mode == "in-memory":
            return pads.dataset(data.to_table())
        return data.filter(pads.field("c0") > -1e9)  # every row, as a filtered (lazy) dataset

    def peak():  # MB; VmHWM is this program's own (ru_maxrss keeps the forking parent's peak)
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024

    before = peak()
    run = mk.Pipeline([kept], name="bounded").run(
        inputs={"data": pads.dataset(folder)}, storage=mk.storage(store), progress=False
    )
    out = run.outputs["kept"]
    grown = peak() - before
    print(run.steps[0].cache_hit, type(out).__name__, out.count_rows(), grown)
    """
)


def write_folder(path, rows: int) -> str:
    path.mkdir()
    for k, start in enumerate(range(0, rows, CHUNK)):
        rng = np.random.default_rng(start)
        frame = pd.DataFrame(rng.normal(size=(CHUNK, COLUMNS)), columns=[f"c{i}" for i in range(COLUMNS)])
        frame.to_parquet(path / f"part-{k:03d}.parquet")
    return str(path)


def growth_of_run(folder: str, store: str, mode: str = "streamed") -> tuple[bool, str, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", RUN, folder, store, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0] == "True", out[1], int(out[2]), int(out[3])


def test_a_returned_dataset_of_6m_rows_streams_into_the_cache_and_back(tmp_path) -> None:
    big = write_folder(tmp_path / "big", ROWS)
    quarter = write_folder(tmp_path / "quarter", ROWS // 4)
    hit, kind, rows, grown = growth_of_run(big, str(tmp_path / "store"))
    assert (hit, kind, rows) == (False, "FileSystemDataset", ROWS)  # lazy, over the stored parts
    *_, grown_quarter = growth_of_run(quarter, str(tmp_path / "store-q"))
    assert grown < grown_quarter + GROWTH_MB, (
        f"peak RSS grew {grown} MB for {DATA_MB:.0f} MB of rows, {grown_quarter} MB for a quarter of them"
    )
    # Another process: a cache hit, handing back the lazy dataset over the same parts.
    hit, kind, rows, _ = growth_of_run(big, str(tmp_path / "store"))
    assert (hit, kind, rows) == (True, "FileSystemDataset", ROWS)
    # The check can fail: a step holding the rows in memory grows with them.
    *_, held = growth_of_run(big, str(tmp_path / "store-m"), "in-memory")
    assert held > grown_quarter + GROWTH_MB, f"holding {DATA_MB:.0f} MB of rows grew the peak only {held} MB"
