"""The per-column results of a drift check, as frozen records that round-trip through JSON."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import ConfigDict, Field

from mlops_kit.core.profile import ColumnProfile
from mlops_kit.core.record import FrozenMap, Record

__all__ = ["ColumnDrift", "ColumnSummary", "Distribution", "Role"]

Role = Literal["feature", "prediction", "target"]
_TOP = 10


def finite_or_none(value: float | None) -> float | None:
    """``None`` for a missing or NaN value (JSON has no NaN); infinities are kept."""
    return None if value is None or math.isnan(value) else float(value)


class ColumnSummary(Record):
    """What one sample of a column looks like: counts, nulls, moments, quantiles or top values.

    Quantiles come from the profile's histogram (exact to one bin width).

    Examples
    --------
    >>> import pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnSummary
    >>> s = ColumnSummary.of(Profile.of(pd.DataFrame({"x": [1.0, 2.0, None, 4.0]})).columns["x"])
    >>> s.count, s.nulls, s.null_rate, s.mean, s.max
    (3, 1, 0.25, 2.333..., 4.0)
    """

    model_config = ConfigDict(ser_json_inf_nan="strings")

    count: int
    nulls: int
    null_rate: float | None
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    p25: float | None = None
    median: float | None = None
    p75: float | None = None
    max: float | None = None
    infs: int = 0
    top: FrozenMap[int] = Field(default_factory=dict)
    n_categories: int | None = None

    @classmethod
    def of(cls, profile: ColumnProfile) -> ColumnSummary:
        """Summarize a column profile."""
        base = {
            "count": profile.count,
            "nulls": profile.nulls,
            "null_rate": finite_or_none(profile.null_rate),
        }
        if profile.kind == "categorical":
            counts = dict(profile.counts or {})
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:_TOP]
            return cls(**base, top=dict(top), n_categories=len(counts) + (1 if profile.other else 0))
        quantiles: dict[str, float | None] = {"p25": None, "median": None, "p75": None}
        if profile.histogram is not None and profile.finite_count:
            # Integers on a grid of width <= 1 sit alone in their bin: its left edge is exact.
            exact = profile.dtype == "int" and profile.histogram.width <= 1
            quantiles = {
                key: float(math.floor(q)) if exact else q
                for key, q in (
                    ("p25", profile.quantile(0.25)),
                    ("median", profile.quantile(0.5)),
                    ("p75", profile.quantile(0.75)),
                )
            }
        return cls(
            **base,
            mean=profile.mean,
            std=finite_or_none(profile.std) if profile.finite_count else None,
            min=profile.min,
            max=profile.max,
            infs=profile.infs,
            **quantiles,
        )


class Distribution(Record):
    """Reference and current shares per display bin (numeric: ``edges``) or category (``labels``).

    Small by design (at most ~40 bins or 15 categories plus ``(other)``), so that a
    stored report can be drawn again later without the data.

    Examples
    --------
    >>> import pandas as pd
    >>> import mlops_kit as mk
    >>> ref = pd.DataFrame({"plan": ["a", "b"] * 500})
    >>> report = mk.Monitor(ref).check(pd.DataFrame({"plan": ["a"] * 900 + ["b"] * 100}))
    >>> dist = report.columns["plan"].distribution
    >>> dist.kind, dist.labels, dist.reference, dist.current
    ('categorical', ('a', 'b'), (0.5, 0.5), (0.9, 0.1))
    """

    kind: Literal["numeric", "categorical"]
    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    reference: tuple[float, ...]
    current: tuple[float, ...]


class ColumnDrift(Record):
    """The drift result of one column.

    Attributes
    ----------
    column, role, dtype : str
        The column, its role (``"feature"``, ``"prediction"`` or ``"target"``) and logical type.
    method : str
        The method used (``"ks"``, ``"wasserstein"``, ...).
    statistic, p_value : float or None
        The method's statistic, and its p-value for a hypothesis test. ``None`` when
        undefined; an undefined result is reported as drift, never as "no drift".
    p_adjusted : float or None
        The p-value after multiple-testing correction: across the check with
        ``correction=``, else within the column when it runs several tests (they share alpha).
    threshold : float
        The decision threshold: on the p-value for tests, on the statistic otherwise.
    threshold_calibrated : bool
        Whether the threshold is the statistic's no-drift quantile on resamples of the
        reference (``Monitor(calibrate=True)``), never below the minimum effect.
    effect_size, effect_measure : float or None, str
        Always computed, next to the p-value, on one scale: the Wasserstein distance in
        reference standard deviations (numeric, ``"wasserstein"``) or Cohen's w with the
        sampling bias removed (categorical, ``"cohen_w"``; Cohen's h for two categories).
    min_effect : float
        The effect size the distribution must also reach to drift (0: none).
    drifted : bool
        Any of: the distribution drifted, the null rate changed, or unseen
        categories hold at least ``unseen_threshold`` of the current values
        (``reasons`` says which).
    null_rate_reference, null_rate_current : float or None
        Share of nulls on each side.
    non_finite_rate_reference, non_finite_rate_current : float or None
        Share of infinite values on each side (numeric columns). They are left out of
        the distribution statistic and counted with the nulls in the missing-rate test;
        the ``note`` says so when there are any.
    null_drifted, null_p_value, null_effect_size : bool, float or None
        The missing-rate signal (nulls and infinities): a two-proportion z-test (sharing the
        column's alpha, corrected with the other tests) and, by default, Cohen's h >= 0.1.
    unseen : dict of str to int
        Current categories never seen in the reference (up to 20), with their counts.
    unseen_share, unseen_expected, unseen_p_value : float, float or None, float or None
        Their share of the current values; the share the reference predicts (Good-Turing:
        its share of values seen once); the one-sided test that the first exceeds the second.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import mlops_kit as mk
    >>> rng = np.random.default_rng(0)
    >>> mon = mk.Monitor(pd.DataFrame({"x": rng.normal(size=500)}))
    >>> col = mon.check(pd.DataFrame({"x": rng.normal(0.5, 1.0, 400)})).columns["x"]
    >>> col.method, col.p_value < col.threshold, col.drifted, col.reasons
    ('ks', True, True, ('distribution',))
    >>> round(col.effect_size, 1)
    0.5
    """

    model_config = ConfigDict(ser_json_inf_nan="strings")

    column: str
    role: Role = "feature"
    dtype: str
    method: str
    statistic: float | None
    p_value: float | None = None
    p_adjusted: float | None = None
    threshold: float
    threshold_calibrated: bool = False
    effect_size: float | None
    effect_measure: str
    min_effect: float = 0.0
    drifted: bool
    distribution_drifted: bool
    null_rate_reference: float | None
    null_rate_current: float | None
    non_finite_rate_reference: float | None = 0.0
    non_finite_rate_current: float | None = 0.0
    null_drifted: bool = False
    null_p_value: float | None = None
    null_effect_size: float | None = None
    unseen: FrozenMap[int] = Field(default_factory=dict)
    unseen_share: float = 0.0
    unseen_expected: float | None = None
    unseen_p_value: float | None = None
    reasons: tuple[str, ...] = ()
    note: str = ""
    reference: ColumnSummary
    current: ColumnSummary
    distribution: Distribution | None = None

    @property
    def score(self) -> float | None:
        """The number the decision was made on: the (adjusted) p-value, else the statistic."""
        if self.p_value is not None:
            return self.p_adjusted if self.p_adjusted is not None else self.p_value
        return self.statistic
