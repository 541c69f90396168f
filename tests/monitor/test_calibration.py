"""Calibrated thresholds: the false-alarm rate is about alpha at any size, cardinality and shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk
from mlops_kit import Profile
from mlops_kit.monitor import METHODS, ColumnPair
from mlops_kit.monitor._calibration import Calibrator, check_calibrate


def _profile(values: pd.Series):
    return Profile.of(pd.DataFrame({"x": values})).columns["x"]


def _categories(k: int, n: int, seed: int) -> pd.Series:
    p = 1.0 / np.arange(1, k + 1) ** 1.1
    codes = np.random.default_rng(seed).choice(k, n, p=p / p.sum())
    return pd.Series(np.char.add("c", codes.astype(str)).astype(object))


def _alarm_rate(make, method: str, seeds: int, calibrated: bool) -> float:
    hits = 0
    for seed in range(seeds):
        ref, cur = make(2 * seed), make(2 * seed + 1)
        pair = ColumnPair("x", _profile(ref), _profile(cur))
        chosen = METHODS[method]
        threshold = (
            Calibrator(lambda _, ref=ref: ref, resamples=40, seed=seed).threshold(pair, chosen)
            if calibrated
            else chosen.threshold
        )
        hits += chosen.compute(pair).statistic >= threshold
    return hits / seeds


@pytest.mark.slow
@pytest.mark.parametrize(("k", "n"), [(200, 2_000), (500, 5_000)])
def test_high_cardinality_jensen_shannon_is_calibrated(k, n):
    make = lambda seed: _categories(k, n, seed)  # noqa: E731
    assert _alarm_rate(make, "jensenshannon", 10, calibrated=False) == 1.0  # the fixed threshold: always
    # 30 same-distribution checks at alpha 0.05: about 1.5 alarms; 5 or more would happen
    # with probability 1.6% at the nominal rate.
    assert _alarm_rate(make, "jensenshannon", 30, calibrated=True) <= 4 / 30


@pytest.mark.slow
def test_small_samples_of_a_numeric_column_are_calibrated():
    make = lambda seed: pd.Series(np.random.default_rng(seed).standard_normal(120))  # noqa: E731
    assert _alarm_rate(make, "wasserstein", 30, calibrated=False) > 0.2  # 0.1 std is within noise at 120 rows
    assert _alarm_rate(make, "wasserstein", 30, calibrated=True) <= 4 / 30


def test_the_threshold_never_drops_below_the_minimum_effect():
    rng = np.random.default_rng(0)
    ref, cur = pd.Series(rng.standard_normal(50_000)), pd.Series(rng.standard_normal(50_000))
    pair = ColumnPair("x", _profile(ref), _profile(cur))
    cal = Calibrator(lambda _: ref)
    assert cal.threshold(pair, METHODS["wasserstein"]) == 0.1  # noise at 25k effective rows is ~0.01
    assert cal.threshold(pair, METHODS["wasserstein"], minimum=0.0) < 0.05
    assert cal.threshold(pair, METHODS["ks"]) is None  # a p-value needs no calibration


def test_thresholds_are_cached_per_column_method_and_size():
    rng = np.random.default_rng(1)
    ref = pd.Series(rng.standard_normal(5_000))
    cal = Calibrator(lambda _: ref)
    for n in (1_000, 1_020, 1_045):  # sizes within 10% share one threshold
        pair = ColumnPair("x", _profile(ref), _profile(pd.Series(rng.standard_normal(n))))
        cal.threshold(pair, METHODS["wasserstein"], minimum=0.0)
    assert cal.computed == 1
    pair = ColumnPair("x", _profile(ref), _profile(pd.Series(rng.standard_normal(200))))
    cal.threshold(pair, METHODS["wasserstein"], minimum=0.0)
    assert cal.computed == 2


def test_calibrate_argument_rules():
    assert check_calibrate(False) == 0 and check_calibrate(True) == 100 and check_calibrate(500) == 500
    for bad in (5, "yes", 1.5):
        with pytest.raises(Exception, match="calibrate= must be"):
            check_calibrate(bad)


def _frame(values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"x": values})


def test_a_calibrated_monitor_is_quiet_where_the_fixed_threshold_alarms():
    ref, cur = _categories(200, 2_000, 0), _categories(200, 2_000, 1)
    assert mk.Monitor(_frame(ref), method="jensenshannon").check(_frame(cur)).drifted
    mon = mk.Monitor(_frame(ref), method="jensenshannon", calibrate=40)
    report = mon.check(_frame(cur))
    col = report.columns["x"]
    assert not report.drifted and col.threshold_calibrated and col.threshold > 0.1
    assert "threshold calibrated on 40 resamples" in col.note
    assert mk.DriftReport.from_json(report.to_json()) == report
    assert mon.with_reference(_frame(ref)).calibrate == 40


def test_a_calibrated_monitor_still_sees_real_drift_and_leaves_tests_alone():
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.standard_normal(3_000)})
    mon = mk.Monitor(ref, calibrate=True)
    shifted = mon.check(pd.DataFrame({"x": rng.standard_normal(3_000) + 0.5}))
    assert shifted.drifted and shifted.columns["x"].threshold_calibrated
    small = mon.check(pd.DataFrame({"x": rng.standard_normal(200)}))  # KS: an exact p-value
    assert small.columns["x"].method == "ks" and not small.columns["x"].threshold_calibrated


def test_calibration_needs_raw_reference_rows():
    ref = pd.DataFrame({"x": np.arange(100.0)})
    with pytest.raises(mk.ConfigError, match="calibrate= needs raw reference rows"):
        mk.Monitor(mk.Profile.of(ref), calibrate=True)
    with pytest.raises(mk.ConfigError, match="calibrate= must be"):
        mk.Monitor(ref, calibrate=3)
