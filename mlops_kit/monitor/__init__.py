"""Monitor: data drift, prediction drift and performance decay, with alerts, history and reports.

``Monitor(reference).check(current)`` compares every column of new data with a
reference (a dataset version, a DataFrame or a profile) and returns a
:class:`DriftReport`. Profiles are mergeable, so the current data can be a Dask
DataFrame profiled per partition.
"""

from mlops_kit.core.exports import publish
from mlops_kit.monitor._columns import ColumnDrift, ColumnSummary, Distribution
from mlops_kit.monitor._estimation import EstimatedPerformance
from mlops_kit.monitor._history import ReportList
from mlops_kit.monitor._methods import (
    METHODS,
    PSI,
    AndersonDarling,
    ChiSquare,
    DriftMethod,
    EnergyDistance,
    JensenShannon,
    KolmogorovSmirnov,
    MethodResult,
    Wasserstein,
    ZTest,
)
from mlops_kit.monitor._monitor import Monitor
from mlops_kit.monitor._pair import ColumnPair
from mlops_kit.monitor._performance import Performance
from mlops_kit.monitor._report import DriftReport
from mlops_kit.monitor._windows import WindowedReport

__all__ = [
    "METHODS",
    "PSI",
    "AndersonDarling",
    "ChiSquare",
    "ColumnDrift",
    "ColumnPair",
    "ColumnSummary",
    "Distribution",
    "DriftMethod",
    "DriftReport",
    "EnergyDistance",
    "EstimatedPerformance",
    "JensenShannon",
    "KolmogorovSmirnov",
    "MethodResult",
    "Monitor",
    "Performance",
    "ReportList",
    "Wasserstein",
    "WindowedReport",
    "ZTest",
]

# Last: every name above is bound.
publish(__name__, __all__, globals())
