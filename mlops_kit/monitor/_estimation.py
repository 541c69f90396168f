"""Performance without labels: what the model's metrics probably are on an unlabelled window.

Two estimators, both fitted once on the labelled reference:

- CBPE (confidence-based performance estimation), for classifiers that output probability
  scores: the scores are calibrated on the reference (isotonic regression), and the window's
  labels are drawn from the calibrated probabilities; the metrics of those draws give the
  expected accuracy, precision, recall, F1 and ROC AUC and their band.
- DLE (direct loss estimation), for regression: gradient-boosted models, fitted on the
  reference, predict the primary model's absolute and squared error from the features and
  the prediction; their means over the window estimate MAE and RMSE.

Both assume that what changed is the inputs (covariate shift), not how labels follow from
them (concept drift), which no label-free method can see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mlops_kit.core.errors import ConfigError
from mlops_kit.monitor._performance import MetricsVerdict, Task, compare
from mlops_kit.monitor._scoring import Scores

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EstimatedPerformance", "Estimator", "fit_estimator", "judge"]


class EstimatedPerformance(MetricsVerdict):
    """Model quality estimated without labels, next to the reference's realized quality.

    ``metrics`` are the estimates, ``intervals`` their ``confidence`` bands (where the
    realized metric of the window is expected to fall). ``decayed`` follows the rule of
    :class:`Performance`: an estimate worse than the reference by more than the tolerance,
    with a one-sided p-value below ``1 - confidence`` over the number of metrics.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import mlops_kit as mk
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=6000)
    >>> score = 1 / (1 + np.exp(-3 * x))                      # a calibrated model
    >>> data = pd.DataFrame({"x": x, "score": score, "label": (rng.random(6000) < score).astype(int)})
    >>> mon = mk.Monitor(data.iloc[:3000], target="label", prediction="score", estimate_performance=True)
    >>> hard = data.iloc[3000:][np.abs(data.x.iloc[3000:]) < 0.3]  # shifted to where it is unsure
    >>> rep = mon.check(hard.drop(columns="label"))           # no labels yet
    >>> est = rep.estimated_performance
    >>> est.method, est.decayed, "accuracy" in est.degraded, "estimated performance decay" in rep.reasons
    ('cbpe', True, True, True)
    >>> lo, hi = est.intervals["accuracy"]
    >>> realized = ((hard.score >= 0.5) == hard.label).mean()  # what the labels later say
    >>> bool(lo <= realized <= hi)
    True
    """

    method: Literal["cbpe", "dle"]
    n_rows: int


class Estimator(Protocol):
    """A fitted estimator: the columns it reads and the estimate on a window."""

    method: Literal["cbpe", "dle"]
    inputs: tuple[str, ...]

    def estimate(self, frame: pd.DataFrame, reference: Scores, tolerance: float) -> EstimatedPerformance: ...


def judge(
    method: Literal["cbpe", "dle"],
    task: Task,
    prediction: str,
    estimate: Scores,
    reference: Scores,
    tolerance: float,
) -> EstimatedPerformance:
    """The record of an estimate, compared with the reference's realized scores."""
    degraded, p_values = compare(estimate, reference, tolerance)
    note = "; ".join(estimate.notes)
    if not estimate.n:
        note = note or "no current row has a prediction"
    return EstimatedPerformance(
        method=method,
        task=task,
        prediction=prediction,
        n_rows=estimate.n,
        metrics=estimate.values,
        intervals=estimate.intervals,
        p_values=p_values,
        reference={k: v for k, v in reference.values.items() if k in estimate.values},
        tolerance=tolerance,
        degraded=degraded,
        decayed=bool(degraded) if p_values else None,
        note=note,
    )


def fit_estimator(
    task: Task,
    reference: pd.DataFrame,
    target: str,
    prediction: str,
    features: Sequence[str],
    classes: list[Any] | None,
) -> Estimator:
    """Fit CBPE (classification) or DLE (regression) on the labelled reference rows.

    Raises
    ------
    ConfigError
        If the reference cannot support the estimator (not a binary target with scores,
        too few labelled rows).
    """
    known = reference[target].notna() & reference[prediction].notna()
    labelled = reference.loc[known]
    if len(labelled) < 20:
        raise ConfigError(
            f"estimate_performance=True needs at least 20 reference rows with both {target!r} and "
            f"{prediction!r}; the reference has {len(labelled)}."
        )
    if task == "classification":
        from mlops_kit.monitor._cbpe import CBPE

        return CBPE.fit(labelled, target, prediction, classes)
    from mlops_kit.monitor._dle import DLE

    return DLE.fit(labelled, target, prediction, features)
