"""Evaluate one column: its method, effect size, null-rate change and unseen categories.

Evaluation has two stages so that a multiple-testing correction can see every p-value
of a check (or of every window of a windowed check) before any decision: ``evaluate``
computes, ``decide`` applies the (adjusted) threshold and builds the record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from mlops_kit.core.errors import ConfigError
from mlops_kit.monitor._categorical import cohen_w, cohen_w_noise, unseen_test, whole_table
from mlops_kit.monitor._columns import ColumnDrift, ColumnSummary, Role, finite_or_none
from mlops_kit.monitor._display import display_distribution
from mlops_kit.monitor._methods import METHODS, DriftMethod, MethodResult, auto_method
from mlops_kit.monitor._numeric import AndersonDarling, non_finite_note
from mlops_kit.monitor._pair import ColumnPair
from mlops_kit.monitor._tails import SCIPY_FLOOR, anderson_tail

if TYPE_CHECKING:
    from mlops_kit.monitor._calibration import Calibrator

__all__ = ["ALPHA", "CORRECTIONS", "DEFAULT_MIN_EFFECT", "Pending", "adjust", "decide", "evaluate"]

CORRECTIONS = ("bonferroni", "fdr_bh")
ALPHA = 0.05  # the significance level of columns whose method is a distance (no p-value of its own)
# One effect-size scale and one default: Cohen's d for numeric columns (Wasserstein in stds),
# Cohen's w for categories, Cohen's h for null rates. 0.1 std is the numeric default.
DEFAULT_MIN_EFFECT = 0.1
DISTRIBUTION_SHARE = 0.9  # of a column's alpha, when it also tests its null rate or unseen values
MIN_VALUES = 10  # below this many values on a side, a column's result says "not enough data"
_UNSEEN_LISTED = 20


@dataclass(frozen=True)
class Pending:
    """A column's computed result, waiting for the decision.

    A column may run up to three hypothesis tests (its distribution, its null rate, its
    unseen categories); they share the column's ``alpha`` and each also needs a minimum
    effect: ``min_effect`` for the distribution, ``null_min`` (Cohen's h) for nulls,
    ``unseen_threshold`` above the expected unseen share.
    """

    pair: ColumnPair
    role: Role
    method: DriftMethod
    threshold: float
    result: MethodResult
    effect: float
    min_effect: float
    alpha: float
    null_p: float | None  # the null-rate z-test, None if nothing to compare
    null_h: float | None  # the null-rate change as Cohen's h, None if nothing to compare
    null_min: float
    unseen: dict[str, int]
    unseen_share: float
    unseen_expected: float | None  # Good-Turing's prediction, None when not judged
    unseen_p: float | None
    unseen_threshold: float
    calibrated: bool = False  # the threshold came from resamples of the reference

    @property
    def tests(self) -> dict[str, float]:
        """The p-values of the column's hypothesis tests, by check."""
        out = {}
        p = self.result.p_value
        if self.method.uses_p_value and p is not None and not math.isnan(p):
            out["distribution"] = p
        if self.null_p is not None:
            out["nulls"] = self.null_p
        if self.unseen_p is not None:
            out["unseen"] = self.unseen_p
        return out

    @property
    def shares(self) -> dict[str, float]:
        """Each test's share of the column's alpha (they sum to 1).

        The distribution test is the column's question and keeps ``DISTRIBUTION_SHARE``
        of it; the null-rate and unseen checks split the rest. An even split would cost
        the distribution test half its power on small samples, where the secondary
        checks only see large changes at any level.
        """
        tests = self.tests
        if "distribution" not in tests or len(tests) == 1:
            return {name: 1 / len(tests) for name in tests}
        rest = (1 - DISTRIBUTION_SHARE) / (len(tests) - 1)
        return {name: DISTRIBUTION_SHARE if name == "distribution" else rest for name in tests}


def evaluate(
    pair: ColumnPair,
    *,
    role: Role,
    method: DriftMethod | None,
    threshold: float | Mapping[str, float] | None,
    unseen_threshold: float,
    min_effect: float | None = None,
    calibrator: Calibrator | None = None,
) -> Pending:
    """Compute everything about one column (``method=None`` means ``auto``).

    With a ``calibrator``, a distance's threshold is its no-drift quantile on resamples of
    the reference, never below the minimum effect (``min_effect``, else the threshold).

    ``threshold`` may map method names to thresholds, for columns whose method ``auto`` picks.
    ``min_effect=None`` is the default: ``DEFAULT_MIN_EFFECT`` for auto's categorical
    tests and every null-rate test but those of an explicitly chosen test, else none.
    """
    chosen = method or auto_method(pair)
    if isinstance(threshold, Mapping):
        threshold = threshold.get(chosen.name)
    if pair.kind not in chosen.kinds:
        raise ConfigError(
            f"Method {chosen.name!r} does not apply to {pair.reference.dtype} column {pair.name!r}; "
            f"it handles {sorted(chosen.kinds)} columns."
        )
    # Too sparse for an effect size (many categories, few values each): auto's chi-square
    # decides alone, over every category of both samples as the exact test does, so the
    # unseen check would count the current-only categories twice.
    sparse = (
        method is None
        and min_effect is None
        and chosen.name == "chisquare"
        and bool(pair.current.count)
        and cohen_w_noise(pair.table) > DEFAULT_MIN_EFFECT**2
    )
    if sparse:
        whole = whole_table(pair.table)
        result = whole._replace(note="; ".join(n for n in (_too_few(pair), whole.note) if n))
    if not pair.current.count:
        result = MethodResult(math.nan, None, "every current value is null")
    elif sparse:
        result = whole_table(pair.table)
    else:
        result = _unfloored(chosen, chosen.compute(pair))
    result = result._replace(
        note="; ".join(n for n in (_too_few(pair), result.note, non_finite_note(pair)) if n)
    )
    if pair.kind == "categorical":
        effect = cohen_w(pair.table)
    elif pair.heavy_tailed:
        d = result.statistic if chosen.name == "ks" else METHODS["ks"].compute(pair).statistic
        effect = rank_shift(d) if pair.current.count else math.nan
    elif chosen.name == "wasserstein":
        effect = result.statistic
    else:
        effect = METHODS["wasserstein"].compute(pair).statistic if pair.current.count else math.nan
    unseen = (
        dict(sorted(pair.table.unseen.items(), key=lambda kv: (-kv[1], kv[0])))
        if pair.kind == "categorical"
        else {}
    )
    judged = (
        unseen_test(pair.reference, sum(unseen.values()), pair.current.count)
        if pair.kind == "categorical" and not sparse
        else None
    )
    threshold = chosen.threshold if threshold is None else threshold
    calibrated = False
    if calibrator is not None and not chosen.uses_p_value and pair.current.count:
        found = calibrator.threshold(pair, chosen, threshold if min_effect is None else min_effect)
        if found is not None:
            threshold, calibrated = found, True
            done = f"threshold calibrated on {calibrator.resamples} resamples of the reference"
            result = result._replace(note="; ".join(n for n in (result.note, done) if n))
    explicit_test = method is not None and chosen.uses_p_value
    if min_effect is None:
        by_effect = (pair.kind == "categorical" and not sparse) or (pair.heavy_tailed and not pair.is_small)
        distribution_min = DEFAULT_MIN_EFFECT if method is None and by_effect else 0.0
        null_min = 0.0 if explicit_test else DEFAULT_MIN_EFFECT
    else:
        distribution_min = null_min = min_effect
    return Pending(
        pair=pair,
        role=role,
        method=chosen,
        threshold=threshold,
        result=result,
        effect=effect,
        min_effect=distribution_min,
        alpha=threshold if chosen.uses_p_value else ALPHA,
        **_null_change(pair),
        null_min=null_min,
        unseen=dict(list(unseen.items())[:_UNSEEN_LISTED]),
        unseen_share=sum(unseen.values()) / pair.current.count if unseen else 0.0,
        unseen_expected=None if judged is None else judged.expected,
        unseen_p=None if judged is None else judged.p_value,
        unseen_threshold=unseen_threshold,
        calibrated=calibrated,
    )


def rank_shift(d: float) -> float:
    """The shift, in standard deviations, of a normal sample whose KS distance is ``d``:
    ``2 * Phi^-1((1 + d) / 2)``. A rank-based effect on Cohen's d scale, for heavy tails.

    >>> round(rank_shift(0.0398), 3)   # a 0.1-std shift of a normal column
    0.1
    """
    from scipy import stats

    if not math.isfinite(d):
        return math.nan
    return float(2 * stats.norm.ppf((1 + min(max(d, 0.0), 1 - 1e-12)) / 2))


def _effect_measure(pair: ColumnPair) -> str:
    if pair.kind == "categorical":
        return "cohen_w"
    return "rank_shift" if pair.heavy_tailed else "wasserstein"


def _too_few(pair: ColumnPair) -> str:
    """A note when a side has too few values for a verdict to mean much (never a silent "ok")."""
    counts = {"current": pair.current.count, "reference": pair.reference.count}
    short = [f"{n} {side} value{'s' if n != 1 else ''}" for side, n in counts.items() if 0 < n < MIN_VALUES]
    if not short:
        return ""
    return f"not enough data: {' and '.join(short)} (a verdict needs at least {MIN_VALUES} on each side)"


def _unfloored(method: DriftMethod, result: MethodResult) -> MethodResult:
    """Anderson-Darling: replace scipy's floored p-value by the limit distribution's tail.

    A floored p-value is "0.001 or less"; corrected as if exact (Bonferroni: times the
    number of tests) it can never pass the corrected level.
    """
    p = result.p_value
    if not isinstance(method, AndersonDarling) or p is None or p > SCIPY_FLOOR:
        return result
    if not math.isfinite(result.statistic):
        return result
    tail = min(anderson_tail(result.statistic), SCIPY_FLOOR)
    return result._replace(
        p_value=tail, note="p-value below scipy's 0.001 floor: from the limit distribution"
    )


def _null_change(pair: ColumnPair) -> dict[str, float | None]:
    """How the share of nulls and non-finite values changed: Cohen's h, and the
    two-proportion z-test's p-value.

    Both are ``None`` when there is nothing to compare: no missing values at all (or only
    missing values) on both sides.
    """
    from scipy import stats

    n1, n2 = pair.reference.rows, pair.current.rows
    p1, p2 = pair.reference.missing / n1, pair.current.missing / n2
    pooled = (pair.reference.missing + pair.current.missing) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return {"null_p": None, "null_h": None}
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))
    return {"null_p": float(2 * stats.norm.sf(abs(p1 - p2) / se)), "null_h": h}


def adjust(p_values: Sequence[float], correction: str | None) -> list[float] | None:
    """Multiple-testing corrected p-values (``None`` without a correction)."""
    if correction is None or not p_values:
        return None
    ps = np.asarray(p_values, dtype=np.float64)
    if correction == "bonferroni":
        return cast("list[float]", np.minimum(ps * len(ps), 1.0).tolist())
    if correction == "fdr_bh":
        from scipy import stats

        adjusted: list[float] = stats.false_discovery_control(ps, method="bh").tolist()
        return adjusted
    raise ConfigError(f"Unknown correction {correction!r}; expected None, 'bonferroni' or 'fdr_bh'.")


def _significant(p: float | None, alpha: float) -> bool:
    return p is None or math.isnan(p) or p < alpha


def decide(pending: Pending, adjusted: Mapping[str, float] | None = None) -> ColumnDrift:
    """The column's record, deciding each test on its corrected p-value when given.

    A check drifts when its test is significant *and* its effect reaches the minimum: a
    difference that is real but too small to matter is not drift, and neither is an
    effect the sample cannot tell from noise. An undefined effect never hides a drift.
    """
    pair, result = pending.pair, pending.result
    adjusted = adjusted or {}
    tests = pending.tests
    p_decision = {name: adjusted.get(name, p) for name, p in tests.items()}
    undefined = math.isnan(result.statistic) or (pending.method.uses_p_value and result.p_value is None)
    effect = pending.effect
    relevant = math.isnan(effect) or effect >= pending.min_effect
    distribution = relevant and pending.method.drifted(
        result.statistic, p_decision.get("distribution", result.p_value), pending.threshold
    )
    nulls = (
        "nulls" in tests
        and _significant(p_decision["nulls"], pending.alpha)
        and pending.null_h is not None
        and pending.null_h >= pending.null_min
    )
    unseen = (
        "unseen" in tests
        and pending.unseen_expected is not None
        and _significant(p_decision["unseen"], pending.alpha)
        and pending.unseen_share - pending.unseen_expected >= pending.unseen_threshold
    )
    reasons = [
        name
        for name, hit in (
            ("undefined" if undefined else "distribution", distribution),
            ("nulls", nulls),
            ("unseen", unseen),
        )
        if hit
    ]
    note = result.note
    if undefined and not note:
        note = "the statistic is undefined for these samples"
    return ColumnDrift(
        column=pair.name,
        role=pending.role,
        dtype=pair.current.dtype,
        method=pending.method.name,
        statistic=finite_or_none(result.statistic),
        p_value=finite_or_none(result.p_value),
        p_adjusted=finite_or_none(adjusted.get("distribution")),
        threshold=pending.threshold,
        threshold_calibrated=pending.calibrated,
        effect_size=finite_or_none(effect),
        effect_measure=_effect_measure(pair),
        min_effect=pending.min_effect,
        drifted=bool(reasons),
        distribution_drifted=distribution,
        null_rate_reference=finite_or_none(pair.reference.null_rate),
        null_rate_current=finite_or_none(pair.current.null_rate),
        non_finite_rate_reference=finite_or_none(pair.reference.non_finite_rate),
        non_finite_rate_current=finite_or_none(pair.current.non_finite_rate),
        null_drifted=nulls,
        null_p_value=pending.null_p,
        null_effect_size=pending.null_h,
        unseen=pending.unseen,
        unseen_share=pending.unseen_share,
        unseen_expected=pending.unseen_expected,
        unseen_p_value=pending.unseen_p,
        reasons=tuple(reasons),
        note=note,
        reference=ColumnSummary.of(pair.reference),
        current=ColumnSummary.of(pair.current),
        distribution=display_distribution(pair),
    )
