"""Windowed checks: one report per time window, drift over time, correction across windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk


@pytest.fixture
def stream(make_customers) -> pd.DataFrame:
    """Five days of 600 rows each; ``age`` drifts from day 4 on."""
    days = []
    for day in range(5):
        part = make_customers(600, seed=10 + day, age_shift=0.8 if day >= 3 else 0.0)
        part["ts"] = (
            pd.Timestamp("2025-03-01", tz="UTC")
            + pd.Timedelta(days=day)
            + pd.to_timedelta(np.arange(600) * 60, unit="s")
        )
        days.append(part)
    return pd.concat(days, ignore_index=True).sample(frac=1.0, random_state=0)


def test_one_report_per_window_in_time_order(make_customers, stream):
    mon = mk.Monitor(make_customers(5000, seed=1), columns=["age", "income", "plan"], drift_share=0.3)
    windows = mon.check_windows(stream, time_column="ts", freq="1D")
    assert len(windows.reports) == 5
    starts = [r.window_start for r in windows.reports]
    assert starts == sorted(starts)
    assert starts[0] == pd.Timestamp("2025-03-01", tz="UTC")
    assert windows.reports[0].window_end == pd.Timestamp("2025-03-02", tz="UTC")
    assert [r.columns["age"].drifted for r in windows.reports] == [False, False, False, True, True]
    assert all(r.n_current == 600 for r in windows.reports)
    assert windows.drifted
    assert "ts" in windows.reports[0].ignored_columns
    scores = windows.scores
    assert list(scores.columns) == ["age", "income", "plan", "drift_share"]
    assert len(scores) == 5
    assert scores["age"].iloc[-1] > 0.5 > scores["age"].iloc[0]
    assert len(windows.to_frame()) == 15
    assert "5 windows of 1D on 'ts'" in windows.summary()


def test_the_time_column_is_never_monitored_itself(make_customers, stream):
    ref = make_customers(2000, seed=1).assign(ts=pd.Timestamp("2024-01-01", tz="UTC"))
    windows = mk.Monitor(ref, columns=["age", "ts"]).check_windows(stream, time_column="ts", freq="2D")
    assert len(windows.reports) == 3
    assert all(set(r.columns) == {"age"} for r in windows.reports)


def test_fdr_correction_spans_every_window(make_customers, stream):
    ref = make_customers(900, seed=1)
    plain = mk.Monitor(ref, columns=["age", "plan", "visits"]).check_windows(
        stream, time_column="ts", freq="12h"
    )
    corrected = mk.Monitor(ref, columns=["age", "plan", "visits"], correction="fdr_bh").check_windows(
        stream, time_column="ts", freq="12h"
    )

    # Every test of every window: distributions, and plan's unseen-category test; within a
    # column the distribution test holds 90% of its alpha (weight 1.8 of 2), the unseen 10%.
    def weighted(c):
        ps = [p for p in (c.p_value, c.null_p_value, c.unseen_p_value) if p is not None]
        weights = [1.0] if len(ps) == 1 else [0.9 * len(ps)] + [0.1 * len(ps) / (len(ps) - 1)] * (len(ps) - 1)
        return [min(p / w, 1.0) for p, w in zip(ps, weights)]

    tests = [p for r in plain.reports for c in r.columns.values() for p in weighted(c)]
    distribution = [c.p_value is not None for r in plain.reports for c in r.columns.values()]
    assert len(tests) == len(distribution) + len(plain.reports)
    adjusted = [c.p_adjusted for r in corrected.reports for c in r.columns.values()]
    from scipy import stats

    family = list(stats.false_discovery_control(tests))
    at = 0
    expected = []
    for r in plain.reports:
        for c in r.columns.values():
            expected.append(family[at])
            at += 1 + (c.null_p_value is not None) + (c.unseen_p_value is not None)
    assert adjusted == pytest.approx(expected)


def test_windows_are_stored_and_alerted(make_customers, stream):
    store = mk.MemoryStorage()
    mon = mk.Monitor(make_customers(3000, seed=1), columns=["age"], name="daily", storage=store)
    alerts = []
    mon.on_drift(alerts.append)
    mon.check_windows(stream, time_column="ts")
    assert len(mon.reports()) == 5
    assert len(alerts) == 2
    assert mon.history().to_frame().window_start.nunique() == 5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"time_column": "nope"}, mk.SchemaError, "time column 'nope' is not in the data"),
        ({"time_column": "age"}, mk.SchemaError, "expected datetimes"),
        ({"time_column": "ts", "freq": "every tuesday"}, mk.ConfigError, "Invalid window frequency"),
    ],
)
def test_bad_window_options(make_customers, stream, kwargs, error, match):
    with pytest.raises(error, match=match):
        mk.Monitor(make_customers(500), columns=["age"]).check_windows(stream, **kwargs)
