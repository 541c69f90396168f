"""Model performance on labelled current data, compared with the reference's own performance."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field

from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.core.metrics import METRICS
from mlops_kit.core.profile import ColumnProfile
from mlops_kit.core.record import FrozenMap, Record
from mlops_kit.monitor._scoring import Scores, score
from mlops_kit.monitor._uncertainty import CONFIDENCE

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Performance", "Task", "assess", "check_pair_types", "compare", "infer_task", "metrics"]

Task = Literal["classification", "regression"]
HIGHER_IS_BETTER = frozenset(
    name for name, higher in METRICS.items() if higher
)  # the table shared with the gate
_MAX_CLASSES = 20
_LABEL_TYPES = {"bool", "string", "category"}


class MetricsVerdict(Record):
    """What a measured and an estimated performance share: the metrics with their intervals,
    the reference's, and the decay decision (see :class:`Performance`)."""

    model_config = ConfigDict(ser_json_inf_nan="strings")

    task: Task
    prediction: str
    metrics: FrozenMap[float]
    intervals: FrozenMap[tuple[float, float]] = Field(default_factory=dict)
    p_values: FrozenMap[float] = Field(default_factory=dict)
    confidence: float = CONFIDENCE
    reference: FrozenMap[float] = Field(default_factory=dict)
    tolerance: float
    degraded: tuple[str, ...] = ()
    decayed: bool | None
    note: str = ""


class Performance(MetricsVerdict):
    """Model quality on the labelled current rows, next to the reference's.

    ``decayed`` is ``True`` when a metric got worse than the reference by more than
    the tolerance (classification metrics and R² may drop by at most ``tolerance``,
    absolute; MAE and RMSE may grow by at most ``tolerance``, relative) *and* the drop is
    more than noise: its one-sided p-value (``p_values``, a z-test with the standard
    errors of both samples) is below ``1 - confidence`` divided by the number of metrics
    compared. ``intervals`` are the ``confidence`` intervals of the current metrics. It is
    ``None`` when there is nothing to compare with (no labelled rows, or a reference
    without predictions), which is never read as "no decay".

    The classes and the positive label (the largest class) are the reference's, so a
    window holding a single class is scored as the same problem.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import mlops_kit as mk
    >>> rng = np.random.default_rng(0)
    >>> score = rng.random(4000)
    >>> data = pd.DataFrame({"score": score, "label": (rng.random(4000) < score).astype(int)})
    >>> mon = mk.Monitor(data.iloc[:2000], target="label", prediction="score")
    >>> worse = data.iloc[2000:].assign(score=rng.random(2000))  # the model lost its signal
    >>> perf = mon.check(worse).performance
    >>> perf.task, perf.decayed, "roc_auc" in perf.degraded
    ('classification', True, True)
    >>> lo, hi = perf.intervals["roc_auc"]
    >>> round(lo, 2) <= round(perf.metrics["roc_auc"], 2) <= round(hi, 2), perf.p_values["roc_auc"] < 0.01
    (True, True)
    """

    target: str
    n_labelled: int


def infer_task(target: ColumnProfile) -> Task:
    """Classification for bool, string and category targets and integers with few values."""
    if target.kind == "categorical":
        return "classification"
    if target.dtype == "int" and target.histogram is not None and target.min is not None:
        span = (target.max or 0.0) - target.min
        if span < _MAX_CLASSES:
            return "classification"
    return "regression"


def check_pair_types(
    task: Task, target: ColumnProfile, prediction: ColumnProfile, names: tuple[str, str]
) -> None:
    """Raise :class:`SchemaError` when the prediction cannot be scored against the target."""
    t, p = names
    if task == "regression" and prediction.kind != "numeric":
        raise SchemaError(
            f"Target {t!r} is numeric (regression) but prediction {p!r} holds {prediction.dtype} values; "
            "expected numeric predictions, or pass task='classification'."
        )
    if task == "classification" and target.dtype in ("string", "category") and prediction.kind == "numeric":
        raise SchemaError(
            f"Target {t!r} holds {target.dtype} labels but prediction {p!r} holds {prediction.dtype} "
            "values; expected predicted labels of the same type."
        )


def metrics(
    task: Task, y_true: pd.Series, y_pred: pd.Series, classes: list[Any] | None = None
) -> dict[str, float]:
    """The metrics of ``task`` on the rows where both sides are known (NaN ones left out).

    ``classes`` are the reference's classes; the last one is the positive label.
    """
    return score(task, y_true, y_pred, classes).values


def assess(
    task: Task,
    current: pd.DataFrame,
    target: str,
    prediction: str,
    *,
    reference: Scores | None,
    tolerance: float,
    classes: list[Any] | None = None,
) -> Performance:
    """Score the labelled rows of ``current`` and compare with the ``reference`` scores.

    ``reference=None`` means the reference performance is unknown (a Profile reference).
    """
    scores = score(task, current[target], current[prediction], classes)
    notes = list(scores.notes)
    if reference is None:
        notes.append("the reference is a Profile, so its own performance is unknown")
    elif not scores.n:
        notes.append("no current row has both a label and a prediction")
    reference = reference or Scores({})
    degraded, p_values = compare(scores, reference, tolerance)
    return Performance(
        task=task,
        target=target,
        prediction=prediction,
        n_labelled=scores.n,
        metrics=scores.values,
        intervals=scores.intervals,
        p_values=p_values,
        reference=reference.values,
        tolerance=tolerance,
        degraded=degraded,
        decayed=bool(degraded) if p_values else None,
        note="; ".join(notes),
    )


def compare(
    current: Scores, reference: Scores, tolerance: float, confidence: float = CONFIDENCE
) -> tuple[tuple[str, ...], dict[str, float]]:
    """The metrics that decayed, and each metric's one-sided p-value of being worse.

    A metric decays when it is worse than the reference by more than ``tolerance`` (absolute
    for scores, relative for errors) and the drop is significant: a one-sided z-test on the
    difference (standard errors of both samples), Bonferroni-corrected across the metrics
    compared, at level ``1 - confidence``.
    """
    from scipy import stats

    p_values: dict[str, float] = {}
    relevant: list[str] = []
    for name, value in current.values.items():
        ref = reference.values.get(name)
        if ref is None or not (math.isfinite(value) and math.isfinite(ref)):
            continue
        higher = name in HIGHER_IS_BETTER
        drop = ref - value if higher else value - ref
        se = math.hypot(current.se.get(name, 0.0), reference.se.get(name, 0.0))
        if se > 0:
            p_values[name] = float(stats.norm.sf(drop / se))
        else:
            p_values[name] = 0.0 if drop > 0 else 1.0
        beyond = value < ref - tolerance if higher else value > ref * (1 + tolerance) + 1e-12
        if beyond:
            relevant.append(name)
    level = (1 - confidence) / max(len(p_values), 1)
    return tuple(n for n in relevant if p_values[n] <= level), p_values


def check_task(task: object) -> Task | None:
    if task is None or task in ("classification", "regression"):
        return task
    raise ConfigError(f"task must be 'classification', 'regression' or None (infer), got {task!r}.")
