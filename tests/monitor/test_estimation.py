"""Performance without labels: CBPE and DLE against the realized metrics under a real covariate shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prometheus_client import generate_latest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlops_kit as mk


def _cancer_split(seed: int, feature: str = "mean smoothness") -> tuple[pd.DataFrame, pd.DataFrame]:
    """breast_cancer split at the median of ``feature``: a model and the reference from the low
    half (half each), the shifted windows from the high half."""
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    low = np.flatnonzero(x[feature] <= x[feature].median())
    rng = np.random.default_rng(seed)
    low = rng.permutation(low)
    train, ref = low[: len(low) // 2], low[len(low) // 2 :]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000)).fit(
        x.iloc[train], y.iloc[train]
    )
    frame = pd.DataFrame({"label": y, "score": model.predict_proba(x)[:, 1]})
    return frame.iloc[ref], frame[(x[feature] > x[feature].median()).to_numpy()]


def _diabetes_split(seed: int, feature: str = "bmi") -> tuple[pd.DataFrame, pd.DataFrame]:
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    low = np.random.default_rng(seed).permutation(np.flatnonzero(x[feature] <= x[feature].median()))
    train, ref = low[: len(low) // 2], low[len(low) // 2 :]
    model = LinearRegression().fit(x.iloc[train], y.iloc[train])
    frame = x.assign(y=y, yhat=model.predict(x))
    return frame.iloc[ref], frame[(x[feature] > x[feature].median()).to_numpy()]


def _cbpe_windows(ref: pd.DataFrame, windows: list[pd.DataFrame], tolerance: float = 0.05):
    """CBPE's estimate of each window beside its realized scores, as a monitor computes them
    (called directly: a full check per window would also run every drift test)."""
    from mlops_kit.monitor._estimation import fit_estimator
    from mlops_kit.monitor._scoring import reference_classes, score

    classes = reference_classes(ref.label, ref.score)
    reference = score("classification", ref.label, ref.score, classes)
    estimator = fit_estimator("classification", ref, "label", "score", [], classes)
    for rows in windows:
        estimate = estimator.estimate(rows.drop(columns="label"), reference, tolerance)
        yield estimate, score("classification", rows.label, rows.score, classes).values


# Each split moves the windows' scores where the reference (142 rows) has few: a coverage
# that holds on one split is not a band that holds.
_SPLITS = {
    "mean smoothness": {},
    "worst texture": {},
    "mean radius": {},
    "mean texture": {},
    # Where these fall short (docs/monitor.md, Known limits). "mean symmetry": the score's
    # calibration itself moved, which no estimator from the scores can follow (six draws pooled,
    # the reference errs on 18% of its rows scored 0.5-0.9, the shifted half on 6%). ROC AUC on
    # "mean fractal dimension": the AUC band of a 60-row window is too narrow even without a
    # shift (74%, open), and the shifted half errs on 8 of 1,029 rows scored < 0.05 or > 0.95,
    # the reference on none of 478. Floors: the measured coverage less 3 points (85.0% / 78.3%
    # / 70.6%; with Platt scaling alone, before the local correction: 81.7% / 72.8% / 71.7%).
    "mean symmetry": {"accuracy": 0.82, "f1": 0.75},
    "mean fractal dimension": {"roc_auc": 0.67},
}


@pytest.mark.slow
@pytest.mark.parametrize("feature", list(_SPLITS))
def test_cbpe_band_covers_the_realized_metric_under_covariate_shift(feature):
    covered: dict[str, list[bool]] = {"accuracy": [], "f1": [], "roc_auc": []}
    for seed in range(6):  # six models and references: coverage is not one calibration's luck
        ref, shifted = _cancer_split(seed, feature)
        windows = [shifted.sample(60, random_state=window) for window in range(30)]
        for estimate, realized in _cbpe_windows(ref, windows):
            for name, hits in covered.items():
                if name in realized:  # ROC AUC needs both classes in the window
                    lo, hi = estimate.intervals[name]
                    hits.append(lo <= realized[name] <= hi)
    rates = {name: float(np.mean(hits)) for name, hits in covered.items()}
    floors = {name: _SPLITS[feature].get(name, 0.9) for name in rates}
    assert all(rates[name] >= floors[name] for name in rates), (rates, floors)


@pytest.mark.slow
def test_cbpe_rarely_estimates_decay_when_nothing_changed():
    """Windows from the reference's own distribution: estimated decay at most 1.5x alpha (5%)
    (measured: 2.2%), and the accuracy and F1 bands cover as under a shift (measured: 93.9%)."""
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    decayed, covered = [], []
    for seed in range(6):
        rows = np.random.default_rng(seed).permutation(len(y))
        train, ref, rest = rows[:142], rows[142:284], rows[284:]
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000)).fit(
            x.iloc[train], y.iloc[train]
        )
        frame = pd.DataFrame({"label": y, "score": model.predict_proba(x)[:, 1]})
        windows = [frame.iloc[rest].sample(60, random_state=window) for window in range(30)]
        for tolerance in (0.0, 0.05):  # none (the test alone decides), and the default
            for estimate, realized in _cbpe_windows(frame.iloc[ref], windows, tolerance):
                decayed.append(estimate.decayed)
                for name in ("accuracy", "f1"):
                    lo, hi = estimate.intervals[name]
                    covered.append(lo <= realized[name] <= hi)
    assert np.mean(decayed) <= 0.075, np.mean(decayed)
    assert np.mean(covered) >= 0.9, np.mean(covered)


@pytest.mark.slow
def test_dle_tracks_the_realized_mae_under_covariate_shift():
    errors, naive = [], []
    for seed in range(5):
        ref, shifted = _diabetes_split(seed)
        mon = mk.Monitor(ref, target="y", prediction="yhat", estimate_performance=True)
        estimate = mon.check(shifted.drop(columns="y")).estimated_performance
        realized = float(np.abs(shifted.y - shifted.yhat).mean())
        errors.append(abs(estimate.metrics["mae"] - realized) / realized)
        naive.append(abs(estimate.reference["mae"] - realized) / realized)  # "nothing changed"
    # Stated tolerance: within 25% of the realized MAE on average (measured: 17%), and closer
    # to it than the reference's own MAE, the "nothing changed" guess (measured: 28%).
    assert np.mean(errors) <= 0.25
    assert np.mean(errors) < np.mean(naive)


def _calibrated(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    score = 1 / (1 + np.exp(-3 * x))
    return pd.DataFrame({"x": x, "score": score, "label": (rng.random(n) < score).astype(int)})


def test_an_unlabelled_window_gets_an_estimate_and_estimated_decay():
    ref = _calibrated(4000, 1)
    mon = mk.Monitor(ref, target="label", prediction="score", estimate_performance=True)
    same = mon.check(_calibrated(2000, 2).drop(columns="label"))
    assert same.performance is None
    assert same.estimated_performance.method == "cbpe"
    assert same.estimated_performance.decayed is False
    hard = _calibrated(20_000, 3)
    hard = hard[np.abs(hard.x) < 0.3].drop(columns="label")  # where the model is unsure
    rep = mon.check(hard)
    est = rep.estimated_performance
    assert est.decayed is True
    assert "estimated performance decay" in rep.reasons and rep.drifted
    for name in ("accuracy", "f1", "roc_auc"):
        lo, hi = est.intervals[name]
        assert lo <= est.metrics[name] <= hi


def test_with_labels_the_realized_performance_decides_and_the_estimate_is_shown():
    ref = _calibrated(4000, 1)
    mon = mk.Monitor(ref, target="label", prediction="score", estimate_performance=True)
    hard = _calibrated(20_000, 3)
    rep = mon.check(hard[np.abs(hard.x) < 0.3])
    assert rep.performance.decayed is True and rep.estimated_performance.decayed is True
    assert "performance decay" in rep.reasons
    assert "estimated performance decay" not in rep.reasons  # the labels speak


def test_estimated_performance_in_every_view(tmp_path):
    ref = _calibrated(4000, 1)
    store = mk.MemoryStorage()
    mon = mk.Monitor(
        ref, target="label", prediction="score", estimate_performance=True, name="m", storage=store
    )
    window = _calibrated(3000, 4).drop(columns="label")
    window["ts"] = pd.date_range("2025-01-01", periods=3000, freq="min")
    rep = mon.check(window.drop(columns="ts"))
    est = rep.estimated_performance
    assert rep.to_dict()["estimated_performance"]["intervals"]["accuracy"] == list(est.intervals["accuracy"])
    assert mk.DriftReport.from_json(rep.to_json()) == rep
    assert "estimated performance (cbpe" in rep.summary()
    page = rep.to_html()
    assert "Estimated performance (CBPE" in page and "95% interval" in page
    text = generate_latest(rep.to_prometheus()).decode()
    assert (
        f'mlops_kit_model_estimated_metric{{method="cbpe",metric="accuracy",monitor="m"}} {est.metrics["accuracy"]}'
        in text
    )
    assert 'mlops_kit_model_decayed{kind="estimated",monitor="m"} 0.0' in text
    windows = mon.check_windows(window, time_column="ts", freq="1D")
    assert all(r.estimated_performance is not None for r in windows.reports)
    frame = windows.performance
    assert set(frame.kind) == {"estimated"} and set(frame.method) == {"cbpe"}
    assert len(frame) == 5 * len(windows.reports)
    assert "estimated performance: ok" in windows.summary()
    assert "holding (estimated)" in windows.to_html()
    history = mon.performance_history()
    assert list(history.seq.unique()) == [1, *range(2, 2 + len(windows.reports))]
    row = history[(history.seq == 1) & (history.metric == "accuracy")].iloc[0]
    assert (row.kind, row.value, row.lower, row.upper) == (
        "estimated",
        est.metrics["accuracy"],
        *est.intervals["accuracy"],
    )


def test_dle_on_a_regression_window():
    rng = np.random.default_rng(5)
    x = rng.normal(size=6000)
    plan = rng.choice(["a", "b"], 6000)
    noise = np.where(plan == "b", 3.0, 0.5) * rng.normal(size=6000)  # the model errs more on "b"
    frame = pd.DataFrame({"x": x, "plan": plan, "y": 2 * x + noise, "yhat": 2 * x})
    mon = mk.Monitor(frame.iloc[:3000], target="y", prediction="yhat", estimate_performance=True)
    cur = frame.iloc[3000:]
    more_b = pd.concat([cur[cur.plan == "b"], cur[cur.plan == "a"].iloc[:100]])
    est = mon.check(more_b.drop(columns="y")).estimated_performance
    realized = float(np.abs(more_b.y - more_b.yhat).mean())
    assert est.method == "dle"
    assert est.metrics["mae"] == pytest.approx(realized, rel=0.1)
    assert est.decayed is True and {"mae", "rmse"} <= set(est.degraded)
    lo, hi = est.intervals["mae"]
    assert lo < realized < hi


def test_estimation_needs_a_labelled_reference_with_scores():
    ref = _calibrated(500, 1)
    with pytest.raises(mk.ConfigError, match="target and the prediction"):
        mk.Monitor(ref, prediction="score", estimate_performance=True)
    with pytest.raises(mk.ConfigError, match="Profile"):
        mk.Monitor(mk.Profile.of(ref), target="label", prediction="score", estimate_performance=True)
    labels = ref.assign(pred=(ref.score > 0.5).astype(int))
    with pytest.raises(mk.ConfigError, match="probability scores"):
        mk.Monitor(labels, target="label", prediction="pred", estimate_performance=True)
    with pytest.raises(mk.ConfigError, match="True or False"):
        mk.Monitor(ref, target="label", prediction="score", estimate_performance="yes")


def test_platt_scaling_matches_scikit_learn():
    from mlops_kit.monitor._cbpe import _platt

    rng = np.random.default_rng(9)
    x = rng.normal(size=500)
    y = (rng.random(500) < 1 / (1 + np.exp(-(1.7 * x - 0.4)))).astype(float)
    fit = LogisticRegression(C=1e8, solver="newton-cg", tol=1e-12, max_iter=1000).fit(x[:, None], y)
    slope, intercept = _platt(x, y, ridge=0.0)
    assert slope == pytest.approx(fit.coef_[0, 0], rel=1e-4)
    assert intercept == pytest.approx(fit.intercept_[0], rel=1e-4, abs=1e-5)
