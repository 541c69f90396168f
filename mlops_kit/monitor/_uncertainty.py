"""How sure a metric is: standard errors and intervals, fast and deterministic (fixed seeds).

- Confusion-matrix metrics (accuracy, precision, recall, F1): draws of the cell shares from
  a Dirichlet posterior on the confusion counts (a Bayesian bootstrap that costs the same at
  any number of rows, and stays honest on a window where every answer is right).
- ROC AUC: DeLong's variance from the placement values.
- MAE, RMSE, R²: a row bootstrap up to 20,000 rows, the delta method (influence functions)
  above, where the normal approximation is accurate.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "CONFIDENCE",
    "Spread",
    "confusion_draws",
    "delong",
    "draws_spread",
    "normal_interval",
    "regression_spread",
    "z_value",
]

CONFIDENCE = 0.95
SEED = 20_250_601
_DRAWS = 2000
_BOOTSTRAP = 400
_BOOTSTRAP_ROWS = 20_000
_CHUNK = 2_000_000  # draws x rows per bootstrap batch: bounded memory


class Spread(NamedTuple):
    """Standard errors and intervals, by metric name."""

    se: dict[str, float]
    intervals: dict[str, tuple[float, float]]


def z_value(confidence: float = CONFIDENCE) -> float:
    """The two-sided normal quantile of ``confidence`` (1.96 for 95%)."""
    from scipy import stats

    return float(stats.norm.ppf(0.5 + confidence / 2))


def normal_interval(
    value: float, se: float, confidence: float = CONFIDENCE, bounds: tuple[float, float] | None = None
) -> tuple[float, float]:
    z = z_value(confidence)
    lo, hi = value - z * se, value + z * se
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return float(lo), float(hi)


def confusion_draws(
    confusion: np.ndarray, positive: int | None, draws: int = _DRAWS, seed: int = SEED
) -> dict[str, np.ndarray]:
    """Posterior draws of accuracy, precision, recall and F1 from a k x k confusion matrix.

    Rows are true classes, columns predicted ones. ``positive`` is the index of the positive
    class (binary metrics), or ``None`` for macro averages. The prior adds 2 pseudo-rows in
    all (1/2 per cell of a binary matrix, so binary accuracy is Beta(x + 1, n - x + 1)).
    """
    counts = np.asarray(confusion, dtype=np.float64)
    k = counts.shape[0]
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(counts.ravel() + 2.0 / (k * k), size=draws).reshape(draws, k, k)
    diag = np.diagonal(shares, axis1=1, axis2=2)
    true_share, pred_share = shares.sum(axis=2), shares.sum(axis=1)
    precision, recall = diag / pred_share, diag / true_share
    f1 = 2 * diag / (true_share + pred_share)
    out = {"accuracy": diag.sum(axis=1)}
    if positive is not None:
        out.update(precision=precision[:, positive], recall=recall[:, positive], f1=f1[:, positive])
    else:
        out.update(precision=precision.mean(axis=1), recall=recall.mean(axis=1), f1=f1.mean(axis=1))
    return out


def draws_spread(
    draws: dict[str, np.ndarray], values: dict[str, float], confidence: float = CONFIDENCE
) -> Spread:
    """Standard error and percentile interval of each metric's draws, widened to hold the value."""
    tail = (1 - confidence) / 2
    se, intervals = {}, {}
    for name, sample in draws.items():
        sample = sample[np.isfinite(sample)]
        if not len(sample):
            continue
        lo, hi = np.quantile(sample, [tail, 1 - tail])
        value = values.get(name, float(np.mean(sample)))
        se[name] = float(np.std(sample, ddof=1)) if len(sample) > 1 else 0.0
        intervals[name] = (float(min(lo, value)), float(max(hi, value)))
    return Spread(se, intervals)


def delong(truth: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """ROC AUC and its DeLong standard error (``truth`` boolean, both classes present)."""
    from scipy import stats

    pos, neg = score[truth], score[~truth]
    m, n = len(pos), len(neg)
    ranks = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (ranks[:m] - stats.rankdata(pos)) / n  # share of negatives below each positive
    v01 = 1.0 - (ranks[m:] - stats.rankdata(neg)) / m  # share of positives above each negative
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    return auc, math.sqrt(var)


def regression_spread(
    y: np.ndarray, pred: np.ndarray, *, bootstrap: bool | None = None, confidence: float = CONFIDENCE
) -> Spread:
    """Standard errors and intervals of MAE, RMSE and R² (R² only when ``y`` varies)."""
    n = len(y)
    if n < 2:
        return Spread({}, {})
    err = y - pred
    with_r2 = bool(np.ptp(y) > 0)
    if bootstrap is None:
        bootstrap = n <= _BOOTSTRAP_ROWS
    if bootstrap:
        return draws_spread(_bootstrap(y, err, with_r2), _regression_values(y, err, with_r2), confidence)
    return _delta(y, err, with_r2, confidence)


def _regression_values(y: np.ndarray, err: np.ndarray, with_r2: bool) -> dict[str, float]:
    mse = float(np.mean(err**2))
    out = {"mae": float(np.mean(np.abs(err))), "rmse": math.sqrt(mse)}
    if with_r2:
        out["r2"] = 1.0 - mse / float(np.var(y))
    return out


def _bootstrap(y: np.ndarray, err: np.ndarray, with_r2: bool) -> dict[str, np.ndarray]:
    n = len(y)
    rng = np.random.default_rng(SEED)
    abs_err, sq_err = np.abs(err), err**2
    step = max(1, _CHUNK // n)
    parts: dict[str, list[np.ndarray]] = {"mae": [], "rmse": [], "r2": []}
    for start in range(0, _BOOTSTRAP, step):
        idx = rng.integers(0, n, size=(min(step, _BOOTSTRAP - start), n))
        mse = sq_err[idx].mean(axis=1)
        parts["mae"].append(abs_err[idx].mean(axis=1))
        parts["rmse"].append(np.sqrt(mse))
        if with_r2:
            with np.errstate(divide="ignore", invalid="ignore"):
                parts["r2"].append(1.0 - mse / y[idx].var(axis=1))
    return {k: np.concatenate(v) for k, v in parts.items() if v}


def _delta(y: np.ndarray, err: np.ndarray, with_r2: bool, confidence: float) -> Spread:
    """Normal intervals from the influence function of each metric."""
    n = len(y)
    values = _regression_values(y, err, with_r2)
    sq = err**2
    mse = values["rmse"] ** 2
    influence = {
        "mae": np.abs(err) - values["mae"],
        "rmse": (sq - mse) / (2 * values["rmse"]) if values["rmse"] > 0 else np.zeros(n),
    }
    if with_r2:
        var = float(np.var(y))
        influence["r2"] = -(sq - mse) / var + mse * ((y - y.mean()) ** 2 - var) / var**2
    se = {k: float(np.std(v, ddof=1) / math.sqrt(n)) for k, v in influence.items()}
    bounds = {"mae": (0.0, math.inf), "rmse": (0.0, math.inf), "r2": (-math.inf, 1.0)}
    intervals = {k: normal_interval(values[k], se[k], confidence, bounds[k]) for k in se}
    return Spread(se, intervals)
