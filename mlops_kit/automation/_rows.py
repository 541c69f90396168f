"""The batch as the loop reads it: labelled rows, the model's columns, the train/holdout split,
the drift report in words, and the run's values fit for the registry."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mlops_kit.automation._decision import DriftSummary
from mlops_kit.core.errors import SchemaError

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.monitor import DriftReport
    from mlops_kit.registry import ModelVersion

__all__ = ["drift_sentence", "features", "finite", "number", "scalar", "split", "summary"]


def summary(report: DriftReport) -> DriftSummary:
    """The part of the drift report a decision keeps."""
    perf = report.performance
    return DriftSummary(
        drifted=report.drifted,
        dataset_drift=report.dataset_drift,
        drift_share=report.drift_share,
        drifted_columns=tuple(report.drifted_columns),
        decayed=None if perf is None else perf.decayed,
        reasons=report.reasons,
        summary=report.summary(),
    )


def drift_sentence(report: DriftReport) -> str:
    columns = report.drifted_columns
    if not report.drifted:
        return f"no drift: {len(columns)} of {len(report.columns)} columns moved (share {report.drift_share:.0%})"
    what = "; ".join(report.reasons) if report.reasons else "drift detected"
    listed = f" in {', '.join(columns[:5])}" + ("..." if len(columns) > 5 else "") if columns else ""
    return f"drift{listed}: {what}"


def features(mv: ModelVersion, batch: pd.DataFrame, labels: set[str]) -> list[str]:
    """The model's input columns: its signature's, else every batch column but the labels."""
    if mv.signature is not None:
        missing = [c for c in mv.signature.inputs.names if c not in batch.columns]
        if missing:
            raise SchemaError(
                f"The batch lacks {mv.ref}'s input columns {missing}; it has {list(batch.columns)}."
            )
        return list(mv.signature.inputs.names)
    return [c for c in batch.columns if c not in labels]


def split(rows: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, holdout)``: a seeded ``share`` of the rows held out, both in the batch's order."""
    import numpy as np

    n = len(rows)
    n_holdout = int(math.ceil(n * share))
    if n < 2 or n_holdout >= n:
        raise SchemaError(
            f"The batch has {n} labelled rows: too few to hold out {share:.0%} for the gate and train on the rest."
        )
    order = np.random.default_rng(seed).permutation(n)
    return rows.iloc[np.sort(order[n_holdout:])], rows.iloc[np.sort(order[:n_holdout])]


def finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def number(value: object) -> float | None:
    return float(value) if finite(value) else None  # type: ignore[arg-type]


def scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
