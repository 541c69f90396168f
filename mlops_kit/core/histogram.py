"""A mergeable histogram on a global grid of power-of-two bin widths.

Bin ``i`` at exponent ``e`` covers ``[i * 2**e, (i + 1) * 2**e)``. Every grid
nests in the next coarser one, so two histograms merge exactly: both are coarsened
to the larger exponent (integer shifts of bin indexes) and their counts added. The
exponent is the smallest one whose grid spans the value range in at most
``MAX_BINS`` bins (and keeps bin indexes exact in float64); it only grows with the
range, so merging the histograms of partitions gives exactly the histogram of the
whole, in any order.

:class:`QuantileCounts` complements the grid where it is coarse (heavy tails, far
outliers): counts of a sample at a reference's exact quantiles. The edges are fixed by
the reference, so the counts of partitions merge exactly too.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from mlops_kit.core.record import Record

__all__ = ["MAX_BINS", "QUANTILE_LEVELS", "Histogram", "QuantileCounts", "sorted_quantiles"]

MAX_BINS = 1024
_MANTISSA = 52  # bin indexes stay exact while |x| / 2**e < 2**52
QUANTILE_LEVELS = 250  # quantiles at i / 250: deciles included, KS from counts within 1 / 250


class Histogram(Record):
    """Counts of finite values in bins ``offset .. offset + len(counts) - 1`` of width ``2**exponent``."""

    exponent: int
    offset: int
    counts: tuple[int, ...]

    @property
    def width(self) -> float:
        """The width of one bin."""
        return math.ldexp(1.0, self.exponent)

    @property
    def edges(self) -> np.ndarray:
        """The ``len(counts) + 1`` bin edges."""
        idx = np.arange(self.offset, self.offset + len(self.counts) + 1, dtype=np.float64)
        return np.ldexp(idx, self.exponent)

    @classmethod
    def of(cls, values: np.ndarray, low: float, high: float) -> Histogram:
        """Histogram of finite float64 ``values`` whose min and max are ``low``, ``high``."""
        exponent = needed_exponent(low, high)
        offset = _cell(low, exponent)
        if exponent > -1000:
            scaled = values * math.ldexp(1.0, -exponent)  # exact (a power of two), 10x faster than ldexp
        else:  # 2**-exponent would overflow: only for subnormal-sized data
            scaled = np.ldexp(values, -exponent)
        np.floor(scaled, out=scaled)
        if low < 0 and high > -math.ldexp(1.0, exponent - 1074):
            scaled[(scaled == 0) & (values < 0)] = -1.0  # tiny negatives that scaled to -0.0
        scaled -= offset  # exact: both are integers below 2**53
        counts = np.bincount(scaled.astype(np.int64)) if len(scaled) else np.zeros(0, dtype=np.int64)
        return cls(exponent=exponent, offset=offset, counts=counts.tolist())

    @classmethod
    def of_sorted(cls, values: np.ndarray) -> Histogram:
        """Histogram of sorted finite float64 ``values``: bin counts by binary search, no pass over the data."""
        low, high = float(values[0]), float(values[-1])
        exponent = needed_exponent(low, high)
        offset = _cell(low, exponent)
        end = _cell(high, exponent) + 1
        edges = np.ldexp(np.arange(offset, end + 1, dtype=np.float64), exponent)
        below = np.searchsorted(values, edges, side="left")
        below[-1] = len(values)  # the last edge may round to inf for values near the float maximum
        return cls(exponent=exponent, offset=offset, counts=np.diff(below).tolist())

    def coarsen(self, exponent: int) -> Histogram:
        """The same counts on the coarser grid ``exponent`` (>= the current one)."""
        if exponent == self.exponent:
            return self
        shift = exponent - self.exponent
        if shift < 0:
            raise ValueError("A histogram can only be coarsened.")
        counts = np.asarray(self.counts, dtype=np.int64)
        idx = (np.arange(self.offset, self.offset + len(counts)) >> shift).astype(np.int64)
        offset = int(idx[0]) if len(idx) else self.offset >> shift
        merged = np.bincount(idx - offset, weights=counts, minlength=0).astype(np.int64)
        return Histogram(exponent=exponent, offset=offset, counts=merged.tolist())

    def merge(self, other: Histogram, low: float, high: float) -> Histogram:
        """The histogram of both samples; ``low``/``high`` are the merged min and max."""
        exponent = max(self.exponent, other.exponent, needed_exponent(low, high))
        a, b = self.coarsen(exponent), other.coarsen(exponent)
        offset = min(a.offset, b.offset)
        end = max(a.offset + len(a.counts), b.offset + len(b.counts))
        counts = np.zeros(end - offset, dtype=np.int64)
        counts[a.offset - offset : a.offset - offset + len(a.counts)] += a.counts
        counts[b.offset - offset : b.offset - offset + len(b.counts)] += b.counts
        return Histogram(exponent=exponent, offset=offset, counts=counts.tolist())

    def quantile(self, q: float) -> float:
        """The ``q``-quantile, interpolated linearly inside its bin."""
        counts = np.asarray(self.counts, dtype=np.float64)
        total = counts.sum()
        if total == 0:
            return math.nan
        cum = np.cumsum(counts)
        target = q * total
        i = int(np.searchsorted(cum, target, side="left"))
        i = min(i, len(counts) - 1)
        before = cum[i] - counts[i]
        frac = 0.0 if counts[i] == 0 else (target - before) / counts[i]
        return math.ldexp(self.offset + i + min(max(frac, 0.0), 1.0), self.exponent)


def needed_exponent(low: float, high: float) -> int:
    """The smallest exponent that spans ``[low, high]`` in ``MAX_BINS`` exact bins."""
    magnitude = max(abs(low), abs(high))
    floor = math.frexp(magnitude)[1] - _MANTISSA if magnitude > 0 else -1074
    spread = (high - low) / MAX_BINS
    # 2**e must be at least the spread, so start one below log2(spread) and walk up.
    start = math.frexp(spread)[1] - 1 if 0 < spread < math.inf else floor
    exponent = max(floor, start, -1074)
    while math.floor(math.ldexp(high, -exponent)) - math.floor(math.ldexp(low, -exponent)) + 1 > MAX_BINS:
        exponent += 1
    return exponent


class QuantileCounts(Record):
    """Counts of finite values in the cells cut by a reference's quantiles.

    ``quantiles`` are the reference's exact quantiles (``numpy.quantile``, linear) at the
    levels ``i / (len(quantiles) - 1)``; they repeat where the data ties. Their distinct
    values ``e_0 < ... < e_k`` cut the line into ``2k + 3`` cells: below ``e_0``, at
    ``e_0``, between ``e_0`` and ``e_1``, at ``e_1``, ..., above ``e_k``; ``counts`` holds
    one count per cell. Both CDFs are then known exactly at every edge, from the left and
    at the edge, and two samples counted on the same edges merge by adding counts.

    Examples
    --------
    >>> import numpy as np
    >>> ref = QuantileCounts.of(np.arange(1.0, 1001.0))
    >>> ref.edges[:3], ref.counts[:5]
    (array([1.   , 4.996, 8.992]), (0, 1, 3, 0, 4))
    >>> cur = QuantileCounts.count(np.array([0.0, 2.0, 4.996, 2000.0]), ref.quantiles)
    >>> cur.counts[:4], cur.counts[-1], cur.cdf()[0][:3]
    ((1, 0, 1, 1), 1, array([0.25, 0.5 , 0.75]))
    """

    quantiles: tuple[float, ...]
    counts: tuple[int, ...]

    @classmethod
    def of(cls, values: np.ndarray) -> QuantileCounts:
        """The quantiles of sorted finite ``values``, and the values' own counts on them."""
        return cls.count(values, tuple(sorted_quantiles(values, QUANTILE_LEVELS).tolist()))

    @classmethod
    def count(cls, values: np.ndarray, quantiles: tuple[float, ...]) -> QuantileCounts:
        """Counts of sorted finite ``values`` on the cells of ``quantiles`` (binary searches only)."""
        edges = np.unique(np.asarray(quantiles, dtype=np.float64))
        bounds = np.empty(2 * len(edges) + 2, dtype=np.int64)
        bounds[0], bounds[-1] = 0, len(values)
        bounds[1:-1:2] = np.searchsorted(values, edges, side="left")
        bounds[2:-1:2] = np.searchsorted(values, edges, side="right")
        return cls(quantiles=quantiles, counts=np.diff(bounds).tolist())

    @property
    def edges(self) -> np.ndarray:
        """The distinct quantiles, ascending."""
        return np.unique(np.asarray(self.quantiles, dtype=np.float64))

    def cdf(self) -> tuple[np.ndarray, np.ndarray]:
        """The CDF at each edge: from the left (share below it) and at it (share at or below)."""
        cum = np.cumsum(self.counts, dtype=np.float64)
        total = cum[-1] if len(cum) and cum[-1] else 1.0
        return cum[0:-1:2] / total, cum[1:-1:2] / total

    def merge(self, other: QuantileCounts) -> QuantileCounts | None:
        """Both samples' counts, if they were counted on the same quantiles (else ``None``)."""
        if self.quantiles != other.quantiles:
            return None
        return QuantileCounts(
            quantiles=self.quantiles,
            counts=tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
        )


def sorted_quantiles(values: np.ndarray, steps: int) -> np.ndarray:
    """``numpy.quantile(values, [0, 1/steps, ..., 1])`` for sorted ``values``, without its partition pass.

    The same arithmetic as numpy's default ("linear") method, so the same floats.
    """
    virtual = (len(values) - 1) * (np.arange(steps + 1) / steps)
    below = np.floor(virtual).astype(np.intp)
    above = np.minimum(below + 1, len(values) - 1)
    gamma = virtual - below
    a, b = values[below], values[above]
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return cast("np.ndarray", out)


def _cell(value: float, exponent: int) -> int:
    """The bin of ``value`` on grid ``exponent``: ``floor(value / 2**exponent)``, exactly even
    where the quotient underflows (a tiny negative value is in bin -1, not 0)."""
    cell = math.floor(math.ldexp(value, -exponent))
    return -1 if cell == 0 and value < 0 else int(cell)
