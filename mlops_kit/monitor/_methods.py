"""Drift methods: one small class per statistical test or distance, and the ``auto`` rule.

A method reads a :class:`ColumnPair` (both profiles, aligned counts, raw values on
demand) and returns a :class:`MethodResult`. Hypothesis tests decide on their p-value
(``p < threshold``), distances on their statistic (``statistic >= threshold``).
"""

from __future__ import annotations

import abc
import math
import warnings
from typing import ClassVar, NamedTuple

import numpy as np

from mlops_kit.core.errors import ConfigError
from mlops_kit.monitor._pair import ColumnPair

__all__ = [
    "METHODS",
    "AndersonDarling",
    "ChiSquare",
    "DriftMethod",
    "EnergyDistance",
    "JensenShannon",
    "KolmogorovSmirnov",
    "MethodResult",
    "PSI",
    "Wasserstein",
    "ZTest",
    "auto_method",
    "get_method",
]

_PSI_EPSILON = 1e-4  # proportions are floored here so an empty bin does not give log(0)
_PSI_GROUPS = 10  # reference deciles, the usual PSI binning
_JS_GROUPS = 10


class MethodResult(NamedTuple):
    """What a method found: its statistic, the p-value of a test, and a remark."""

    statistic: float
    p_value: float | None = None
    note: str = ""


class DriftMethod(abc.ABC):
    """The base of every drift method; subclass it to add your own.

    Class attributes: ``name`` (what users pass as ``method=``), ``kinds`` (the column
    kinds it handles: ``"numeric"``, ``"categorical"``), ``uses_p_value`` (decide on
    ``p_value < threshold`` rather than ``statistic >= threshold``), ``threshold`` (the
    default) and ``requires_values`` (it cannot work from profiles alone).

    Examples
    --------
    >>> import numpy as np
    >>> from mlops_kit.monitor import DriftMethod, MethodResult
    >>> class MeanShift(DriftMethod):
    ...     name = "mean_shift"
    ...     kinds = frozenset({"numeric"})
    ...     uses_p_value = False
    ...     threshold = 0.25
    ...     def compute(self, pair):
    ...         return MethodResult(abs(pair.current.mean - pair.reference.mean) / pair.scale)
    >>> MeanShift()
    MeanShift(name='mean_shift', threshold=0.25)
    """

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]
    uses_p_value: ClassVar[bool]
    threshold: ClassVar[float]
    requires_values: ClassVar[bool] = False

    @abc.abstractmethod
    def compute(self, pair: ColumnPair) -> MethodResult:
        """Compare the reference and current samples of one column."""

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        """The decision; an undefined (NaN) score counts as drift, never as "no drift"."""
        score = p_value if self.uses_p_value else statistic
        if score is None or math.isnan(score):
            return True
        return score < threshold if self.uses_p_value else score >= threshold

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold})"


class KolmogorovSmirnov(DriftMethod):
    """Two-sample Kolmogorov-Smirnov test; exactly ``scipy.stats.ks_2samp`` on raw values.

    Without raw values (a :class:`~mlops_kit.Profile` reference, or Dask data) the
    statistic is taken from the histograms on their common grid and the p-value from
    the asymptotic distribution, and the note says so.
    """

    name = "ks"
    kinds = frozenset({"numeric"})
    uses_p_value = True
    threshold = 0.05

    def compute(self, pair: ColumnPair) -> MethodResult:
        from scipy import stats

        ref, cur = pair.reference_values, pair.current_values
        if ref is not None and cur is not None:
            result = stats.ks_2samp(ref, cur)
            return MethodResult(float(result.statistic), float(result.pvalue))
        grid = pair.grid
        if grid is None:
            return MethodResult(math.nan, None, "no finite values on one side")
        ref_cdf, cur_cdf = grid.cdfs()
        d = float(np.max(np.abs(ref_cdf - cur_cdf)))
        n, m = pair.reference.finite_count, pair.current.finite_count
        p = float(stats.kstwo.sf(d, round(n * m / (n + m))))
        return MethodResult(d, min(max(p, 0.0), 1.0), "from binned profiles (no raw data): approximate")


class Wasserstein(DriftMethod):
    """Wasserstein-1 (earth mover's) distance divided by the reference std.

    Computed from the profiles' histograms on their common grid (CDFs linear inside a
    bin), so the reference data is never reloaded. 0.1 means the distributions are
    a tenth of a standard deviation apart.
    """

    name = "wasserstein"
    kinds = frozenset({"numeric"})
    uses_p_value = False
    threshold = 0.1

    def compute(self, pair: ColumnPair) -> MethodResult:
        grid = pair.grid
        if grid is None:
            return MethodResult(math.nan, None, "no finite values on one side")
        return MethodResult(_normalized(grid.cdf_gap_integral(), pair.scale))


def _normalized(distance: float, scale: float) -> float:
    if scale > 0:
        return distance / scale
    return 0.0 if distance == 0 else math.inf  # two different constants


def _proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts


def _distributions(pair: ColumnPair, groups: int) -> tuple[np.ndarray, np.ndarray] | None:
    if pair.kind == "categorical":
        table = pair.table
        return _proportions(table.reference), _proportions(table.current)
    grid = pair.grid
    if grid is None:
        return None
    _, ref, cur = grid.quantile_groups(groups)
    return _proportions(ref), _proportions(cur)


class PSI(DriftMethod):
    """Population stability index over reference deciles (numeric) or categories.

    Numeric columns are grouped by the reference's deciles on the profile grid, plus a
    group below and one above the reference range; proportions are floored at 1e-4.
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


class AndersonDarling(DriftMethod):
    """k-sample Anderson-Darling test (``scipy.stats.anderson_ksamp``) on raw values.

    scipy clips its p-value to [0.001, 0.25]; the note says when it was clipped.
    """

    name = "anderson"
    kinds = frozenset({"numeric"})
    uses_p_value = True
    threshold = 0.05
    requires_values = True

    def compute(self, pair: ColumnPair) -> MethodResult:
        import inspect

        from scipy import stats

        ref, cur = _finite(pair.reference_values), _finite(pair.current_values)
        if ref is None or cur is None or len(ref) < 2 or len(cur) < 2:
            return MethodResult(math.nan, None, "needs at least two finite raw values on each side")
        if ref.min() == ref.max() == cur.min() == cur.max():
            return MethodResult(0.0, 1.0, "all values are equal")
        # scipy >= 1.17 renamed midrank=True to variant="midrank"; keep the same test either way.
        params = inspect.signature(stats.anderson_ksamp).parameters
        kwargs = {"variant": "midrank"} if "variant" in params else {"midrank": True}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = stats.anderson_ksamp([ref, cur], **kwargs)
        # scipy warns "p-value capped" (above 0.25) or "p-value floored" (below 0.001).
        capped = any("capped" in str(w.message) or "floored" in str(w.message) for w in caught)
        return MethodResult(
            float(result.statistic),
            float(result.pvalue),
            "p-value clipped to [0.001, 0.25] by scipy" if capped else "",
        )


class EnergyDistance(DriftMethod):
    """Energy distance (``scipy.stats.energy_distance``) on raw values, divided by the reference std."""

    name = "energy"
    kinds = frozenset({"numeric"})
    uses_p_value = False
    threshold = 0.1
    requires_values = True

    def compute(self, pair: ColumnPair) -> MethodResult:
        from scipy import stats

        ref, cur = _finite(pair.reference_values), _finite(pair.current_values)
        if ref is None or cur is None or not len(ref) or not len(cur):
            return MethodResult(math.nan, None, "no finite raw values on one side")
        return MethodResult(_normalized(float(stats.energy_distance(ref, cur)), pair.scale))


def _finite(values: np.ndarray | None) -> np.ndarray | None:
    if values is None:
        return None
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]


class ChiSquare(DriftMethod):
    """Chi-square test of homogeneity on the 2 x k table of reference and current counts.

    Always the two-sample test (``scipy.stats.chi2_contingency``, no continuity
    correction), never goodness-of-fit against reference proportions, which treats
    the reference as exact and raises false alarms when the current sample is large.
    """

    name = "chisquare"
    kinds = frozenset({"categorical"})
    uses_p_value = True
    threshold = 0.05

    def compute(self, pair: ColumnPair) -> MethodResult:
        from scipy import stats

        table = pair.table
        if len(table.labels) < 2:
            return MethodResult(0.0, 1.0, "one category on both sides")
        result = stats.chi2_contingency(np.vstack([table.reference, table.current]), correction=False)
        return MethodResult(float(result.statistic), float(result.pvalue))


class ZTest(DriftMethod):
    """Two-proportion z-test (pooled) for a binary column; the statistic is ``|z|``."""

    name = "ztest"
    kinds = frozenset({"categorical"})
    uses_p_value = True
    threshold = 0.05

    def compute(self, pair: ColumnPair) -> MethodResult:
        from scipy import stats

        table = pair.table
        if len(table.labels) > 2:
            raise ConfigError(
                f"The z-test compares two proportions, but column {pair.name!r} has "
                f"{len(table.labels)} categories ({list(table.labels)[:5]}...). Use method='chisquare'."
            )
        n1, n2 = table.reference.sum(), table.current.sum()
        a, b = table.reference[0], table.current[0]
        pooled = (a + b) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        if se == 0:  # both samples hold a single, identical value
            return MethodResult(0.0, 1.0, "one category on both sides")
        z = abs(a / n1 - b / n2) / se
        return MethodResult(float(z), float(2 * stats.norm.sf(z)))


METHODS: dict[str, DriftMethod] = {
    m.name: m
    for m in (
        KolmogorovSmirnov(),
        Wasserstein(),
        PSI(),
        JensenShannon(),
        AndersonDarling(),
        EnergyDistance(),
        ChiSquare(),
        ZTest(),
    )
}

_CATEGORY_MIN_COUNT = 10  # below this many values per category, distances are mostly noise


def auto_method(pair: ColumnPair) -> DriftMethod:
    """The method ``method="auto"`` picks for a column.

    Up to 1,000 values on the smaller side: KS (numeric), z-test (binary) or chi-square
    (categorical); above: the normalized Wasserstein distance (numeric) or the
    Jensen-Shannon distance (categorical). A categorical column with fewer than 10
    values per category is still tested, since a distance between sparse counts
    measures sampling noise more than drift.
    """
    if pair.kind == "numeric":
        return METHODS["ks" if pair.is_small else "wasserstein"]
    n_categories = len(pair.table.labels)
    if pair.is_small or pair.sample_size < _CATEGORY_MIN_COUNT * n_categories:
        return METHODS["ztest" if n_categories <= 2 else "chisquare"]
    return METHODS["jensenshannon"]


def get_method(method: str | DriftMethod) -> DriftMethod:
    """The method named ``method`` (or ``method`` itself if it is a :class:`DriftMethod`)."""
    if isinstance(method, DriftMethod):
        return method
    if isinstance(method, str) and method in METHODS:
        return METHODS[method]
    raise ConfigError(
        f"Unknown drift method {method!r}; expected 'auto', one of {sorted(METHODS)}, or a DriftMethod."
    )
