"""What a monitor knows about its model: the reference's classes and scores, loaded once.

It scores labelled windows (realized performance) and, with ``estimate_performance=True``,
estimates the performance of any window from its features and predictions alone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlops_kit.core.errors import ConfigError
from mlops_kit.monitor import _performance
from mlops_kit.monitor._performance import Performance, Task
from mlops_kit.monitor._scoring import Scores, profile_classes, reference_classes, score

if TYPE_CHECKING:
    from mlops_kit.monitor._estimation import EstimatedPerformance, Estimator
    from mlops_kit.monitor._sources import Current, Reference

__all__ = ["PerformanceTracker", "tracker"]


class PerformanceTracker:
    """The reference side of performance checks: classes, scores and the estimator."""

    def __init__(
        self,
        task: Task,
        target: str,
        prediction: str,
        reference: Reference,
        columns: Sequence[str],
        *,
        features: Sequence[str],
        tolerance: float,
        estimate: bool,
    ) -> None:
        self.task, self.target, self.prediction = task, target, prediction
        self.features = list(features)
        self.tolerance = tolerance
        self.estimate = estimate
        self._reference = reference
        self._columns = list(columns)  # every monitored column: one load of a stored reference
        self._lock = threading.Lock()
        self._loaded = False
        self._classes: list[Any] | None = None
        self._scores: Scores | None = None
        self._estimator: Estimator | None = None

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            if self.task == "classification":
                self._classes = profile_classes(self._reference.column(self.target))
            if self._reference.has_raw:
                ref = self._reference.frame(self._columns)
                if self.task == "classification":
                    self._classes = reference_classes(ref[self.target], ref[self.prediction])
                self._scores = score(self.task, ref[self.target], ref[self.prediction], self._classes)
                if self.estimate:
                    from mlops_kit.monitor._estimation import fit_estimator

                    self._estimator = fit_estimator(
                        self.task, ref, self.target, self.prediction, self.features, self._classes
                    )
            self._loaded = True

    def realized(self, data: Current) -> Performance:
        """The performance on the labelled rows of ``data``, compared with the reference's."""
        self._load()
        return _performance.assess(
            self.task,
            data.frame([self.target, self.prediction]),
            self.target,
            self.prediction,
            reference=self._scores,
            tolerance=self.tolerance,
            classes=self._classes,
        )

    def estimated(self, data: Current) -> EstimatedPerformance | None:
        """The performance estimated without labels (``None`` unless ``estimate_performance``)."""
        if not self.estimate:
            return None
        self._load()
        assert self._estimator is not None and self._scores is not None
        frame = data.frame([*self._estimator.inputs])
        return self._estimator.estimate(frame, self._scores, self.tolerance)


def tracker(
    task: Task | None,
    target: str | None,
    prediction: str | None,
    reference: Reference,
    columns: Sequence[str],
    *,
    features: Sequence[str],
    tolerance: float,
    estimate: object,
) -> PerformanceTracker | None:
    """The tracker of a monitor, or ``None`` without both a target and a prediction.

    Raises
    ------
    ConfigError
        If ``estimate`` is not a bool, or estimation cannot work with this reference.
    """
    if not isinstance(estimate, bool):
        raise ConfigError(f"estimate_performance must be True or False, got {estimate!r}.")
    if estimate:
        if target is None or prediction is None:
            raise ConfigError(
                "estimate_performance=True needs the target and the prediction columns of a labelled "
                "reference: Monitor(reference, target=..., prediction=..., estimate_performance=True)."
            )
        if not reference.has_raw:
            raise ConfigError(
                "estimate_performance=True fits on the labelled reference rows, but the reference is a "
                "Profile. Pass the reference as a DataFrame or a DatasetVersion."
            )
        if task == "classification" and reference.column(prediction).dtype != "float":
            raise ConfigError(
                f"Estimating a classifier's performance needs probability scores, but prediction "
                f"{prediction!r} holds {reference.column(prediction).dtype} labels. Pass the score of the "
                "positive class as the prediction, or leave estimate_performance off."
            )
    if target is None or prediction is None or task is None:
        return None
    return PerformanceTracker(
        task,
        target,
        prediction,
        reference,
        columns,
        features=features,
        tolerance=tolerance,
        estimate=estimate,
    )
