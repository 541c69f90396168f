"""The metrics a model is judged by, and which way is better: one table for every block.

The champion/challenger gate (:class:`mlops_kit.Gate`) and the monitor's performance
scoring both read it, so that "better" means the same thing when a challenger is
compared with a champion and when a serving model is checked for decay.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["METRICS", "greater_is_better"]

METRICS: Mapping[str, bool] = MappingProxyType(
    {  # name -> whether a greater value is better
        "auc": True,  # short for roc_auc
        "roc_auc": True,
        "accuracy": True,
        "f1": True,
        "precision": True,
        "recall": True,
        "log_loss": False,
        "rmse": False,
        "mae": False,
        "r2": True,
    }
)


def greater_is_better(name: str) -> bool | None:
    """Whether a greater ``name`` is better; ``None`` for a metric not in :data:`METRICS`.

    Examples
    --------
    >>> greater_is_better("roc_auc"), greater_is_better("rmse"), greater_is_better("lift")
    (True, False, None)
    """
    return METRICS.get(name)
