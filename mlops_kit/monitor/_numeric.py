"""Numeric drift methods: Kolmogorov-Smirnov, Wasserstein, Anderson-Darling, energy distance."""

from __future__ import annotations

import math
import warnings

import numpy as np

from mlops_kit.core.histogram import QUANTILE_LEVELS
from mlops_kit.monitor._base import DriftMethod, MethodResult
from mlops_kit.monitor._pair import ColumnPair

__all__ = [
    "AndersonDarling",
    "EnergyDistance",
    "KolmogorovSmirnov",
    "Wasserstein",
    "non_finite_note",
    "normalized",
]

_QUANTILE_STEP = 1 / QUANTILE_LEVELS


class KolmogorovSmirnov(DriftMethod):
    """Two-sample Kolmogorov-Smirnov test; exactly ``scipy.stats.ks_2samp`` on raw values.

    Infinite values are left out (the missing-rate test counts them). Without raw values
    (a :class:`~mlops_kit.Profile` reference, or Dask data) the statistic is read from
    the profiles: the current data is counted at the reference's 251 exact quantiles, so
    it is at most ``1/250 + 1/n`` below the exact statistic (``n`` reference values;
    approximate, and noted so, when the two profiles were made apart); the p-value is the
    asymptotic one.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, KolmogorovSmirnov
    >>> x = np.arange(100.0)
    >>> ref, cur = (Profile.of(pd.DataFrame({"x": v})).columns["x"] for v in (x, x + 20))
    >>> KolmogorovSmirnov().compute(ColumnPair("x", ref, cur, lambda: x, lambda: x + 20))
    MethodResult(statistic=0.2, p_value=0.0363..., note='')
    >>> KolmogorovSmirnov().compute(ColumnPair("x", ref, cur)).note  # profiles only
    'from binned profiles (no raw data): approximate'
    """

    name = "ks"
    kinds = frozenset({"numeric"})
    uses_p_value = True
    threshold = 0.05

    def compute(self, pair: ColumnPair) -> MethodResult:
        from scipy import stats

        ref, cur = _finite(pair.reference_values), _finite(pair.current_values)
        if ref is not None and cur is not None and len(ref) and len(cur):
            result = stats.ks_2samp(ref, cur)
            return MethodResult(float(result.statistic), float(result.pvalue))
        cdfs = pair.cdfs
        if cdfs is None:
            return MethodResult(math.nan, None, "no finite values on one side")
        d = cdfs.max_gap()
        n, m = pair.reference.finite_count, pair.current.finite_count
        p = float(stats.kstwo.sf(d, round(n * m / (n + m))))
        # Between two reference quantiles the reference CDF rises by at most 1/250 + 1/n.
        note = f"at most {_QUANTILE_STEP + 1 / n:.2g} below the exact D" if cdfs.exact else "approximate"
        return MethodResult(d, min(max(p, 0.0), 1.0), f"from binned profiles (no raw data): {note}")


class Wasserstein(DriftMethod):
    """Wasserstein-1 (earth mover's) distance divided by the reference std.

    Computed from the profiles, so the reference data is never reloaded: both CDFs are
    known exactly at the grid edges and at the reference's 251 quantiles, and linear in
    between; that is fine where the data is dense even on heavy tails. 0.1 means the
    distributions are a tenth of a standard deviation apart.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, Wasserstein
    >>> x = np.arange(100.0)
    >>> ref, cur = (Profile.of(pd.DataFrame({"x": v})).columns["x"] for v in (x, x + 20))
    >>> round(Wasserstein().compute(ColumnPair("x", ref, cur)).statistic, 2)  # 20 / std 29.0
    0.69
    """

    name = "wasserstein"
    kinds = frozenset({"numeric"})
    uses_p_value = False
    threshold = 0.1

    def compute(self, pair: ColumnPair) -> MethodResult:
        cdfs = pair.cdfs
        if cdfs is None:
            return MethodResult(math.nan, None, "no finite values on one side")
        return MethodResult(normalized(cdfs.gap_integral(), pair.scale))


def normalized(distance: float, scale: float) -> float:
    if scale > 0:
        return distance / scale
    return 0.0 if distance == 0 else math.inf  # two different constants


class AndersonDarling(DriftMethod):
    """k-sample Anderson-Darling test (``scipy.stats.anderson_ksamp``) on raw values.

    scipy clips its p-value to [0.001, 0.25]; the note says when it was clipped.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, AndersonDarling
    >>> x = np.arange(100.0)
    >>> ref, cur = (Profile.of(pd.DataFrame({"x": v})).columns["x"] for v in (x, x + 20))
    >>> AndersonDarling().compute(ColumnPair("x", ref, cur, lambda: x, lambda: x + 20))
    MethodResult(statistic=13.35..., p_value=0.001, note='p-value clipped to [0.001, 0.25] by scipy')
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
    """Energy distance (``scipy.stats.energy_distance``) on raw values, divided by the reference std.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, EnergyDistance
    >>> x = np.arange(100.0)
    >>> ref, cur = (Profile.of(pd.DataFrame({"x": v})).columns["x"] for v in (x, x + 20))
    >>> round(EnergyDistance().compute(ColumnPair("x", ref, cur, lambda: x, lambda: x + 20)).statistic, 3)
    0.094
    """

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
        return MethodResult(normalized(float(stats.energy_distance(ref, cur)), pair.scale))


def non_finite_note(pair: ColumnPair) -> str:
    """What a column's result says about infinite values, if either sample has any."""
    shares = [
        f"{side} {profile.non_finite_rate:.2%}"
        for side, profile in (("reference", pair.reference), ("current", pair.current))
        if profile.infs
    ]
    if not shares:
        return ""
    return (
        f"infinite values ({', '.join(shares)}) are left out of the distribution statistic "
        "and counted with the nulls in the missing-rate test"
    )


def _finite(values: np.ndarray | None) -> np.ndarray | None:
    if values is None:
        return None
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]
