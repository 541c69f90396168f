"""A streamed save of 8M rows x 10 columns keeps its peak memory far below materializing them.

Run in a fresh subprocess, whose peak RSS (``ru_maxrss``) is its own. The data is 8M rows x
10 float64 columns: 610 MiB as one DataFrame. Saving it as one DataFrame (the frame, its
Arrow table, the Parquet encoder's buffers) peaks at about 1.4 GB (measured: 1,041 MB for
6M rows, it grows with the rows); streaming parts of 2**19 rows keeps about two parts in
flight whatever the rows (measured: about 370 MB from an iterator, 410 MB from a folder).
Two checks: the peak does not grow with the rows (8M rows peak within 200 MB of 2M rows:
materializing them would add about 460 MB), and it stays under 1 GB, far below the 1.4 GB
of the whole frame. (A run beside heavy disk writing once peaked at 759 MB: the
allocator's caches vary with the machine, so the bound leaves room for them.)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROWS, COLUMNS, CHUNK = 8_000_000, 10, 250_000
BOUND_MB = 1000
GROWTH_MB = 200
DATA_MB = ROWS * COLUMNS * 8 / 2**20

SAVE = textwrap.dedent(
    """
    import resource, sys
    import numpy as np, pandas as pd
    import mlops_kit as mk

    rows, columns, chunk, source, store = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]

    def chunks():
        for start in range(0, rows, chunk):
            rng = np.random.default_rng(start)
            yield pd.DataFrame(rng.normal(size=(chunk, columns)), columns=[f"c{i}" for i in range(columns)])

    data = chunks() if source == "iterator" else source
    v = mk.Dataset("big", mk.storage(store)).save(data)
    print(v.n_rows, len(v.parts), v.fingerprint, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """
)


def peak_of_save(source: str, store: str, rows: int = ROWS) -> tuple[int, int, str, int]:
    out = subprocess.run(
        [sys.executable, "-c", SAVE, str(rows), str(COLUMNS), str(CHUNK), source, store],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1]), out[2], int(out[3])


def test_saving_8m_rows_streamed_stays_far_below_materializing_them(tmp_path):
    rows, parts, from_iterator, peak = peak_of_save("iterator", str(tmp_path / "a"))
    assert (rows, parts) == (ROWS, 16)  # parts of 2**19 rows
    assert peak < BOUND_MB, f"peak RSS {peak} MB for {DATA_MB:.0f} MB of data"
    *_, quarter = peak_of_save("iterator", str(tmp_path / "q"), ROWS // 4)
    assert peak < quarter + GROWTH_MB, f"peak RSS {peak} MB for 8M rows, {quarter} MB for 2M rows"

    folder = tmp_path / "parquet"
    folder.mkdir()
    for k, start in enumerate(range(0, ROWS, CHUNK)):
        rng = np.random.default_rng(start)
        frame = pd.DataFrame(rng.normal(size=(CHUNK, COLUMNS)), columns=[f"c{i}" for i in range(COLUMNS)])
        frame.to_parquet(folder / f"part-{k:03d}.parquet")
    rows, parts, from_folder, peak = peak_of_save(str(folder), str(tmp_path / "b"))
    assert rows == ROWS and from_folder == from_iterator  # the same rows, the same fingerprint
    assert peak < BOUND_MB, f"peak RSS {peak} MB for {DATA_MB:.0f} MB of data"
