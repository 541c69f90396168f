"""Scoring predictions against labels: the metrics, their uncertainty, and the reference's classes.

The classes and the positive label are the reference's: a window that holds one class
is scored as a binary problem still (scikit-learn's ``labels=`` and ``pos_label=``), so an
all-positive window neither hides a broken model nor switches F1 to a macro average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlops_kit.core.errors import SchemaError
from mlops_kit.core.profile import ColumnProfile
from mlops_kit.monitor import _uncertainty

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Scores", "labels_of", "profile_classes", "reference_classes", "score", "scores_of"]

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Scores:
    """Metric values with standard errors and intervals, on ``n`` labelled rows."""

    values: dict[str, float]
    se: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    n: int = 0
    notes: tuple[str, ...] = ()


def labels_of(series: pd.Series) -> np.ndarray:
    """Label values comparable across frames: strings for text columns, numbers as they are."""
    import pandas as pd

    if (
        isinstance(series.dtype, pd.CategoricalDtype)
        or series.dtype == object
        or pd.api.types.is_string_dtype(series)
    ):
        return series.astype(str).to_numpy(dtype=object)
    return series.to_numpy()


def _sorted(values: Any) -> list[Any]:
    items = list(values)
    try:
        return sorted(items)
    except TypeError:  # mixed types: a stable order all the same
        return sorted(items, key=str)


def reference_classes(truth: pd.Series, prediction: pd.Series) -> list[Any]:
    """The classes of a raw reference: its labels, and its predicted labels when it has them."""
    known = labels_of(truth.dropna())
    found = set(known.tolist())
    pred = prediction.dropna()
    if scores_of(pred, _sorted(found)) is None:
        found |= set(labels_of(pred).tolist())
    return _sorted(found)


def profile_classes(target: ColumnProfile) -> list[Any] | None:
    """The classes a target's profile lists, or ``None`` when it cannot tell them all."""
    if target.kind == "categorical":
        if target.other or target.counts is None:
            return None
        if target.dtype == "bool":
            return _sorted({key == "True" for key in target.counts})
        return _sorted(target.counts)
    hist = target.histogram
    if target.dtype != "int" or hist is None or hist.width > 1:
        return None
    edges = hist.edges[:-1][np.asarray(hist.counts) > 0]
    if not np.all(edges == np.floor(edges)):
        return None
    return [int(v) for v in edges]


def scores_of(pred: pd.Series, classes: list[Any]) -> np.ndarray | None:
    """Probability-like scores of the positive class, or ``None`` if ``pred`` holds labels."""
    import pandas as pd

    if not pd.api.types.is_float_dtype(pred.dtype) or not len(pred):
        return None
    values = pred.to_numpy(dtype="float64")
    if set(np.unique(values).tolist()) <= set(_numeric(classes)):
        return None  # floats that are the class labels themselves
    if len(classes) > 2 or values.min() < 0 or values.max() > 1:
        raise SchemaError(
            f"Prediction {pred.name!r} holds float scores but the target has classes {classes[:10]}; "
            "expected scores in [0, 1] for a binary target, or predicted labels."
        )
    return values


def _numeric(classes: list[Any]) -> list[float]:
    out = []
    for c in classes:
        try:
            out.append(float(c))
        except (TypeError, ValueError):
            pass
    return out


def score(task: Task, y_true: pd.Series, y_pred: pd.Series, classes: list[Any] | None = None) -> Scores:
    """The metrics of ``task`` on the rows where both sides are known, with their uncertainty.

    ``classes`` are the reference's classes (the last one is the positive label); without
    them, the classes found in this sample are used.
    """
    keep = y_true.notna().to_numpy() & y_pred.notna().to_numpy()
    if not keep.any():
        return Scores({})
    if task == "regression":
        return _regression(
            y_true.to_numpy(dtype="float64", na_value=np.nan)[keep],
            y_pred.to_numpy(dtype="float64", na_value=np.nan)[keep],
        )
    return _classification(labels_of(y_true[keep]), y_pred[keep], classes)


def _regression(t: np.ndarray, p: np.ndarray) -> Scores:
    from sklearn import metrics as skm

    values = {"mae": skm.mean_absolute_error(t, p), "rmse": math.sqrt(skm.mean_squared_error(t, p))}
    if len(t) > 1 and np.ptp(t) > 0:
        values["r2"] = skm.r2_score(t, p)
    spread = _uncertainty.regression_spread(t, p)
    return Scores({k: float(v) for k, v in values.items()}, spread.se, spread.intervals, len(t))


def _classification(truth: np.ndarray, pred: pd.Series, classes: list[Any] | None) -> Scores:
    from sklearn import metrics as skm

    notes = []
    found = set(truth.tolist())
    classes = _sorted(found) if classes is None else list(classes)
    scores = scores_of(pred, classes)
    if scores is not None:
        positive, negative = classes[-1], classes[0]
        labels = np.where(scores >= 0.5, positive, negative)
    else:
        labels = labels_of(pred)
        found |= set(labels.tolist())
    binary = len(classes) == 2
    new = _sorted(found - set(classes))
    if new:
        notes.append(f"labels {new[:10]} are not in the reference; scored with macro averages")
        classes, binary = classes + new, False
    kwargs: dict[str, Any] = {"zero_division": 0, "labels": classes}
    kwargs.update({"average": "binary", "pos_label": classes[-1]} if binary else {"average": "macro"})
    values = {
        "accuracy": skm.accuracy_score(truth, labels),
        "precision": skm.precision_score(truth, labels, **kwargs),
        "recall": skm.recall_score(truth, labels, **kwargs),
        "f1": skm.f1_score(truth, labels, **kwargs),
    }
    values = {k: float(v) for k, v in values.items()}
    confusion = skm.confusion_matrix(truth, labels, labels=classes)
    draws = _uncertainty.confusion_draws(confusion, len(classes) - 1 if binary else None)
    spread = _uncertainty.draws_spread(draws, values)
    if scores is not None and binary:
        is_positive = truth == classes[-1]
        if is_positive.all() or not is_positive.any():
            notes.append("one class in the labelled rows: ROC AUC is undefined")
        else:
            auc, se = _uncertainty.delong(is_positive, scores)
            values["roc_auc"] = auc
            spread.se["roc_auc"] = se
            spread.intervals["roc_auc"] = _uncertainty.normal_interval(auc, se, bounds=(0.0, 1.0))
    return Scores(values, spread.se, spread.intervals, len(truth), tuple(notes))
