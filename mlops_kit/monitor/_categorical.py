"""Categorical drift: chi-square and z-tests, the effect size (Cohen's w), and the unseen-category test.

Effect sizes share one scale across the monitor: Cohen's d for numeric columns (the
Wasserstein distance in reference stds), Cohen's h for null rates, and Cohen's w here,
which equals Cohen's h for a two-category column (to second order), so one threshold
means the same change everywhere.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.profile import ColumnProfile
from mlops_kit.monitor._base import DriftMethod, MethodResult
from mlops_kit.monitor._binning import CategoryTable
from mlops_kit.monitor._pair import ColumnPair

__all__ = [
    "ChiSquare",
    "UnseenTest",
    "ZTest",
    "cohen_w",
    "cohen_w_noise",
    "seen_counts",
    "unseen_test",
    "whole_table",
]


class ChiSquare(DriftMethod):
    """Chi-square test of homogeneity on the 2 x k table of reference and current counts.

    Always the two-sample test (``scipy.stats.chi2_contingency``, no continuity
    correction), never goodness-of-fit against reference proportions, which treats
    the reference as exact and raises false alarms when the current sample is large.
    It compares the categories the reference knows; current values in categories it
    never saw are judged by the unseen check, against what the reference predicts.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, ChiSquare
    >>> samples = (["a", "b"] * 50, ["a"] * 70 + ["b"] * 30)
    >>> ref, cur = (Profile.of(pd.DataFrame({"c": v})).columns["c"] for v in samples)
    >>> ChiSquare().compute(ColumnPair("c", ref, cur))
    MethodResult(statistic=8.33..., p_value=0.00389..., note='')
    """

    name = "chisquare"
    kinds = frozenset({"categorical"})
    uses_p_value = True
    threshold = 0.05

    def compute(self, pair: ColumnPair) -> MethodResult:
        return _homogeneity(*seen_counts(pair.table))


def whole_table(table: CategoryTable) -> MethodResult:
    """The chi-square test over every category of both samples, current-only ones included.

    What auto runs on a table too sparse for an effect size (``cohen_w_noise``): there the
    current-only categories are part of the comparison, not a separate check.
    """
    occupied = (table.reference + table.current) > 0
    note = "too sparse for an effect size: chi-square over every category of both samples"
    return _homogeneity(table.reference[occupied], table.current[occupied], note)


def _homogeneity(ref: np.ndarray, cur: np.ndarray, note: str) -> MethodResult:
    from scipy import stats

    if np.count_nonzero(ref + cur) < 2 or not cur.sum() or not ref.sum():
        return MethodResult(0.0, 1.0, "; ".join(n for n in (note, "one category on both sides") if n))
    result = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    return MethodResult(float(result.statistic), float(result.pvalue), note)


def seen_counts(table: CategoryTable) -> tuple[np.ndarray, np.ndarray, str]:
    """Both samples' counts in the categories the reference has, and a note on the others."""
    seen = table.reference > 0
    new = int(np.sum(~seen & (table.current > 0)))
    note = f"{new} unseen categories left to the unseen check" if new else ""
    return table.reference[seen], table.current[seen], note


class ZTest(DriftMethod):
    """Two-proportion z-test (pooled) for a binary column; the statistic is ``|z|``.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, ZTest
    >>> samples = (["a", "b"] * 50, ["a"] * 70 + ["b"] * 30)
    >>> ref, cur = (Profile.of(pd.DataFrame({"c": v})).columns["c"] for v in samples)
    >>> ZTest().compute(ColumnPair("c", ref, cur))
    MethodResult(statistic=2.88..., p_value=0.00389..., note='')
    """

    name = "ztest"
    kinds = frozenset({"categorical"})
    uses_p_value = True
    threshold = 0.05

    def compute(self, pair: ColumnPair) -> MethodResult:
        from scipy import stats

        ref, cur, note = seen_counts(pair.table)
        if len(ref) > 2:
            raise ConfigError(
                f"The z-test compares two proportions, but column {pair.name!r} has {len(ref)} "
                "categories in the reference. Use method='chisquare'."
            )
        n1, n2 = ref.sum(), cur.sum()
        if len(ref) < 2 or not n2:
            return MethodResult(0.0, 1.0, note or "one category on both sides")
        a, b = ref[0], cur[0]
        pooled = (a + b) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        if se == 0:  # both samples hold a single, identical value
            return MethodResult(0.0, 1.0, note or "one category on both sides")
        z = abs(a / n1 - b / n2) / se
        return MethodResult(float(z), float(2 * stats.norm.sf(z)), note)


def cohen_w(table: CategoryTable) -> float:
    """Cohen's w between the two samples' shares of the reference's categories, unbiased.

    ``w**2 = sum((q - p)**2 / m)`` with ``m = (p + q) / 2``: symmetric, finite when a
    category is unseen on one side, and equal to Cohen's h for two categories (to
    second order). Under no drift its estimate is about ``(k - 1) (1/n1 + 1/n2)``
    (the chi-square's expectation), which grows with the number of categories ``k``
    and would make every high-cardinality column look changed; that is subtracted.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair
    >>> from mlops_kit.monitor._categorical import cohen_w
    >>> samples = (["a"] * 80_000 + ["b"] * 20_000, ["a"] * 70_000 + ["b"] * 30_000)
    >>> ref, cur = (Profile.of(pd.DataFrame({"c": v})).columns["c"] for v in samples)
    >>> round(cohen_w(ColumnPair("c", ref, cur).table), 3)  # Cohen's h of 20% -> 30%: 0.232
    0.231
    """
    ref, cur, _ = seen_counts(table)
    n1, n2 = ref.sum(), cur.sum()
    if not n1 or not n2:
        return math.nan
    p, q = ref / n1, cur / n2
    m = (p + q) / 2
    occupied = m > 0
    w2 = float(np.sum((q[occupied] - p[occupied]) ** 2 / m[occupied]))
    bias = (int(occupied.sum()) - 1) * (1 / n1 + 1 / n2)
    return math.sqrt(max(w2 - bias, 0.0))


def cohen_w_noise(table: CategoryTable) -> float:
    """How far ``cohen_w(table) ** 2`` strays under no drift: its standard deviation.

    The bias-corrected ``w**2`` is the chi-square statistic scaled by ``1/n1 + 1/n2``, so
    its spread is ``sqrt(2 (k - 1)) (1/n1 + 1/n2)``. Where it exceeds the minimum effect
    (``w**2`` at ``w = 0.1``: 0.01), the sample cannot tell that effect from zero.

    Examples
    --------
    >>> import numpy as np
    >>> from mlops_kit.monitor._binning import CategoryTable
    >>> table = CategoryTable(("a", "b", "c"), np.array([300, 300, 400]), np.array([300, 300, 400]), {})
    >>> round(cohen_w_noise(table), 4)   # 3 categories, 1,000 values a side
    0.004
    """
    ref, cur, _ = seen_counts(table)
    n1, n2 = int(ref.sum()), int(cur.sum())
    occupied = int(np.count_nonzero(ref + cur))
    if not n1 or not n2 or occupied < 2:
        return 0.0
    return math.sqrt(2 * (occupied - 1)) * (1 / n1 + 1 / n2)


class UnseenTest(NamedTuple):
    """Current values in categories the reference never had, against what it predicts.

    ``expected`` is the Good-Turing estimate of the reference's missing mass (the share
    of reference values whose category was seen once, add-one smoothed), ``p_value``
    the one-sided test that the unseen share exceeds it.
    """

    share: float
    expected: float
    p_value: float


def unseen_test(reference: ColumnProfile, unseen: int, current: int) -> UnseenTest | None:
    """Judge ``unseen`` of ``current`` values against the reference's Good-Turing missing mass.

    ``None`` when the reference was truncated to its top categories (an "unseen" value
    may hide in its "(other)" bucket) or nothing is to be judged. The variance adds the
    binomial noise of the current sample to that of the estimate itself (about
    ``(N1 + 2 N2) / n**2``), which dominates when the current sample is much larger.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlops_kit import Profile
    >>> ref = Profile.of(pd.DataFrame({"c": ["a"] * 60 + ["b"] * 38 + ["c", "d"]})).columns["c"]
    >>> round(unseen_test(ref, 2, 100).expected, 3)  # two of 100 values were singletons
    0.03
    >>> unseen_test(ref, 2, 100).p_value > 0.05, unseen_test(ref, 20, 100).p_value < 1e-6
    (True, True)
    """
    if reference.other or not current or reference.counts is None:
        return None
    from scipy import stats

    n = reference.count
    counts = np.fromiter(reference.counts.values(), dtype=np.int64)
    n1, n2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
    expected = (n1 + 1) / (n + 1)
    variance = expected * (1 - expected) / current + (n1 + 2 * n2 + 1) / (n + 1) ** 2
    share = unseen / current
    z = (share - expected) / math.sqrt(variance)
    return UnseenTest(share, expected, float(stats.norm.sf(z)))
