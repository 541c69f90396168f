"""Distances between binned distributions, for numeric and categorical columns: PSI and Jensen-Shannon.

Numeric columns are binned by the reference's exact deciles (its profile keeps them, and
the current data is counted at them), plus a group below and one above the reference
range; categorical columns by category.
"""

from __future__ import annotations

import math

import numpy as np

from mlops_kit.monitor._base import DriftMethod, MethodResult
from mlops_kit.monitor._pair import ColumnPair

__all__ = ["PSI", "JensenShannon"]

_PSI_EPSILON = 1e-4  # proportions are floored here so an empty bin does not give log(0)
_PSI_GROUPS = 10  # reference deciles, the usual PSI binning
_JS_GROUPS = 10


def _proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts


def _distributions(pair: ColumnPair, groups: int) -> tuple[np.ndarray, np.ndarray] | None:
    if pair.kind == "categorical":
        table = pair.table
        return _proportions(table.reference), _proportions(table.current)
    grid, cdfs = pair.grid, pair.cdfs
    if grid is None or cdfs is None:
        return None
    shares = cdfs.quantile_shares(groups)
    if shares is not None:
        return shares
    # A profile without quantiles (made before they existed): deciles on the grid.
    _, ref, cur = grid.quantile_groups(groups)
    return _proportions(ref), _proportions(cur)


class PSI(DriftMethod):
    """Population stability index over reference deciles (numeric) or categories.

    Numeric columns are grouped by the reference's exact deciles, ``[min, q1), ...,
    [q9, max]``, plus a group below and one above the reference range; proportions are
    floored at 1e-4.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, PSI
    >>> samples = (["a", "b"] * 50, ["a"] * 70 + ["b"] * 30)
    >>> ref, cur = (Profile.of(pd.DataFrame({"c": v})).columns["c"] for v in samples)
    >>> round(PSI().compute(ColumnPair("c", ref, cur)).statistic, 3)
    0.169
    """

    name = "psi"
    kinds = frozenset({"numeric", "categorical"})
    uses_p_value = False
    threshold = 0.1

    def compute(self, pair: ColumnPair) -> MethodResult:
        dists = _distributions(pair, _PSI_GROUPS)
        if dists is None:
            return MethodResult(math.nan, None, "no finite values on one side")
        ref, cur = (np.maximum(d, _PSI_EPSILON) for d in dists)
        return MethodResult(float(np.sum((cur - ref) * np.log(cur / ref))))


class JensenShannon(DriftMethod):
    """Jensen-Shannon distance (natural log, so between 0 and about 0.83).

    Over categories, or over the reference deciles of a numeric column plus a
    group on each side of the reference range.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, JensenShannon
    >>> samples = (["a", "b"] * 50, ["a"] * 70 + ["b"] * 30)
    >>> ref, cur = (Profile.of(pd.DataFrame({"c": v})).columns["c"] for v in samples)
    >>> round(JensenShannon().compute(ColumnPair("c", ref, cur)).statistic, 3)
    0.145
    """

    name = "jensenshannon"
    kinds = frozenset({"numeric", "categorical"})
    uses_p_value = False
    threshold = 0.1

    def compute(self, pair: ColumnPair) -> MethodResult:
        from scipy.spatial import distance

        dists = _distributions(pair, _JS_GROUPS)
        if dists is None:
            return MethodResult(math.nan, None, "no finite values on one side")
        value = float(distance.jensenshannon(*dists))
        return MethodResult(0.0 if math.isnan(value) and np.array_equal(*dists) else value)
