"""Reference quantiles of a streamed version, with exact counts.

A profile made of one DataFrame holds its columns' exact quantiles; exact quantiles of
data that never sits in memory whole would take several passes. A streamed save counts
every piece at the first piece's exact quantiles (they merge exactly); for a column whose
first piece is not representative (rows ordered by it), one more pass over the stored
parts places the quantile edges at the merged histogram's quantiles (each within one bin width
of the order statistics around its level; ``min`` and ``max`` exact) and counts its values at them exactly, part by
part: what the monitor needs (both samples' CDFs known exactly at the same points).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from mlops_kit.core.histogram import QUANTILE_LEVELS, QuantileCounts
from mlops_kit.core.profile import ColumnProfile, Profile, numeric_values
from mlops_kit.core.storage.blobs import view_blob

if TYPE_CHECKING:
    from mlops_kit.core.storage import Storage
    from mlops_kit.datasets._records import DatasetPart

__all__ = ["with_quantiles"]


def with_quantiles(storage: Storage, parts: Sequence[DatasetPart], profile: Profile) -> Profile:
    """``profile`` with quantile counts for its numeric columns, counted over the stored ``parts``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    edges = {
        name: _edges(col) for name, col in profile.columns.items() if _countable(col) and _misplaced(col)
    }
    if not edges:
        return profile
    distinct = {name: np.unique(e) for name, e in edges.items()}
    counts = {name: np.zeros(2 * len(e) + 1, dtype=np.int64) for name, e in distinct.items()}

    def count_part(part: DatasetPart) -> dict[str, np.ndarray]:
        found = {name: np.zeros_like(c) for name, c in counts.items()}
        view = pa.BufferReader(pa.py_buffer(view_blob(storage, part.blob)))  # verified
        for batch in pq.ParquetFile(view).iter_batches(columns=list(edges)):  # a row group at a time
            frame = batch.to_pandas(split_blocks=True)
            for name in edges:
                column = profile.columns[name]
                values = numeric_values(frame[name], column.dtype)[0]
                if column.infs:  # the counts, like the quantiles, are of finite values
                    values = values[np.isfinite(values)]
                found[name] += _cell_counts(values, distinct[name])
        return found

    # Hashing, decoding and sorting release the GIL: two parts at a time use both cores.
    with ThreadPoolExecutor(2) as pool:
        for part_counts in pool.map(count_part, parts):
            for name, c in part_counts.items():
                counts[name] += c
    columns = dict(profile.columns)
    for name, quantiles in edges.items():
        found = QuantileCounts(quantiles=tuple(quantiles.tolist()), counts=tuple(counts[name].tolist()))
        columns[name] = columns[name].model_copy(update={"quantiles": found})
    return Profile(n_rows=profile.n_rows, columns=columns)


def _countable(col: ColumnProfile) -> bool:
    return col.kind == "numeric" and col.histogram is not None and col.finite_count > 0


def _misplaced(col: ColumnProfile) -> bool:
    """Whether the quantile edges miss more rows than a sample of the whole would: more than
    one level's share below the lowest edge or above the highest (or no common edges at all)."""
    if col.quantiles is None:
        return True
    counts = col.quantiles.counts
    outside = counts[0] + counts[-1]
    return bool(outside > max(1, col.finite_count // QUANTILE_LEVELS))


def _edges(col: ColumnProfile) -> np.ndarray:
    """Quantiles at ``i / QUANTILE_LEVELS`` from the histogram; exact at 0 and 1; ascending."""
    assert col.histogram is not None and col.min is not None and col.max is not None
    levels = np.arange(QUANTILE_LEVELS + 1) / QUANTILE_LEVELS
    found = np.array([col.histogram.quantile(q) for q in levels], dtype=np.float64)
    found[0], found[-1] = col.min, col.max
    return np.maximum.accumulate(np.clip(found, col.min, col.max))


def _cell_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in the cells of ``QuantileCounts`` (below, at and between the edges).

    Sorting the values and searching the few edges in them is several times faster than
    searching every value among the edges.
    """
    values = np.sort(values)
    bounds = np.empty(2 * len(edges) + 2, dtype=np.int64)
    bounds[0], bounds[-1] = 0, len(values)
    bounds[1:-1:2] = np.searchsorted(values, edges, side="left")
    bounds[2:-1:2] = np.searchsorted(values, edges, side="right")
    return np.diff(bounds)
