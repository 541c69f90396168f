"""Multivariate drift: a change in how columns relate that every per-column test misses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import mlops_kit as mk
from mlops_kit.monitor._multivariate import _domain_classifier, multivariate_drift


def correlated(rho: float, n: int, seed: int) -> pd.DataFrame:
    """Two standard normal columns with correlation ``rho`` and a categorical that follows x."""
    rng = np.random.default_rng(seed)
    xy = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})


def test_a_flipped_correlation_passes_every_column_and_fails_the_joint_tests():
    ref, cur = correlated(0.9, 3000, seed=1), correlated(-0.9, 3000, seed=2)
    for method in ("auto", "ks", "anderson"):
        plain = mk.Monitor(ref, method=method).check(cur)
        assert not plain.drifted, (method, plain.summary())
    report = mk.Monitor(ref, multivariate=True).check(cur)
    assert report.drifted_columns == []
    assert report.drifted and report.reasons == ("multivariate drift",)
    found = {d.method: d for d in report.multivariate}
    assert set(found) == {"domain_classifier", "pca_reconstruction"}
    assert found["domain_classifier"].statistic > 0.8 and found["domain_classifier"].p_value < 1e-10
    assert found["pca_reconstruction"].effect_size > 1.0
    assert "multivariate domain_classifier" in report.summary()


def test_the_same_distribution_does_not_alarm():
    report = mk.Monitor(correlated(0.9, 3000, 1), multivariate=True).check(correlated(0.9, 3000, 2))
    assert not report.drifted, report.summary()
    assert all(not d.drifted and d.p_value is not None for d in report.multivariate)


@pytest.mark.slow
def test_false_alarm_rate_is_nominal():
    # 30 same-distribution checks per detector at alpha 0.05 (min_effect 0 so only the
    # p-value decides): a calibrated test flags about 1.5; 5 or more happens with
    # probability < 2% at the nominal rate, and would mean the test is not calibrated.
    flags = {"domain_classifier": 0, "pca_reconstruction": 0}
    for seed in range(30):
        ref, cur = correlated(0.6, 400, 100 + seed), correlated(0.6, 300, 200 + seed)
        for found in multivariate_drift(ref, cur, ["x", "y"], min_effect=0.0, seed=seed):
            flags[found.method] += found.drifted
    assert all(count <= 4 for count in flags.values()), flags


def test_the_auc_is_the_roc_auc_of_the_held_out_scores():
    ref, cur = correlated(0.9, 500, 1).to_numpy(), correlated(0.5, 400, 2).to_numpy()
    auc, baseline, p_value, effect = _domain_classifier(ref, cur, seed=3)
    x, y = np.vstack([ref, cur]), np.r_[np.zeros(500), np.ones(400)]
    fit_x, test_x, fit_y, test_y = train_test_split(x, y, test_size=0.5, stratify=y, random_state=3)
    model = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, random_state=3)
    scores = model.fit(fit_x, fit_y).predict_proba(test_x)[:, 1]
    assert auc == pytest.approx(roc_auc_score(test_y, scores), abs=1e-12)
    assert baseline == 0.5 and effect == pytest.approx(auc - 0.5) and p_value < 1e-6


def test_categories_nulls_and_infinities_are_encoded_not_fatal():
    rng = np.random.default_rng(0)
    ref = correlated(0.9, 2000, 1).assign(plan=rng.choice(["a", "b", "c"], 2000))
    cur = correlated(0.9, 2000, 2).assign(plan=rng.choice(["a", "b", "z"], 2000))
    cur.loc[:50, "x"] = np.nan
    cur.loc[51:60, "y"] = np.inf
    found = multivariate_drift(ref, cur, ["x", "y", "plan"])
    assert all(d.statistic is not None and np.isfinite(d.statistic) for d in found)


def test_a_tiny_window_says_not_enough_data():
    report = mk.Monitor(correlated(0.9, 1000, 1), multivariate="pca_reconstruction").check(
        correlated(0.9, 5, 2)
    )
    (found,) = report.multivariate
    assert found.statistic is None and not found.drifted and found.note.startswith("not enough data")


def test_every_view_carries_the_verdict(tmp_path):
    ref, cur = correlated(0.9, 2000, 1), correlated(-0.9, 2000, 2)
    mon = mk.Monitor(ref, multivariate="domain_classifier", name="joint", storage=tmp_path)
    report = mon.check(cur)
    assert mk.DriftReport.from_json(report.to_json()) == report
    assert json.loads(report.to_json())["multivariate"][0]["method"] == "domain_classifier"
    assert "Multivariate drift" in report.to_html()
    from prometheus_client import generate_latest

    text = generate_latest(mon.to_prometheus()).decode()
    assert 'mlops_kit_drift_multivariate_drifted{method="domain_classifier",monitor="joint"} 1.0' in text
    history = mon.history().to_frame()
    joint = history[history.role == "joint"]
    assert list(joint.column) == ["domain_classifier"] and bool(joint.drifted.iloc[0])


def test_windows_are_judged_one_by_one():
    ref = correlated(0.9, 2000, 1)
    cur = pd.concat([correlated(0.9, 1500, 2), correlated(-0.9, 1500, 3)], ignore_index=True)
    cur["at"] = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.repeat([0, 1], 1500), unit="D")
    windows = mk.Monitor(ref, columns=["x", "y"], multivariate="domain_classifier").check_windows(
        cur, time_column="at", freq="1D"
    )
    assert [r.multivariate[0].drifted for r in windows.reports] == [False, True]


def test_bad_arguments_are_refused():
    ref = correlated(0.9, 100, 1)
    with pytest.raises(mk.ConfigError, match="multivariate= must be"):
        mk.Monitor(ref, multivariate="umap")
    with pytest.raises(mk.ConfigError, match="needs raw reference rows"):
        mk.Monitor(mk.Profile.of(ref), multivariate=True)
