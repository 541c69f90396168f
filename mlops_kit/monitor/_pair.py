"""One column seen twice: its reference and current profiles, and raw values on demand."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property
from typing import cast

import numpy as np

from mlops_kit.core.histogram import QUANTILE_LEVELS
from mlops_kit.core.profile import ColumnProfile
from mlops_kit.monitor._binning import CategoryTable, Cdfs, Grid, category_table, common_cdfs, common_grid

__all__ = ["SMALL_SAMPLE", "ColumnPair"]

SMALL_SAMPLE = 1000  # at or below this many values, "auto" uses hypothesis tests

ValuesFn = Callable[[], "np.ndarray | None"]
CountsFn = Callable[[], "tuple[dict[str, int], dict[str, int]]"]


class ColumnPair:
    """What a drift method gets: both profiles, their aligned counts, and raw values if any.

    Raw values are loaded only when a method asks for them (exact KS, Anderson-Darling,
    energy distance, every category of a column its profile cut short) and only once.
    ``None`` means raw values are not available, for example when the reference is a
    bare :class:`~mlops_kit.Profile`; methods then fall back to the profile's histogram
    and say so in their note.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import ColumnPair, METHODS
    >>> x = np.arange(2000.0)
    >>> ref, cur = (Profile.of(pd.DataFrame({"x": v})).columns["x"] for v in (x, x + 100))
    >>> pair = ColumnPair("x", ref, cur)
    >>> pair.kind, pair.sample_size, pair.is_small
    ('numeric', 2000, False)
    >>> round(METHODS["wasserstein"].compute(pair).statistic, 3)  # 100 / std 577.5
    0.173
    """

    def __init__(
        self,
        name: str,
        reference: ColumnProfile,
        current: ColumnProfile,
        reference_values: ValuesFn | None = None,
        current_values: ValuesFn | None = None,
        category_counts: CountsFn | None = None,
    ) -> None:
        self.name = name
        self.reference = reference
        self.current = current
        self._values_fns = (reference_values, current_values)
        self._category_counts = category_counts

    @property
    def kind(self) -> str:
        return self.reference.kind

    @property
    def sample_size(self) -> int:
        """The smaller number of non-null values of the two samples."""
        return min(self.reference.count, self.current.count)

    @property
    def is_small(self) -> bool:
        return self.sample_size <= SMALL_SAMPLE

    @cached_property
    def heavy_tailed(self) -> bool:
        """Whether the reference's standard deviation is over 3x its robust scale (the
        interquartile range / 1.349, equal to the std for a normal sample): Pareto- or
        Cauchy-like columns, whose std says nothing about where the data is, so an
        effect in stds (Wasserstein / std) is blind there."""
        ref = self.reference
        if self.kind != "numeric" or ref.finite_count < 20:
            return False
        std = ref.std
        if ref.quantiles is not None:  # the exact reference quantiles, at levels i / QUANTILE_LEVELS
            q = ref.quantiles.quantiles
            iqr = q[round(0.75 * QUANTILE_LEVELS)] - q[round(0.25 * QUANTILE_LEVELS)]
        else:
            iqr = ref.quantile(0.75) - ref.quantile(0.25)
        return bool(math.isfinite(std) and iqr > 0 and std > 3.0 * iqr / 1.349)

    @cached_property
    def grid(self) -> Grid | None:
        """Both histograms on their common grid (``None`` if a side has no finite value)."""
        ref, cur = self.reference.histogram, self.current.histogram
        if ref is None or cur is None or not sum(ref.counts) or not sum(cur.counts):
            return None
        # min and max are always set next to a histogram.
        low = min(cast(float, self.reference.min), cast(float, self.current.min))
        high = max(cast(float, self.reference.max), cast(float, self.current.max))
        return common_grid(ref, cur, low, high)

    @cached_property
    def cdfs(self) -> Cdfs | None:
        """Both CDFs at the grid edges and the reference's quantiles (``None`` like :attr:`grid`)."""
        grid = self.grid
        return None if grid is None else common_cdfs(grid, self.reference, self.current)

    @cached_property
    def table(self) -> CategoryTable:
        """The category counts of both samples, aligned.

        A profile keeps its most frequent categories only; when one was cut and both
        samples' raw values are at hand (``category_counts``), every category is counted.
        """
        truncated = bool(self.reference.other or self.current.other)
        if truncated and self._category_counts is not None:
            return category_table(self.reference, self.current, self._category_counts())
        return category_table(self.reference, self.current)

    @cached_property
    def reference_values(self) -> np.ndarray | None:
        fn = self._values_fns[0]
        return None if fn is None else fn()

    @cached_property
    def current_values(self) -> np.ndarray | None:
        fn = self._values_fns[1]
        return None if fn is None else fn()

    @cached_property
    def scale(self) -> float:
        """The reference std, or the current one when the reference is constant.

        Normalizing a distance by it makes thresholds unit-free. A constant reference
        has no spread of its own; the current spread then makes the score grow with the
        share of changed values (about ``sqrt(p / (1 - p))``).
        """
        for profile in (self.reference, self.current):
            std = profile.std
            if math.isfinite(std) and std > 0:
                return std
        return 0.0
