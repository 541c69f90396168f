"""``ReportList``: a monitor's stored reports, oldest first, with the drift and performance tables."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mlops_kit.core.listing import RecordList
from mlops_kit.monitor._report import DriftReport

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReportList"]


class ReportList(RecordList[DriftReport]):
    """The reports of a named monitor, oldest first, as :meth:`Monitor.history` returns them.

    ``to_frame()`` is the drift time series (one row per report and column) and
    ``performance_frame()`` the performance one (one row per report and metric).

    Until 0.x, ``history()`` returned the drift frame itself; DataFrame attributes
    (``mon.history().pivot(...)``) still reach ``to_frame()`` with a
    ``DeprecationWarning``.
    """

    def __init__(self, reports: Iterable[DriftReport] = (), seqs: Sequence[int] | None = None) -> None:
        super().__init__(reports)
        self._seqs = list(seqs) if seqs is not None else None

    @property
    def seqs(self) -> list[int]:
        """Each report's number in the monitor's log (1 for the first report ever stored).

        Examples
        --------
        >>> import mlops_kit as mk, pandas as pd
        >>> store = mk.MemoryStorage()
        >>> mon = mk.Monitor(pd.DataFrame({"x": range(100)}), name="m", storage=store)
        >>> _ = [mon.check(pd.DataFrame({"x": range(100)})) for _ in range(3)]
        >>> mk.Monitor.stored_reports(store, "m", limit=2, newest_first=True).seqs
        [3, 2]
        """
        return list(self._seqs) if self._seqs is not None else list(range(1, len(self) + 1))

    def to_frame(self) -> pd.DataFrame:
        """One row per report and column: ``seq``, ``created_at``, ``window_start``, ``window_end``,
        ``column``, ``role``, ``method``, ``statistic``, ``p_value``, ``effect_size``, ``drifted``,
        ``drift_share`` and ``dataset_drifted``.

        Pivot it for a wide view:
        ``to_frame().pivot(index="created_at", columns="column", values="effect_size")``.
        """
        from mlops_kit.monitor._windows import reports_frame

        return reports_frame(self, self._seqs)

    def performance_frame(self) -> pd.DataFrame:
        """One row per report and metric: ``seq``, ``created_at``, ``window_start``, ``window_end``,
        ``kind`` (``"realized"`` on labels, ``"estimated"`` without), ``method``, ``metric``,
        ``value``, ``lower``, ``upper``, ``reference``, ``p_value``, ``degraded``, ``decayed``."""
        from mlops_kit.monitor._windows import performance_frame

        return performance_frame(self, self._seqs)

    def __getattr__(self, name: str) -> Any:
        import pandas as pd

        if name.startswith("_") or not hasattr(pd.DataFrame, name):
            raise AttributeError(f"'ReportList' object has no attribute {name!r}")
        warnings.warn(
            f"Monitor.history() now returns the reports (a ReportList), like history() in every "
            f"block; use history().to_frame().{name} for the drift table.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self.to_frame(), name)
