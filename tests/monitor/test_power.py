"""Power against scipy's exact tests on the same samples, where auto used to fall short.

The study (benchmarks/bench_monitor_stats.py) found auto below 0.9x the exact test's power
on sparse categorical tables (100 categories in 1,000 rows: 44% against 69%) and on a
column with nulls at 100 rows (its alpha split evenly between the distribution and the
null-rate test). Rates are counted over fixed seeds, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mlops_kit as mk

ALPHA = 0.05


def zipf_column(rng: np.random.Generator, k: int, n: int, drift: bool) -> pd.DataFrame:
    p = 1.0 / np.arange(1, k + 1) ** 1.1
    p /= p.sum()
    if drift:
        p = 0.6 * p + 0.4 * np.roll(p, 1)  # 40% of each category's share moves to the next
    return pd.DataFrame({"c": np.char.add("c", rng.choice(k, n, p=p).astype(str)).astype(object)})


def exact_chi_square(ref: pd.DataFrame, cur: pd.DataFrame) -> float:
    table = pd.crosstab(np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref.c, cur.c]).to_numpy()
    return float(stats.chi2_contingency(table, correction=False).pvalue)


@pytest.mark.parametrize(("k", "n"), [(10, 100), (100, 1000), (1000, 1000)])
def test_a_sparse_table_gets_the_exact_chi_squares_verdict(k, n):
    seeds, ours, exact = 60, 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref, cur = zipf_column(rng, k, n, False), zipf_column(rng, k, n, True)
        col = mk.Monitor(ref).check(cur).columns["c"]
        p = exact_chi_square(ref, cur)
        assert "too sparse for an effect size" in col.note
        assert col.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert col.unseen_p_value is None  # current-only categories are in the table
        assert col.drifted == (p < ALPHA)
        ours, exact = ours + col.drifted, exact + (p < ALPHA)
    assert ours >= 0.9 * exact


def test_a_table_that_supports_the_effect_size_keeps_the_minimum_effect_and_the_unseen_check():
    rng = np.random.default_rng(3)
    ref, cur = zipf_column(rng, 3, 5000, False), zipf_column(rng, 3, 5000, False)
    col = mk.Monitor(ref).check(cur).columns["c"]
    assert "too sparse" not in col.note
    assert col.min_effect == 0.1
    assert col.unseen_p_value is not None


def nulls_column(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    x = rng.standard_normal(n) + shift
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"x": x})


@pytest.mark.slow
def test_a_column_with_nulls_keeps_the_exact_tests_power_and_its_alpha():
    seeds = 300
    found = {False: [0, 0], True: [0, 0]}  # drift -> [ours, KS alone]
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        for drift in (False, True):
            ref, cur = nulls_column(rng, 100, 0.0), nulls_column(rng, 100, 0.2 if drift else 0.0)
            col = mk.Monitor(ref).check(cur).columns["x"]
            found[drift][0] += col.drifted
            found[drift][1] += stats.ks_2samp(ref.x.dropna(), cur.x.dropna()).pvalue < ALPHA
    # The column tests its distribution and its null rate and still false-alarms at most
    # alpha (1.5x for sampling error); its distribution test keeps 90% of the alpha.
    assert found[False][0] <= 1.5 * ALPHA * seeds
    assert found[True][0] >= 0.9 * found[True][1], found


def test_the_distribution_test_holds_most_of_a_columns_alpha():
    rng = np.random.default_rng(2)
    ref, cur = nulls_column(rng, 400, 0.0), nulls_column(rng, 400, 0.16)
    col = mk.Monitor(ref).check(cur).columns["x"]
    assert col.null_p_value is not None
    assert col.p_adjusted == pytest.approx(min(col.p_value / 0.9, 1.0))
    # Between alpha / 2 (an even split) and 0.9 alpha: drift now, missed before.
    assert ALPHA / 2 < col.p_value < 0.9 * ALPHA
    assert col.distribution_drifted


@pytest.mark.parametrize("stored", [False, True])
def test_a_column_with_more_categories_than_a_profile_keeps_is_counted_in_full(stored):
    # Profiles keep 1,000 categories; on the 1,000 both kept, a change of the top ones was
    # lost among the ties of the tail (p 0.65 on a change of the top category from 16% to 10%).
    rng = np.random.default_rng(5)
    ref, cur = zipf_column(rng, 5000, 10_000, False), zipf_column(rng, 5000, 10_000, True)
    store = mk.MemoryStorage()
    reference = mk.Dataset("ref", store).save(ref) if stored else ref
    col = mk.Monitor(reference, storage=store).check(cur).columns["c"]
    assert mk.Profile.of(ref).columns["c"].other  # the profile was cut short
    assert col.p_value == pytest.approx(exact_chi_square(ref, cur), rel=1e-9, abs=1e-300)
    assert col.drifted


@pytest.mark.parametrize("kind", ["dask", "arrow"])
def test_out_of_core_current_data_is_counted_in_full_with_the_same_verdict(kind, request):
    rng = np.random.default_rng(5)
    ref, cur = zipf_column(rng, 5000, 10_000, False), zipf_column(rng, 5000, 10_000, True)
    if kind == "dask":
        request.getfixturevalue("dask_client")
        import dask.dataframe as dd

        current = dd.from_pandas(cur, npartitions=4)
    else:
        import pyarrow as pa
        import pyarrow.dataset as ds

        current = ds.dataset(pa.Table.from_pandas(cur))
    col = mk.Monitor(ref).check(current).columns["c"]
    assert col.p_value == pytest.approx(exact_chi_square(ref, cur), rel=1e-9, abs=1e-300)
    assert col.drifted
