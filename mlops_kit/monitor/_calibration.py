"""Calibrated thresholds: a distance's no-drift spread, measured on the reference itself.

A distance between two samples (Wasserstein, Jensen-Shannon, PSI) is not zero without
drift: sampling noise alone gives a positive value whose size depends on the sample sizes,
the number of categories and the distribution's shape. A fixed threshold therefore cries
wolf on small or high-cardinality samples and is blind elsewhere. Here the threshold is
the (1 - alpha) quantile of the statistic between the reference and bootstrap resamples
of the reference, so that the false-alarm rate is about alpha at any size, cardinality
and shape; it is never below the method's own threshold (the minimum effect that
matters), so a calibrated check does not alarm on a negligible change either.

Resampling: a current sample of ``n`` rows compared with a reference of ``N`` rows has
sampling noise from both sides, so each resample is a pair: ``N`` and ``n`` rows drawn
with replacement from the reference (the two-sample bootstrap of the null); for a
categorical column, a draw is a never-seen category with the Good-Turing probability (the
share of reference categories seen once), as rare categories are in the real samples. Past
50,000 reference rows, profiling ``N`` rows per resample costs more than it tells: the
reference itself is compared with one resample of the effective size ``N n / (N + n)``
(``1/m = 1/N + 1/n``), whose noise matches that of the pair for statistics that shrink
like ``1/sqrt(m)``; at such sizes the minimum effect governs anyway.
The order statistic ``ceil((1 - alpha)(B + 1))`` of ``B`` resamples is used, whose
expected false-alarm rate is at most alpha. Thresholds are cached per column, method and
current size (within 10%), so windows of similar sizes share them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from mlops_kit.core.errors import ConfigError
from mlops_kit.core.profile import numeric_values, profile_column
from mlops_kit.monitor._pair import ColumnPair

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.monitor._base import DriftMethod

__all__ = ["DEFAULT_RESAMPLES", "Calibrator", "check_calibrate"]

DEFAULT_RESAMPLES = 100
_BUCKET = math.log(1.1)
_PAIRED_ROWS = 50_000


def check_calibrate(value: object) -> int:
    """The number of resamples ``calibrate=`` asks for (0: no calibration)."""
    if value is None or value is False:
        return 0
    if value is True:
        return DEFAULT_RESAMPLES
    if isinstance(value, int) and not isinstance(value, bool) and value >= 20:
        return value
    raise ConfigError(
        f"calibrate= must be True, False or a number of resamples of at least 20, got {value!r}."
    )


class Calibrator:
    """Per-column calibrated thresholds for one reference.

    ``column(name)`` gives the raw reference column (a pandas Series with its nulls);
    it is read only when a threshold is first needed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mlops_kit import Profile
    >>> from mlops_kit.monitor import METHODS, ColumnPair
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.Series(rng.choice([f"c{i}" for i in range(300)], 3000))
    >>> cur = pd.Series(rng.choice([f"c{i}" for i in range(300)], 3000))
    >>> profile = lambda s: Profile.of(pd.DataFrame({"plan": s})).columns["plan"]
    >>> pair = ColumnPair("plan", profile(ref), profile(cur))
    >>> js = METHODS["jensenshannon"]
    >>> js.compute(pair).statistic > js.threshold       # the fixed threshold alarms on noise
    True
    >>> cal = Calibrator(lambda name: ref)
    >>> threshold = cal.threshold(pair, js)
    >>> threshold > js.compute(pair).statistic           # the calibrated one does not
    True
    """

    def __init__(
        self,
        column: Callable[[str], pd.Series],
        *,
        alpha: float = 0.05,
        resamples: int = DEFAULT_RESAMPLES,
        seed: int = 0,
    ) -> None:
        self._column = column
        self.alpha = alpha
        self.resamples = resamples
        self.seed = seed
        self._cache: dict[tuple[str, str, int], float] = {}
        self.computed = 0  # thresholds computed (not served from the cache)

    def threshold(self, pair: ColumnPair, method: DriftMethod, minimum: float | None = None) -> float | None:
        """The calibrated threshold of ``method`` for ``pair`` (never below ``minimum``, by
        default the method's own threshold), or ``None`` for a hypothesis test, whose
        p-value needs no calibration."""
        if method.uses_p_value:
            return None
        floor = method.threshold if minimum is None else minimum
        n_cur = pair.current.rows
        key = (pair.name, method.name, math.floor(math.log(max(n_cur, 2)) / _BUCKET))
        if key not in self._cache:
            self._cache[key] = self._quantile(pair, method, n_cur)
            self.computed += 1
        return max(floor, self._cache[key])

    def _quantile(self, pair: ColumnPair, method: DriftMethod, n_cur: int) -> float:
        series = self._column(pair.name)
        n_ref = len(series)
        both = n_ref <= _PAIRED_ROWS
        size = n_cur if both else max(2, round(n_ref * n_cur / (n_ref + n_cur)))
        rng = np.random.default_rng(self.seed)
        draw = _Draw(series, rng, pair.kind == "categorical")
        statistics = []
        for _ in range(self.resamples):
            ref = draw(n_ref) if both else series
            cur = draw(size)
            resampled = ColumnPair(
                pair.name,
                profile_column(ref) if both else pair.reference,
                profile_column(cur),
                _values_fn(ref, pair),
                _values_fn(cur, pair),
            )
            value = method.compute(resampled).statistic
            statistics.append(value if math.isfinite(value) else math.inf)
        rank = min(self.resamples, math.ceil((1 - self.alpha) * (self.resamples + 1))) - 1
        return float(np.sort(statistics)[rank])


class _Draw:
    """Rows drawn with replacement from the reference. For a categorical column, each draw is
    a category never seen before with the Good-Turing probability (the share of the
    reference's categories seen once): a finite reference misses rare categories, and the
    current sample will show some that a plain bootstrap never could."""

    def __init__(self, series: pd.Series, rng: np.random.Generator, categorical: bool) -> None:
        self.series, self.rng = series, rng
        self.unseen = 0.0
        if categorical and len(series):
            counts = series.value_counts()
            self.unseen = float((counts == 1).sum()) / len(series)
        self.made = 0

    def __call__(self, size: int) -> pd.Series:
        drawn = self.series.iloc[self.rng.integers(0, len(self.series), size)].reset_index(drop=True)
        if self.unseen:
            new = np.flatnonzero(self.rng.random(size) < self.unseen)
            if len(new):
                drawn = drawn.astype(object)
                drawn.iloc[new] = [f"\x00unseen-{self.made + i}" for i in range(len(new))]
                self.made += len(new)
        return drawn


def _values_fn(series: pd.Series, pair: ColumnPair) -> Callable[[], np.ndarray] | None:
    if pair.kind != "numeric":
        return None
    return lambda: numeric_values(series, pair.reference.dtype)[0]
