"""Model performance on labelled current data, compared with the reference's own performance."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import ConfigDict, Field

from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.core.profile import ColumnProfile
from mlops_kit.core.record import FrozenMap, Record

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Performance", "Task", "assess", "check_pair_types", "compare", "infer_task", "metrics"]

Task = Literal["classification", "regression"]
HIGHER_IS_BETTER = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "r2"})
_MAX_CLASSES = 20
_LABEL_TYPES = {"bool", "string", "category"}


class Performance(Record):
    """Model quality on the labelled current rows, next to the reference's.

    ``decayed`` is ``True`` when a metric got worse than the reference by more than
    the tolerance: classification metrics and R² may drop by at most ``tolerance``
    (absolute), MAE and RMSE may grow by at most ``tolerance`` (relative). It is
    ``None`` when there is nothing to compare with (no labelled rows, or a reference
    without predictions), which is never read as "no decay".

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
    """

    model_config = ConfigDict(ser_json_inf_nan="strings")

    task: Task
    target: str
    prediction: str
    n_labelled: int
    metrics: FrozenMap[float]
    reference: FrozenMap[float] = Field(default_factory=dict)
    tolerance: float
    degraded: tuple[str, ...] = ()
    decayed: bool | None
    note: str = ""


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


def metrics(task: Task, y_true: pd.Series, y_pred: pd.Series) -> dict[str, float]:
    """The metrics of ``task`` on the rows where both sides are known (NaN ones left out)."""
    from sklearn import metrics as skm

    keep = y_true.notna().to_numpy() & y_pred.notna().to_numpy()
    if not keep.any():
        return {}
    if task == "regression":
        t = y_true.to_numpy(dtype="float64", na_value=np.nan)[keep]
        p = y_pred.to_numpy(dtype="float64", na_value=np.nan)[keep]
        out = {"mae": skm.mean_absolute_error(t, p), "rmse": math.sqrt(skm.mean_squared_error(t, p))}
        if len(t) > 1 and np.ptp(t) > 0:
            out["r2"] = skm.r2_score(t, p)
        return {k: float(v) for k, v in out.items()}
    truth = _labels(y_true[keep])
    classes = sorted(set(truth.tolist()))
    scores = _scores(y_pred[keep], classes)
    if scores is not None:
        positive = classes[-1]
        labels = np.where(scores >= 0.5, positive, classes[0])
    else:
        labels = _labels(y_pred[keep])
    binary = len(classes) == 2
    kwargs: dict[str, object] = {"zero_division": 0}
    kwargs.update({"average": "binary", "pos_label": classes[-1]} if binary else {"average": "macro"})
    out = {
        "accuracy": skm.accuracy_score(truth, labels),
        "precision": skm.precision_score(truth, labels, **kwargs),
        "recall": skm.recall_score(truth, labels, **kwargs),
        "f1": skm.f1_score(truth, labels, **kwargs),
    }
    if scores is not None and binary:
        out["roc_auc"] = skm.roc_auc_score(truth == classes[-1], scores)
    return {k: float(v) for k, v in out.items()}


def _labels(series: pd.Series) -> np.ndarray:
    import pandas as pd

    if (
        isinstance(series.dtype, pd.CategoricalDtype)
        or series.dtype == object
        or pd.api.types.is_string_dtype(series)
    ):
        return series.astype(str).to_numpy(dtype=object)
    return series.to_numpy()


def _scores(pred: pd.Series, classes: list[object]) -> np.ndarray | None:
    """Probability-like scores of the positive class, or ``None`` if ``pred`` holds labels."""
    import pandas as pd

    if not pd.api.types.is_float_dtype(pred.dtype):
        return None
    values = pred.to_numpy(dtype="float64")
    if set(np.unique(values).tolist()) <= set(map(float, _numeric_classes(classes))):
        return None  # floats that are the class labels themselves
    if len(classes) > 2 or values.min() < 0 or values.max() > 1:
        raise SchemaError(
            f"Prediction {pred.name!r} holds float scores but the target has classes {classes[:10]}; "
            "expected scores in [0, 1] for a binary target, or predicted labels."
        )
    return values


def _numeric_classes(classes: list[object]) -> list[float]:
    out = []
    for c in classes:
        try:
            out.append(float(c))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pass
    return out


def assess(
    task: Task,
    current: pd.DataFrame,
    target: str,
    prediction: str,
    *,
    reference: dict[str, float] | None,
    tolerance: float,
) -> Performance:
    """Score the labelled rows of ``current`` and compare with the ``reference`` metrics.

    ``reference=None`` means the reference performance is unknown (a Profile reference).
    """
    scores = metrics(task, current[target], current[prediction])
    labelled = int((current[target].notna() & current[prediction].notna()).sum())
    note = ""
    if reference is None:
        note = "the reference is a Profile, so its own performance is unknown"
    elif not labelled:
        note = "no current row has both a label and a prediction"
    reference = reference or {}
    degraded = compare(scores, reference, tolerance)
    return Performance(
        task=task,
        target=target,
        prediction=prediction,
        n_labelled=labelled,
        metrics=scores,
        reference=reference,
        tolerance=tolerance,
        degraded=degraded,
        decayed=bool(degraded) if any(k in reference for k in scores) else None,
        note=note,
    )


def compare(current: dict[str, float], reference: dict[str, float], tolerance: float) -> tuple[str, ...]:
    """The metrics that got worse than the reference by more than ``tolerance``."""
    worse = []
    for name, value in current.items():
        ref = reference.get(name)
        if ref is None or not (math.isfinite(value) and math.isfinite(ref)):
            continue
        if name in HIGHER_IS_BETTER:
            if value < ref - tolerance:
                worse.append(name)
        elif value > ref * (1 + tolerance) + 1e-12:
            worse.append(name)
    return tuple(worse)


def check_task(task: object) -> Task | None:
    if task is None or task in ("classification", "regression"):
        return task
    raise ConfigError(f"task must be 'classification', 'regression' or None (infer), got {task!r}.")
