"""Item 10: decay is decided with confidence intervals, so noise alone rarely raises it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

import mlops_kit as mk
from mlops_kit.monitor import _uncertainty

NOMINAL = 0.05  # 1 - the 95% confidence of the intervals: the family-wise rate per check


def _classification(n: int, rng: np.random.Generator, signal: float = 1.0) -> pd.DataFrame:
    score = rng.random(n)
    truth = (rng.random(n) < score).astype(int)
    noisy = np.clip(signal * score + (1 - signal) * rng.random(n), 0, 1)
    return pd.DataFrame({"y": truth, "score": noisy})


def _regression(n: int, rng: np.random.Generator, scale: float = 1.0) -> pd.DataFrame:
    x = rng.normal(size=n)
    y = 2 * x + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "yhat": 2 * x + (scale - 1) * rng.normal(0, 1, n)})


def _false_decay_rate(make, n: int, seeds: int, tolerance: float) -> float:
    mon = mk.Monitor(make(5000, np.random.default_rng(10_000)), target="y", prediction=make.prediction,
                     tolerance=tolerance)  # fmt: skip
    hits = [mon.check(make(n, np.random.default_rng(seed))).performance.decayed for seed in range(seeds)]
    return float(np.mean(hits))


_classification.prediction = "score"  # type: ignore[attr-defined]
_regression.prediction = "yhat"  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("make", [_classification, _regression], ids=["classification", "regression"])
@pytest.mark.parametrize("n", [100, 300])
def test_no_change_rarely_raises_decay(make, n):
    # The default tolerance (the case measured in the issue: 38% / 34% at 100 rows before).
    assert _false_decay_rate(make, n, 300, tolerance=0.05) <= 1.5 * NOMINAL
    # Without any tolerance the decision is the test alone: still at most 1.5x its level.
    assert _false_decay_rate(make, n, 300, tolerance=0.0) <= 1.5 * NOMINAL


@pytest.mark.slow
def test_a_real_decay_is_still_detected():
    ref = _classification(5000, np.random.default_rng(1))
    mon = mk.Monitor(ref, target="y", prediction="score")
    hits = [
        mon.check(_classification(300, np.random.default_rng(s), signal=0.3)).performance.decayed
        for s in range(50)
    ]
    assert np.mean(hits) >= 0.9
    mon = mk.Monitor(_regression(5000, np.random.default_rng(1)), target="y", prediction="yhat")
    hits = [
        mon.check(_regression(300, np.random.default_rng(s), scale=1.6)).performance.decayed
        for s in range(50)
    ]
    assert np.mean(hits) >= 0.9


def test_the_interval_is_reported_everywhere():
    rng = np.random.default_rng(5)
    mon = mk.Monitor(_classification(3000, rng), target="y", prediction="score")
    cur = _classification(400, rng)
    rep = mon.check(cur)
    perf = rep.performance
    assert perf.confidence == 0.95
    assert set(perf.intervals) == set(perf.metrics) == set(perf.p_values)
    for name, value in perf.metrics.items():
        lo, hi = perf.intervals[name]
        assert lo <= value <= hi, name
        assert 0 < hi - lo < 0.3, name
    data = rep.to_dict()["performance"]
    assert data["intervals"]["roc_auc"] == list(perf.intervals["roc_auc"])
    assert mk.DriftReport.from_json(rep.to_json()) == rep
    assert "95% interval" in rep.to_html()
    assert "[" in rep.summary().splitlines()[-1]


def test_the_interval_is_exported_to_prometheus():
    from prometheus_client import generate_latest

    rng = np.random.default_rng(6)
    mon = mk.Monitor(_classification(3000, rng), target="y", prediction="score")
    rep = mon.check(_classification(400, rng))
    text = generate_latest(rep.to_prometheus()).decode()
    lo, hi = rep.performance.intervals["accuracy"]
    assert f'mlops_kit_model_metric_lower{{metric="accuracy",monitor="default"}} {lo}' in text
    assert f'mlops_kit_model_metric_upper{{metric="accuracy",monitor="default"}} {hi}' in text
    assert 'mlops_kit_model_decayed{kind="realized",monitor="default"} 0.0' in text


def test_accuracy_interval_is_the_beta_posterior_of_the_binomial():
    # Binary confusion counts with a Dirichlet(1/2) prior per cell: accuracy is Beta(x + 1, n - x + 1).
    truth = np.r_[np.ones(70), np.zeros(30)].astype(int)
    pred = np.r_[np.ones(60), np.zeros(10), np.zeros(25), np.ones(5)].astype(int)
    draws = _uncertainty.confusion_draws(skm.confusion_matrix(truth, pred, labels=[0, 1]), positive=1)
    x = int((truth == pred).sum())
    lo, hi = np.quantile(draws["accuracy"], [0.025, 0.975])
    assert lo == pytest.approx(stats.beta.ppf(0.025, x + 1, 100 - x + 1), abs=0.005)
    assert hi == pytest.approx(stats.beta.ppf(0.975, x + 1, 100 - x + 1), abs=0.005)


def test_delong_standard_error_matches_the_placement_values():
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, 300).astype(bool)
    score = np.round(rng.random(300) * 0.6 + 0.4 * truth, 2)  # ties included
    auc, se = _uncertainty.delong(truth, score)
    assert auc == pytest.approx(skm.roc_auc_score(truth, score))
    pos, neg = score[truth], score[~truth]
    cmp = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = cmp.mean(axis=1), cmp.mean(axis=0)
    want = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    assert se == pytest.approx(want, rel=1e-12)


def test_regression_intervals_agree_between_bootstrap_and_delta_method():
    rng = np.random.default_rng(8)
    y = rng.normal(size=20_000)
    pred = y + rng.standard_t(5, 20_000)
    boot = _uncertainty.regression_spread(y, pred, bootstrap=True).se
    delta = _uncertainty.regression_spread(y, pred, bootstrap=False).se
    for name in ("mae", "rmse", "r2"):
        assert boot[name] == pytest.approx(delta[name], rel=0.15), name
