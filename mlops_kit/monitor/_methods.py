"""The drift methods by name, and the ``auto`` rule that picks one per column.

A method reads a :class:`ColumnPair` (both profiles, aligned counts, raw values on
demand) and returns a :class:`MethodResult`. Hypothesis tests decide on their p-value
(``p < threshold``), distances on their statistic (``statistic >= threshold``).
"""

from __future__ import annotations

import numpy as np

from mlops_kit.core.errors import ConfigError
from mlops_kit.monitor._base import DriftMethod, MethodResult
from mlops_kit.monitor._categorical import ChiSquare, ZTest
from mlops_kit.monitor._distances import PSI, JensenShannon
from mlops_kit.monitor._numeric import AndersonDarling, EnergyDistance, KolmogorovSmirnov, Wasserstein
from mlops_kit.monitor._pair import ColumnPair

__all__ = [
    "METHODS",
    "PSI",
    "AndersonDarling",
    "ChiSquare",
    "DriftMethod",
    "EnergyDistance",
    "JensenShannon",
    "KolmogorovSmirnov",
    "MethodResult",
    "Wasserstein",
    "ZTest",
    "auto_method",
    "get_method",
]

METHODS: dict[str, DriftMethod] = {
    m.name: m
    for m in (
        KolmogorovSmirnov(),
        Wasserstein(),
        PSI(),
        JensenShannon(),
        AndersonDarling(),
        EnergyDistance(),
        ChiSquare(),
        ZTest(),
    )
}


def auto_method(pair: ColumnPair) -> DriftMethod:
    """The method ``method="auto"`` picks for a column.

    Numeric: KS up to 1,000 values on the smaller side, the normalized Wasserstein
    distance above. Categorical: the z-test (two categories) or chi-square at every
    size, which ``evaluate`` pairs with a minimum effect size (Cohen's w >= 0.1): the
    test keeps high-cardinality columns quiet while the sample cannot support an
    effect, the effect size keeps large samples from flagging trivial changes.
    """
    if pair.kind == "numeric":
        return METHODS["ks" if pair.is_small or pair.heavy_tailed else "wasserstein"]
    return METHODS["ztest" if np.count_nonzero(pair.table.reference) <= 2 else "chisquare"]


def get_method(method: str | DriftMethod) -> DriftMethod:
    """The method named ``method`` (or ``method`` itself if it is a :class:`DriftMethod`)."""
    if isinstance(method, DriftMethod):
        return method
    if isinstance(method, str) and method in METHODS:
        return METHODS[method]
    raise ConfigError(
        f"Unknown drift method {method!r}; expected 'auto', one of {sorted(METHODS)}, or a DriftMethod."
    )
