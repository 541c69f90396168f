"""A mergeable histogram on a global grid of power-of-two bin widths.

Bin ``i`` at exponent ``e`` covers ``[i * 2**e, (i + 1) * 2**e)``. Every grid
nests in the next coarser one, so two histograms merge exactly: both are coarsened
to the larger exponent (integer shifts of bin indexes) and their counts added. The
exponent is the smallest one whose grid spans the value range in at most
``MAX_BINS`` bins (and keeps bin indexes exact in float64); it only grows with the
range, so merging the histograms of partitions gives exactly the histogram of the
whole, in any order.
"""

from __future__ import annotations

import math

import numpy as np

from mlops_kit.core.record import Record

__all__ = ["MAX_BINS", "Histogram"]

MAX_BINS = 1024
_MANTISSA = 52  # bin indexes stay exact while |x| / 2**e < 2**52


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
        offset = int(math.floor(math.ldexp(low, -exponent)))
        if exponent > -1000:
            scaled = values * math.ldexp(1.0, -exponent)  # exact (a power of two), 10x faster than ldexp
        else:  # 2**-exponent would overflow: only for subnormal-sized data
            scaled = np.ldexp(values, -exponent)
        np.floor(scaled, out=scaled)
        scaled -= offset  # exact: both are integers below 2**53
        counts = np.bincount(scaled.astype(np.int64)) if len(scaled) else np.zeros(0, dtype=np.int64)
        return cls(exponent=exponent, offset=offset, counts=counts.tolist())

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
