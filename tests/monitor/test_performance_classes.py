"""Item 9: the classes and the positive label of a check come from the reference, not the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import mlops_kit as mk


def _reference(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    return pd.DataFrame({"x": rng.normal(size=n), "y": (rng.random(n) < score).astype(int), "score": score})


def test_an_all_positive_window_scored_by_a_broken_model_is_wrong_and_decayed():
    mon = mk.Monitor(_reference(), target="y", prediction="score")
    window = pd.DataFrame({"x": np.zeros(200), "y": np.ones(200, dtype=int), "score": np.full(200, 0.1)})
    perf = mon.check(window).performance
    labels = np.zeros(200, dtype=int)  # every score below 0.5: the negative class of the reference
    assert perf.metrics["accuracy"] == skm.accuracy_score(window.y, labels) == 0.0
    assert perf.metrics["recall"] == skm.recall_score(window.y, labels, labels=[0, 1], pos_label=1) == 0.0
    assert perf.metrics["f1"] == skm.f1_score(window.y, labels, labels=[0, 1], pos_label=1, zero_division=0)
    assert "roc_auc" not in perf.metrics  # one class in the window: AUC is undefined
    assert "one class" in perf.note
    assert perf.decayed is True
    assert {"accuracy", "recall", "f1"} <= set(perf.degraded)


def test_an_all_positive_window_of_a_good_model_keeps_binary_f1_and_no_decay():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, 6000)
    pred = np.where(rng.random(6000) < 0.95, truth, 1 - truth)
    ref = pd.DataFrame({"y": truth, "p": pred})
    mon = mk.Monitor(ref, target="y", prediction="p")
    ones = np.ones(300, dtype=int)
    window_pred = np.where(rng.random(300) < 0.95, ones, 0)
    perf = mon.check(pd.DataFrame({"y": ones, "p": window_pred})).performance
    expected = skm.f1_score(ones, window_pred, labels=[0, 1], pos_label=1)
    assert perf.metrics["f1"] == pytest.approx(expected)
    assert perf.metrics["f1"] > 0.9  # binary F1 of the positive class, not a macro average near 0.5
    assert skm.f1_score(ones, window_pred, average="macro") < 0.6
    assert perf.decayed is False


def test_string_classes_and_positive_label_come_from_the_reference():
    rng = np.random.default_rng(2)
    truth = rng.choice(["no", "yes"], 4000)
    pred = np.where(rng.random(4000) < 0.9, truth, np.where(truth == "yes", "no", "yes"))
    mon = mk.Monitor(pd.DataFrame({"y": truth, "p": pred}), target="y", prediction="p")
    window = pd.DataFrame({"y": ["no"] * 150, "p": ["no"] * 140 + ["yes"] * 10})
    perf = mon.check(window).performance
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        want = fn(window.y, window.p, labels=["no", "yes"], pos_label="yes", zero_division=0)
        assert perf.metrics[name] == pytest.approx(want), name
    assert perf.metrics["accuracy"] == pytest.approx(140 / 150)


def test_multiclass_window_missing_a_class_is_macro_over_the_reference_classes():
    rng = np.random.default_rng(3)
    classes = ["cat", "dog", "eel"]
    truth = rng.choice(classes, 3000)
    pred = np.where(rng.random(3000) < 0.85, truth, rng.choice(classes, 3000))
    mon = mk.Monitor(pd.DataFrame({"y": truth, "p": pred}), target="y", prediction="p")
    w_truth = rng.choice(["cat", "dog"], 400)
    w_pred = np.where(rng.random(400) < 0.85, w_truth, rng.choice(classes, 400))
    perf = mon.check(pd.DataFrame({"y": w_truth, "p": w_pred})).performance
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        want = fn(w_truth, w_pred, labels=classes, average="macro", zero_division=0)
        assert perf.metrics[name] == pytest.approx(want), name


def test_a_label_the_reference_never_had_is_scored_and_noted():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 2000)
    mon = mk.Monitor(pd.DataFrame({"y": truth, "p": truth}), target="y", prediction="p")
    window = pd.DataFrame({"y": [0, 1, 2, 2], "p": [0, 1, 1, 2]})
    perf = mon.check(window).performance
    assert perf.metrics["accuracy"] == pytest.approx(0.75)
    want = skm.f1_score(window.y, window.p, labels=[0, 1, 2], average="macro", zero_division=0)
    assert perf.metrics["f1"] == pytest.approx(want)
    assert "not in the reference" in perf.note


def test_a_profile_reference_still_gives_its_classes():
    ref = _reference()
    mon = mk.Monitor(mk.Profile.of(ref), target="y", prediction="score")
    window = pd.DataFrame({"x": np.zeros(50), "y": np.ones(50, dtype=int), "score": np.full(50, 0.2)})
    assert mon.check(window).performance.metrics["accuracy"] == 0.0
    strings = pd.DataFrame({"y": ["no", "yes"] * 50, "p": ["no", "yes"] * 50})
    mon = mk.Monitor(mk.Profile.of(strings), target="y", prediction="p")
    window = pd.DataFrame({"y": ["no"] * 20, "p": ["yes"] * 20})
    perf = mon.check(window).performance
    assert perf.metrics["precision"] == skm.precision_score(
        window.y, window.p, labels=["no", "yes"], pos_label="yes", zero_division=0
    )
