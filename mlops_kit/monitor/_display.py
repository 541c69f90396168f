"""What a report shows of a column's distributions: shares on a few display bins or categories."""

from __future__ import annotations

import math

import numpy as np

from mlops_kit.monitor._binning import OTHER
from mlops_kit.monitor._columns import Distribution
from mlops_kit.monitor._pair import ColumnPair

__all__ = ["display_distribution"]

_DISPLAY_BINS = 40
_DISPLAY_CATEGORIES = 15


def display_distribution(pair: ColumnPair) -> Distribution | None:
    """Reference and current shares on at most ~40 display bins or 15 categories."""
    if pair.kind == "categorical":
        table = pair.table
        ref, cur = _shares(table.reference), _shares(table.current)
        order = np.lexsort((np.arange(len(ref)), -np.maximum(ref, cur)))
        keep, rest = order[:_DISPLAY_CATEGORIES], order[_DISPLAY_CATEGORIES:]
        labels = [table.labels[i] for i in keep]
        ref_out, cur_out = ref[keep].tolist(), cur[keep].tolist()
        if len(rest):
            if OTHER not in labels:
                labels.append(OTHER)
                ref_out.append(0.0)
                cur_out.append(0.0)
            at = labels.index(OTHER)
            ref_out[at] += float(ref[rest].sum())
            cur_out[at] += float(cur[rest].sum())
        return Distribution(kind="categorical", labels=tuple(labels), reference=ref_out, current=cur_out)
    grid = pair.grid
    if grid is None:
        return None
    occupied = np.flatnonzero(grid.reference + grid.current)
    if pair.reference.dtype == "int" and grid.width <= 1 and len(occupied) <= _DISPLAY_CATEGORIES:
        # A few integer values (a 0/1 label, a rating): bars per value read better than a histogram.
        values = tuple(str(int(v)) for v in grid.edges[occupied])
        ref, cur = _shares(grid.reference)[occupied], _shares(grid.current)[occupied]
        return Distribution(kind="categorical", labels=values, reference=ref.tolist(), current=cur.tolist())
    # Show the bulk of both samples: the 0.1%-99.9% range, tails folded into the end bins.
    ref_cdf, cur_cdf = grid.cdfs()
    lo = int(min(np.searchsorted(ref_cdf, 0.001, "right"), np.searchsorted(cur_cdf, 0.001, "right"))) - 1
    hi = int(max(np.searchsorted(ref_cdf, 0.999, "left"), np.searchsorted(cur_cdf, 0.999, "left")))
    lo, hi = max(lo, 0), min(max(hi, lo + 1), len(grid.reference))
    step = max(1, math.ceil((hi - lo) / _DISPLAY_BINS))
    starts = np.arange(lo, hi, step)
    edges = np.append(grid.edges[starts], grid.edges[min(starts[-1] + step, len(grid.reference))])
    shares = []
    for counts in (grid.reference, grid.current):
        grouped = np.add.reduceat(counts[lo:hi], starts - lo)
        grouped[0] += counts[:lo].sum()
        grouped[-1] += counts[hi:].sum()
        shares.append(_shares(grouped).tolist())
    return Distribution(kind="numeric", edges=tuple(edges.tolist()), reference=shares[0], current=shares[1])


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts
