"""Statistical quality of ``method="auto"``: quiet on resamples, loud on real shifts.

Seeds are fixed, so these are deterministic; the bounds are the issue's acceptance
criteria, not tuned to the seeds (the observed rates are far inside them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlops_kit as mk

N = 100_000
RESAMPLES = 200
PLANS = ["basic", "plus", "pro"]


def sample(rng: np.random.Generator, n: int = N, *, shift: float = 0.0, plan_p=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    """One draw of a fixed distribution: four numeric columns, a category and a flag."""
    return pd.DataFrame(
        {
            "normal": rng.standard_normal(n) + shift,  # std 1, so ``shift`` is in stds
            "skewed": rng.gamma(2.0, 1.0, n),
            "uniform": rng.random(n),
            "count": rng.poisson(4.0, n),
            "plan": pd.Categorical.from_codes(rng.choice(3, n, p=list(plan_p)), PLANS),
            "flag": rng.random(n) < 0.2,
        }
    )


@pytest.fixture(scope="module")
def monitor() -> mk.Monitor:
    return mk.Monitor(mk.Profile.of(sample(np.random.default_rng(2024))))


@pytest.mark.slow
def test_resamples_of_the_reference_distribution_rarely_raise_dataset_drift(monitor):
    rng = np.random.default_rng(1)
    dataset_alarms = column_alarms = 0
    for _ in range(RESAMPLES):
        rep = monitor.check(sample(rng))
        dataset_alarms += rep.drifted
        column_alarms += len(rep.drifted_columns)
    assert dataset_alarms <= 0.05 * RESAMPLES
    assert column_alarms <= 0.05 * RESAMPLES * 6


@pytest.mark.slow
def test_a_half_std_shift_is_flagged_every_time_in_that_column(monitor):
    rng = np.random.default_rng(2)
    elsewhere = 0
    for _ in range(RESAMPLES):
        rep = monitor.check(sample(rng, shift=0.5))
        assert rep.columns["normal"].drifted
        assert rep.columns["normal"].reasons == ("distribution",)
        elsewhere += len(rep.drifted_columns) - 1
    assert elsewhere <= 0.05 * RESAMPLES * 5


def test_a_tiny_shift_on_many_rows_is_not_flagged_but_a_large_one_is(monitor):
    rng = np.random.default_rng(3)
    tiny = monitor.check(sample(rng, n=500_000, shift=0.01))
    assert not tiny.columns["normal"].drifted and not tiny.drifted
    assert tiny.columns["normal"].statistic == pytest.approx(0.01, abs=0.005)
    large = monitor.check(sample(rng, n=500_000, shift=0.5))
    assert large.columns["normal"].drifted


def test_a_categorical_proportion_shift_is_flagged(monitor):
    rng = np.random.default_rng(4)
    for n in (300, 5_000, N):  # chi-square below 1,000 values, Jensen-Shannon above
        rep = monitor.check(sample(rng, n=n, plan_p=(0.2, 0.3, 0.5)))
        plan = rep.columns["plan"]
        assert plan.drifted, (n, plan)
        assert plan.method == ("chisquare" if n <= 1000 else "jensenshannon")
        assert plan.effect_size > 0.1


def test_small_samples_are_tested_and_corrections_keep_false_alarms_rare():
    rng = np.random.default_rng(5)
    reference = sample(rng, n=5_000)
    plain = mk.Monitor(reference)
    corrected = mk.Monitor(reference, correction="bonferroni")
    any_plain = any_corrected = 0
    for _ in range(RESAMPLES):
        current = sample(rng, n=400)
        rep = plain.check(current)
        assert rep.columns["normal"].method == "ks" and rep.columns["flag"].method == "ztest"
        any_plain += bool(rep.drifted_columns)
        any_corrected += bool(corrected.check(current).drifted_columns)
    # Six tests at 5% each: some column flags in about a quarter of the checks without correction.
    assert any_corrected <= 0.05 * RESAMPLES * 1.5 < any_plain
