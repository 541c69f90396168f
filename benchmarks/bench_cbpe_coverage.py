"""CBPE's 95% band against the realized metrics, on breast_cancer under real covariate shifts.

    python benchmarks/bench_cbpe_coverage.py

The table of docs/monitor.md ("Performance without labels"). Each split feature: a logistic
regression and the reference (142 rows) from the half below the feature's median, 60-row
windows from the half above, six model/reference draws x 30 windows. Last row: no shift
(the model, the reference and the windows drawn from all rows), with the share of windows
where decay is estimated (default tolerance 0.05, and none). Per metric: coverage (share of
windows whose realized metric falls in the band), mean absolute error of the estimate
against the realized metric, mean width of the band.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlops_kit.monitor._estimation import fit_estimator
from mlops_kit.monitor._scoring import reference_classes, score

SPLITS = (
    "mean smoothness",
    "worst texture",
    "mean radius",
    "mean texture",
    "mean symmetry",
    "mean fractal dimension",
)
METRICS = ("accuracy", "f1", "roc_auc")


def _draw(x: pd.DataFrame, y: pd.Series, seed: int, feature: str | None):
    """The reference and the pool of window rows of one model draw."""
    rng = np.random.default_rng(seed)
    if feature is None:
        rows = rng.permutation(len(y))
        train, ref, pool = rows[:142], rows[142:284], rows[284:]
    else:
        low = rng.permutation(np.flatnonzero(x[feature] <= x[feature].median()))
        train, ref = low[: len(low) // 2], low[len(low) // 2 :]
        pool = np.flatnonzero(x[feature] > x[feature].median())
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000))
    model.fit(x.iloc[train], y.iloc[train])
    frame = pd.DataFrame({"label": y, "score": model.predict_proba(x)[:, 1]})
    return frame.iloc[ref], frame.iloc[pool]


def _row(x: pd.DataFrame, y: pd.Series, feature: str | None) -> str:
    hits: dict[str, list[float]] = {m: [] for m in METRICS}
    errors: dict[str, list[float]] = {m: [] for m in METRICS}
    widths: dict[str, list[float]] = {m: [] for m in METRICS}
    decayed: list[bool] = []
    for seed in range(6):
        ref, pool = _draw(x, y, seed, feature)
        classes = reference_classes(ref.label, ref.score)
        reference = score("classification", ref.label, ref.score, classes)
        estimator = fit_estimator("classification", ref, "label", "score", [], classes)
        for window in range(30):
            rows = pool.sample(60, random_state=window)
            realized = score("classification", rows.label, rows.score, classes).values
            for tolerance in (0.05, 0.0):
                est = estimator.estimate(rows.drop(columns="label"), reference, tolerance)
                decayed.append(bool(est.decayed))
            for m in METRICS:
                if m in realized:  # ROC AUC needs both classes in the window
                    lo, hi = est.intervals[m]
                    hits[m].append(lo <= realized[m] <= hi)
                    errors[m].append(abs(est.metrics[m] - realized[m]))
                    widths[m].append(hi - lo)
    cells = [
        f"{100 * np.mean(hits[m]):.1f}% / {np.mean(errors[m]):.3f} / {np.mean(widths[m]):.3f}"
        for m in METRICS
    ]
    name = feature or f"no shift (estimated decay: {100 * np.mean(decayed):.1f}%)"
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    print("| split feature | accuracy | F1 | ROC AUC |")
    print("|---|---|---|---|")
    for feature in (*SPLITS, None):
        print(_row(x, y, feature), flush=True)


if __name__ == "__main__":
    main()
