"""Categorical drift tests: chi-square on the contingency table, and the two-proportion z-test."""

from __future__ import annotations

import math

import numpy as np

from mlops_kit.core.errors import ConfigError
from mlops_kit.monitor._base import DriftMethod, MethodResult
from mlops_kit.monitor._pair import ColumnPair

__all__ = ["ChiSquare", "ZTest"]


class ChiSquare(DriftMethod):
    """Chi-square test of homogeneity on the 2 x k table of reference and current counts.

    Always the two-sample test (``scipy.stats.chi2_contingency``, no continuity
    correction), never goodness-of-fit against reference proportions, which treats
    the reference as exact and raises false alarms when the current sample is large.

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
        from scipy import stats

        table = pair.table
        if len(table.labels) < 2:
            return MethodResult(0.0, 1.0, "one category on both sides")
        result = stats.chi2_contingency(np.vstack([table.reference, table.current]), correction=False)
        return MethodResult(float(result.statistic), float(result.pvalue))


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
