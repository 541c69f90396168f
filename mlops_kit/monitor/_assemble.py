"""From evaluated columns to reports: the multiple-testing correction, then every decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from mlops_kit.monitor._estimation import EstimatedPerformance
from mlops_kit.monitor._evaluate import Pending, adjust, decide
from mlops_kit.monitor._multivariate import MultivariateDrift
from mlops_kit.monitor._performance import Performance
from mlops_kit.monitor._report import DriftReport

__all__ = ["Batch", "assemble"]


class Batch(NamedTuple):
    """The evaluated columns of one check (or one window of a windowed check)."""

    pending: list[Pending]
    n_rows: int
    performance: Performance | None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    estimated: EstimatedPerformance | None = None
    multivariate: tuple[MultivariateDrift, ...] = ()


def _adjusted(pending: Sequence[Pending], correction: str | None) -> dict[int, dict[str, float]]:
    """Corrected p-values per column (by ``id``) and test.

    With a correction, every hypothesis test of the check joins it: distribution, null-rate
    and unseen-category tests of every column (and window), each weighted by its share of
    its column's alpha (``Pending.shares``). Without one, a column's tests split its alpha
    by those shares (a weighted Bonferroni within the column), so a column is a false
    alarm at most ``alpha`` of the time however many checks it runs.
    """
    if correction is None:
        return {
            id(p): {name: min(value / p.shares[name], 1.0) for name, value in p.tests.items()}
            for p in pending
            if len(p.tests) > 1
        }
    # Weighted: a test holding share s of a column with k tests counts as s * k tests' worth.
    tests = [
        (id(p), name, min(value / (p.shares[name] * len(p.tests)), 1.0))
        for p in pending
        for name, value in p.tests.items()
    ]
    out: dict[int, dict[str, float]] = {}
    for (key, name, _), value in zip(tests, adjust([t[2] for t in tests], correction) or []):
        out.setdefault(key, {})[name] = value
    return out


def assemble(
    batches: Sequence[Batch],
    *,
    correction: str | None,
    drift_share: float,
    prediction: str | None,
    target: str | None,
    **fields: Any,
) -> list[DriftReport]:
    """One report per batch; p-values are corrected across every column of every batch.

    ``fields`` are the report fields all batches share (monitor, reference, created_at, ...).
    """
    adjusted = _adjusted([p for batch in batches for p in batch.pending], correction)
    reports = []
    for batch in batches:
        columns = {p.pair.name: decide(p, adjusted.get(id(p))) for p in batch.pending}
        features = [c for c in columns.values() if c.role == "feature"]
        share = sum(c.drifted for c in features) / len(features) if features else 0.0
        dataset_drift = bool(features) and share >= drift_share
        perf = batch.performance
        reasons = [
            reason
            for reason, hit in (
                ("dataset drift", dataset_drift),
                ("prediction drift", prediction in columns and columns[prediction].drifted),
                ("target drift", target in columns and columns[target].drifted),
                ("performance decay", perf is not None and bool(perf.decayed)),
                ("multivariate drift", any(d.drifted for d in batch.multivariate)),
                # An estimate speaks only while no label does.
                (
                    "estimated performance decay",
                    (perf is None or not perf.n_labelled)
                    and batch.estimated is not None
                    and bool(batch.estimated.decayed),
                ),
            )
            if hit
        ]
        reports.append(
            DriftReport(
                **fields,
                window_start=batch.start,
                window_end=batch.end,
                n_current=batch.n_rows,
                columns=columns,
                correction=correction,
                drift_share=share,
                drift_share_threshold=drift_share,
                dataset_drift=dataset_drift,
                drifted=bool(reasons),
                reasons=tuple(reasons),
                performance=perf,
                multivariate=batch.multivariate,
                estimated_performance=batch.estimated,
            )
        )
    return reports
