"""The champion/challenger gate: both models scored on the same held-out rows."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mlops_kit.core.errors import ConfigError, SchemaError
from mlops_kit.core.metrics import METRICS
from mlops_kit.core.record import Record

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["METRICS", "Gate", "GateResult"]

_TIE = 1e-12  # scores this close are equal: a refit on the same rows may differ in the last bits


class GateResult(Record):
    """How champion and challenger compared.

    ``mode`` is ``"holdout"`` when both were scored on the same held-out rows of the
    batch, ``"recorded"`` when the batch had no labels and the challenger's run metric
    was compared with the champion's recorded metric.
    """

    metric: str
    mode: Literal["holdout", "recorded"]
    champion: float | None
    challenger: float | None
    min_delta: float
    greater_is_better: bool
    passed: bool
    n_holdout: int = 0
    reason: str
    tie: bool = False

    @property
    def delta(self) -> float | None:
        """Challenger minus champion, signed so that positive means better."""
        if self.champion is None or self.challenger is None:
            return None
        diff = self.challenger - self.champion
        return diff if self.greater_is_better else -diff


@dataclass(frozen=True)
class Gate:
    """Decide whether a retrained model (the challenger) may replace the champion.

    Both are scored on the same held-out share of the batch: with ``evaluate(model,
    data) -> float`` when given, else with ``metric`` on the ``target`` column. The
    challenger passes when it is better by at least ``min_delta``. A tie (equal scores)
    keeps the champion unless ``on_tie="challenger"``: with the default ``min_delta=0``,
    a retrained model that is merely as good never replaces the one serving. Without labels in the batch the loop compares the run's logged metric
    with the champion's recorded one instead, and says so in its decision.

    Parameters
    ----------
    metric : str
        ``"auc"``, ``"accuracy"``, ``"f1"``, ``"precision"``, ``"recall"``,
        ``"log_loss"``, ``"rmse"``, ``"mae"`` or ``"r2"``; any name when ``evaluate``
        is given (then say which way is better with ``greater_is_better``).
    min_delta : float
        The improvement required (in the metric's units).
    target : str, optional
        The label column.
    evaluate : callable, optional
        ``evaluate(model, holdout_frame) -> float``.
    holdout : float
        The share of the batch held out for scoring (0 < holdout < 1).
    greater_is_better : bool, optional
        Direction of ``metric``; known for the built-in names.
    seed : int
        Seed of the train/holdout split, for reproducible decisions.
    on_tie : {"champion", "challenger"}
        Who wins when both score the same: ``"champion"`` (default) keeps the model
        serving, ``"challenger"`` lets the retrained one replace it (fresher data, same
        score). Matters only with ``min_delta=0``: a positive one is never met by a tie,
        a negative one always.

    Examples
    --------
    >>> Gate(metric="rmse", min_delta=0.5).greater_is_better
    False
    >>> Gate(metric="auc").compare(0.91, 0.91, mode="holdout").passed
    False
    >>> Gate(metric="auc", on_tie="challenger").compare(0.91, 0.91, mode="holdout").passed
    True
    >>> Gate(metric="lift")
    Traceback (most recent call last):
    ...
    mlops_kit.core.errors.ConfigError: Unknown gate metric 'lift'. Expected one of ...
    """

    metric: str = "auc"
    min_delta: float = 0.0
    target: str | None = None
    evaluate: Callable[[Any, Any], float] | None = None
    holdout: float = 0.2
    greater_is_better: bool | None = None
    seed: int = 0
    on_tie: Literal["champion", "challenger"] = "champion"

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ConfigError(f"Gate metric must be a non-empty string, got {self.metric!r}.")
        if self.evaluate is None and self.metric not in METRICS:
            raise ConfigError(
                f"Unknown gate metric {self.metric!r}. Expected one of {sorted(METRICS)}, "
                "or pass evaluate=callable(model, data) -> float."
            )
        if self.evaluate is not None and not callable(self.evaluate):
            raise ConfigError(f"Gate evaluate must be callable(model, data) -> float, got {self.evaluate!r}.")
        if not 0.0 < float(self.holdout) < 1.0:
            raise ConfigError(f"Gate holdout must be a share strictly between 0 and 1, got {self.holdout!r}.")
        if not math.isfinite(float(self.min_delta)):
            raise ConfigError(f"Gate min_delta must be a finite number, got {self.min_delta!r}.")
        if self.on_tie not in ("champion", "challenger"):
            raise ConfigError(
                f"Gate on_tie must be 'champion' or 'challenger', got {self.on_tie!r}: who wins "
                "when both models score the same."
            )
        if self.greater_is_better is None:
            object.__setattr__(self, "greater_is_better", METRICS.get(self.metric, True))

    @property
    def better_is_higher(self) -> bool:
        """Whether a larger score is better."""
        return bool(self.greater_is_better)

    def score(self, model: Any, data: pd.DataFrame, features: list[str]) -> float:
        """Score ``model`` on ``data`` (features + target) with ``evaluate`` or ``metric``."""
        if self.evaluate is not None:
            value = float(self.evaluate(model, data))
        else:
            assert self.target is not None
            value = metric_value(self.metric, model, data[features], data[self.target])
        if not math.isfinite(value):
            raise SchemaError(f"The gate's {self.metric} came out as {value}; cannot compare models on it.")
        return value

    def _verdict(self, champion: float, delta: float, tie: bool, passed: bool) -> str:
        required = f"required {self.min_delta:g}; {'higher' if self.better_is_higher else 'lower'} is better"
        if tie and self.min_delta == 0:
            if passed:
                return f"ties champion {champion:.4f}: on_tie='challenger' lets it replace the champion"
            return (
                f"ties champion {champion:.4f}: the champion stays (on_tie='challenger' would let a tie win)"
            )
        if tie:
            return f"ties champion {champion:.4f} ({required})"
        better = "higher" if self.better_is_higher else "lower"
        if delta > 0 and passed:
            return f"beats champion {champion:.4f} by {delta:.4g} ({required})"
        if delta > 0:
            return (
                f"beats champion {champion:.4f} by only {delta:.4g}, short of the required {self.min_delta:g}"
            )
        if passed:  # a negative min_delta
            return f"is worse than champion {champion:.4f} by {-delta:.4g}, within the allowed {-self.min_delta:g}"
        return f"does not beat champion {champion:.4f} ({better} is better; worse by {-delta:.4g})"

    def compare(self, champion: float | None, challenger: float | None, **details: Any) -> GateResult:
        """A :class:`GateResult` for two scores (``None`` means unknown: the gate fails)."""
        higher = self.better_is_higher
        tie = False
        if champion is None or challenger is None:
            passed = False
            missing = "champion" if champion is None else "challenger"
            reason = f"no {self.metric} for the {missing}, so the challenger cannot be shown to be better"
        else:
            delta = (challenger - champion) if higher else (champion - challenger)
            tie = math.isclose(challenger, champion, rel_tol=_TIE, abs_tol=_TIE)
            passed = self.on_tie == "challenger" if tie and self.min_delta == 0 else delta >= self.min_delta
            reason = f"challenger {self.metric} {challenger:.4f} " + self._verdict(
                champion, delta, tie, passed
            )
        return GateResult(
            metric=self.metric,
            champion=champion,
            challenger=challenger,
            min_delta=float(self.min_delta),
            greater_is_better=higher,
            passed=passed,
            reason=reason,
            tie=tie,
            **details,
        )


def metric_value(metric: str, model: Any, X: pd.DataFrame, y: pd.Series) -> float:
    """A built-in metric of ``model`` on features ``X`` and labels ``y``."""
    import numpy as np
    from sklearn import metrics as skm

    if metric in ("auc", "roc_auc", "log_loss"):
        scores = _scores(model, X)
        if metric == "log_loss":
            return float(skm.log_loss(y, scores, labels=getattr(model, "classes_", None)))
        if scores.ndim == 2 and scores.shape[1] == 2:
            scores = scores[:, 1]
        if scores.ndim == 1:
            return float(skm.roc_auc_score(y, scores))
        return float(skm.roc_auc_score(y, scores, multi_class="ovr", labels=getattr(model, "classes_", None)))
    predicted = np.asarray(model.predict(X))
    if metric == "accuracy":
        return float(skm.accuracy_score(y, predicted))
    if metric in ("f1", "precision", "recall"):
        average = "binary" if len(np.unique(np.asarray(y))) <= 2 else "macro"
        scorer = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[metric]
        return float(scorer(y, predicted, average=average, zero_division=0))
    if metric == "rmse":
        return float(np.sqrt(skm.mean_squared_error(y, predicted)))
    if metric == "mae":
        return float(skm.mean_absolute_error(y, predicted))
    return float(skm.r2_score(y, predicted))


def _scores(model: Any, X: pd.DataFrame) -> Any:
    import numpy as np

    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X))
    raise ConfigError(
        f"The gate's metric needs scores, but {type(model).__name__} has neither predict_proba nor "
        "decision_function; use metric='accuracy' or pass evaluate=."
    )
