"""Reference and current distributions on a common support: the grid, the CDFs and the category table.

Numeric profiles carry histograms on a power-of-two grid; coarsening both to the larger
exponent puts them on one grid exactly. On a heavy-tailed column that grid is coarse
where the data is dense, so profiles also carry counts at the reference's exact
quantiles: with both, each sample's CDF is known exactly at every grid edge and every
reference quantile (:class:`Knots`), and is linear in between. Everything the distance
methods need (KS, Wasserstein, the decile groups of PSI and Jensen-Shannon) is derived
from those counts, so no raw data is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mlops_kit.core.histogram import Histogram, QuantileCounts, needed_exponent
from mlops_kit.core.profile import ColumnProfile

__all__ = ["CategoryTable", "Cdfs", "Grid", "Knots", "category_table", "common_cdfs", "common_grid"]

OTHER = "(other)"  # the bucket of values beyond a profile's MAX_CATEGORIES


@dataclass(frozen=True)
class Grid:
    """Reference and current counts on one grid: bin ``i`` covers ``[(offset+i)*w, (offset+i+1)*w)``."""

    exponent: int
    offset: int
    reference: np.ndarray
    current: np.ndarray

    @property
    def width(self) -> float:
        return math.ldexp(1.0, self.exponent)

    @property
    def edges(self) -> np.ndarray:
        idx = np.arange(self.offset, self.offset + len(self.reference) + 1, dtype=np.float64)
        return np.ldexp(idx, self.exponent)

    def cdfs(self) -> tuple[np.ndarray, np.ndarray]:
        """Both empirical CDFs at the ``len + 1`` bin edges (0 at the first, 1 at the last)."""
        return _cdf(self.reference), _cdf(self.current)

    def quantile_groups(self, groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Counts in about ``groups`` reference-quantile groups, plus one tail group on each side.

        Returns the group start indexes (into the grid) and the reference and current
        counts per group. Current mass below or above the whole reference range lands
        in the tail groups, where the reference has none: the numeric counterpart of an
        unseen category.
        """
        ref = self.reference
        nonzero = np.flatnonzero(ref)
        first, last = int(nonzero[0]), int(nonzero[-1])
        cum = np.cumsum(ref)
        targets = cum[-1] * np.arange(1, groups) / groups
        cuts = np.searchsorted(cum, targets, side="left") + 1  # a cut after the bin reaching each quantile
        starts = np.unique(np.clip(np.concatenate(([0, first], cuts, [last + 1])), 0, len(ref)))
        starts = starts[starts < len(ref)]
        return starts, np.add.reduceat(ref, starts), np.add.reduceat(self.current, starts)


def _cdf(counts: np.ndarray) -> np.ndarray:
    cum = np.concatenate(([0.0], np.cumsum(counts, dtype=np.float64)))
    return cum / cum[-1] if cum[-1] else cum


def common_grid(reference: Histogram, current: Histogram, low: float, high: float) -> Grid:
    """Both histograms on one grid over the union of their bins; ``low``/``high`` span both samples.

    The grid is the coarser of the two, or coarser still when the samples lie far apart
    (two different constants), so that it never holds more than ``MAX_BINS`` bins.
    """
    exponent = max(reference.exponent, current.exponent, needed_exponent(low, high))
    ref, cur = reference.coarsen(exponent), current.coarsen(exponent)
    offset = min(ref.offset, cur.offset)
    end = max(ref.offset + len(ref.counts), cur.offset + len(cur.counts))
    return Grid(exponent, offset, _place(ref, offset, end), _place(cur, offset, end))


def _place(hist: Histogram, offset: int, end: int) -> np.ndarray:
    out = np.zeros(end - offset, dtype=np.float64)
    out[hist.offset - offset : hist.offset - offset + len(hist.counts)] = hist.counts
    return out


@dataclass(frozen=True)
class Knots:
    """Where one sample's CDF is known exactly: at ``x`` (ascending), ``F(x-)`` is ``left`` and ``F(x)`` is ``at``."""

    x: np.ndarray
    left: np.ndarray
    at: np.ndarray

    @classmethod
    def of(cls, edges: np.ndarray, cdf: np.ndarray, quantiles: QuantileCounts | None) -> Knots:
        """Knots at the grid ``edges`` (``cdf`` there, no atom assumed) and at the quantiles' edges."""
        if quantiles is None:
            return cls(edges, cdf, cdf)
        q_edges = quantiles.edges
        x = np.union1d(edges, q_edges)
        left = np.interp(x, edges, cdf)  # exact at the grid edges; quantile edges are set next
        at = left.copy()
        where = np.searchsorted(x, q_edges)
        left[where], at[where] = quantiles.cdf()
        return cls(x, left, at)

    def evaluate(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``F(p-)`` and ``F(p)`` at sorted ``points``: exact at a knot, linear between knots."""
        n = len(self.x)
        i = np.searchsorted(self.x, points, side="left")  # the first knot at or after each point
        nxt, prev = np.minimum(i, n - 1), np.maximum(i - 1, 0)
        span = self.x[nxt] - self.x[prev]
        frac = np.divide(points - self.x[prev], span, out=np.zeros(len(points)), where=span > 0)
        between = self.at[prev] + (self.left[nxt] - self.at[prev]) * np.clip(frac, 0.0, 1.0)
        between = np.where(i == 0, 0.0, np.where(i == n, 1.0, between))
        on = self.x[nxt] == points
        return np.where(on, self.left[nxt], between), np.where(on, self.at[nxt], between)


@dataclass(frozen=True)
class Cdfs:
    """Both samples' CDFs, evaluated on the union of their knots.

    ``exact`` when the current sample was counted at the reference's quantiles: then
    every point is a knot of both, so the KS statistic read here is at most the reference
    mass between two quantiles (``1/250 + 1/n``) below the exact one.
    """

    reference: Knots
    current: Knots
    quantiles: tuple[float, ...] | None  # the reference's, if its profile has them
    exact: bool

    @cached_property
    def _points(self) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        x = self.reference.x if self.exact else np.union1d(self.reference.x, self.current.x)
        return x, (*self.reference.evaluate(x), *self.current.evaluate(x))

    def max_gap(self) -> float:
        """``sup |F_ref - F_cur|`` over the points (the KS statistic of the profiles)."""
        _, (ref_left, ref_at, cur_left, cur_at) = self._points
        return float(max(np.max(np.abs(ref_left - cur_left)), np.max(np.abs(ref_at - cur_at))))

    def gap_integral(self) -> float:
        """``integral |F_ref - F_cur| dx``, both CDFs linear between points: the Wasserstein-1 distance."""
        x, (ref_left, ref_at, cur_left, cur_at) = self._points
        d0 = ref_at[:-1] - cur_at[:-1]  # just after each point
        d1 = ref_left[1:] - cur_left[1:]  # just before the next
        a0, a1 = np.abs(d0), np.abs(d1)
        total = a0 + a1
        # A sign change between two points leaves two triangles instead of a trapezoid.
        safe = np.where(total > 0, total, 1.0)
        area = np.where(d0 * d1 >= 0, total / 2, (d0 * d0 + d1 * d1) / (2 * safe))
        return float(np.dot(area, np.diff(x)))

    def quantile_shares(self, groups: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Shares of both samples in the reference's quantile groups, plus a tail group each side.

        The groups are ``[min, q_1), [q_1, q_2), ..., [q_(groups-1), max]`` of the
        reference's exact quantiles, with the current mass below the reference minimum and
        above its maximum in groups of their own (the numeric counterpart of an unseen
        category). ``None`` when the reference profile holds no quantiles at ``groups``.
        """
        q = self.quantiles
        if q is None or (len(q) - 1) % groups:
            return None
        step = (len(q) - 1) // groups
        cuts = np.asarray(q[::step], dtype=np.float64)  # min, q_1, ..., max
        shares = []
        for knots in (self.reference, self.current):
            left, at = knots.evaluate(cuts)
            bounds = np.concatenate(([0.0], left[:-1], at[-1:], [1.0]))
            shares.append(np.maximum(np.diff(bounds), 0.0))
        return shares[0], shares[1]


def common_cdfs(grid: Grid, reference: ColumnProfile, current: ColumnProfile) -> Cdfs:
    """Both samples' CDFs from the common grid and the profiles' quantile counts."""
    ref_cdf, cur_cdf = grid.cdfs()
    edges = grid.edges
    ref_q, cur_q = reference.quantiles, current.quantiles
    exact = ref_q is not None and cur_q is not None and ref_q.quantiles == cur_q.quantiles
    return Cdfs(
        Knots.of(edges, ref_cdf, ref_q),
        Knots.of(edges, cur_cdf, cur_q),
        None if ref_q is None else ref_q.quantiles,
        exact,
    )


@dataclass(frozen=True)
class CategoryTable:
    """Reference and current counts per category (the union of both, ``(other)`` last)."""

    labels: tuple[str, ...]
    reference: np.ndarray
    current: np.ndarray
    unseen: dict[str, int]


def category_table(
    reference: ColumnProfile,
    current: ColumnProfile,
    full: tuple[dict[str, int], dict[str, int]] | None = None,
) -> CategoryTable:
    """Align two categorical profiles; list current categories the reference never saw.

    ``full`` is every category's count on both sides, for profiles that kept only their
    most frequent ones: the table is then exact.
    """
    ref_counts, cur_counts = dict(reference.counts or {}), dict(current.counts or {})
    exact = not (reference.other or current.other)
    if full is not None:
        (ref_counts, cur_counts), exact = full, True
    # A category beyond the reference's MAX_CATEGORIES may hide in its "other" bucket,
    # so "unseen" is only certain when every reference category is known.
    unseen = (
        {k: n for k, n in sorted(cur_counts.items()) if k not in ref_counts}
        if full is not None or not reference.other
        else {}
    )
    if exact:
        labels = sorted(set(ref_counts) | set(cur_counts))
        ref = [ref_counts.get(k, 0) for k in labels]
        cur = [cur_counts.get(k, 0) for k in labels]
    else:
        # A category kept by one profile may sit in the other's "other" bucket: compare the
        # categories both kept, and lump everything else into "(other)" on both sides, so
        # that the two "(other)" buckets hold the same set of values.
        labels = sorted(set(ref_counts) & set(cur_counts))
        ref = [ref_counts[k] for k in labels]
        cur = [cur_counts[k] for k in labels]
        labels.append(OTHER)
        ref.append(reference.count - sum(ref))
        cur.append(current.count - sum(cur))
    return CategoryTable(
        tuple(labels), np.asarray(ref, dtype=np.float64), np.asarray(cur, dtype=np.float64), unseen
    )
