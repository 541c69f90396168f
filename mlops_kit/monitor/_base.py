"""The drift-method interface: what a method computes from a column pair, and how it decides."""

from __future__ import annotations

import abc
import math
from typing import ClassVar, NamedTuple

from mlops_kit.monitor._pair import ColumnPair

__all__ = ["DriftMethod", "MethodResult"]


class MethodResult(NamedTuple):
    """What a method found: its statistic, the p-value of a test, and a remark.

    Examples
    --------
    >>> from mlops_kit.monitor import MethodResult
    >>> MethodResult(0.31, 0.002)
    MethodResult(statistic=0.31, p_value=0.002, note='')
    """

    statistic: float
    p_value: float | None = None
    note: str = ""


class DriftMethod(abc.ABC):
    """The base of every drift method; subclass it to add your own.

    Class attributes: ``name`` (what users pass as ``method=``), ``kinds`` (the column
    kinds it handles: ``"numeric"``, ``"categorical"``), ``uses_p_value`` (decide on
    ``p_value < threshold`` rather than ``statistic >= threshold``), ``threshold`` (the
    default) and ``requires_values`` (it cannot work from profiles alone).

    Examples
    --------
    >>> import numpy as np
    >>> from mlops_kit.monitor import DriftMethod, MethodResult
    >>> class MeanShift(DriftMethod):
    ...     name = "mean_shift"
    ...     kinds = frozenset({"numeric"})
    ...     uses_p_value = False
    ...     threshold = 0.25
    ...     def compute(self, pair):
    ...         return MethodResult(abs(pair.current.mean - pair.reference.mean) / pair.scale)
    >>> MeanShift()
    MeanShift(name='mean_shift', threshold=0.25)
    """

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]
    uses_p_value: ClassVar[bool]
    threshold: ClassVar[float]
    requires_values: ClassVar[bool] = False

    @abc.abstractmethod
    def compute(self, pair: ColumnPair) -> MethodResult:
        """Compare the reference and current samples of one column."""

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        """The decision; an undefined (NaN) score counts as drift, never as "no drift"."""
        score = p_value if self.uses_p_value else statistic
        if score is None or math.isnan(score):
            return True
        return score < threshold if self.uses_p_value else score >= threshold

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold})"
