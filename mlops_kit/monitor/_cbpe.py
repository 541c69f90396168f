"""Confidence-based performance estimation for binary classifiers with probability scores.

The calibration maps a score to the reference's share of positives at that score: isotonic
regression on 1,000 labelled reference rows or more; below, Platt scaling refitted on
bootstraps of the reference, each refit corrected locally by the shares of its isotonic
blocks (so a score region that holds a handful of reference rows stays as unsure as they are).
The window's unknown labels are then drawn from the calibrated probabilities, each draw
with its own draw of the calibration (so the band carries both the window's label noise
and the calibration's own uncertainty); the metrics of the draws give the estimate (their
mean) and the band (their percentiles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from mlops_kit.core.errors import ConfigError
from mlops_kit.monitor._estimation import EstimatedPerformance, judge
from mlops_kit.monitor._scoring import Scores, labels_of, scores_of
from mlops_kit.monitor._uncertainty import SEED, draws_spread

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CBPE"]

_DRAWS = 500
_REFITS = 250
_ISOTONIC_ROWS = 1000
_CHUNK = 2_000_000  # draws x rows at a time: bounded memory


class CBPE:
    """A fitted CBPE: a calibration of the scores that can also draw its own uncertainty."""

    method: Literal["cbpe", "dle"] = "cbpe"

    def __init__(self, prediction: str, calibration: _Isotonic | _LocalPlatt) -> None:
        self.prediction = prediction
        self.inputs: tuple[str, ...] = (prediction,)
        self.calibration = calibration

    @classmethod
    def fit(cls, reference: pd.DataFrame, target: str, prediction: str, classes: list[Any] | None) -> CBPE:
        truth = labels_of(reference[target])
        classes = classes or sorted(set(truth.tolist()))
        scores = scores_of(reference[prediction], classes)
        if len(classes) != 2 or scores is None:
            raise ConfigError(
                f"Estimating a classifier's performance (CBPE) needs a binary target and probability "
                f"scores of its positive class; target {target!r} has classes {classes[:10]} and "
                f"prediction {prediction!r} holds {'scores' if scores is not None else 'labels'}."
            )
        positive = (truth == classes[-1]).astype(np.float64)
        # scikit-learn's advice: isotonic regression overfits below ~1,000 calibration rows.
        kind = _Isotonic if len(scores) >= _ISOTONIC_ROWS else _LocalPlatt
        return cls(prediction, kind.fit(scores, positive))

    def estimate(self, frame: pd.DataFrame, reference: Scores, tolerance: float) -> EstimatedPerformance:
        from scipy import stats

        scores = frame[self.prediction].dropna().to_numpy(dtype=np.float64)
        n = len(scores)
        if not n:
            return judge("cbpe", "classification", self.prediction, Scores({}), reference, tolerance)
        draws = _draw_metrics(self.calibration.sampler(scores), scores >= 0.5, stats.rankdata(scores))
        values = {k: float(np.nanmean(v)) for k, v in draws.items() if np.isfinite(v).any()}
        spread = draws_spread(draws, values)
        notes = () if "roc_auc" in values else ("ROC AUC is undefined: every draw has one class",)
        estimate = Scores(values, spread.se, spread.intervals, n, notes)
        return judge("cbpe", "classification", self.prediction, estimate, reference, tolerance)


Sampler = Callable[[int, int], np.ndarray]  # (first draw, number of draws) -> draws x rows probabilities


class _Isotonic:
    """Isotonic calibration: blocks of scores, each with its count of positives.

    Each draw takes every block's share from its Jeffreys posterior, so a block without
    errors on the reference still errs now and then, more so the fewer rows it holds.
    Between two blocks the share is interpolated linearly (as scikit-learn does).
    """

    def __init__(
        self, lows: np.ndarray, highs: np.ndarray, positives: np.ndarray, totals: np.ndarray
    ) -> None:
        self.lows, self.highs, self.positives, self.totals = lows, highs, positives, totals

    @classmethod
    def fit(cls, scores: np.ndarray, positive: np.ndarray) -> _Isotonic:
        from sklearn.isotonic import IsotonicRegression

        order = np.argsort(scores, kind="stable")
        s, y = scores[order], positive[order]
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit_transform(s, y)
        starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
        ends = np.r_[starts[1:], len(s)] - 1
        totals = np.diff(np.r_[starts, len(s)]).astype(np.float64)
        return cls(s[starts], s[ends], np.add.reduceat(y, starts), totals)

    def sampler(self, scores: np.ndarray) -> Sampler:
        last = len(self.lows) - 1
        left = np.clip(np.searchsorted(self.lows, scores, side="right") - 1, 0, last)
        right = np.minimum(left + 1, last)
        gap = self.lows[right] - self.highs[left]
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where((scores > self.highs[left]) & (gap > 0), (scores - self.highs[left]) / gap, 0.0)
        weight = np.clip(weight, 0.0, 1.0)
        rng = np.random.default_rng(SEED + 1)
        shares = rng.beta(
            self.positives + 0.5, self.totals - self.positives + 0.5, (_DRAWS, len(self.totals))
        )

        def probabilities(start: int, count: int) -> np.ndarray:
            part = shares[start : start + count]
            return (1 - weight) * part[:, left] + weight * part[:, right]

        return probabilities


class _LocalPlatt:
    """Platt scaling with local corrections, refitted on bootstraps of a small reference.

    Each refit draws a bootstrap of the reference, fits Platt scaling on it, and moves the
    curve's log-odds within each of its isotonic blocks to a share drawn from the block's
    Jeffreys posterior (the offsets interpolated between block centres). Two parameters
    alone would carry the bulk's calibration into score regions where the reference has a
    handful of rows: there the local share, and so the band, stays as unsure as those rows.
    """

    def __init__(self, fits: list[tuple[float, float, np.ndarray, np.ndarray]]) -> None:
        self.fits = fits  # (slope, intercept, block centres in log-odds, log-odds offsets)

    @classmethod
    def fit(cls, scores: np.ndarray, positive: np.ndarray) -> _LocalPlatt:
        from sklearn.isotonic import IsotonicRegression

        x = _logit(scores)
        rng = np.random.default_rng(SEED)
        fits = []
        for i in range(_REFITS):
            idx = np.arange(len(x)) if i == 0 else rng.integers(0, len(x), len(x))
            idx = idx[np.argsort(x[idx], kind="stable")]
            xs, y = x[idx], positive[idx]
            if y.min() == y.max():
                continue  # a bootstrap with one class says nothing about the slope
            slope, intercept = _platt(xs, y)
            curve = 1.0 / (1.0 + np.exp(-(slope * xs + intercept)))
            fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit_transform(xs, y)
            starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
            totals = np.diff(np.r_[starts, len(xs)]).astype(np.float64)
            hits = np.add.reduceat(y, starts)
            shares = rng.beta(hits + 0.5, totals - hits + 0.5)
            offsets = _logit(shares) - _logit(np.add.reduceat(curve, starts) / totals)
            fits.append((slope, intercept, np.add.reduceat(xs, starts) / totals, offsets))
        if not fits:
            raise ConfigError("Calibrating the scores needs both classes among the reference labels.")
        return cls(fits)

    def sampler(self, scores: np.ndarray) -> Sampler:
        x = _logit(scores)
        k = len(self.fits)

        def probabilities(start: int, count: int) -> np.ndarray:
            out = np.empty((count, len(x)))
            for row, i in enumerate(range(start, start + count)):
                slope, intercept, centres, offsets = self.fits[i % k]
                out[row] = 1.0 / (1.0 + np.exp(-(slope * x + intercept + np.interp(x, centres, offsets))))
            return out

        return probabilities


def _platt(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[float, float]:
    """Logistic regression of ``y`` on ``x`` (slope, intercept) by Newton's method.

    The small ridge keeps the fit finite when the reference separates perfectly.
    """
    design = np.column_stack([x, np.ones_like(x)])
    beta = np.array([1.0, 0.0])  # start from "the scores are calibrated"
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        grad = design.T @ (p - y) + ridge * beta
        hess = (design * (p * (1 - p))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return cast("np.ndarray", np.log(q / (1 - q)))


def _draw_metrics(probabilities: Sampler, predicted: np.ndarray, ranks: np.ndarray) -> dict[str, np.ndarray]:
    """The metrics of ``_DRAWS`` label draws, each with its own draw of the calibration."""
    n = len(predicted)
    rng = np.random.default_rng(SEED)
    pred = predicted.astype(np.float64)
    n_pred = pred.sum()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("accuracy", "precision", "recall", "f1", "roc_auc")}
    step = max(1, _CHUNK // n)
    for start in range(0, _DRAWS, step):
        probs = probabilities(start, min(step, _DRAWS - start))
        labels = (rng.random(probs.shape) < probs).astype(np.float64)
        positives = labels.sum(axis=1)
        tp = labels @ pred
        fp, fn = n_pred - tp, positives - tp
        with np.errstate(divide="ignore", invalid="ignore"):
            parts["accuracy"].append((tp + (n - n_pred - fn)) / n)
            # zero_division=0, as for the realized metrics
            parts["precision"].append(np.where(n_pred > 0, tp / max(n_pred, 1), 0.0))
            parts["recall"].append(np.where(positives > 0, tp / np.maximum(positives, 1), 0.0))
            parts["f1"].append(np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0))
            rank_sum = labels @ ranks
            auc = (rank_sum - positives * (positives + 1) / 2) / (positives * (n - positives))
            parts["roc_auc"].append(np.where((positives > 0) & (positives < n), auc, np.nan))
    return {k: np.concatenate(v) for k, v in parts.items()}
