"""From evaluated columns to reports: the multiple-testing correction, then every decision."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from mlops_kit.monitor._estimation import EstimatedPerformance
from mlops_kit.monitor._evaluate import Pending, adjust, decide
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
    # Every hypothesis test of the check joins the correction: distribution tests, and the
    # null-rate tests of columns that have nulls.
    tests: list[tuple[int, str, float]] = []
    for batch in batches:
        for p in batch.pending:
            if p.result.p_value is not None and not math.isnan(p.result.p_value):
                tests.append((id(p), "distribution", p.result.p_value))
            if p.null_p is not None:
                tests.append((id(p), "nulls", p.null_p))
    adjusted = adjust([t[2] for t in tests], correction)
    by_key = {(t[0], t[1]): a for t, a in zip(tests, adjusted)} if adjusted is not None else {}
    reports = []
    for batch in batches:
        columns = {
            p.pair.name: decide(p, by_key.get((id(p), "distribution")), by_key.get((id(p), "nulls")))
            for p in batch.pending
        }
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
                estimated_performance=batch.estimated,
            )
        )
    return reports
