"""Performance on labelled current data, compared with the reference's own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

import mlops_kit as mk


def test_binary_scores_give_sklearn_metrics_and_auc(make_customers):
    ref, cur = make_customers(4000, seed=1), make_customers(3000, seed=2)
    rep = mk.Monitor(ref, target="churned", prediction="score").check(cur)
    perf = rep.performance
    assert perf.task == "classification"
    assert perf.n_labelled == 3000
    labels = (cur.score >= 0.5).astype(int)
    assert perf.metrics["accuracy"] == pytest.approx(skm.accuracy_score(cur.churned, labels))
    assert perf.metrics["f1"] == pytest.approx(skm.f1_score(cur.churned, labels))
    assert perf.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(cur.churned, cur.score))
    assert perf.reference["roc_auc"] == pytest.approx(skm.roc_auc_score(ref.churned, ref.score))
    assert perf.decayed is False
    assert perf.degraded == ()
    assert "performance decay" not in rep.reasons


def test_a_model_that_got_worse_is_decay_and_drift(make_customers):
    ref, cur = make_customers(4000, seed=1), make_customers(3000, seed=2)
    rng = np.random.default_rng(3)
    noisy = cur.assign(score=np.clip(cur.score + rng.normal(0, 0.35, len(cur)), 0, 1))
    rep = mk.Monitor(ref, columns=["age"], target="churned", prediction="score").check(noisy)
    assert rep.performance.decayed is True
    assert {"accuracy", "roc_auc"} <= set(rep.performance.degraded)
    assert "performance decay" in rep.reasons
    assert rep.drifted
    lenient = mk.Monitor(ref, columns=["age"], target="churned", prediction="score", tolerance=0.5).check(
        noisy
    )
    assert lenient.performance.decayed is False


def test_string_labels_multiclass_use_macro_averages():
    rng = np.random.default_rng(4)
    truth = rng.choice(["cat", "dog", "eel"], 3000)
    pred = np.where(rng.random(3000) < 0.8, truth, rng.choice(["cat", "dog", "eel"], 3000))
    frame = pd.DataFrame({"x": rng.normal(size=3000), "y": truth, "p": pred})
    rep = mk.Monitor(frame.iloc[:1500], target="y", prediction="p").check(frame.iloc[1500:])
    perf = rep.performance
    cur = frame.iloc[1500:]
    assert perf.metrics["f1"] == pytest.approx(skm.f1_score(cur.y, cur.p, average="macro"))
    assert "roc_auc" not in perf.metrics
    assert perf.decayed is False


def test_regression_metrics_and_decay():
    rng = np.random.default_rng(5)
    x = rng.normal(size=6000)
    y = 3 * x + rng.normal(0, 0.5, 6000)
    frame = pd.DataFrame({"x": x, "y": y, "yhat": 3 * x})
    mon = mk.Monitor(frame.iloc[:3000], target="y", prediction="yhat")
    cur = frame.iloc[3000:]
    perf = mon.check(cur).performance
    assert perf.task == "regression"
    assert perf.metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(cur.y, cur.yhat)))
    assert perf.metrics["r2"] == pytest.approx(skm.r2_score(cur.y, cur.yhat))
    assert perf.decayed is False
    worse = mon.check(cur.assign(yhat=cur.yhat * 1.2)).performance
    assert worse.decayed is True
    assert {"mae", "rmse"} <= set(worse.degraded)


def test_labels_arrive_late(make_customers):
    ref, cur = make_customers(3000, seed=1), make_customers(2000, seed=2)
    mon = mk.Monitor(ref, target="churned", prediction="score")
    unlabelled = mon.check(cur.drop(columns="churned"))
    assert unlabelled.performance is None
    assert "churned" not in unlabelled.columns
    partial = cur.assign(churned=cur.churned.astype(float).where(np.arange(len(cur)) % 4 == 0))
    perf = mon.check(partial).performance
    assert perf.n_labelled == 500
    known = partial.churned.notna()
    expected = skm.roc_auc_score(partial.churned[known], partial.score[known])
    assert perf.metrics["roc_auc"] == pytest.approx(expected)


def test_a_profile_reference_has_no_own_performance_and_says_so(make_customers):
    ref, cur = make_customers(3000, seed=1), make_customers(2000, seed=2)
    rep = mk.Monitor(mk.Profile.of(ref), target="churned", prediction="score").check(cur)
    assert rep.performance.decayed is None
    assert rep.performance.reference == {}
    assert "Profile" in rep.performance.note


def test_a_stored_reference_is_loaded_for_its_performance(make_customers):
    store = mk.MemoryStorage()
    ref, cur = make_customers(3000, seed=1), make_customers(2000, seed=2)
    version = mk.Dataset("train", storage=store).save(ref)
    perf = mk.Monitor(version, target="churned", prediction="score", storage=store).check(cur).performance
    assert perf.reference["roc_auc"] == pytest.approx(skm.roc_auc_score(ref.churned, ref.score))


def test_task_can_be_forced(make_customers):
    ref, cur = make_customers(3000, seed=1), make_customers(2000, seed=2)
    perf = mk.Monitor(ref, target="visits", prediction="age", task="regression").check(cur).performance
    assert perf.task == "regression"
    assert set(perf.metrics) == {"mae", "rmse", "r2"}


def test_one_load_of_a_stored_reference_serves_performance_and_exact_tests(make_customers, monkeypatch):
    store = mk.MemoryStorage()
    ref = make_customers(3000, seed=1)
    version = mk.Dataset("train", storage=store).save(ref)
    loads = []
    original = mk.Dataset.load
    monkeypatch.setattr(mk.Dataset, "load", lambda self, *a, **k: loads.append(k) or original(self, *a, **k))
    mon = mk.Monitor(version, target="churned", prediction="score", storage=store)
    mon.check(make_customers(5000, seed=2))  # large: distances from profiles, reference performance loads
    small = mon.check(make_customers(500, seed=3))  # small: exact KS on raw reference values
    assert small.columns["age"].method == "ks"
    assert (
        small.columns["age"].statistic == stats.ks_2samp(ref.age, make_customers(500, seed=3).age).statistic
    )
    assert len(loads) == 1
