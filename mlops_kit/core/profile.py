"""Mergeable per-column summaries of tabular data.

Counts, null counts, min/max, histogram counts and quantile counts merge exactly; means and variances
merge with the parallel formula of Chan et al., exact up to float rounding. So the
merge of the profiles of a frame's partitions equals the profile of the whole frame,
which lets a monitor profile data per partition (for example on Dask) and merge.

A profile made on its own holds its columns' exact quantiles (the cut points of
:class:`~mlops_kit.core.histogram.QuantileCounts`); a profile made ``against`` a
reference counts its values at the reference's quantiles instead, so that both samples
are known exactly at the same points however heavy their tails.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlops_kit.core.dtypes import DType, check_frame, logical_dtype
from mlops_kit.core.errors import SchemaError
from mlops_kit.core.histogram import Histogram, QuantileCounts
from mlops_kit.core.record import FrozenMap, Record

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_CATEGORIES", "ColumnProfile", "Profile", "category_counts", "keyed_counts"]

MAX_CATEGORIES = 1000
Kind = Literal["numeric", "categorical"]


class ColumnProfile(Record):
    """The summary of one column.

    Numeric columns (int, float, datetime as seconds since the epoch) carry
    ``mean``, ``m2`` (sum of squared deviations), ``min``, ``max``, ``infs`` and a
    :class:`~mlops_kit.core.histogram.Histogram` of their finite values, and
    ``quantiles``: the counts of the finite values at exact reference quantiles (their
    own, or a reference's when profiled against one; ``None`` after merging samples
    counted at different quantiles).
    Categorical columns (bool, string, category) carry value ``counts``: the
    ``MAX_CATEGORIES`` most frequent values, the rest summed in ``other``.
    """

    dtype: DType
    kind: Kind
    count: int
    nulls: int
    mean: float | None = None
    m2: float | None = None
    min: float | None = None
    max: float | None = None
    infs: int = 0
    histogram: Histogram | None = None
    quantiles: QuantileCounts | None = None
    counts: FrozenMap[int] | None = None
    other: int = 0

    @property
    def rows(self) -> int:
        """Values plus nulls."""
        return self.count + self.nulls

    @property
    def null_rate(self) -> float:
        """The share of nulls (``nan`` for an empty column)."""
        return self.nulls / self.rows if self.rows else math.nan

    @property
    def missing(self) -> int:
        """Nulls plus non-finite values (infinities): what no distribution statistic can use."""
        return self.nulls + self.infs

    @property
    def non_finite_rate(self) -> float:
        """The share of infinite values among all rows (``nan`` for an empty column)."""
        return self.infs / self.rows if self.rows else math.nan

    @property
    def variance(self) -> float:
        """The sample variance of the finite values (``nan`` below two values)."""
        n = self.finite_count
        return (self.m2 or 0.0) / (n - 1) if n > 1 else math.nan

    @property
    def std(self) -> float:
        """The sample standard deviation of the finite values."""
        return math.sqrt(self.variance)

    @property
    def finite_count(self) -> int:
        """Non-null values that are finite (numeric columns)."""
        return self.count - self.infs

    def quantile(self, q: float) -> float:
        """An approximate quantile from the histogram (within one bin width)."""
        if self.histogram is None:
            raise SchemaError(f"Quantiles need a numeric column; this one is {self.dtype}.")
        return self.histogram.quantile(q)

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """The profile of the union of both samples."""
        if self.kind != other.kind:
            raise SchemaError(f"Cannot merge a {self.dtype} column profile with a {other.dtype} one.")
        dtype = self.dtype if self.dtype == other.dtype else _wider(self.dtype, other.dtype)
        base = {
            "dtype": dtype,
            "kind": self.kind,
            "count": self.count + other.count,
            "nulls": self.nulls + other.nulls,
        }
        if self.kind == "categorical":
            counts = dict(self.counts or {})
            for value, n in (other.counts or {}).items():
                counts[value] = counts.get(value, 0) + n
            kept, dropped = _top(counts)
            return ColumnProfile(**base, counts=kept, other=self.other + other.other + dropped)
        return ColumnProfile(**base, infs=self.infs + other.infs, **_merge_numeric(self, other))


class Profile(Record):
    """Per-column summaries of a DataFrame, mergeable across partitions.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", None]})
    >>> whole = Profile.of(df)
    >>> parts = Profile.of(df.iloc[:2]).merge(Profile.of(df.iloc[2:]))
    >>> parts.columns["x"].mean, whole.columns["x"].variance, parts.columns["c"].counts
    (2.5, 1.6666666666666667, {'a': 2, 'b': 1})
    >>> parts.columns["x"].histogram == whole.columns["x"].histogram
    True
    """

    n_rows: int
    columns: FrozenMap[ColumnProfile]

    def __repr__(self) -> str:
        return f"Profile(n_rows={self.n_rows}, columns={list(self.columns)})"

    @classmethod
    def of(cls, df: pd.DataFrame, against: Profile | None = None) -> Profile:
        """Profile every column of ``df``.

        With ``against`` (a reference profile), numeric columns are counted at the
        reference's quantiles rather than at their own, which merge across partitions.
        """
        df = check_frame(df)
        refs = against.columns if against is not None else {}
        return cls(
            n_rows=len(df),
            columns={name: profile_column(df[name], refs.get(name)) for name in df.columns},
        )

    def merge(self, other: Profile) -> Profile:
        """The profile of both frames stacked (they must have the same columns)."""
        if set(self.columns) != set(other.columns):
            raise SchemaError(
                "Cannot merge profiles with different columns: "
                f"{sorted(set(self.columns) ^ set(other.columns))} appear in only one."
            )
        return Profile(
            n_rows=self.n_rows + other.n_rows,
            columns={name: col.merge(other.columns[name]) for name, col in self.columns.items()},
        )


def profile_column(series: pd.Series, against: ColumnProfile | None = None) -> ColumnProfile:
    """Profile one column (numeric values counted at ``against``'s quantiles, if it has any)."""
    dtype = logical_dtype(series)
    if dtype in ("bool", "string", "category"):
        return _categorical(series, dtype)
    if dtype == "datetime":
        values, nulls = numeric_values(series, dtype)
        values = np.sort(values)
    else:  # NaN sorts last: one sort also finds the nulls, with no mask and no copy
        values = np.sort(series.to_numpy(dtype="float64", na_value=np.nan))
        valid = int(np.searchsorted(values, math.nan, side="left"))
        values, nulls = values[:valid], len(values) - valid
    quantiles = against.quantiles if against is not None and against.kind == "numeric" else None
    return _numeric(values, nulls, dtype, None if quantiles is None else quantiles.quantiles)


def numeric_values(series: pd.Series, dtype: DType) -> tuple[np.ndarray, int]:
    """The non-null values of a numeric or datetime column as float64, and the null count."""
    if dtype == "datetime":
        mask = series.isna().to_numpy()
        seconds = series.to_numpy(dtype="datetime64[ns]").astype("int64")[~mask] / 1e9
        return seconds, int(mask.sum())
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    nan = np.isnan(values)
    nulls = int(np.count_nonzero(nan))
    return (values[~nan] if nulls else values), nulls


def _numeric(
    values: np.ndarray, nulls: int, dtype: DType, against: tuple[float, ...] | None
) -> ColumnProfile:
    """The profile of sorted non-null ``values``.

    The sort gives min, max, infinities (at the ends), histogram and quantile counts by
    binary search: about the cost of one histogram pass over unsorted data.
    """
    base: dict[str, Any] = {"dtype": dtype, "kind": "numeric", "count": len(values), "nulls": nulls}
    if not len(values):
        return ColumnProfile(**base)
    if not (math.isfinite(values[0]) and math.isfinite(values[-1])):
        lo = int(np.searchsorted(values, -math.inf, side="right"))
        hi = int(np.searchsorted(values, math.inf, side="left"))
        base["infs"] = int(len(values) - (hi - lo))
        values = values[lo:hi]
        if not len(values):
            return ColumnProfile(**base)
    mean = float(values.mean())
    dev = values - mean
    m2 = float(np.dot(dev, dev))
    del dev
    quantiles = QuantileCounts.of(values) if against is None else QuantileCounts.count(values, against)
    return ColumnProfile(
        **base,
        mean=mean,
        m2=m2,
        min=float(values[0]),
        max=float(values[-1]),
        histogram=Histogram.of_sorted(values),
        quantiles=quantiles,
    )


def _merge_numeric(a: ColumnProfile, b: ColumnProfile) -> dict[str, Any]:
    na, nb = a.finite_count, b.finite_count
    fields = {"mean", "m2", "min", "max", "histogram", "quantiles"}
    if not nb:
        return a.model_dump(include=fields)
    if not na:
        return b.model_dump(include=fields)
    assert a.mean is not None and b.mean is not None and a.histogram and b.histogram
    assert a.min is not None and a.max is not None and b.min is not None and b.max is not None
    n = na + nb
    delta = b.mean - a.mean
    low, high = min(a.min, b.min), max(a.max, b.max)
    return {
        "mean": a.mean + delta * nb / n,
        "m2": (a.m2 or 0.0) + (b.m2 or 0.0) + delta * delta * na * nb / n,
        "min": low,
        "max": high,
        "histogram": a.histogram.merge(b.histogram, low, high),
        "quantiles": a.quantiles.merge(b.quantiles) if a.quantiles and b.quantiles else None,
    }


def category_counts(series: pd.Series) -> dict[str, int]:
    """Every category of ``series`` with its count, keyed as profiles key them (nulls left out).

    Examples
    --------
    >>> import pandas as pd
    >>> category_counts(pd.Series(["b", "a", "b", None, 1]))
    {'b': 2, 'a': 1, '1': 1}
    """
    return keyed_counts(series.value_counts(dropna=True, sort=False))


def keyed_counts(value_counts: pd.Series) -> dict[str, int]:
    """A ``value_counts()`` result keyed as profiles key categories (pandas or Dask made)."""
    return {str(k): int(v) for k, v in zip(value_counts.index, value_counts.to_numpy(), strict=True) if v}


def _categorical(series: pd.Series, dtype: DType) -> ColumnProfile:
    kept, dropped = _top(category_counts(series))
    nulls = int(series.isna().sum())
    return ColumnProfile(
        dtype=dtype, kind="categorical", count=len(series) - nulls, nulls=nulls, counts=kept, other=dropped
    )


def _top(counts: dict[str, int]) -> tuple[dict[str, int], int]:
    """Keep the ``MAX_CATEGORIES`` most frequent values (ties by value); count the rest."""
    if len(counts) <= MAX_CATEGORIES:
        return dict(sorted(counts.items())), 0
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(sorted(ranked[:MAX_CATEGORIES]))
    return kept, sum(n for _, n in ranked[MAX_CATEGORIES:])


def _wider(a: DType, b: DType) -> DType:
    pair = {a, b}
    if pair == {"int", "float"}:
        return "float"
    if pair <= {"string", "category"}:
        return "string"
    raise SchemaError(f"Cannot merge a {a} column profile with a {b} one.")
