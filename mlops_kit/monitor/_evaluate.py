"""Evaluate one column: its method, effect size, null-rate change and unseen categories.

Evaluation has two stages so that a multiple-testing correction can see every p-value
of a check (or of every window of a windowed check) before any decision: ``evaluate``
computes, ``decide`` applies the (adjusted) threshold and builds the record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mlops_kit.core.errors import ConfigError
from mlops_kit.monitor._binning import OTHER
from mlops_kit.monitor._columns import ColumnDrift, ColumnSummary, Distribution, Role, finite_or_none
from mlops_kit.monitor._methods import METHODS, DriftMethod, MethodResult, auto_method
from mlops_kit.monitor._numeric import non_finite_note
from mlops_kit.monitor._pair import ColumnPair

__all__ = ["CORRECTIONS", "Pending", "adjust", "decide", "evaluate", "null_drifted"]

CORRECTIONS = ("bonferroni", "fdr_bh")
NULL_ALPHA = 0.05  # null-rate change, small samples: two-proportion z-test
NULL_EFFECT = 0.2  # null-rate change, large samples: Cohen's h ("small effect")
_DISPLAY_BINS = 40
_DISPLAY_CATEGORIES = 15
_UNSEEN_LISTED = 20


@dataclass(frozen=True)
class Pending:
    """A column's computed result, waiting for the decision."""

    pair: ColumnPair
    role: Role
    method: DriftMethod
    threshold: float
    result: MethodResult
    effect: float
    null_p: float | None  # the null-rate z-test (when the method tests), None if nothing to test
    null_h: float | None  # the null-rate change as Cohen's h, None if nothing to compare
    unseen: dict[str, int]
    unseen_share: float
    unseen_drifted: bool


def evaluate(
    pair: ColumnPair,
    *,
    role: Role,
    method: DriftMethod | None,
    threshold: float | Mapping[str, float] | None,
    unseen_threshold: float,
) -> Pending:
    """Compute everything about one column (``method=None`` means ``auto``).

    ``threshold`` may map method names to thresholds, for columns whose method ``auto`` picks.
    """
    chosen = method or auto_method(pair)
    if isinstance(threshold, Mapping):
        threshold = threshold.get(chosen.name)
    if pair.kind not in chosen.kinds:
        raise ConfigError(
            f"Method {chosen.name!r} does not apply to {pair.reference.dtype} column {pair.name!r}; "
            f"it handles {sorted(chosen.kinds)} columns."
        )
    if not pair.current.count:
        result = MethodResult(math.nan, None, "every current value is null")
    else:
        result = chosen.compute(pair)
    result = result._replace(note="; ".join(n for n in (result.note, non_finite_note(pair)) if n))
    effect_name = "wasserstein" if pair.kind == "numeric" else "jensenshannon"
    if chosen.name == effect_name:
        effect = result.statistic
    else:
        effect = METHODS[effect_name].compute(pair).statistic if pair.current.count else math.nan
    unseen = (
        dict(sorted(pair.table.unseen.items(), key=lambda kv: (-kv[1], kv[0])))
        if pair.kind == "categorical"
        else {}
    )
    share = sum(unseen.values()) / pair.current.count if unseen else 0.0
    return Pending(
        pair=pair,
        role=role,
        method=chosen,
        threshold=chosen.threshold if threshold is None else threshold,
        result=result,
        effect=effect,
        **_null_change(pair, test=chosen.uses_p_value),
        unseen=dict(list(unseen.items())[:_UNSEEN_LISTED]),
        unseen_share=share,
        unseen_drifted=share >= unseen_threshold,
    )


def _null_change(pair: ColumnPair, *, test: bool) -> dict[str, float | None]:
    """How the share of nulls and non-finite values changed: Cohen's h, and a z-test p-value when the method tests.

    Both are ``None`` when there is nothing to compare: no missing values at all (or only
    missing values) on both sides.
    """
    n1, n2 = pair.reference.rows, pair.current.rows
    p1, p2 = pair.reference.missing / n1, pair.current.missing / n2
    pooled = (pair.reference.missing + pair.current.missing) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return {"null_p": None, "null_h": None}
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))
    if not test:
        return {"null_p": None, "null_h": h}
    from scipy import stats

    return {"null_p": float(2 * stats.norm.sf(abs(p1 - p2) / se)), "null_h": h}


def null_drifted(pending: Pending, null_adjusted: float | None = None) -> bool:
    """The null-rate decision: the (corrected) z-test when testing, else Cohen's h >= 0.2."""
    if pending.null_p is not None:
        return (pending.null_p if null_adjusted is None else null_adjusted) < NULL_ALPHA
    return pending.null_h is not None and pending.null_h >= NULL_EFFECT


def adjust(p_values: Sequence[float], correction: str | None) -> list[float] | None:
    """Multiple-testing corrected p-values (``None`` without a correction)."""
    if correction is None or not p_values:
        return None
    ps = np.asarray(p_values, dtype=np.float64)
    if correction == "bonferroni":
        return np.minimum(ps * len(ps), 1.0).tolist()
    if correction == "fdr_bh":
        from scipy import stats

        adjusted: list[float] = stats.false_discovery_control(ps, method="bh").tolist()
        return adjusted
    raise ConfigError(f"Unknown correction {correction!r}; expected None, 'bonferroni' or 'fdr_bh'.")


def decide(
    pending: Pending, p_adjusted: float | None = None, null_adjusted: float | None = None
) -> ColumnDrift:
    """The column's record, deciding on the corrected p-values when given."""
    pair, result = pending.pair, pending.result
    nulls = null_drifted(pending, null_adjusted)
    p = result.p_value if p_adjusted is None else p_adjusted
    undefined = math.isnan(result.statistic) or (pending.method.uses_p_value and result.p_value is None)
    distribution = pending.method.drifted(result.statistic, p, pending.threshold)
    reasons = [
        name
        for name, hit in (
            ("undefined" if undefined else "distribution", distribution),
            ("nulls", nulls),
            ("unseen", pending.unseen_drifted),
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
        p_adjusted=finite_or_none(p_adjusted),
        threshold=pending.threshold,
        effect_size=finite_or_none(pending.effect),
        effect_measure="wasserstein" if pair.kind == "numeric" else "jensenshannon",
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
        reasons=tuple(reasons),
        note=note,
        reference=ColumnSummary.of(pair.reference),
        current=ColumnSummary.of(pair.current),
        distribution=_distribution(pair),
    )


def _distribution(pair: ColumnPair) -> Distribution | None:
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
